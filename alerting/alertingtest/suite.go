package alertingtest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opskit/opskit/alerting"
)

// Target is a Notifier under test wired to the Receiver it delivers to.
type Target struct {
	Notifier alerting.Notifier
	Receiver Receiver
	// Secrets must never appear in a delivered payload (Message.Body) or in
	// an error: passwords, tokens, signing keys, webhook URLs that embed a
	// credential. A credential that the protocol puts in the body (a
	// PagerDuty routing key) does not belong here.
	Secrets []string
}

// AckURL is the acknowledge link the suite puts in the Delivery; every
// Notifier must show it to the person notified.
const AckURL = "https://opsd.example/ack/abc123"

// FiringAlert returns the firing alert the suite sends.
func FiringAlert() alerting.Alert {
	return alerting.Alert{
		Labels:      alerting.Labels{"alertname": "DiskFull", "host": "web1"},
		Annotations: map[string]string{"runbook_url": "https://runbooks.example/disk"},
		Severity:    alerting.Critical,
		Summary:     "disk almost full on web1",
		StartsAt:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Source:      "check",
	}
}

// TestNotifier runs the conformance suite every alerting.Notifier passes:
// it delivers (showing alert name, summary and acknowledge link), reports
// a receiver's temporary failure as retryable and its refusal as
// permanent (alerting.ErrPermanent), reports an unreachable receiver as
// retryable, honours context cancellation while the receiver hangs, sends
// nothing for no alerts, is safe for concurrent use, and never puts a
// secret in a payload or an error. newTarget is called once per subtest.
func TestNotifier(t *testing.T, newTarget func(t *testing.T) Target) {
	ctx := alerting.WithDelivery(context.Background(), alerting.Delivery{
		Key: "delivery-key-1", GroupKey: "group-key-1", Receiver: "ops", Level: 1,
		AckURL: AckURL, AckExpires: time.Date(2026, 1, 2, 4, 4, 5, 0, time.UTC),
	})
	firing := FiringAlert()

	t.Run("Delivers", func(t *testing.T) {
		tg := newTarget(t)
		err := tg.Notifier.Notify(ctx, firing)
		checkSecrets(t, tg, err)
		if err != nil {
			t.Fatalf("Notify: %v", err)
		}
		msgs := tg.Receiver.Messages()
		if len(msgs) != 1 {
			t.Fatalf("receiver got %d messages, want 1", len(msgs))
		}
		for _, want := range []string{"DiskFull", firing.Summary, AckURL} {
			if !bytes.Contains(msgs[0].Body, []byte(want)) {
				t.Errorf("payload lacks %q:\n%s", want, msgs[0].Body)
			}
		}
	})

	t.Run("Resolved", func(t *testing.T) {
		tg := newTarget(t)
		resolved := firing
		resolved.EndsAt = firing.StartsAt.Add(time.Minute)
		rctx := alerting.WithDelivery(context.Background(), alerting.Delivery{Key: "delivery-key-2", GroupKey: "group-key-1", Resolved: true})
		err := tg.Notifier.Notify(rctx, resolved)
		checkSecrets(t, tg, err)
		if err != nil {
			t.Fatalf("Notify(resolved): %v", err)
		}
		if n := len(tg.Receiver.Messages()); n != 1 {
			t.Fatalf("receiver got %d messages, want 1", n)
		}
	})

	t.Run("WithoutDelivery", func(t *testing.T) {
		tg := newTarget(t)
		err := tg.Notifier.Notify(context.Background(), firing)
		checkSecrets(t, tg, err)
		if err != nil {
			t.Fatalf("Notify without Delivery: %v", err)
		}
		if n := len(tg.Receiver.Messages()); n != 1 {
			t.Fatalf("receiver got %d messages, want 1", n)
		}
	})

	t.Run("NoAlerts", func(t *testing.T) {
		tg := newTarget(t)
		if err := tg.Notifier.Notify(ctx); err != nil {
			t.Fatalf("Notify(): %v", err)
		}
		if n := len(tg.Receiver.Messages()); n != 0 {
			t.Fatalf("Notify() sent %d messages, want 0", n)
		}
	})

	t.Run("Retryable", func(t *testing.T) {
		tg := newTarget(t)
		tg.Receiver.SetMode(FailTemporary)
		err := tg.Notifier.Notify(ctx, firing)
		checkSecrets(t, tg, err)
		if err == nil {
			t.Fatal("Notify succeeded against a failing receiver")
		}
		if errors.Is(err, alerting.ErrPermanent) {
			t.Fatalf("temporary failure reported as permanent: %v", err)
		}
		tg.Receiver.SetMode(Accept)
		if err := tg.Notifier.Notify(ctx, firing); err != nil {
			t.Fatalf("Notify after the receiver recovered: %v", err)
		}
	})

	t.Run("Permanent", func(t *testing.T) {
		tg := newTarget(t)
		tg.Receiver.SetMode(FailPermanent)
		err := tg.Notifier.Notify(ctx, firing)
		checkSecrets(t, tg, err)
		if !errors.Is(err, alerting.ErrPermanent) {
			t.Fatalf("refusal not reported as permanent: %v", err)
		}
	})

	t.Run("Unreachable", func(t *testing.T) {
		tg := newTarget(t)
		tg.Receiver.Close()
		err := tg.Notifier.Notify(ctx, firing)
		checkSecrets(t, tg, err)
		if err == nil {
			t.Fatal("Notify succeeded against a closed receiver")
		}
		if errors.Is(err, alerting.ErrPermanent) {
			t.Fatalf("network failure reported as permanent: %v", err)
		}
	})

	t.Run("Cancel", func(t *testing.T) {
		tg := newTarget(t)
		tg.Receiver.SetMode(Hang)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- tg.Notifier.Notify(cctx, firing) }()
		select {
		case <-tg.Receiver.Held():
		case err := <-errc:
			t.Fatalf("Notify returned before the receiver held it: %v", err)
		}
		cancel()
		err := <-errc
		checkSecrets(t, tg, err)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Notify after cancel = %v, want an error wrapping context.Canceled", err)
		}
		if errors.Is(err, alerting.ErrPermanent) {
			t.Fatalf("cancellation reported as permanent: %v", err)
		}
	})

	t.Run("Cancelled", func(t *testing.T) {
		tg := newTarget(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := tg.Notifier.Notify(cctx, firing)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Notify with a cancelled context = %v, want context.Canceled", err)
		}
		if n := len(tg.Receiver.Messages()); n != 0 {
			t.Fatalf("cancelled Notify delivered %d messages", n)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		tg := newTarget(t)
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := FiringAlert()
				a.Labels = alerting.Labels{"alertname": "DiskFull", "host": "web" + string(rune('a'+i))}
				errs[i] = tg.Notifier.Notify(ctx, a)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Notify %d: %v", i, err)
			}
		}
		if got := len(tg.Receiver.Messages()); got != n {
			t.Fatalf("receiver got %d messages, want %d", got, n)
		}
	})
}

func checkSecrets(t *testing.T, tg Target, err error) {
	t.Helper()
	for _, s := range tg.Secrets {
		if s == "" {
			continue
		}
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("error contains a secret: %v", err)
		}
		for _, m := range tg.Receiver.Messages() {
			if bytes.Contains(m.Body, []byte(s)) {
				t.Errorf("payload contains a secret:\n%s", m.Body)
			}
		}
	}
}
