// Package input receives alerts from other tools over HTTP and hands them
// to an alerting.Notifier (the Manager), so Falco, OSSEC/Wazuh and
// Prometheus Alertmanager alerts are deduplicated, grouped, silenced and
// escalated with opskit's own.
//
//	h, err := input.New(input.Config{
//		Sink:   manager,
//		Tokens: []string{token}, // bearer tokens, compared in constant time
//		Allow: []input.Allow{    // nil accepts everything
//			{Source: input.Falco, MinFalcoPriority: "warning"},
//			{Source: input.OSSEC, MinOSSECLevel: 7},
//			{Source: input.Alertmanager},
//		},
//	})
//	mux.Handle("/api/alerts/", http.StripPrefix("/api/alerts", h))
//
// Routes (POST, with "Authorization: Bearer TOKEN"):
//
//	/alertmanager  Alertmanager webhook JSON, version "4" (a webhook_config url)
//	/falco         Falco alert JSON as falcosidekick's webhook output sends it
//	               (output, priority, rule, time, output_fields, hostname, tags)
//	/ossec         OSSEC or Wazuh alerts.json lines, one or more per request
//
// Mapping (see ParseAlertmanager, ParseFalco, ParseOSSEC): Alertmanager
// alerts keep their labels and annotations, severity from the "severity"
// label. Falco alerts are named by rule, labelled with host and priority
// (plus Config.FalcoLabelFields), critical and above → Critical, error
// and warning → Warning, else Info. OSSEC/Wazuh alerts are named by rule
// description with rule_id and host labels, level ≥ 12 → Critical, ≥ 7 →
// Warning, else Info. Falco and OSSEC alerts are events: they have no end
// and stay firing until acknowledged or silenced.
//
// Answers: 200 {"accepted":N,"filtered":M}; 400 with a JSON error for
// malformed input (nothing of the batch is delivered); 401 without a valid
// token; 404 for another path; 405 for another method; 413 over
// Config.MaxBytes (1 MiB); 415 for a non-JSON content type; 503 when the
// sink fails, which Alertmanager and falcosidekick retry.
//
// Not done: OSSEC's syslog or email output (configure JSON output), Falco
// gRPC output, Alertmanager's v1/v2 API (this is its webhook receiver).
package input
