package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opskit/opskit/sqlstore"
	"github.com/opskit/opskit/sqlstore/sqlstoretest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)} } // a Monday

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder is a Notifier that records what it is sent and can be made to
// fail.
type recorder struct {
	mu    sync.Mutex
	got   []sent
	fail  error
	calls int
}

type sent struct {
	d      Delivery
	alerts []Alert
}

func (r *recorder) Notify(ctx context.Context, alerts ...Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil {
		return r.fail
	}
	d, _ := DeliveryFrom(ctx)
	r.got = append(r.got, sent{d: d, alerts: alerts})
	return nil
}

func (r *recorder) setFail(err error) { r.mu.Lock(); r.fail = err; r.mu.Unlock() }

// take returns and clears what was recorded.
func (r *recorder) take() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

func names(ss []sent) []string {
	var out []string
	for _, s := range ss {
		var as []string
		for _, a := range s.alerts {
			st := "F"
			if !a.EndsAt.IsZero() {
				st = "R"
			}
			as = append(as, a.Labels["alertname"]+"/"+a.Labels["host"]+":"+st)
		}
		sort.Strings(as)
		out = append(out, fmt.Sprintf("L%d[%s]", s.d.Level, strings.Join(as, " ")))
	}
	return out
}

func alert(name, host string) Alert {
	return Alert{Labels: Labels{"alertname": name, "host": host}, Severity: Critical, Summary: name + " on " + host}
}

type fixture struct {
	t   *testing.T
	db  *sqlstore.DB
	clk *clock
	m   *Manager
	rcv map[string]*recorder
	cfg Config
}

func newFixture(t *testing.T, db *sqlstore.DB, cfg Config) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db, clk: newClock(), rcv: map[string]*recorder{}, cfg: cfg}
	if f.cfg.Receivers == nil {
		f.cfg.Receivers = map[string]Receiver{}
	}
	for _, n := range []string{"l1", "l2", "l3", "chat"} {
		r := &recorder{}
		f.rcv[n] = r
		if _, ok := f.cfg.Receivers[n]; !ok {
			f.cfg.Receivers[n] = Receiver{Notifier: r}
		}
	}
	f.restart()
	return f
}

