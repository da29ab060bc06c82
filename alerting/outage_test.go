package alerting_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/alertingtest"
	"github.com/opskit/opskit/alerting/email"
	"github.com/opskit/opskit/alerting/webhook"
	"github.com/opskit/opskit/sqlstore/sqlstoretest"
)

// TestWebhookDown30Seconds: a real webhook receiver that answers 503 for
// 30 seconds, while alerts keep coming, then recovers, receives every
// notification exactly once (by idempotency key) with every alert; an
// email receiver (a real SMTP server) is not held up meanwhile.
func TestWebhookDown30Seconds(t *testing.T) {
	if testing.Short() {
		t.Skip("30 s outage; run without -short")
	}
	t.Parallel()
	var mu sync.Mutex
	var downSince time.Time
	keys := map[string]int{}
	alertsSeen := map[string]bool{}
	refused := 0
	mailed := -1 // mails received when the webhook came back
	smtp := alertingtest.NewSMTPReceiver(t, alertingtest.SMTPConfig{})
	got := make(chan struct{}, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if downSince.IsZero() {
			downSince = time.Now()
		}
		if time.Since(downSince) < 30*time.Second {
			refused++
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		if mailed < 0 {
			mailed = len(smtp.Messages())
		}
		var m webhook.Message
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("decode: %v", err)
		}
		keys[r.Header.Get("Idempotency-Key")]++
		for _, a := range m.Alerts {
			alertsSeen[a.Labels["host"]] = true
		}
		w.WriteHeader(http.StatusOK)
		got <- struct{}{}
	}))
	defer srv.Close()
	hook, err := webhook.New(webhook.Config{URL: srv.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mail, err := email.New(email.Config{Host: smtp.Host(), Port: smtp.Port(), RootCAs: smtp.RootCAs(),
		From: "opsd@example.com", To: []string{"oncall@example.com"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := alerting.NewManager(context.Background(), sqlstoretest.SQLite(t), alerting.Config{
		Receivers: map[string]alerting.Receiver{"hook": {Notifier: hook}, "mail": {Notifier: mail}},
		Default: alerting.Route{GroupBy: []string{"host"}, GroupWait: 10 * time.Millisecond,
			Escalation: alerting.Escalation{Levels: []alerting.Level{{Receivers: []string{"hook", "mail"}}}}},
		Retry:        alerting.Backoff{Min: 100 * time.Millisecond, Max: 4 * time.Second},
		TickInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	m.Logger = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	const n = 6
	for i := range n {
		if err := m.Notify(ctx, alerting.Alert{Labels: alerting.Labels{"alertname": "HostDown", "host": fmt.Sprint("h", i)}, Summary: "down"}); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		<-got
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if refused < 3 {
		t.Fatalf("only %d refused attempts: the outage was not exercised", refused)
	}
	if mailed != n {
		t.Fatalf("%d mails had arrived when the webhook came back, want %d: one receiver held up another", mailed, n)
	}
	if len(keys) != n || len(alertsSeen) != n {
		t.Fatalf("received keys %v and alerts %v, want %d each", keys, alertsSeen, n)
	}
	for k, c := range keys {
		if c != 1 {
			t.Fatalf("notification %s received %d times", k, c)
		}
	}
	if p := m.Outbox(); len(p) != 0 {
		t.Fatalf("outbox not empty: %+v", p)
	}
}
