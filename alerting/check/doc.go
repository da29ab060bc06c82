// Package check runs scheduled probes and turns their failures into
// alerts: is a port listening (with the SSH banner on 22 and the TLS
// certificate's validity and expiry on 443), does an application's status
// page say it is fine, has a host checked in lately, is a host near its
// CPU, memory or disk limits or behaving unlike itself.
//
// # Checks
//
// A Check runs once and returns a Result (OK, a one-line Message, Latency,
// measured Values, and optionally the Severity and component Status the
// failure stands for). The implementations:
//
//   - TCP: dial Addr. Mode SSH (default on port 22) reads the
//     identification line and requires SSH-2.0; Mode TLS (default on 443)
//     completes a handshake verified against RootCAs (nil: system roots)
//     for ServerName, and fails with severity Warning when the earliest
//     certificate of the chain expires within WarnWithin (21 days), with the
//     entry's severity within FailWithin (7 days); Values["cert_days_left"].
//   - HTTP: Method, URL, Header, Body; accepted Status codes (default 2xx),
//     BodyContains, BodyMatches, JSON conditions, MaxLatency (slower is
//     DegradedPerformance). Certificates are verified unless
//     InsecureSkipVerify. Messages never show header values, URL user
//     information or query strings.
//   - Heartbeats: an http.Handler where hosts POST to check in with a
//     per-host bearer token, and Heartbeats.Check(host, grace) that reports
//     the host unresponsive when its last check-in is older than grace.
//     Check-ins are kept in memory; after a restart each host gets a grace
//     period to check in again.
//   - Resources: a Sampler's metrics (HostSampler: gopsutil CPU %, memory %,
//     load per core, disk and inode % per mount) against Limits ("near
//     limits": above Max for at least For, a hold-down) and Unusual
//     baselines (EWMA mean and variance of the host's own history; a sample
//     K standard deviations away after WarmUp samples is unusual).
//   - Func: any function.
//
// JSON conditions (ParseCondition) are one comparison each, all of them
// required, in the spirit of Gatus' conditions:
//
//	status.indicator == "none"
//	components[0].status == operational
//	len(incidents) == 0
//	metrics.p99_ms < 500
//
// # Running
//
// A Runner runs each Entry on its Interval (with up to Jitter of it added,
// so checks do not run in lockstep), at most Concurrency at a time, each
// with a Timeout. Results go through flap damping (Damper): an alert fires
// after FailuresToFire consecutive failures (default 3) with StartsAt at
// the first of them, and resolves after SuccessesToResolve consecutive
// successes (default 2) with EndsAt set. Alerts carry the labels alertname
// (Entry.Alertname, default "CheckFailed"), check, host and instance plus
// Entry.Labels, a Summary "NAME on HOST: MESSAGE", and Source "check". They
// are sent to the Notifier (the alerting Manager) when they fire, when
// their severity changes, every Resend if set, and when they resolve. When
// Notify fails, the alerts are kept and sent with the next run; an error
// wrapping alerting.ErrPermanent drops them (logged).
//
// Every run is also reported to the Observer as an Event carrying the raw
// Result and the damped state; Event.Status is the component status to
// show on a status page (Operational unless firing), with the values of
// statuspage.ComponentStatus.
//
//	r, err := check.NewRunner(check.RunnerConfig{
//		Entries: []check.Entry{
//			{Name: "https", Host: "web1", Alertname: "PortDown",
//				Check: &check.TCP{Addr: "web1.example.com:443"}},
//			{Name: "status", Instance: "acme", Alertname: "StatusPageNotOK",
//				Check: &check.HTTP{URL: "https://acme.example.com/api/v2/status.json",
//					JSON: []check.Condition{check.MustParseCondition(`status.indicator == "none"`)}}},
//			{Name: "heartbeat", Host: "db1", Alertname: "HostUnresponsive",
//				Check: heartbeats.Check("db1", 3*time.Minute), FailuresToFire: 1},
//		},
//		Notifier: manager,
//		Observer: check.ObserverFunc(setComponentStatus),
//	})
//	go r.Run(ctx)
//
// Run ticks from the clock until ctx is cancelled. Tick(ctx, now) and
// RunOnce(ctx) drive the Runner by hand (tests, a one-shot CLI); RunnerConfig.Now
// injects the clock used for alert times.
//
// # Not done here
//
// ICMP ping (needs privileges or a ping group), DNS and domain-expiry
// probes, following STARTTLS, persisting damping state or heartbeats
// across restarts (a restart starts every check quiet; the Manager keeps
// alerts that were already firing), and grouping, silencing or escalating
// alerts, which the alerting Manager does. Checks of one Tick run together
// and the Tick waits for the slowest, so keep Timeouts below the shortest
// Interval.
package check