// restart opens a new Manager on the same store, as after a crash.
func (f *fixture) restart() {
	f.t.Helper()
	m, err := NewManager(context.Background(), f.db, f.cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	m.Now = f.clk.Now
	m.Logger = slog.New(slog.DiscardHandler)
	f.m = m
}

func (f *fixture) notify(alerts ...Alert) {
	f.t.Helper()
	if err := f.m.Notify(context.Background(), alerts...); err != nil {
		f.t.Fatal(err)
	}
}

// step advances the clock, ticks and delivers.
func (f *fixture) step(d time.Duration) {
	f.t.Helper()
	f.clk.Add(d)
	if err := f.m.Tick(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	if err := f.m.Deliver(context.Background()); err != nil {
		f.t.Logf("deliver: %v", err)
	}
}

func (f *fixture) expect(receiver string, want ...string) {
	f.t.Helper()
	got := names(f.rcv[receiver].take())
	sort.Strings(got) // groups are independent
	sort.Strings(want)
	if !slices.Equal(got, want) {
		f.t.Fatalf("%s received %q, want %q", receiver, got, want)
	}
}

func simpleRoute() Route {
	return Route{Escalation: Escalation{Levels: []Level{{Receivers: []string{"l1"}}}}}
}

func TestGroupWaitDedupeAndGroupInterval(t *testing.T) {
	f := newFixture(t, sqlstoretest.SQLite(t), Config{Default: simpleRoute()})
	f.notify(alert("Disk", "a"), alert("Disk", "b"))
	f.step(10 * time.Second)
	f.notify(alert("Disk", "a"), alert("Disk", "c")) // a again: a duplicate
	f.step(10 * time.Second)
	f.expect("l1") // still in group_wait (30s)
	f.step(10 * time.Second)
	f.expect("l1", "L1[Disk/a:F Disk/b:F Disk/c:F]")
	f.step(time.Minute)
	f.expect("l1") // nothing new
	f.notify(alert("Disk", "d"))
	f.step(time.Minute)
	f.expect("l1") // group_interval (5m) not over
	f.step(3 * time.Minute)
	f.expect("l1", "L1[Disk/a:F Disk/b:F Disk/c:F Disk/d:F]")
	// One resolves: sent at the next group interval with the others.
	r := alert("Disk", "a")
	r.EndsAt = f.clk.Now()
	f.notify(r)
	f.step(time.Minute)
	f.expect("l1")
	f.step(4 * time.Minute)
	f.expect("l1", "L1[Disk/a:R Disk/b:F Disk/c:F Disk/d:F]")
	// The rest resolve: sent right away, and the group is gone.
	var rs []Alert
	for _, h := range []string{"b", "c", "d"} {
		a := alert("Disk", h)
		a.EndsAt = f.clk.Now()
		rs = append(rs, a)
	}
	f.notify(rs...)
	f.step(time.Second)
	f.expect("l1", "L1[Disk/b:R Disk/c:R Disk/d:R]")
	if g := f.m.Groups(); len(g) != 0 {
		t.Fatalf("groups left: %+v", g)
	}
	f.step(5 * time.Hour)
	f.expect("l1")
}

func TestResolvedWithinGroupWaitIsNeverSent(t *testing.T) {
	f := newFixture(t, sqlstoretest.SQLite(t), Config{Default: simpleRoute()})
	f.notify(alert("Flap", "a"))
	f.step(10 * time.Second)
	a := alert("Flap", "a")
	a.EndsAt = f.clk.Now()
	f.notify(a)
	f.step(time.Minute)
	f.expect("l1")
	if g := f.m.Groups(); len(g) != 0 {
		t.Fatalf("groups left: %+v", g)
	}
}

func TestRepeatInterval(t *testing.T) {
	rt := simpleRoute()
	rt.RepeatInterval = time.Hour
	f := newFixture(t, sqlstoretest.SQLite(t), Config{Default: rt})
	f.notify(alert("Down", "a"))
	f.step(30 * time.Second)
	f.expect("l1", "L1[Down/a:F]")
	f.step(59 * time.Minute)
	f.expect("l1")
	f.step(time.Minute)
	f.expect("l1", "L1[Down/a:F]")
}

func escalationRoute() Route {
	return Route{
		GroupWait: time.Second, RepeatInterval: 24 * time.Hour,
		Escalation: Escalation{Levels: []Level{
			{Receivers: []string{"l1", "chat"}},
			{After: 10 * time.Minute, Receivers: []string{"l2"}},
			{After: 15 * time.Minute, Receivers: []string{"l3"}},
		}},
	}
}

func TestEscalationAckAndResolve(t *testing.T) {
	f := newFixture(t, sqlstoretest.SQLite(t), Config{Default: escalationRoute(), AckTimeout: 30 * time.Minute})
	f.notify(alert("HostDown", "db1"))
	f.step(time.Second)
	f.expect("l1", "L1[HostDown/db1:F]")
	f.expect("chat", "L1[HostDown/db1:F]")
	f.step(9 * time.Minute)
	f.expect("l2")
	f.step(time.Minute)
	f.expect("l2", "L2[HostDown/db1:F]")
	f.expect("l1")
	// Level 2 acknowledges: level 3 is never paged.
	g := f.m.Groups()
	if len(g) != 1 || g[0].Level != 2 {
		t.Fatalf("groups %+v", g)
	}
	if err := f.m.Ack(context.Background(), g[0].Alerts[0].Fingerprint()[:8], "alice"); err != nil {
		t.Fatal(err)
	}
	f.step(20 * time.Minute)
	f.expect("l3")
	// The acknowledgement times out (30m): escalation starts again at level 1.
	f.step(10 * time.Minute)
	f.expect("l1", "L1[HostDown/db1:F]")
	f.expect("chat", "L1[HostDown/db1:F]")
	f.expect("l3")
	f.step(10 * time.Minute)
	f.expect("l2", "L2[HostDown/db1:F]")
	f.step(15 * time.Minute)
	f.expect("l3", "L3[HostDown/db1:F]")
	// Resolution reaches every level that was paged.
	a := alert("HostDown", "db1")
	a.EndsAt = f.clk.Now()
	f.notify(a)
	f.step(time.Second)
	for _, r := range []string{"l1", "chat", "l2", "l3"} {
		got := f.rcv[r].take()
		if len(got) != 1 || !got[0].d.Resolved || got[0].alerts[0].EndsAt.IsZero() {
			t.Fatalf("%s: resolution %+v", r, got)
		}
	}
}

func TestEscalationRepeatsThePolicy(t *testing.T) {
	rt := escalationRoute()
	rt.Escalation.Repeat = 1
	rt.Escalation.RepeatAfter = 5 * time.Minute
	f := newFixture(t, sqlstoretest.SQLite(t), Config{Default: rt})
	f.notify(alert("HostDown", "db1"))
	f.step(time.Second)
	f.step(10 * time.Minute)
	f.step(15 * time.Minute)
	f.expect("l1", "L1[HostDown/db1:F]")
	f.expect("l2", "L2[HostDown/db1:F]")
	f.expect("l3", "L3[HostDown/db1:F]")
	f.step(5 * time.Minute) // loop 1
	f.expect("l1", "L1[HostDown/db1:F]")
	f.step(10 * time.Minute)
	f.step(15 * time.Minute)
	f.expect("l2", "L2[HostDown/db1:F]")
	f.expect("l3", "L3[HostDown/db1:F]")
	f.step(5 * time.Hour) // no second loop
	for _, r := range []string{"l1", "l2", "l3"} {
		f.expect(r)
	}
}

func TestNightsAndWeekendsSchedule(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	offHours := &Schedule{Location: paris, Windows: []Window{
		{Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, From: 19 * time.Hour, To: 8 * time.Hour},
		{Days: []time.Weekday{time.Saturday, time.Sunday}},
	}}
	office := &Schedule{Location: paris, Windows: []Window{
		{Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, From: 8 * time.Hour, To: 19 * time.Hour},
	}}
	cases := []struct {
		at         string
		off, inOff bool
	}{
		{"2026-03-02T10:00:00+01:00", false, true},  // Monday morning
		{"2026-03-02T19:00:00+01:00", true, false},  // Monday 19:00 starts the night
		{"2026-03-03T07:59:59+01:00", true, false},  // Tuesday before 8: Monday's night
		{"2026-03-07T12:00:00+01:00", true, false},  // Saturday
		{"2026-03-09T07:00:00+01:00", false, false}, // Monday 07:00: Sunday's day ended at midnight, Monday's night starts 19:00
		{"2026-03-29T03:30:00+02:00", true, false},  // Sunday, DST change in Paris
		{"2026-03-30T07:30:00+02:00", false, false}, // Monday after DST
		{"2026-03-30T08:00:00+02:00", false, true},  // 08:00 local summer time is 06:00 UTC
		{"2026-03-30T06:30:00Z", false, true},       // 08:30 in Paris
	}
	for _, c := range cases {
		at, err := time.Parse(time.RFC3339, c.at)
		if err != nil {
			t.Fatal(err)
		}
		if got := offHours.Contains(at); got != c.off {
			t.Errorf("off hours at %s: %v, want %v", c.at, got, c.off)
		}
		if got := office.Contains(at); got != c.inOff {
			t.Errorf("office hours at %s: %v, want %v", c.at, got, c.inOff)
		}
	}

	// Office hours: the team chat; nights and weekends: the on-call pager.
	rt := Route{GroupWait: time.Second, Escalation: Escalation{Levels: []Level{
		{Receivers: []string{"chat"}, When: office},
		{Receivers: []string{"l1"}, When: offHours},
		{After: 10 * time.Minute, Receivers: []string{"l2"}, When: offHours},
	}}}
	f := newFixture(t, sqlstoretest.SQLite(t), Config{Default: rt})
	f.clk.t = time.Date(2026, 3, 7, 23, 0, 0, 0, paris) // Saturday night
	f.notify(alert("HostDown", "web1"))
	f.step(time.Second)
	f.expect("chat")
	f.expect("l1", "L2[HostDown/web1:F]")
	f.step(10 * time.Minute)
	f.expect("l2", "L3[HostDown/web1:F]")
}

func TestSilenceAndMaintenancePauseEscalation(t *testing.T) {
	f := newFixture(t, sqlstoretest.SQLite(t), Config{Default: escalationRoute()})
	ms, err := ParseMatchers(`host="db1"`)
	if err != nil {
		t.Fatal(err)
	}
	id, err := f.m.Silence(context.Background(), Silence{Matchers: ms, StartsAt: f.clk.Now(), EndsAt: f.clk.Now().Add(time.Hour), CreatedBy: "bob", Comment: "upgrade", Maintenance: true})
	if err != nil {
		t.Fatal(err)
	}
	f.notify(alert("HostDown", "db1"), alert("HostDown", "db2"))
	f.step(time.Second)
	f.expect("l1", "L1[HostDown/db2:F]")
	// db2 resolves; db1 is still silenced: escalation pauses, nothing sent.
	a := alert("HostDown", "db2")
	a.EndsAt = f.clk.Now()
	f.notify(a)
	f.step(5 * time.Minute)
	f.expect("l1", "L1[HostDown/db2:R]")
	f.step(30 * time.Minute)
	f.expect("l2")
	if err := f.m.Expire(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	f.step(time.Second)
	f.expect("l1", "L1[HostDown/db1:F]")
	f.expect("l2")                         // paused time does not count towards level 2
	f.step(10*time.Minute - 5*time.Minute) // 5 of the 10 minutes ran before the pause
	f.expect("l2", "L2[HostDown/db1:F]")
	if len(f.m.Silences()) != 0 {
		t.Fatalf("expired silence listed: %+v", f.m.Silences())
	}
}

func TestInhibition(t *testing.T) {
	src, _ := ParseMatchers(`alertname="HostDown"`)
	dst, _ := ParseMatchers(`alertname=~"PortClosed|CPUHigh"`)
	rt := simpleRoute()
	rt.GroupBy = []string{"..."}
	rt.GroupWait = time.Second
	f := newFixture(t, sqlstoretest.SQLite(t), Config{Default: rt, Inhibit: []InhibitRule{{Source: src, Target: dst, Equal: []string{"host"}}}})
	f.notify(alert("HostDown", "a"), alert("PortClosed", "a"), alert("PortClosed", "b"), alert("CPUHigh", "a"))
	f.step(time.Second)
	f.expect("l1", "L1[HostDown/a:F]", "L1[PortClosed/b:F]")
	a := alert("HostDown", "a")
	a.EndsAt = f.clk.Now()
	f.notify(a)
	f.step(time.Second)
	f.expect("l1", "L1[CPUHigh/a:F]", "L1[HostDown/a:R]", "L1[PortClosed/a:F]")
}

func TestAlertsAreValidated(t *testing.T) {
	f := newFixture(t, sqlstoretest.SQLite(t), Config{Default: simpleRoute()})
	err := f.m.Notify(context.Background(), Alert{Summary: "no labels"}, alert("Ok", "a"))
	if !errors.Is(err, ErrInvalidAlert) {
		t.Fatalf("err = %v", err)
	}
	if g := f.m.Groups(); len(g) != 1 || g[0].Alerts[0].Name() != "Ok" {
		t.Fatalf("groups %+v", g)
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := NewManager(context.Background(), sqlstoretest.SQLite(t), Config{
		Routes:  []Route{{Name: "x", Escalation: Escalation{Levels: []Level{{Receivers: []string{"nobody"}}}}}},
		Default: Route{},
	})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `receiver "nobody" is not defined`) || !strings.Contains(err.Error(), `route "default": no escalation levels`) {
		t.Fatalf("err = %v", err)
	}
}

// TestRestartMidEscalation: a daemon restarted between levels neither
// repeats a page nor forgets the next one; on both databases.
func TestRestartMidEscalation(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, Config{Default: escalationRoute()})
		f.notify(alert("HostDown", "db1"), alert("PortClosed", "db1"))
		f.step(time.Second)
		f.step(10 * time.Minute)
		f.expect("l1", "L1[HostDown/db1:F]", "L1[PortClosed/db1:F]")
		f.expect("l2", "L2[HostDown/db1:F]", "L2[PortClosed/db1:F]")
		f.restart()
		f.step(time.Second)
		f.step(time.Minute)
		for _, r := range []string{"l1", "l2", "l3", "chat"} {
			f.rcv[r].take()
		}
		f.restart()
		f.step(14 * time.Minute) // 15 minutes after level 2
		f.expect("l3", "L3[HostDown/db1:F]", "L3[PortClosed/db1:F]")
		f.expect("l1")
		f.expect("l2")
		f.restart()
		f.step(time.Hour)
		f.expect("l3")
		// Acknowledged state survives a restart too.
		if err := f.m.Ack(context.Background(), f.m.Groups()[0].ID, "carol"); err != nil {
			t.Fatal(err)
		}
		f.restart()
		if g := f.m.Groups(); len(g) != 2 || !(g[0].Acked || g[1].Acked) || (g[0].Acked && g[0].AckedBy != "carol") {
			t.Fatalf("after restart: %+v", g)
		}
	})
}

