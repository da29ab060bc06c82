// Package smtpmail sends status page mail through an SMTP server: it is
// the [statuspage.Mailer] for subscriptions.
//
//	m, err := smtpmail.New(smtpmail.Config{Host: "smtp.example.com", From: "status@example.com",
//		Username: "status", Password: pw})
//	h, err := statuspage.New(ctx, db, statuspage.Config{Mailer: m, SubscriptionKey: key})
//
// Every mail is plain text and carries List-Unsubscribe with the
// subscriber's one-click URL and List-Unsubscribe-Post:
// List-Unsubscribe=One-Click (RFC 8058), so mail clients show an
// unsubscribe button that works without opening the mail's links.
//
// STARTTLS is required unless Config.TLS says otherwise; a connection is
// opened per message (status mail is rare). It does not queue or retry:
// the status page's outbox does.
package smtpmail
