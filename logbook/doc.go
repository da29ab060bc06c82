// Package logbook keeps the incident logbook: "a logbook of every issue on
// the infrastructure", each entry answering what is going on, how we
// understood the issue, what we did to solve it, what the impacts are, and
// what we need to do to avoid it next time. Those five questions are fields
// of an [Incident], beside its severity (SEV1..SEV5), status, affected
// instances and components, roles, [Milestones] (started, detected,
// acknowledged, mitigated, resolved, with the durations between them), an
// append-only timeline of [Entry] values (observations, hypotheses,
// actions, decisions, communications, each with the time it happened and
// the time it was written down, its author, and whether customers may see
// it) and follow-up [ActionItem]s.
//
// A [Store] keeps incidents in SQL (package sqlstore: SQLite by
// default, PostgreSQL for several daemons; schema version 1, migrated on
// Open). Updates use optimistic concurrency: an update made to a stale copy
// fails with [ErrConflict]. Timeline entries are never edited; a pasted
// secret is removed with [Store.Redact], which leaves an audit record of
// who removed what (as a SHA-256), when and why.
//
// A [Postmortem] renders a blameless report from an incident, in Markdown
// or HTML (escaped), for an internal audience (with names and roles) or for
// customers (public entries only, no names).
//
// What it does not do: notify anyone or publish to status pages (the
// daemon wires those), or parse free-form Markdown back into incidents.
package logbook