// TestOutageLosesNothing: a receiver that is down gets every notification
// once it is back, in order, each exactly once; another receiver is not
// held up; a restart while undelivered keeps them.
func TestOutageLosesNothing(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		rt := simpleRoute()
		rt.GroupWait = time.Second
		rt.GroupBy = []string{"host"}
		rt.Escalation.Levels[0].Receivers = []string{"l1", "chat"}
		f := newFixture(t, db, Config{Default: rt, Retry: Backoff{Min: time.Second, Max: 8 * time.Second}})
		down := errors.New("connection refused")
		f.rcv["l1"].setFail(down)
		for i := range 5 {
			f.notify(alert("HostDown", fmt.Sprint("h", i)))
		}
		f.step(time.Second)
		if got := len(f.rcv["chat"].take()); got != 5 {
			t.Fatalf("chat got %d notifications, want 5 while l1 is down", got)
		}
		pending := f.m.Outbox()
		var order []string
		for _, p := range pending {
			order = append(order, p.Key)
		}
		if len(pending) != 5 || pending[0].Attempts != 1 || pending[0].LastError != "connection refused" {
			t.Fatalf("outbox %+v", pending)
		}
		for range 10 {
			f.step(3 * time.Second)
		}
		f.restart()
		if len(f.m.Outbox()) != 5 {
			t.Fatalf("outbox after restart: %+v", f.m.Outbox())
		}
		f.rcv["l1"].setFail(nil)
		f.step(10 * time.Second)
		got := f.rcv["l1"].take()
		keys := map[string]bool{}
		for i, s := range got {
			keys[s.d.Key] = true
			if i < len(order) && s.d.Key != order[i] {
				t.Fatalf("notification %d is %s, want %s (outbox order)", i, s.d.Key, order[i])
			}
		}
		if len(got) != 5 || len(keys) != 5 {
			t.Fatalf("l1 got %d notifications (%d keys), want 5", len(got), len(keys))
		}
		f.step(time.Minute)
		f.restart()
		f.step(time.Minute)
		f.expect("l1")
		f.expect("chat")
		if len(f.m.Outbox()) != 0 {
			t.Fatalf("outbox not empty: %+v", f.m.Outbox())
		}
	})
}

