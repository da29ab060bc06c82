package esrule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/hashicorp/go-multierror"

	"github.com/opskit/opskit/alerting"
)

// Runner runs rules over Elasticsearch like ElastAlert: each rule every
// run_every over the window since its resume point, cut into segments,
// handing alerts to a Notifier with realert suppression per query key.
// Set the fields before the first call; a Runner is safe for concurrent
// use but runs one evaluation at a time.
type Runner struct {
	// Client is the Elasticsearch client (*elasticsearch.Client), required.
	Client esapi.Transport
	// Notifier receives the alerts (the alerting Manager); required by Run
	// and RunOnce.
	Notifier alerting.Notifier
	// Store keeps resume points and silences across restarts; nil keeps
	// them in memory only.
	Store *Store
	// Rules are the rules to run; names must be unique.
	Rules []Rule
	// OldQueryLimit bounds catch-up after downtime (ElastAlert's
	// old_query_limit): an older resume point is ignored and the rule starts
	// afresh. Zero means one week.
	OldQueryLimit time.Duration
	// PageSize is the documents fetched per scroll page; zero means 10000.
	PageSize int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives progress and errors (never document contents); nil
	// means slog.Default().
	Logger *slog.Logger
	// Trace, if set, is called with every request sent to Elasticsearch.
	Trace func(Request)

	received atomic.Int64
	mu       sync.Mutex
	rules    map[string]*running
}

// running is one rule's evaluation state between runs.
type running struct {
	rule      Rule
	state     *State
	loaded    bool // resume point and silences read from the Store
	prevEnd   time.Time
	seeded    bool
	processed map[string]time.Time // document IDs of overlapping windows
	silences  map[string]Silence
	pending   []alerting.Alert // not yet accepted by the Notifier
}

// Received returns the bytes of Elasticsearch answers read so far.
func (r *Runner) Received() int64 { return r.received.Load() }

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func (r *Runner) searcher() *searcher {
	size := r.PageSize
	if size <= 0 {
		size = 10000
	}
	return &searcher{client: r.Client, received: &r.received, trace: r.Trace, pageSize: size}
}

func (r *Runner) oldQueryLimit() time.Duration {
	if r.OldQueryLimit > 0 {
		return r.OldQueryLimit
	}
	return 7 * 24 * time.Hour
}

