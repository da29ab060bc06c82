// Package alerting turns checks, log rules and external inputs into alerts
// that reach someone: deduplicated, grouped, silenced, acknowledged and
// escalated through on-call levels, delivered by Notifiers, with nothing
// lost when a receiver is down or the daemon restarts.
//
// # Model
//
// An [Alert] is identified by its [Labels] ([Labels.Fingerprint]); it fires
// from StartsAt until EndsAt. A [Notifier] delivers alerts somewhere:
// subpackages email, webhook (Alertmanager webhook v4 JSON), slack
// (Slack/Mattermost incoming webhooks) and pagerduty (Events API v2)
// implement it. Producers hand alerts to a Notifier too: package check
// (ports, HTTP, heartbeats, host resources), package esrule (ElastAlert
// rules over Elasticsearch) and package input (Alertmanager, Falco and
// OSSEC over HTTP) all send to the [Manager], which implements Notifier.
//
// # Manager
//
// A [Manager] keeps alerts, group state, silences and an outbox of
// notifications in SQL (SQLite by default, PostgreSQL for several daemons)
// and does what Alertmanager and an on-call tool do together:
//
//   - Dedupe: an alert sent again with the same labels is the same alert;
//     repeats cost a map lookup and are not stored again.
//   - Routes and grouping: the first [Route] whose Matchers match (or the
//     Default) groups alerts by its GroupBy labels; a new group waits
//     GroupWait for siblings (a group resolved within it is never sent),
//     changes are sent at most every GroupInterval, an unacknowledged
//     firing group is re-sent every RepeatInterval.
//   - Escalation: each route has an [Escalation] of [Level]s. Level 1 is
//     notified first; without an acknowledgement level 2 is notified After
//     its delay, then level 3; the policy repeats Repeat times. A level with
//     a [Schedule] (nights and weekends, in a time zone, right across DST)
//     is skipped outside it.
//   - Acknowledgement: [Manager.Ack] (the CLI, or the signed, expiring link
//     each notification carries, served by [Manager.AckHandler]) stops
//     escalation and repeats; Config.AckTimeout re-triggers a group still
//     firing. Resolution is sent to every level that was paged.
//   - Silences and maintenance windows ([Manager.Silence]) mute matching
//     alerts and pause escalation; [InhibitRule]s mute alerts while a
//     related one fires (host down mutes its port checks).
//   - Delivery: notifications are written to the outbox in the same
//     transaction as the group state that decided them, then sent by
//     receiver, in order, each receiver independently. A failure is retried
//     with exponential backoff and jitter until it succeeds; an error
//     wrapping [ErrPermanent] is kept as failed for an operator. The
//     [Delivery] in the context carries a stable idempotency Key (same for
//     retries, different between notifications) and the GroupKey
//     (PagerDuty's dedup_key): delivery is exactly once when the receiver
//     answers 2xx, at least once with the same key otherwise.
//   - Dead man's switch: Config.Watchdog sends an always-firing
//     "Watchdog" alert every minute to a heartbeat service that pages when
//     it stops.
//
// Notify stores new and changed alerts before it returns. Run drives the
// rest: Tick every second, deliveries as they fall due. Tick and Deliver
// can also be called directly, with an injected clock (Manager.Now), which
// is how the tests step through hours of escalation in microseconds.
//
// A minimal program:
//
//	db, _ := sqlstore.Open(ctx, "/var/lib/opsd/opsd.db")
//	pager, _ := pagerduty.New(pagerduty.Config{RoutingKey: key})
//	m, err := alerting.NewManager(ctx, db, alerting.Config{
//		Receivers: map[string]alerting.Receiver{"pager": {Notifier: pager}},
//		Default: alerting.Route{Escalation: alerting.Escalation{
//			Levels: []alerting.Level{{Receivers: []string{"pager"}}},
//		}},
//	})
//	go m.Run(ctx)
//	m.Notify(ctx, alerting.Alert{Labels: alerting.Labels{"alertname": "HostDown", "host": "db1"}})
//
// Only one Manager may run on a store at a time; several daemons sharing a
// PostgreSQL store elect one (opsd uses an advisory lock).
//
// The package does not evaluate metrics or rules itself (see check and
// esrule), and it keeps no notification history beyond the outbox: the
// daemon's log records each delivery.
package alerting