func TestPermanentFailureIsKeptAndDoesNotBlock(t *testing.T) {
	rt := simpleRoute()
	rt.GroupWait = time.Second
	rt.GroupBy = []string{"host"}
	f := newFixture(t, sqlstoretest.SQLite(t), Config{Default: rt})
	f.rcv["l1"].setFail(fmt.Errorf("HTTP 400: %w", ErrPermanent))
	f.notify(alert("A", "x"))
	f.step(time.Second)
	f.rcv["l1"].setFail(nil)
	f.notify(alert("A", "y"))
	f.step(time.Second)
	f.expect("l1", "L1[A/y:F]")
	out := f.m.Outbox()
	if len(out) != 1 || !out[0].Failed || !strings.Contains(out[0].LastError, "HTTP 400") {
		t.Fatalf("outbox %+v", out)
	}
	calls := f.rcv["l1"].calls
	f.step(time.Hour)
	if f.rcv["l1"].calls != calls {
		t.Fatal("a permanent failure was retried")
	}
}

func TestResolveTimeout(t *testing.T) {
	rt := simpleRoute()
	rt.GroupWait = time.Second
	f := newFixture(t, sqlstoretest.SQLite(t), Config{Default: rt, ResolveTimeout: 5 * time.Minute})
	f.notify(alert("Falco", "k1"))
	f.step(time.Second)
	f.expect("l1", "L1[Falco/k1:F]")
	f.step(4 * time.Minute)
	f.notify(alert("Falco", "k1")) // sent again: still firing
	f.step(4 * time.Minute)
	f.expect("l1")
	f.step(time.Minute)
	f.expect("l1", "L1[Falco/k1:R]")
}

