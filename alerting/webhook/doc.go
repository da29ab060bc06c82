// Package webhook delivers alerts as Alertmanager webhook JSON (version
// "4"), so any receiver written for Alertmanager works with opskit.
//
//	n, err := webhook.New(webhook.Config{
//		URL:           "https://hooks.example.com/opsd",
//		BearerToken:   token,              // or Username/Password
//		SigningSecret: []byte(hmacSecret), // optional: X-Opskit-Signature
//	})
//	err = n.Notify(ctx, alerts...)
//
// Each POST carries the Message (version, groupKey, status, receiver,
// groupLabels, commonLabels, commonAnnotations, externalURL, alerts with
// status, labels, annotations, startsAt, endsAt, fingerprint) plus the
// opskit fields ackURL and level, and the header Idempotency-Key: the
// Delivery.Key the Manager puts in the context (alerting.DeliveryFrom),
// stable across retries, so a receiver can drop duplicates of
// at-least-once delivery. With SigningSecret, SignatureHeader carries
// "t=UNIX,v1=HMAC-SHA256(t.body)"; receivers check it with Verify.
//
// Outcomes: 2xx is delivered; 408, 429, 5xx and network failures are
// retryable errors; other answers are a *StatusError wrapping
// alerting.ErrPermanent. Errors never contain the URL beyond its host,
// nor the token, password or signing secret.
//
// Post, NewRequest and NewClient are the HTTP transport shared with the
// slack and pagerduty notifiers.
//
// Not done: templated bodies (use a small receiver that reshapes the v4
// JSON), truncation of large groups (truncatedAlerts is always 0).
package webhook
