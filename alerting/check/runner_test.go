package check_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/check"
)

// recorder is a Notifier that keeps what it receives and fails on demand.
type recorder struct {
	mu     sync.Mutex
	alerts []alerting.Alert
	err    error // returned (and nothing kept) while set
	calls  int
}

func (r *recorder) Notify(ctx context.Context, alerts ...alerting.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.err != nil {
		return r.err
	}
	r.alerts = append(r.alerts, alerts...)
	return nil
}

func (r *recorder) take() []alerting.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.alerts
	r.alerts = nil
	return a
}

// script is a Check that returns the next scripted outcome on each run.
type script struct {
	mu      sync.Mutex
	results []check.Result
	runs    int
}

func (s *script) Check(ctx context.Context) check.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.results[min(s.runs, len(s.results)-1)]
	s.runs++
	return r
}

func results(pattern string) []check.Result {
	var out []check.Result
	for i, c := range pattern {
		out = append(out, check.Result{OK: c == '+', Message: fmt.Sprintf("run %d %c", i, c)})
	}
	return out
}

type clock struct{ t time.Time }

func (c *clock) Now() time.Time                { return c.t }
func (c *clock) Add(d time.Duration) time.Time { c.t = c.t.Add(d); return c.t }

var quiet = slog.New(slog.DiscardHandler)

var t0 = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

