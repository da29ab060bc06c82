// Package opskit is a set of small packages that turn a SaaS company's
// operations practice into code. Import only what you need:
//
//   - [github.com/opskit/opskit/backup]: encrypted, signed, off-site backups
//     that restore (with stock tools if need be), verification, restore
//     drills, pruning; transports in backup/local, backup/sftp and
//     backup/rsync; OpenPGP in backup/openpgp.
//   - [github.com/opskit/opskit/retention]: which backups, log files and
//     Elasticsearch indices to keep, and why.
//   - [github.com/opskit/opskit/alerting]: alerts from checks, log rules and
//     external inputs, deduplicated, grouped, acknowledged, escalated and
//     delivered by notifiers.
//   - [github.com/opskit/opskit/logbook]: the incident logbook and
//     post-mortem reports.
//   - [github.com/opskit/opskit/statuspage]: per-instance status pages.
//
// The reference daemon in examples/opsd wires all of them together from one
// configuration file.
package opskit