// Run runs every rule now and then each one every RunEvery, until ctx ends
// (it then returns ctx's error). Errors of a run are logged; the rule's
// window is retried on its next run.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.check(); err != nil {
		return err
	}
	next := map[string]time.Time{}
	for {
		now := r.now()
		wake := now.Add(time.Hour)
		for _, rule := range r.Rules {
			rule = rule.withDefaults()
			if due, ok := next[rule.Name]; !ok || !now.Before(due) {
				if err := r.runRule(ctx, rule); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					r.logger().Error("esrule: rule run failed", "rule", rule.Name, "err", err)
				}
				next[rule.Name] = now.Add(rule.RunEvery)
			}
			if next[rule.Name].Before(wake) {
				wake = next[rule.Name]
			}
		}
		t := time.NewTimer(wake.Sub(r.now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (r *Runner) check() error {
	if r.Client == nil {
		return errors.New("esrule: Runner.Client is nil")
	}
	if r.Notifier == nil {
		return errors.New("esrule: Runner.Notifier is nil")
	}
	seen := map[string]bool{}
	for _, rule := range r.Rules {
		if err := rule.Validate(); err != nil {
			return err
		}
		if seen[rule.Name] {
			return fmt.Errorf("%w %q: name: used by two rules", ErrInvalid, rule.Name)
		}
		seen[rule.Name] = true
	}
	return nil
}

// RunOnce runs every rule once at Now, as one tick of Run does, and
// returns the rules' errors aggregated.
func (r *Runner) RunOnce(ctx context.Context) error {
	if err := r.check(); err != nil {
		return err
	}
	var errs *multierror.Error
	for _, rule := range r.Rules {
		if err := r.runRule(ctx, rule.withDefaults()); err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	return errs.ErrorOrNil()
}

func (r *Runner) runRule(ctx context.Context, rule Rule) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rules == nil {
		r.rules = map[string]*running{}
	}
	run := r.rules[rule.Name]
	if run == nil {
		st, err := NewState(rule)
		if err != nil {
			return err
		}
		run = &running{rule: rule, state: st, processed: map[string]time.Time{}, silences: map[string]Silence{}}
		r.rules[rule.Name] = run
	}
	now := r.now()
	if !run.loaded && r.Store != nil {
		end, ok, err := r.Store.Resume(ctx, rule.Name)
		if err != nil {
			return err
		}
		if ok && now.Sub(end) <= r.oldQueryLimit() {
			run.prevEnd = end
		}
		if run.silences, err = r.Store.Silences(ctx, rule.Name); err != nil {
			return err
		}
		run.loaded = true
	}
	start := windowStart(rule, run.prevEnd, now)
	var matches []Match
	end, evalErr := r.evaluate(ctx, run, start, now, func(m []Match) { matches = append(matches, m...) })
	if !end.IsZero() {
		run.prevEnd = end
	}
	// Realert is measured from when alerts are sent, as in ElastAlert: a
	// catch-up after downtime alerts once per key, not once per window.
	changed := map[string]Silence{}
	alerts := run.pending
	for _, m := range matches {
		if sil, ok := run.silences[m.Key]; ok && now.Before(sil.Until) {
			continue
		}
		if rule.Realert > 0 {
			var prev *Silence
			if sil, ok := run.silences[m.Key]; ok {
				prev = &sil
			}
			next := nextSilence(rule, prev, now)
			run.silences[m.Key] = next
			changed[m.Key] = next
		}
		alerts = append(alerts, toAlert(rule, m))
	}
	run.pending = nil
	var errs *multierror.Error
	if evalErr != nil {
		errs = multierror.Append(errs, evalErr)
	}
	if len(alerts) > 0 {
		if err := r.Notifier.Notify(ctx, alerts...); err != nil {
			// Evaluation goes on; the alerts are offered again next run.
			run.pending = alerts
			errs = multierror.Append(errs, fmt.Errorf("esrule: rule %q: notifying %d alerts: %w", rule.Name, len(alerts), err))
		}
	}
	forget := now.Add(-2 * max(rule.Realert, rule.ExponentialRealert))
	for k, sil := range run.silences {
		if sil.Until.Before(forget) {
			delete(run.silences, k)
		}
	}
	if r.Store != nil && !run.prevEnd.IsZero() {
		if err := r.Store.Save(ctx, rule.Name, run.prevEnd, changed, forget); err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	r.logger().Debug("esrule: rule run", "rule", rule.Name, "start", start, "end", run.prevEnd, "matches", len(matches), "alerts", len(alerts))
	return errs.ErrorOrNil()
}

// windowStart is ElastAlert's set_starttime: document queries look back
// buffer_time (overlapping windows, deduplicated by _id) unless the last run
// ended earlier (catch-up); count and terms queries continue from the last
// end; metric windows are consecutive buffer_time windows.
func windowStart(rule Rule, prevEnd, now time.Time) time.Time {
	switch {
	case rule.Mode() == Documents:
		start := now.Add(-rule.BufferTime)
		if !prevEnd.IsZero() && prevEnd.Before(start) {
			return prevEnd
		}
		return start
	case !prevEnd.IsZero():
		return prevEnd
	case rule.Type == MetricAggregation:
		return now.Add(-rule.BufferTime)
	}
	return now.Add(-rule.RunEvery)
}

// segmentSize is how ElastAlert cuts long windows.
func segmentSize(rule Rule) time.Duration {
	switch {
	case rule.Mode() == Documents || rule.Type == MetricAggregation:
		return rule.BufferTime
	}
	return rule.RunEvery
}

// evaluate feeds the window (start, end] segment by segment and returns the
// end of the last segment processed: the new resume point.
func (r *Runner) evaluate(ctx context.Context, run *running, start, end time.Time, emit func([]Match)) (time.Time, error) {
	rule := run.rule
	s := r.searcher()
	if rule.Type == NewTerm && !run.seeded {
		if err := r.seed(ctx, s, run, start); err != nil {
			return time.Time{}, err
		}
		run.seeded = true
	}
	size := segmentSize(rule)
	// A counting rule with several segments to go (a catch-up, a dry run)
	// counts them all in one query (or a few) instead of one per segment.
	var counted map[int64]segmentCounts
	if m := rule.Mode(); (m == Count || m == Terms) && rule.Type != MetricAggregation && rule.Type != Cardinality &&
		end.Sub(start) > size && size >= time.Millisecond {
		var err error
		if counted, err = s.segments(ctx, rule, start, end, size); err != nil {
			return time.Time{}, fmt.Errorf("esrule: rule %q: window %s..%s: %w", rule.Name, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), err)
		}
	}
	done := time.Time{}
	for segStart := start; segStart.Before(end); {
		segEnd := segStart.Add(size)
		if segEnd.After(end) {
			if rule.Type == MetricAggregation {
				break // metric windows are whole buffer_time windows
			}
			segEnd = end
		}
		if c, ok := counted[segStart.UnixMilli()]; ok {
			if rule.Mode() == Count {
				run.state.AddCount(segEnd, c.count)
			} else {
				run.state.AddTerms(segEnd, c.buckets)
			}
		} else if err := r.segment(ctx, s, run, segStart, segEnd); err != nil {
			return done, fmt.Errorf("esrule: rule %q: window %s..%s: %w", rule.Name, segStart.UTC().Format(time.RFC3339), segEnd.UTC().Format(time.RFC3339), err)
		}
		run.state.GarbageCollect(segEnd)
		emit(run.state.Matches())
		done = segEnd
		segStart = segEnd
	}
	return done, nil
}

func (r *Runner) segment(ctx context.Context, s *searcher, run *running, start, end time.Time) error {
	rule := run.rule
	st := run.state
	switch {
	case rule.Type == MetricAggregation:
		vals, err := s.metric(ctx, rule, start, end)
		if err != nil {
			return err
		}
		for _, v := range vals {
			st.AddMetric(end, v.key, v.value)
		}
		return nil
	case rule.Type == Cardinality:
		docs, err := s.cardinality(ctx, rule, start, end)
		if err != nil {
			return err
		}
		return st.AddDocs(docs...)
	}
	switch rule.Mode() {
	case Count:
		n, err := s.count(ctx, rule, start, end)
		if err != nil {
			return err
		}
		st.AddCount(end, n)
		return nil
	case Terms:
		b, err := s.terms(ctx, rule, start, end)
		if err != nil {
			return err
		}
		st.AddTerms(end, b)
		return nil
	}
	// Forget document IDs older than the overlap.
	for id, ts := range run.processed {
		if ts.Before(start.Add(-rule.BufferTime)) {
			delete(run.processed, id)
		}
	}
	return s.docs(ctx, rule, start, end, func(hits []hit) error {
		docs := make([]Doc, 0, len(hits))
		for _, h := range hits {
			if _, dup := run.processed[h.ID]; dup {
				continue
			}
			run.processed[h.ID] = end
			if h.Source == nil {
				h.Source = Doc{}
			}
			docs = append(docs, h.Source)
		}
		return st.AddDocs(docs...)
	})
}

// seed loads a new_term rule's known values from terms_window_size before
// start, one window_step_size step at a time (ElastAlert refuses to start
// a rule whose history it cannot read; so does this).
func (r *Runner) seed(ctx context.Context, s *searcher, run *running, start time.Time) error {
	rule := run.rule
	fields := rule.Fields
	for from := start.Add(-rule.TermsWindowSize); from.Before(start); from = from.Add(rule.WindowStepSize) {
		to := from.Add(rule.WindowStepSize)
		if to.After(start) {
			to = start
		}
		for _, f := range fields {
			vals, err := s.seed(ctx, rule, f, from, to)
			if err != nil {
				return fmt.Errorf("esrule: rule %q: reading existing terms of %s: %w", rule.Name, f, err)
			}
			run.state.SeedTerms(f, vals...)
		}
	}
	return nil
}

// DryRun evaluates rule over (start, end] and returns its matches without
// notifying, realert or touching the Store: test a rule against past logs.
func (r *Runner) DryRun(ctx context.Context, rule Rule, start, end time.Time) ([]Match, error) {
	if r.Client == nil {
		return nil, errors.New("esrule: Runner.Client is nil")
	}
	st, err := NewState(rule)
	if err != nil {
		return nil, err
	}
	run := &running{rule: rule.withDefaults(), state: st, processed: map[string]time.Time{}}
	var out []Match
	_, err = r.evaluate(ctx, run, start, end, func(m []Match) { out = append(out, m...) })
	return out, err
}

// toAlert turns a match into an alert: labels alertname (the rule),
// rule_type and query_key; annotations summary and the matched values.
func toAlert(rule Rule, m Match) alerting.Alert {
	labels := alerting.Labels{"alertname": rule.Name, "rule_type": string(rule.Type)}
	if m.Key != "" {
		labels["query_key"] = m.Key
	}
	summary := rule.Name + ": " + describe(m)
	if m.Key != "" {
		summary += " (" + strings.Join(rule.QueryKey, ",") + " " + m.Key + ")"
	}
	matched := map[string]any{}
	for k, v := range m.Values {
		matched[k] = v
	}
	for _, f := range append(append(append([]string{}, rule.QueryKey...), rule.CompareKey...), rule.CardinalityField) {
		if v, ok := m.Doc.Lookup(f); ok && f != "" {
			matched[f] = v
		}
	}
	ann := map[string]string{
		"summary":    summary,
		"match_time": m.Time.UTC().Format(time.RFC3339Nano),
	}
	if b, err := json.Marshal(matched); err == nil {
		ann["matched"] = string(b)
	}
	return alerting.Alert{
		Labels:      labels,
		Annotations: ann,
		Severity:    alerting.Warning,
		Summary:     summary,
		StartsAt:    m.Time,
		Source:      "logrule",
	}
}
