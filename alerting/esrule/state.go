package esrule

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// Bucket is one query key value and its event count, as a terms
// aggregation returns it.
type Bucket struct {
	Key   string
	Count int64
}

// Match is one rule match: what an alert is made of.
type Match struct {
	Rule string
	Type Type
	// Time is the event time the match is about (the newest event of a
	// frequency window, the end of a flatline window, a metric's window end).
	Time time.Time
	// Key is the query key value; "" when the rule has no query key.
	Key string
	// Doc is the matched document, or a synthetic event built from counts.
	Doc Doc
	// Values carries the rule type's details under ElastAlert's names:
	// "count", "num_events" (frequency); "count", "threshold" (flatline);
	// "spike_count", "reference_count" (spike); "old_value", "new_value"
	// (change); "new_field", "new_value" or "missing_field" (new_term);
	// "cardinality", "value" (cardinality); "metric_agg_value" (metric);
	// "value" (blacklist, whitelist).
	Values map[string]any
}

// State is a rule's evaluation state, free of I/O: the runner feeds it the
// data of each segment (documents, counts, terms buckets or metric values)
// in time order, calls GarbageCollect at each segment's end, and collects
// Matches. Tests feed it directly with an injected notion of time (the
// event timestamps and the GarbageCollect times), as ElastAlert's rule-type
// tests do. A State is not safe for concurrent use.
type State struct {
	rule    Rule
	matches []Match

	// frequency, flatline
	occ        map[string]*window
	firstEvent map[string]time.Time // flatline, cardinality
	lastMatch  map[string]time.Time // flatline
	// spike
	cur, ref      map[string]*window
	spikeFirst    map[string]time.Time
	skipUntil     map[string]time.Time
	refFilledOnce bool
	// change
	last     map[string][]any
	lastTime map[string]time.Time
	// cardinality: key -> value -> last seen
	seen map[string]map[string]time.Time
	// new_term: field -> values
	terms map[string]map[string]bool
}

// NewState returns the empty state of a valid rule.
func NewState(r Rule) (*State, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &State{
		rule:       r.withDefaults(),
		occ:        map[string]*window{},
		firstEvent: map[string]time.Time{},
		lastMatch:  map[string]time.Time{},
		cur:        map[string]*window{},
		ref:        map[string]*window{},
		spikeFirst: map[string]time.Time{},
		skipUntil:  map[string]time.Time{},
		last:       map[string][]any{},
		lastTime:   map[string]time.Time{},
		seen:       map[string]map[string]time.Time{},
		terms:      map[string]map[string]bool{},
	}, nil
}

// Matches returns the matches found since the last call, oldest first.
func (s *State) Matches() []Match {
	m := s.matches
	s.matches = nil
	return m
}

func (s *State) match(ts time.Time, key string, d Doc, values map[string]any) {
	s.matches = append(s.matches, Match{Rule: s.rule.Name, Type: s.rule.Type, Time: ts, Key: key, Doc: d, Values: values})
}

func (s *State) ts(d Doc) (time.Time, error) {
	v, ok := d.Lookup(s.rule.TimestampField)
	if !ok {
		return time.Time{}, fmt.Errorf("esrule: rule %q: event without %s", s.rule.Name, s.rule.TimestampField)
	}
	t, err := ParseTime(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("esrule: rule %q: %s: %w", s.rule.Name, s.rule.TimestampField, err)
	}
	return t, nil
}

// AddDocs feeds documents (sorted by time, as the runner queries them).
// It fails on a document without a readable timestamp, before using any.
func (s *State) AddDocs(docs ...Doc) error {
	times := make([]time.Time, len(docs))
	for i, d := range docs {
		t, err := s.ts(d)
		if err != nil {
			return err
		}
		times[i] = t
	}
	r := s.rule
	switch r.Type {
	case Any:
		for i, d := range docs {
			s.match(times[i], key(r.QueryKey, d), d, nil)
		}
	case Blacklist, Whitelist:
		for i, d := range docs {
			v, ok := d.Lookup(r.CompareKey[0])
			if !ok || v == nil {
				if r.Type == Whitelist && !r.IgnoreNull {
					s.match(times[i], key(r.QueryKey, d), d, map[string]any{"value": nil})
				}
				continue
			}
			if slices.Contains(r.List, text(v)) == (r.Type == Blacklist) {
				s.match(times[i], key(r.QueryKey, d), d, map[string]any{"value": v})
			}
		}
	case Change:
		for i, d := range docs {
			s.change(times[i], d)
		}
	case Frequency, Flatline:
		var touched []string
		for i, d := range docs {
			k := keyOrAll(r.QueryKey, d)
			s.window(k).append(event{ts: times[i], count: 1, doc: d})
			s.checkFrequency(k, false)
			if !slices.Contains(touched, k) {
				touched = append(touched, k)
			}
		}
		// ElastAlert checks only the batch's last key at the end; every key
		// touched is checked here, so a batch's order does not matter.
		for _, k := range touched {
			if _, ok := s.occ[k]; ok {
				s.checkFrequency(k, true)
			}
		}
	case Spike:
		for i, d := range docs {
			s.spikeEvent(keyOrAll(r.QueryKey, d), event{ts: times[i], count: 1, doc: d})
		}
	case Cardinality:
		for i, d := range docs {
			s.cardinality(times[i], keyOrAll(r.QueryKey, d), d)
		}
	case NewTerm:
		for i, d := range docs {
			s.newTerm(times[i], d)
		}
	default:
		return fmt.Errorf("esrule: rule %q: %s rules are not fed documents", r.Name, r.Type)
	}
	return nil
}

