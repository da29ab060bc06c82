package check

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/opskit/opskit/alerting"
)

// ErrInvalid is wrapped by every configuration error NewRunner returns.
var ErrInvalid = errors.New("check: invalid configuration")

// Defaults used where an Entry or RunnerConfig leaves a field zero.
const (
	DefaultInterval           = time.Minute
	DefaultTimeout            = 10 * time.Second
	DefaultFailuresToFire     = 3 // Gatus' failure-threshold
	DefaultSuccessesToResolve = 2 // Gatus' success-threshold
	DefaultAlertname          = "CheckFailed"
	DefaultJitter             = 0.1
	DefaultConcurrency        = 4
)

// Entry schedules one Check and says how its failures become alerts.
type Entry struct {
	// Name identifies the check: the "check" label. Required, unique
	// per Runner together with Host and Instance.
	Name  string
	Check Check // required
	// Host and Instance become the "host" and "instance" labels when set.
	Host     string
	Instance string
	// Alertname is the "alertname" label; default DefaultAlertname. Pick
	// names per kind ("HostUnresponsive", "PortDown") to let the Manager
	// inhibit one with another.
	Alertname string
	// Labels are added to every alert (alertname, check, host and
	// instance win over them).
	Labels alerting.Labels
	// Severity of the alert unless the Result says otherwise; default
	// alerting.Critical.
	Severity alerting.Severity
	// Status is the component status while firing, unless the Result
	// says otherwise; default MajorOutage.
	Status ComponentStatus
	// Interval between runs; default DefaultInterval.
	Interval time.Duration
	// Timeout of one run; default the smaller of DefaultTimeout and
	// Interval.
	Timeout time.Duration
	// FailuresToFire and SuccessesToResolve configure flap damping (see
	// Damper); defaults DefaultFailuresToFire and
	// DefaultSuccessesToResolve.
	FailuresToFire     int
	SuccessesToResolve int
}

// Event is what the Runner tells its Observer after every run of a check.
type Event struct {
	Check  string          // Entry.Name
	Labels alerting.Labels // the labels alerts of this check carry
	At     time.Time       // when the run started
	Result Result          // the raw result, before damping
	// Firing is the damped state: true from the run that fired until the
	// run that resolved.
	Firing     bool
	Transition Transition // Fired or Resolved on the run that changed Firing
	// Status is the damped component status: Operational while not
	// firing, else the status of the failure that fired (or of the latest
	// failure since), so a status page follows alerts, not single probes.
	Status ComponentStatus
}

// Observer receives every Event, synchronously from the Runner's loop:
// keep Observe short. The daemon sets status-page component statuses
// from Event.Status.
type Observer interface {
	Observe(ctx context.Context, ev Event)
}

// ObserverFunc adapts a function to an Observer.
type ObserverFunc func(ctx context.Context, ev Event)

// Observe calls f(ctx, ev).
func (f ObserverFunc) Observe(ctx context.Context, ev Event) { f(ctx, ev) }

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	Entries []Entry
	// Notifier receives firing and resolved alerts (the Manager).
	// Required.
	Notifier alerting.Notifier
	// Observer, if set, receives every result.
	Observer Observer
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Jitter delays each scheduled run by a random part of this fraction
	// of its interval, so checks started together spread out; default
	// DefaultJitter, at most 0.5, negative for none.
	Jitter float64
	// Concurrency bounds the checks run at the same time; default
	// DefaultConcurrency.
	Concurrency int
	// Resend, if positive, sends a firing alert again when it has not
	// been sent for this long. Firing alerts are otherwise sent when they
	// fire and when their severity changes.
	Resend time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Runner runs checks on their intervals, damps flapping results and sends
// alerts when a check fires and when it resolves. Run drives it from the
// clock; Tick and RunOnce drive it step by step (tests, "opsd check").
type Runner struct {
	cfg    RunnerConfig
	log    *slog.Logger
	mu     sync.Mutex // serialises Tick and RunOnce
	states []*state
}

type state struct {
	e       Entry
	labels  alerting.Labels
	damper  Damper
	base    time.Time // start of the current scheduling period; zero before the first Tick
	due     time.Time
	failAt  time.Time       // first failure of the current streak
	firing  *alerting.Alert // the alert while firing
	status  ComponentStatus // damped status while firing
	sentAt  time.Time       // when firing was last sent
	pending *alerting.Alert // to be sent (again, if Notify failed)
}