func TestContinueRoutesAndGroupBy(t *testing.T) {
	crit, _ := ParseMatchers(`severity="critical"`)
	f := newFixture(t, sqlstoretest.SQLite(t), Config{
		Routes: []Route{
			{Name: "page", Matchers: crit, Continue: true, GroupWait: time.Second, GroupBy: []string{"host"}, Escalation: Escalation{Levels: []Level{{Receivers: []string{"l1"}}}}},
			{Name: "all", GroupWait: time.Second, Escalation: Escalation{Levels: []Level{{Receivers: []string{"chat"}}}}},
		},
		Default: simpleRoute(),
	})
	a, b := alert("Down", "a"), alert("Slow", "a")
	a.Labels["severity"] = "critical"
	f.notify(a, b, alert("Down", "b"))
	f.step(time.Second)
	f.expect("l1", "L1[Down/a:F]")
	f.expect("chat", "L1[Down/a:F Down/b:F]", "L1[Slow/a:F]")
}

// TestCommandsFromAnotherProcess: the CLI queues commands in the store;
// the running Manager applies them at its next Tick.
func TestCommandsFromAnotherProcess(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, Config{Default: escalationRoute()})
		f.notify(alert("HostDown", "db1"), alert("HostDown", "db2"))
		f.step(time.Second)
		f.expect("l1", "L1[HostDown/db1:F HostDown/db2:F]")
		ctx := context.Background()
		g := f.m.Groups()[0]
		if err := SendCommand(ctx, db, Command{Ack: g.ID[:8], By: "dave"}); err != nil {
			t.Fatal(err)
		}
		ms, _ := ParseMatchers(`alertname="Backup"`)
		if err := SendCommand(ctx, db, Command{Silence: &Silence{ID: "s1", Matchers: ms, StartsAt: f.clk.Now(), EndsAt: f.clk.Now().Add(time.Hour), CreatedBy: "dave"}}); err != nil {
			t.Fatal(err)
		}
		if err := SendCommand(ctx, db, Command{Ack: "x", Expire: "y"}); err == nil {
			t.Fatal("a command with two actions was accepted")
		}
		f.step(20 * time.Minute)
		f.expect("l2") // acknowledged before level 2
		if g := f.m.Groups()[0]; g.AckedBy != "dave" {
			t.Fatalf("group %+v", g)
		}
		if s := f.m.Silences(); len(s) != 1 || s[0].ID != "s1" || s[0].Matchers.String() != ms.String() {
			t.Fatalf("silences %+v", s)
		}
		if err := SendCommand(ctx, db, Command{Expire: "s1"}); err != nil {
			t.Fatal(err)
		}
		f.step(time.Second)
		if s := f.m.Silences(); len(s) != 0 {
			t.Fatalf("silences %+v", s)
		}
	})
}