// allKey is the internal key of rules without a query key.
const allKey = "\x00all"

func keyOrAll(fields []string, d Doc) string {
	if len(fields) == 0 {
		return allKey
	}
	return key(fields, d)
}

func publicKey(k string) string {
	if k == allKey {
		return ""
	}
	return k
}

// synthetic builds the event ElastAlert makes from a count or bucket.
func (s *State) synthetic(ts time.Time, k string) Doc {
	d := Doc{s.rule.TimestampField: ts.UTC().Format(time.RFC3339Nano)}
	if k != allKey && len(s.rule.QueryKey) == 1 {
		d[s.rule.QueryKey[0]] = k
	}
	return d
}

// AddCount feeds the number of events of a segment ending at ts (count
// mode of frequency, spike and flatline rules without a query key).
func (s *State) AddCount(ts time.Time, n int64) {
	s.addCounted(ts, allKey, n)
}

// AddTerms feeds per-key counts of a segment ending at ts (terms mode), or
// for new_term rules with use_terms_query the values seen.
func (s *State) AddTerms(ts time.Time, buckets []Bucket) {
	if s.rule.Type == NewTerm {
		f := s.rule.Fields[0]
		for _, b := range buckets {
			s.newValue(ts, f, b.Key, s.synthetic(ts, b.Key))
		}
		return
	}
	for _, b := range buckets {
		s.addCounted(ts, b.Key, b.Count)
	}
}

func (s *State) addCounted(ts time.Time, k string, n int64) {
	e := event{ts: ts, count: n, doc: s.synthetic(ts, k)}
	switch s.rule.Type {
	case Frequency, Flatline:
		s.window(k).append(e)
		s.checkFrequency(k, true)
	case Spike:
		s.spikeEvent(k, e)
	}
}

// AddMetric feeds a metric_aggregation value computed over the window
// ending at ts for a query key value (k is "" without a query key); nil
// means Elasticsearch had no value (no documents), which never matches.
func (s *State) AddMetric(ts time.Time, k string, value *float64) {
	r := s.rule
	if value == nil {
		return
	}
	v := *value
	if (r.MaxThreshold != nil && v > *r.MaxThreshold) || (r.MinThreshold != nil && v < *r.MinThreshold) {
		d := Doc{r.TimestampField: ts.UTC().Format(time.RFC3339Nano)}
		if k != "" && len(r.QueryKey) == 1 {
			d[r.QueryKey[0]] = k
		}
		s.match(ts, k, d, map[string]any{
			"metric_agg_value": v,
			"metric_" + r.MetricAggKey + "_" + r.MetricAggType: v,
		})
	}
}

// SeedTerms records values of a new_term field already seen (the runner
// does this from the terms_window_size history before the first run).
func (s *State) SeedTerms(field string, values ...string) {
	m := s.terms[field]
	if m == nil {
		m = map[string]bool{}
		s.terms[field] = m
	}
	for _, v := range values {
		m[v] = true
	}
}

