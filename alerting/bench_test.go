package alerting

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opskit/opskit/sqlstore/sqlstoretest"
)

// BenchmarkManagerIngest measures Notify with 10,000 distinct
// fingerprints re-sent by producers (checks and rules re-send what still
// fires), from concurrent callers, one alert per call, with a Tick every
// 50,000 alerts. Reports alerts/s.
func BenchmarkManagerIngest(b *testing.B) {
	const distinct = 10000
	cfg := Config{
		Receivers: map[string]Receiver{"r": {Notifier: &recorder{}}},
		Default:   Route{GroupBy: []string{"alertname", "host"}, Escalation: Escalation{Levels: []Level{{Receivers: []string{"r"}}}}},
	}
	m, err := NewManager(context.Background(), sqlstoretest.SQLite(b), cfg)
	if err != nil {
		b.Fatal(err)
	}
	m.Logger = slog.New(slog.DiscardHandler)
	alerts := make([]Alert, distinct)
	for i := range alerts {
		alerts[i] = Alert{
			Labels:   Labels{"alertname": fmt.Sprint("Check", i%50), "host": fmt.Sprint("host", i/50), "instance": "prod"},
			Severity: Warning, Summary: "disk nearly full", Source: "check",
			StartsAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		}
	}
	ctx := context.Background()
	if err := m.Notify(ctx, alerts...); err != nil { // first sight: stored
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := m.Notify(ctx, alerts[i%distinct]); err != nil {
				b.Error(err)
				return
			}
			i += 7
			if i%50000 == 0 {
				m.Tick(ctx)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "alerts/s")
}

// BenchmarkManagerTick measures one Tick over 10,000 groups with nothing
// due (the steady state Run repeats every second).
func BenchmarkManagerTick(b *testing.B) {
	cfg := Config{
		Receivers: map[string]Receiver{"r": {Notifier: &recorder{}}},
		Default:   Route{GroupBy: []string{"..."}, Escalation: Escalation{Levels: []Level{{Receivers: []string{"r"}}}}},
	}
	m, err := NewManager(context.Background(), sqlstoretest.SQLite(b), cfg)
	if err != nil {
		b.Fatal(err)
	}
	m.Logger = slog.New(slog.DiscardHandler)
	clk := newClock()
	m.Now = clk.Now
	var alerts []Alert
	for i := range 10000 {
		alerts = append(alerts, Alert{Labels: Labels{"alertname": "Down", "host": fmt.Sprint("h", i)}})
	}
	ctx := context.Background()
	if err := m.Notify(ctx, alerts...); err != nil {
		b.Fatal(err)
	}
	clk.Add(time.Minute)
	if err := m.Tick(ctx); err != nil { // first notifications
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		clk.Add(time.Second)
		if err := m.Tick(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkManagerIngestChanging is the worst case: every alert sent
// differs from the stored one (a changing annotation), so every Notify
// writes to SQLite; concurrent callers share transactions (group commit).
func BenchmarkManagerIngestChanging(b *testing.B) {
	const distinct = 10000
	cfg := Config{
		Receivers: map[string]Receiver{"r": {Notifier: &recorder{}}},
		Default:   Route{GroupBy: []string{"alertname", "host"}, Escalation: Escalation{Levels: []Level{{Receivers: []string{"r"}}}}},
	}
	m, err := NewManager(context.Background(), sqlstoretest.SQLite(b), cfg)
	if err != nil {
		b.Fatal(err)
	}
	m.Logger = slog.New(slog.DiscardHandler)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(16) // many producers, as behind an HTTP input
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			a := Alert{
				Labels:      Labels{"alertname": fmt.Sprint("Check", i%50), "host": fmt.Sprint("host", (i%distinct)/50)},
				Annotations: map[string]string{"value": fmt.Sprint(i)},
			}
			if err := m.Notify(ctx, a); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "alerts/s")
}
