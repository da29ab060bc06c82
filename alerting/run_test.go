package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/opskit/opskit/sqlstore"
	"github.com/opskit/opskit/sqlstore/sqlstoretest"
)

// poster is a minimal webhook Notifier for this test: POST JSON with the
// idempotency key; 2xx is success.
type poster struct{ url string }

func (p poster) Notify(ctx context.Context, alerts ...Alert) error {
	d, _ := DeliveryFrom(ctx)
	body, _ := json.Marshal(alerts)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Idempotency-Key", d.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// receiver is a real HTTP server that is down (503, or the connection
// dropped) until up is closed, and counts deliveries by idempotency key.
type receiver struct {
	mu       sync.Mutex
	up       bool
	failures int
	keys     map[string]int
	failed   chan struct{} // receives on each refused attempt
	got      chan string   // receives each accepted key
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	up := rc.up
	if !up {
		rc.failures++
		odd := rc.failures%2 == 1
		rc.mu.Unlock()
		select {
		case rc.failed <- struct{}{}:
		default:
		}
		if odd {
			// Drop the connection: the sender sees a network error.
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	rc.keys[key]++
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	rc.got <- key
}

// TestRunReceiverOutage runs the Manager for real (Run, real time, real
// HTTP): a webhook receiver that is down for a while then returns gets
// every notification exactly once, and the other receiver is not held up.
func TestRunReceiverOutage(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		down := &receiver{keys: map[string]int{}, failed: make(chan struct{}, 1), got: make(chan string, 16)}
		other := &receiver{up: true, keys: map[string]int{}, failed: make(chan struct{}, 1), got: make(chan string, 16)}
		s1, s2 := httptest.NewServer(down), httptest.NewServer(other)
		defer s1.Close()
		defer s2.Close()
		cfg := Config{
			Receivers: map[string]Receiver{"pager": {Notifier: poster{s1.URL}}, "chat": {Notifier: poster{s2.URL}}},
			Default: Route{GroupBy: []string{"host"}, GroupWait: time.Millisecond,
				Escalation: Escalation{Levels: []Level{{Receivers: []string{"pager", "chat"}}}}},
			Retry:        Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond},
			TickInterval: 10 * time.Millisecond,
		}
		m, err := NewManager(context.Background(), db, cfg)
		if err != nil {
			t.Fatal(err)
		}
		m.Logger = slog.New(slog.DiscardHandler)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		const n = 4
		for i := range n {
			if err := m.Notify(ctx, alert("HostDown", fmt.Sprint("h", i))); err != nil {
				t.Fatal(err)
			}
		}
		// The chat receiver gets all while the pager is down.
		for range n {
			<-other.got
		}
		for range 4 { // several refused attempts
			<-down.failed
		}
		down.mu.Lock()
		down.up = true
		down.mu.Unlock()
		for range n {
			<-down.got
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if len(down.keys) != n {
			t.Fatalf("pager got keys %v, want %d distinct", down.keys, n)
		}
		for k, c := range down.keys {
			if c != 1 {
				t.Fatalf("key %s delivered %d times", k, c)
			}
		}
		if p := m.Outbox(); len(p) != 0 {
			t.Fatalf("outbox not empty: %+v", p)
		}
	})
}

// watchdogSink records Watchdog heartbeats.
type watchdogSink struct{ got chan Alert }

func (w watchdogSink) Notify(ctx context.Context, alerts ...Alert) error {
	for _, a := range alerts {
		select {
		case w.got <- a:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// TestWatchdog: a running Manager sends the always-firing Watchdog alert
// to the dead-man's-switch receiver, again and again.
func TestWatchdog(t *testing.T) {
	sink := watchdogSink{got: make(chan Alert, 8)}
	m, err := NewManager(context.Background(), sqlstoretest.SQLite(t), Config{
		Receivers:    map[string]Receiver{"deadman": {Notifier: sink}, "l1": {Notifier: &recorder{}}},
		Default:      simpleRoute(),
		Watchdog:     Watchdog{Receiver: "deadman", Interval: 20 * time.Millisecond},
		TickInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	m.Logger = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	for range 3 {
		a := <-sink.got
		if a.Name() != "Watchdog" || a.Resolved(time.Now()) {
			t.Fatalf("heartbeat %+v", a)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := NewManager(context.Background(), sqlstoretest.SQLite(t), Config{Default: simpleRoute(),
		Receivers: map[string]Receiver{"l1": {Notifier: &recorder{}}}, Watchdog: Watchdog{Receiver: "nobody"}}); !errors.Is(err, ErrConfig) {
		t.Fatalf("undefined watchdog receiver: %v", err)
	}
}
