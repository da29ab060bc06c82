// Package alertingtest helps test alerting.Notifier implementations and
// the code that uses them.
//
// TestNotifier is the conformance suite every Notifier passes (the email,
// webhook, slack and pagerduty packages run it): it delivers to a real
// receiver and shows the alert name, summary and acknowledge link;
// reports a temporary failure as retryable and a refusal as
// alerting.ErrPermanent; reports an unreachable receiver as retryable;
// returns an error wrapping context.Canceled when the context is
// cancelled while the receiver hangs; sends nothing for no alerts; is safe
// for concurrent use; and never puts a secret in a payload or error.
//
//	func TestConformance(t *testing.T) {
//		alertingtest.TestNotifier(t, func(t *testing.T) alertingtest.Target {
//			rcv := alertingtest.NewHTTPReceiver(t)
//			n, _ := mynotifier.New(mynotifier.Config{URL: rcv.URL(), Token: "tok"})
//			return alertingtest.Target{Notifier: n, Receiver: rcv, Secrets: []string{"tok"}}
//		})
//	}
//
// The receivers are real servers on loopback: HTTPReceiver
// (net/http/httptest) and SMTPReceiver (github.com/emersion/go-smtp, with
// STARTTLS on a generated certificate, see RootCAs, and AUTH PLAIN). A
// Mode makes them accept, fail temporarily, refuse, or hang.
//
// Recorder is a Notifier for tests of producers and of the Manager: it
// records each notification with its alerting.Delivery, fails when told
// (FailNext, FailUntil a channel is closed), blocks (Block), and lets a
// test wait for notifications (Wait) instead of sleeping.
package alertingtest