// GarbageCollect tells the state that time has reached ts (a segment's end)
// with no further data: windows slide, flatline and min_cardinality rules
// may match, and stale keys are forgotten.
func (s *State) GarbageCollect(ts time.Time) {
	r := s.rule
	switch r.Type {
	case Frequency:
		for k, w := range s.occ {
			if len(w.events) == 0 || ts.Sub(w.newest().ts) > r.Timeframe {
				delete(s.occ, k)
			}
		}
	case Flatline:
		keys := sortedKeys(s.occ)
		if len(keys) == 0 && len(r.QueryKey) == 0 {
			keys = []string{allKey}
		}
		for _, k := range keys {
			s.window(k).append(event{ts: ts, doc: s.synthetic(ts, k), placeholder: true})
			if _, ok := s.firstEvent[k]; !ok {
				s.firstEvent[k] = ts
			}
			s.checkFrequency(k, true)
		}
	case Spike:
		for _, k := range sortedKeys(s.cur) {
			if k != allKey && s.cur[k].total == 0 && s.ref[k].total == 0 {
				delete(s.cur, k)
				delete(s.ref, k)
				continue
			}
			s.spikeEvent(k, event{ts: ts, doc: s.synthetic(ts, k), placeholder: true})
		}
	case Cardinality:
		for _, k := range sortedKeys(s.seen) {
			for v, last := range s.seen[k] {
				if ts.Sub(last) > r.Timeframe {
					delete(s.seen[k], v)
				}
			}
			if r.MinCardinality != nil {
				s.checkCardinality(k, ts, s.synthetic(ts, k), nil, false)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (s *State) window(k string) *window {
	w := s.occ[k]
	if w == nil {
		w = &window{timeframe: s.rule.Timeframe}
		s.occ[k] = w
	}
	return w
}

// checkFrequency is ElastAlert's check_for_match of frequency and flatline
// rules; end is false while a batch of documents is still being added.
func (s *State) checkFrequency(k string, end bool) {
	r := s.rule
	w := s.occ[k]
	if r.Type == Frequency {
		if w.total >= int64(r.NumEvents) {
			newest := w.newest()
			s.match(newest.ts, publicKey(k), newest.doc, map[string]any{"count": w.total, "num_events": r.NumEvents})
			delete(s.occ, k)
		}
		return
	}
	if !end {
		return
	}
	newest := w.newest().ts
	first, ok := s.firstEvent[k]
	if !ok {
		s.firstEvent[k] = newest
		first = newest
	}
	if newest.Sub(first) < r.Timeframe {
		return
	}
	if w.total < int64(r.Threshold) {
		if last, ok := s.lastMatch[k]; ok && last.Equal(newest) {
			return // a count and the garbage collection of one segment end
		}
		s.lastMatch[k] = newest
		d := Doc{}
		for name, v := range w.newest().doc {
			d[name] = v
		}
		s.match(newest, publicKey(k), d, map[string]any{"count": w.total, "threshold": r.Threshold})
		if r.ForgetKeys {
			delete(s.firstEvent, k)
			delete(s.occ, k)
			return
		}
		// Keep alerting every run until the count recovers.
		least := w.events[0].ts
		if ago := newest.Add(-r.Timeframe); ago.Before(least) {
			least = ago
		}
		s.firstEvent[k] = least
	}
}

func (s *State) spikeEvent(k string, e event) {
	r := s.rule
	if _, ok := s.spikeFirst[k]; !ok {
		s.spikeFirst[k] = e.ts
	}
	ref := s.ref[k]
	if ref == nil {
		ref = &window{timeframe: r.Timeframe}
		s.ref[k] = ref
	}
	cur := s.cur[k]
	if cur == nil {
		cur = &window{timeframe: r.Timeframe, onRemoved: ref.append}
		s.cur[k] = cur
	}
	cur.append(e)
	if e.ts.Sub(s.spikeFirst[k]) < 2*r.Timeframe {
		if !s.refFilledOnce || len(r.QueryKey) == 0 || !r.AlertOnNewData {
			return
		}
		if until, ok := s.skipUntil[k]; ok && e.ts.Before(until) {
			return
		}
	} else {
		s.refFilledOnce = true
	}
	refN, curN := ref.total, cur.total
	if !s.spikes(float64(refN), float64(curN)) {
		return
	}
	m := cur.events[len(cur.events)-1]
	for _, c := range cur.events {
		m = c
		if c.count != 0 {
			break
		}
	}
	s.match(m.ts, publicKey(k), m.doc, map[string]any{"spike_count": curN, "reference_count": refN})
	ref.clear()
	delete(s.spikeFirst, k)
	s.skipUntil[k] = m.ts.Add(2 * r.Timeframe)
}

// spikes is ElastAlert's find_matches. Unlike ElastAlert, two empty windows
// are no spike (ElastAlert reports 0 against 0 as both up and down).
func (s *State) spikes(ref, cur float64) bool {
	r := s.rule
	if cur < r.ThresholdCur || ref < r.ThresholdRef {
		return false
	}
	if ref == 0 && cur == 0 {
		return false
	}
	up := cur >= ref*r.SpikeHeight
	down := cur <= ref/r.SpikeHeight
	return (up && r.SpikeType != "down") || (down && r.SpikeType != "up")
}

func (s *State) change(ts time.Time, d Doc) {
	r := s.rule
	k := key(r.QueryKey, d)
	values := make([]any, len(r.CompareKey))
	for i, f := range r.CompareKey {
		v, _ := d.Lookup(f)
		values[i] = v
		if r.IgnoreNull && falsy(v) {
			return
		}
	}
	prev, seen := s.last[k]
	changed := seen && !reflect.DeepEqual(prev, values)
	if changed {
		if t, ok := s.lastTime[k]; ok && r.Timeframe > 0 && ts.Sub(t) > r.Timeframe {
			changed = false
		}
	}
	s.last[k] = values
	if r.Timeframe > 0 {
		s.lastTime[k] = ts
	}
	if changed {
		old, cur := any(prev), any(values)
		if len(values) == 1 {
			old, cur = prev[0], values[0]
		}
		s.match(ts, k, d, map[string]any{"old_value": old, "new_value": cur})
	}
}

// falsy is Python's notion of an empty value, booleans excepted (false is
// a value a field can change to).
func falsy(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case float64:
		return x == 0
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func (s *State) cardinality(ts time.Time, k string, d Doc) {
	r := s.rule
	if s.seen[k] == nil {
		s.seen[k] = map[string]time.Time{}
	}
	if _, ok := s.firstEvent[k]; !ok {
		s.firstEvent[k] = ts
	}
	v, ok := d.Lookup(r.CardinalityField)
	if !ok || v == nil {
		return
	}
	s.seen[k][text(v)] = ts
	s.checkCardinality(k, ts, d, v, true)
}

func (s *State) checkCardinality(k string, ts time.Time, d Doc, value any, gc bool) {
	r := s.rule
	first, ok := s.firstEvent[k]
	if !ok {
		first = ts
	}
	n := len(s.seen[k])
	over := r.MaxCardinality != nil && n > *r.MaxCardinality
	under := r.MinCardinality != nil && n < *r.MinCardinality && ts.Sub(first) > r.Timeframe
	if !over && !under {
		return
	}
	if gc {
		// Outdated values leave only in garbage collection: collect, then look again.
		for v, last := range s.seen[k] {
			if ts.Sub(last) > r.Timeframe {
				delete(s.seen[k], v)
			}
		}
		s.checkCardinality(k, ts, d, value, false)
		return
	}
	delete(s.firstEvent, k)
	s.match(ts, publicKey(k), d, map[string]any{"cardinality": n, "value": value})
}

func (s *State) newTerm(ts time.Time, d Doc) {
	for _, f := range s.rule.Fields {
		v, ok := d.Lookup(f)
		if !ok || v == nil {
			if s.rule.AlertOnMissingField {
				s.match(ts, "", d, map[string]any{"missing_field": f})
			}
			continue
		}
		if list, isList := v.([]any); isList {
			for _, x := range list {
				s.newValue(ts, f, text(x), d)
			}
			continue
		}
		s.newValue(ts, f, text(v), d)
	}
}

func (s *State) newValue(ts time.Time, field, v string, d Doc) {
	if s.terms[field][v] {
		return
	}
	s.SeedTerms(field, v)
	s.match(ts, v, d, map[string]any{"new_field": field, "new_value": v})
}

// describe renders a match's values for an alert summary.
func describe(m Match) string {
	switch m.Type {
	case Frequency:
		return fmt.Sprintf("%v events (at least %v) within the timeframe", m.Values["count"], m.Values["num_events"])
	case Flatline:
		return fmt.Sprintf("%v events, fewer than %v, within the timeframe", m.Values["count"], m.Values["threshold"])
	case Spike:
		return fmt.Sprintf("%v events against %v in the preceding timeframe", m.Values["spike_count"], m.Values["reference_count"])
	case Change:
		return fmt.Sprintf("changed from %s to %s", text(m.Values["old_value"]), text(m.Values["new_value"]))
	case NewTerm:
		if f, ok := m.Values["missing_field"]; ok {
			return fmt.Sprintf("field %v missing", f)
		}
		return fmt.Sprintf("new value %q in %v", text(m.Values["new_value"]), m.Values["new_field"])
	case Cardinality:
		return fmt.Sprintf("%v distinct values", m.Values["cardinality"])
	case MetricAggregation:
		v, _ := m.Values["metric_agg_value"].(float64)
		return "value " + strconv.FormatFloat(v, 'g', 6, 64)
	case Blacklist, Whitelist:
		return fmt.Sprintf("value %q", text(m.Values["value"]))
	}
	return "matched"
}