// TestHousekeeping: group state left by a changed configuration is
// removed, and so are old permanent failures and ended silences.
func TestHousekeeping(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	rt := simpleRoute()
	rt.GroupWait = time.Second
	f := newFixture(t, db, Config{Default: rt})
	f.rcv["l1"].setFail(fmt.Errorf("HTTP 400: %w", ErrPermanent))
	f.notify(alert("A", "x"))
	ms, _ := ParseMatchers(`host="y"`)
	if _, err := f.m.Silence(context.Background(), Silence{Matchers: ms, StartsAt: f.clk.Now(), EndsAt: f.clk.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f.step(time.Second)
	count := func(table string) int {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count("alerting_groups") != 1 || count("alerting_outbox") != 1 || count("alerting_silences") != 1 {
		t.Fatal("state not stored")
	}
	// Regrouped by host: the old group's state is an orphan.
	f.cfg.Default.GroupBy = []string{"host"}
	f.restart()
	f.step(time.Second) // the new group waits group_wait from the first Tick
	f.step(time.Second)
	if got := count("alerting_groups"); got != 1 {
		t.Fatalf("%d group rows, want 1 (the new group)", got)
	}
	if len(f.m.Groups()) != 1 || f.m.Groups()[0].Key != `default:{host="x"}` {
		t.Fatalf("groups %+v", f.m.Groups())
	}
	// The first failure (before the restart) is older than the second.
	if err := f.m.cleanUp(context.Background(), f.clk.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if count("alerting_outbox") != 1 || len(f.m.Outbox()) != 1 || count("alerting_silences") != 1 {
		t.Fatalf("outbox %+v", f.m.Outbox())
	}
	if err := f.m.cleanUp(context.Background(), f.clk.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if count("alerting_silences") != 0 || len(f.m.Silences()) != 0 || count("alerting_outbox") != 0 {
		t.Fatal("ended silence or old failure kept")
	}
}
