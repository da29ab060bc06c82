// Package pagerduty sends alerts to PagerDuty with the Events API v2.
//
//	n, err := pagerduty.New(pagerduty.Config{RoutingKey: integrationKey})
//	err = n.Notify(ctx, alerts...)
//
// Inside the Manager (the context carries an alerting.Delivery with a
// GroupKey) a notification becomes one event whose dedup_key is the group
// key, so the firing, repeat and resolved notifications of a group all
// land on one PagerDuty incident; event_action is "resolve" when the
// Delivery is resolved. Called directly (a test, "opsd alert test"), each
// alert becomes its own event keyed by its fingerprint. Keys over 255
// characters are hashed.
//
// The payload maps summary (the most urgent firing alert's, prefixed
// "[N]" for groups), source (the "host", "instance" or "hostname" label,
// else Config.Source), severity (critical, warning, info), timestamp
// (StartsAt), class (alertname), component ("service" label), group
// ("job" label) and custom_details (firing and resolved alerts with their
// labels and annotations, escalation level, ack link). links carry the
// acknowledge link and runbooks.
//
// Outcomes: 2xx (PagerDuty answers 202) is delivered; 408, 429 (PagerDuty's
// rate limit) and 5xx are retryable; 400 (an invalid event) and other 4xx
// wrap alerting.ErrPermanent. Config.URL points elsewhere for tests or
// PagerDuty's EU endpoint. The routing key travels in the body, as the API
// requires, and never in errors.
//
// Not done: "acknowledge" events (opsd acknowledges in its own
// escalation; PagerDuty acks stay in PagerDuty), images, change events.
package pagerduty