// NewRunner validates cfg and returns a Runner.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.Notifier == nil {
		return nil, fmt.Errorf("%w: no notifier", ErrInvalid)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = DefaultJitter
	}
	cfg.Jitter = min(cfg.Jitter, 0.5)
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	r := &Runner{cfg: cfg, log: cfg.Logger}
	if r.log == nil {
		r.log = slog.Default()
	}
	seen := map[string]bool{}
	for i, e := range cfg.Entries {
		if e.Name == "" || e.Check == nil {
			return nil, fmt.Errorf("%w: entry %d: name and check are required", ErrInvalid, i)
		}
		if e.Interval < 0 || e.Timeout < 0 || e.FailuresToFire < 0 || e.SuccessesToResolve < 0 {
			return nil, fmt.Errorf("%w: check %q: negative interval, timeout or threshold", ErrInvalid, e.Name)
		}
		if e.Interval == 0 {
			e.Interval = DefaultInterval
		}
		if e.Timeout == 0 {
			e.Timeout = min(DefaultTimeout, e.Interval)
		}
		if e.FailuresToFire == 0 {
			e.FailuresToFire = DefaultFailuresToFire
		}
		if e.SuccessesToResolve == 0 {
			e.SuccessesToResolve = DefaultSuccessesToResolve
		}
		if e.Alertname == "" {
			e.Alertname = DefaultAlertname
		}
		if e.Severity == "" {
			e.Severity = alerting.Critical
		}
		if e.Status == "" {
			e.Status = MajorOutage
		}
		labels := alerting.Labels{}
		for k, v := range e.Labels {
			labels[k] = v
		}
		labels["alertname"] = e.Alertname
		labels["check"] = e.Name
		if e.Host != "" {
			labels["host"] = e.Host
		}
		if e.Instance != "" {
			labels["instance"] = e.Instance
		}
		fp := labels.Fingerprint()
		if seen[fp] {
			return nil, fmt.Errorf("%w: check %q: duplicate labels (name, host, instance)", ErrInvalid, e.Name)
		}
		seen[fp] = true
		r.states = append(r.states, &state{
			e:      e,
			labels: labels,
			damper: Damper{FailuresToFire: e.FailuresToFire, SuccessesToResolve: e.SuccessesToResolve},
		})
	}
	return r, nil
}

// RunOnce runs every check now, whatever its schedule, and sends the
// resulting alerts. The error is the Notifier's (the alerts stay pending and
// are sent again by the next Tick or RunOnce) or ctx's.
func (r *Runner) RunOnce(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.run(ctx, r.cfg.Now(), r.states)
}

// Tick runs the checks due at now and sends the resulting alerts, and any
// alerts a failed Notify left pending. The first Tick schedules every
// check's first run at now plus jitter; after a run, the next is one
// interval later (runs missed while the process was stopped or busy are
// skipped, not caught up). The error is as for RunOnce.
func (r *Runner) Tick(ctx context.Context, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var due []*state
	for _, s := range r.states {
		if s.base.IsZero() {
			s.base = now
			s.due = now.Add(r.jitter(s.e.Interval))
		}
		if !s.due.After(now) {
			due = append(due, s)
			// Next period start after now, without drifting.
			periods := now.Sub(s.base)/s.e.Interval + 1
			s.base = s.base.Add(periods * s.e.Interval)
			s.due = s.base.Add(r.jitter(s.e.Interval))
		}
	}
	return r.run(ctx, now, due)
}

// Next returns when the earliest check is due; the zero time before the
// first Tick.
func (r *Runner) Next() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var next time.Time
	for _, s := range r.states {
		if next.IsZero() || s.due.Before(next) {
			next = s.due
		}
	}
	return next
}

