// Package email sends alerts by email over SMTP, with
// github.com/wneessen/go-mail as the client.
//
//	n, err := email.New(email.Config{
//		Host: "smtp.example.com", // Port 587 by default
//		Username: "opsd", Password: password,
//		From: "opsd <opsd@example.com>",
//		To:   []string{"oncall@example.com"},
//	})
//	err = n.Notify(ctx, alerts...)
//
// Encryption: STARTTLS is required by default and the server certificate
// is verified (Config.RootCAs for a private CA). ImplicitTLS speaks TLS
// from the start (port 465). The opt-out, StartTLSIfOffered, sends in
// clear text when the server offers no STARTTLS; use it only for a relay
// on the same host. Credentials (AUTH PLAIN) are only ever sent over TLS,
// even to localhost; the password never appears in errors or logs.
//
// Each notification is one email, multipart/alternative with a text and
// an HTML part (html/template, so alert text is escaped and unsafe
// runbook URLs neutralised). It lists the alerts, firing before resolved
// and most severe first, each with severity, name, summary, description,
// start and end times (Config.Location), runbook and labels, and begins
// with the acknowledge link (alerting.DeliveryFrom(ctx).AckURL) and when
// it expires. The subject reads "[FIRING:2] DiskFull, HighCPU", or for
// one alert "[FIRING:1] DiskFull: disk almost full on web1", prefixed
// "L2 " at escalation level 2 and by Config.SubjectPrefix.
//
// Message-ID is derived from Delivery.Key (a hash, so nothing of the key
// leaks), so a notification resent after a lost reply carries the same
// Message-ID and can be recognised as a duplicate; References and
// In-Reply-To are derived from Delivery.GroupKey, so mail clients thread
// a group's notifications. Auto-Submitted: auto-generated keeps vacation
// responders quiet.
//
// Outcomes: SMTP 4xx replies and network failures are retryable; 5xx
// replies, certificate errors, a server without STARTTLS when required,
// and refused authentication wrap alerting.ErrPermanent; a cancelled
// context closes the connection at once and is returned wrapped.
//
// Not done: connection reuse across notifications (each Notify dials),
// DKIM and S/MIME signing (go-mail supports them; not wired), per-alert
// recipients (route to several Notifiers instead).
package email
