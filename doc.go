// Package opskit is a set of small packages that turn a SaaS company's
// operations practice into code. Import only what you need:
//
//   - [github.com/opskit/opskit/backup]: encrypted, signed, off-site backups
//     that restore (with stock tools if need be), verification, restore
//     drills, pruning; transports in backup/local, backup/sftp and
//     backup/rsync; OpenPGP in backup/openpgp.
//   - [github.com/opskit/opskit/retention]: which backups, log files and
//     Elasticsearch indices to keep, and why.
//   - [github.com/opskit/opskit/alerting]: alerts deduplicated, grouped,
//     silenced, acknowledged and escalated through on-call levels by the
//     Manager, delivered by the notifiers in alerting/email, alerting/webhook,
//     alerting/slack and alerting/pagerduty; produced by alerting/check
//     (ports, HTTP, heartbeats, host resources), alerting/esrule (ElastAlert
//     rules over Elasticsearch) and alerting/input (Alertmanager, Falco,
//     OSSEC).
//   - [github.com/opskit/opskit/logbook]: the incident logbook and
//     post-mortem reports.
//   - [github.com/opskit/opskit/statuspage]: per-instance status pages with
//     the Statuspage JSON API, feeds and email and webhook subscriptions.
//   - [github.com/opskit/opskit/sqlstore]: the SQLite or PostgreSQL database
//     the logbook, status pages and alerting keep their state in.
//
// The reference daemon in examples/opsd wires all of them together from one
// configuration file.
package opskit