// Run calls Tick whenever a check is due until ctx is cancelled, then
// returns nil. Notifier errors are logged, not returned: their alerts are
// sent again on the next Tick.
func (r *Runner) Run(ctx context.Context) error {
	for {
		if err := r.Tick(ctx, r.cfg.Now()); err != nil && ctx.Err() == nil {
			r.log.Warn("check: notify failed; alerts kept for the next run", "err", err)
		}
		if ctx.Err() != nil {
			return nil
		}
		wait := time.Second
		if next := r.Next(); !next.IsZero() {
			wait = max(next.Sub(r.cfg.Now()), 0)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (r *Runner) jitter(interval time.Duration) time.Duration {
	if r.cfg.Jitter <= 0 {
		return 0
	}
	return time.Duration(rand.Float64() * r.cfg.Jitter * float64(interval))
}

// run runs the checks in states concurrently, then, in order, damps their
// results, informs the observer and sends what changed.
func (r *Runner) run(ctx context.Context, now time.Time, states []*state) error {
	results := make([]Result, len(states))
	sem := make(chan struct{}, r.cfg.Concurrency)
	var wg sync.WaitGroup
	for i, s := range states {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = fail(fmt.Sprintf("not run: %v", ctx.Err()), 0, nil)
				return
			}
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, s.e.Timeout)
			defer cancel()
			results[i] = s.e.Check.Check(cctx)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		// Results of cancelled runs say nothing about the checked thing.
		return err
	}
	for i, s := range states {
		r.apply(ctx, s, now, results[i])
	}
	return r.flush(ctx)
}

func (r *Runner) apply(ctx context.Context, s *state, now time.Time, res Result) {
	if !res.OK && s.failAt.IsZero() {
		s.failAt = now
	}
	tr := s.damper.Observe(res.OK)
	sev := res.Severity
	if sev == "" {
		sev = s.e.Severity
	}
	status := res.Status
	if status == "" {
		status = s.e.Status
	}
	switch {
	case tr == Fired:
		a := s.alert(res, sev)
		a.StartsAt = s.failAt
		s.firing, s.status = &a, status
		s.queue(a, now)
		r.log.Info("check: firing", "check", s.e.Name, "host", s.e.Host, "message", res.Message)
	case tr == Resolved:
		a := *s.firing
		a.EndsAt = now
		// Copies: the firing alert's maps may be held by the Notifier.
		a.Labels = maps.Clone(a.Labels)
		a.Annotations = maps.Clone(a.Annotations)
		a.Annotations["resolution"] = res.Message
		s.firing, s.failAt = nil, time.Time{}
		s.queue(a, now)
		r.log.Info("check: resolved", "check", s.e.Name, "host", s.e.Host, "message", res.Message)
	case s.firing != nil && !res.OK:
		s.status = status
		if sev != s.firing.Severity || (r.cfg.Resend > 0 && now.Sub(s.sentAt) >= r.cfg.Resend) {
			a := s.alert(res, sev)
			a.StartsAt = s.firing.StartsAt
			s.firing = &a
			s.queue(a, now)
		}
	case s.firing != nil && r.cfg.Resend > 0 && now.Sub(s.sentAt) >= r.cfg.Resend:
		s.queue(*s.firing, now)
	case s.firing == nil && res.OK:
		s.failAt = time.Time{}
	}
	if r.cfg.Observer != nil {
		ev := Event{Check: s.e.Name, Labels: maps.Clone(s.labels), At: now, Result: res,
			Firing: s.firing != nil, Transition: tr, Status: Operational}
		if s.firing != nil {
			ev.Status = s.status
		}
		r.cfg.Observer.Observe(ctx, ev)
	}
}

func (s *state) queue(a alerting.Alert, now time.Time) {
	s.pending = &a
	if a.EndsAt.IsZero() {
		s.sentAt = now
	}
}

func (s *state) alert(res Result, sev alerting.Severity) alerting.Alert {
	labels := maps.Clone(s.labels)
	where := s.e.Name
	if s.e.Host != "" {
		where += " on " + s.e.Host
	}
	summary := where + ": " + res.Message
	return alerting.Alert{
		Labels:      labels,
		Annotations: map[string]string{"summary": summary, "description": res.Message},
		Severity:    sev,
		Summary:     summary,
		Source:      "check",
	}
}

// flush sends every pending alert in one Notify call.
func (r *Runner) flush(ctx context.Context) error {
	var alerts []alerting.Alert
	var from []*state
	for _, s := range r.states {
		if s.pending != nil {
			alerts = append(alerts, *s.pending)
			from = append(from, s)
		}
	}
	if len(alerts) == 0 {
		return nil
	}
	err := r.cfg.Notifier.Notify(ctx, alerts...)
	if err != nil && !errors.Is(err, alerting.ErrPermanent) {
		return fmt.Errorf("check: notify %d alerts: %w", len(alerts), err)
	}
	if err != nil {
		r.log.Error("check: notifier refused alerts permanently; dropped", "alerts", len(alerts), "err", err)
	}
	for _, s := range from {
		s.pending = nil
	}
	return nil
}