func TestRunnerDamping(t *testing.T) {
	// Fail 3 to fire, succeed 2 to resolve; single flaps change nothing.
	// Runs 6,7,8 fail: fires at 8. Runs 11,12 succeed: resolves at 12.
	outcomes := "+-+--+---+-++-++"
	want := map[int]string{8: "fire", 12: "resolve"}
	sc := &script{results: results(outcomes)}
	rec := &recorder{}
	clk := &clock{t: t0}
	var events []check.Event
	r, err := check.NewRunner(check.RunnerConfig{
		Entries: []check.Entry{{
			Name: "web-443", Check: sc, Host: "web1", Instance: "acme",
			Alertname: "PortDown", FailuresToFire: 3, SuccessesToResolve: 2,
			Labels: alerting.Labels{"team": "ops", "check": "ignored"},
		}},
		Notifier: rec, Logger: quiet,
		Now:      clk.Now,
		Observer: check.ObserverFunc(func(ctx context.Context, ev check.Event) { events = append(events, ev) }),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var firstFail8 time.Time
	for i := range len(outcomes) {
		now := clk.Add(time.Minute)
		if i == 6 {
			firstFail8 = now
		}
		if err := r.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		got := rec.take()
		switch want[i] {
		case "":
			if len(got) != 0 {
				t.Fatalf("run %d (%c): sent %+v, want nothing", i, outcomes[i], got)
			}
		case "fire":
			if len(got) != 1 || !got[0].EndsAt.IsZero() {
				t.Fatalf("run %d: sent %+v, want one firing alert", i, got)
			}
			a := got[0]
			if !a.StartsAt.Equal(firstFail8) {
				t.Errorf("StartsAt %v, want the streak's first failure %v", a.StartsAt, firstFail8)
			}
			wantLabels := alerting.Labels{"alertname": "PortDown", "check": "web-443", "host": "web1", "instance": "acme", "team": "ops"}
			if fmt.Sprint(a.Labels) != fmt.Sprint(wantLabels) {
				t.Errorf("labels %v, want %v", a.Labels, wantLabels)
			}
			if a.Severity != alerting.Critical || a.Source != "check" || a.Summary != "web-443 on web1: run 8 -" {
				t.Errorf("alert %+v", a)
			}
		case "resolve":
			if len(got) != 1 || !got[0].EndsAt.Equal(now) || !got[0].StartsAt.Equal(firstFail8) {
				t.Fatalf("run %d: sent %+v, want the alert resolved at %v", i, got, now)
			}
			if got[0].Annotations["resolution"] != "run 12 +" {
				t.Errorf("resolution annotation %q", got[0].Annotations["resolution"])
			}
		}
	}
	if len(events) != len(outcomes) {
		t.Fatalf("%d events, want %d", len(events), len(outcomes))
	}
	for i, ev := range events {
		firing := i >= 8 && i < 12
		if ev.Firing != firing {
			t.Errorf("event %d: firing %v, want %v", i, ev.Firing, firing)
		}
		wantStatus := check.Operational
		if firing {
			wantStatus = check.MajorOutage
		}
		if ev.Status != wantStatus {
			t.Errorf("event %d: status %s, want %s", i, ev.Status, wantStatus)
		}
		if ev.Result.OK != (outcomes[i] == '+') || ev.Labels["host"] != "web1" {
			t.Errorf("event %d: %+v", i, ev)
		}
	}
	if events[8].Transition != check.Fired || events[12].Transition != check.Resolved || events[9].Transition != check.Unchanged {
		t.Errorf("transitions: %v %v %v", events[8].Transition, events[9].Transition, events[12].Transition)
	}
}

func TestRunnerNotifierDownKeepsAlerts(t *testing.T) {
	sc := &script{results: results("--++")}
	rec := &recorder{err: errors.New("connection refused")}
	clk := &clock{t: t0}
	r, err := check.NewRunner(check.RunnerConfig{
		Entries:  []check.Entry{{Name: "a", Check: sc, FailuresToFire: 1, SuccessesToResolve: 1}},
		Notifier: rec, Logger: quiet, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.RunOnce(ctx); err == nil {
		t.Fatal("RunOnce: want the notifier's error")
	}
	if err := r.RunOnce(ctx); err == nil { // still failing, still down
		t.Fatal("second RunOnce: want the notifier's error")
	}
	rec.mu.Lock()
	rec.err = nil
	rec.mu.Unlock()
	clk.Add(time.Minute)
	if err := r.RunOnce(ctx); err != nil { // resolves; the firing alert was never delivered
		t.Fatal(err)
	}
	got := rec.take()
	// The pending firing alert is superseded by its resolution: one alert,
	// resolved, whose StartsAt is the first failure.
	if len(got) != 1 || got[0].EndsAt.IsZero() || !got[0].StartsAt.Equal(t0) {
		t.Fatalf("after recovery sent %+v, want one resolved alert starting %v", got, t0)
	}
	if err := r.RunOnce(ctx); err != nil || len(rec.take()) != 0 {
		t.Fatalf("nothing more to send: err %v", err)
	}
}

func TestRunnerPermanentErrorDrops(t *testing.T) {
	sc := &script{results: results("--")}
	rec := &recorder{err: fmt.Errorf("bad key: %w", alerting.ErrPermanent)}
	r, err := check.NewRunner(check.RunnerConfig{
		Entries:  []check.Entry{{Name: "a", Check: sc, FailuresToFire: 1}},
		Notifier: rec, Logger: quiet, Now: (&clock{t: t0}).Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.RunOnce(ctx); err != nil {
		t.Fatalf("permanent failure is logged, not returned: %v", err)
	}
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if rec.calls != 1 {
		t.Fatalf("Notify called %d times, want 1 (dropped after a permanent error)", rec.calls)
	}
}

func TestRunnerSeverityChangeAndResend(t *testing.T) {
	warn := check.Result{OK: false, Message: "expires in 10 days", Severity: alerting.Warning, Status: check.Operational}
	crit := check.Result{OK: false, Message: "expires in 2 days"}
	sc := &script{results: []check.Result{warn, warn, crit, crit, crit, crit}}
	rec := &recorder{}
	clk := &clock{t: t0}
	var last check.Event
	r, err := check.NewRunner(check.RunnerConfig{
		Entries:  []check.Entry{{Name: "cert", Check: sc, FailuresToFire: 1, Status: check.PartialOutage}},
		Notifier: rec, Logger: quiet, Now: clk.Now, Resend: 2 * time.Hour,
		Observer: check.ObserverFunc(func(ctx context.Context, ev check.Event) { last = ev }),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var sent [][]alerting.Alert
	for range 6 {
		clk.Add(time.Hour)
		if err := r.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, rec.take())
		if len(sent) == 1 && last.Status != check.Operational {
			t.Errorf("warning status %s, want the result's operational", last.Status)
		}
	}
	if last.Status != check.PartialOutage {
		t.Errorf("critical status %s, want the entry's partial_outage", last.Status)
	}
	counts := []int{}
	for _, s := range sent {
		counts = append(counts, len(s))
	}
	// fire(warning), -, severity change(critical), -, resend after 2h, -
	if want := []int{1, 0, 1, 0, 1, 0}; !slices.Equal(counts, want) {
		t.Fatalf("alerts per run %v, want %v", counts, want)
	}
	if sent[0][0].Severity != alerting.Warning || sent[2][0].Severity != alerting.Critical {
		t.Errorf("severities %s, %s", sent[0][0].Severity, sent[2][0].Severity)
	}
	if !sent[2][0].StartsAt.Equal(sent[0][0].StartsAt) || sent[2][0].Fingerprint() != sent[0][0].Fingerprint() {
		t.Error("a severity change must keep StartsAt and fingerprint")
	}
}

func TestRunnerTickSchedule(t *testing.T) {
	fast, slow := &script{results: results("+")}, &script{results: results("+")}
	clk := &clock{t: t0}
	r, err := check.NewRunner(check.RunnerConfig{
		Entries: []check.Entry{
			{Name: "fast", Check: fast, Interval: time.Minute},
			{Name: "slow", Check: slow, Interval: 5 * time.Minute},
		},
		Notifier: &recorder{}, Logger: quiet, Now: clk.Now, Jitter: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if !r.Next().IsZero() {
		t.Fatal("Next before the first Tick should be zero")
	}
	// Ticks every 30 s for 10 minutes: fast runs at 0,1,...,9 (10), slow at 0,5 (2).
	for i := range 20 {
		if err := r.Tick(ctx, t0.Add(time.Duration(i)*30*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if fast.runs != 10 || slow.runs != 2 {
		t.Fatalf("runs fast %d slow %d, want 10 and 2", fast.runs, slow.runs)
	}
	if want := t0.Add(10 * time.Minute); !r.Next().Equal(want) {
		t.Fatalf("Next %v, want %v", r.Next(), want)
	}
	// After a long pause, missed runs are skipped, not caught up.
	if err := r.Tick(ctx, t0.Add(time.Hour+10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if fast.runs != 11 || slow.runs != 3 {
		t.Fatalf("after a pause: runs fast %d slow %d, want 11 and 3", fast.runs, slow.runs)
	}
	if want := t0.Add(time.Hour + time.Minute); !r.Next().Equal(want) {
		t.Fatalf("Next %v, want %v (on the original grid)", r.Next(), want)
	}
}

func TestRunnerJitterWithinBounds(t *testing.T) {
	var entries []check.Entry
	for i := range 50 {
		entries = append(entries, check.Entry{Name: fmt.Sprint(i), Check: &script{results: results("+")}, Interval: 100 * time.Second})
	}
	r, err := check.NewRunner(check.RunnerConfig{Entries: entries, Notifier: &recorder{}, Logger: quiet, Jitter: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Tick(context.Background(), t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	// First runs are jittered within [start, start+20s); Next is the earliest.
	next := r.Next()
	if next.Before(t0.Add(-time.Hour)) || !next.Before(t0.Add(-time.Hour+20*time.Second)) {
		t.Fatalf("Next %v outside the jitter window", next)
	}
}

func TestRunnerRunStopsOnCancel(t *testing.T) {
	ran := make(chan struct{}, 1)
	c := check.Func(func(ctx context.Context) check.Result {
		select {
		case ran <- struct{}{}:
		default:
		}
		return check.Result{OK: true}
	})
	r, err := check.NewRunner(check.RunnerConfig{
		Entries:  []check.Entry{{Name: "x", Check: c, Interval: time.Hour}},
		Notifier: &recorder{}, Logger: quiet, Jitter: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	<-ran // the first run happens at once
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v after cancel, want nil", err)
	}
}

func TestRunnerCancelledRunChangesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := check.Func(func(ctx context.Context) check.Result {
		cancel()
		<-ctx.Done()
		return check.Result{OK: false, Message: ctx.Err().Error()}
	})
	rec := &recorder{}
	r, err := check.NewRunner(check.RunnerConfig{
		Entries:  []check.Entry{{Name: "x", Check: c, FailuresToFire: 1}},
		Notifier: rec, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RunOnce(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("RunOnce: %v, want context.Canceled", err)
	}
	if rec.calls != 0 {
		t.Fatal("a run cut short by shutdown must not fire")
	}
}

func TestNewRunnerValidates(t *testing.T) {
	ok := check.Func(func(context.Context) check.Result { return check.Result{OK: true} })
	for name, cfg := range map[string]check.RunnerConfig{
		"no notifier": {Entries: []check.Entry{{Name: "a", Check: ok}}},
		"no name":     {Notifier: &recorder{}, Logger: quiet, Entries: []check.Entry{{Check: ok}}},
		"no check":    {Notifier: &recorder{}, Logger: quiet, Entries: []check.Entry{{Name: "a"}}},
		"negative":    {Notifier: &recorder{}, Logger: quiet, Entries: []check.Entry{{Name: "a", Check: ok, Interval: -time.Second}}},
		"duplicate":   {Notifier: &recorder{}, Logger: quiet, Entries: []check.Entry{{Name: "a", Check: ok, Host: "h"}, {Name: "a", Check: ok, Host: "h"}}},
	} {
		if _, err := check.NewRunner(cfg); !errors.Is(err, check.ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
	if _, err := check.NewRunner(check.RunnerConfig{Notifier: &recorder{}, Logger: quiet, Entries: []check.Entry{
		{Name: "a", Check: ok, Host: "h1"}, {Name: "a", Check: ok, Host: "h2"}}}); err != nil {
		t.Errorf("same check on two hosts: %v", err)
	}
}

func TestDamper(t *testing.T) {
	for _, tc := range []struct {
		n, m     int
		outcomes string
		want     string // F fired, R resolved, . unchanged
	}{
		{1, 1, "-+-+", "FRFR"},
		{3, 2, "--+---++", ".....F.R"},
		{3, 2, "---+-++", "..F...R"},
		{2, 3, "--++-+++", ".F.....R"},
		{0, 0, "-+", "FR"},
	} {
		d := check.Damper{FailuresToFire: tc.n, SuccessesToResolve: tc.m}
		got := ""
		for _, c := range tc.outcomes {
			switch d.Observe(c == '+') {
			case check.Fired:
				got += "F"
			case check.Resolved:
				got += "R"
			default:
				got += "."
			}
		}
		if got != tc.want {
			t.Errorf("N=%d M=%d %s: %s, want %s", tc.n, tc.m, tc.outcomes, got, tc.want)
		}
	}
	d := check.Damper{FailuresToFire: 3, SuccessesToResolve: 2}
	d.Observe(false)
	d.Observe(false)
	if d.Firing() || d.Streak() != 2 {
		t.Errorf("after two failures: firing %v streak %d", d.Firing(), d.Streak())
	}
	d.Observe(false)
	d.Observe(true)
	if !d.Firing() || d.Streak() != 1 {
		t.Errorf("fired, then one success: firing %v streak %d", d.Firing(), d.Streak())
	}
}

func TestRunnerConcurrencyBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		inflight := 0
		gate := make(chan struct{})
		c := check.Func(func(ctx context.Context) check.Result {
			mu.Lock()
			inflight++
			mu.Unlock()
			<-gate
			return check.Result{OK: true}
		})
		var entries []check.Entry
		for i := range 6 {
			entries = append(entries, check.Entry{Name: fmt.Sprint(i), Check: c})
		}
		r, err := check.NewRunner(check.RunnerConfig{Entries: entries, Notifier: &recorder{}, Logger: quiet, Concurrency: 2})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() { done <- r.RunOnce(context.Background()) }()
		synctest.Wait() // every goroutine is blocked: on the gate or the semaphore
		mu.Lock()
		n := inflight
		mu.Unlock()
		close(gate)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("%d checks running at once, want 2", n)
		}
		if inflight != 6 {
			t.Fatalf("%d checks ran, want 6", inflight)
		}
	})
}

func TestTickRetriesPendingAlertsOfChecksNotDue(t *testing.T) {
	fails := &script{results: results("-")}
	rec := &recorder{err: errors.New("down")}
	r, err := check.NewRunner(check.RunnerConfig{
		Entries: []check.Entry{
			{Name: "hourly", Check: fails, Interval: time.Hour, FailuresToFire: 1},
			{Name: "minutely", Check: &script{results: results("+")}, Interval: time.Minute},
		},
		Notifier: rec, Logger: quiet, Jitter: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Tick(ctx, t0); err == nil {
		t.Fatal("want the notifier's error")
	}
	rec.mu.Lock()
	rec.err = nil
	rec.mu.Unlock()
	if err := r.Tick(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got := rec.take()
	if len(got) != 1 || got[0].Labels["check"] != "hourly" || fails.runs != 1 {
		t.Fatalf("sent %+v after %d runs of the hourly check, want its pending alert without a new run", got, fails.runs)
	}
}

func TestRunnerRunFollowsTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := &script{results: results("+--++")}
		rec := &recorder{}
		r, err := check.NewRunner(check.RunnerConfig{
			Entries:  []check.Entry{{Name: "x", Check: sc, Interval: time.Minute, FailuresToFire: 2, SuccessesToResolve: 2}},
			Notifier: rec, Logger: quiet, Jitter: -1,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- r.Run(ctx) }()
		// Virtual time: runs at 0, 1m, ..., 10m.
		time.Sleep(10*time.Minute + time.Second)
		synctest.Wait()
		sc.mu.Lock()
		runs := sc.runs
		sc.mu.Unlock()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		if runs != 11 {
			t.Fatalf("%d runs in 10 minutes at a 1-minute interval, want 11", runs)
		}
		got := rec.take()
		if len(got) != 2 || !got[0].EndsAt.IsZero() || got[1].EndsAt.Sub(got[1].StartsAt) != 3*time.Minute {
			t.Fatalf("alerts %+v, want fired at 2m (from 1m) and resolved at 4m", got)
		}
	})
}
