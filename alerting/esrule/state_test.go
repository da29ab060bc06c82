package esrule

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// t0 is where ElastAlert's rule tests start their events.
var t0 = time.Date(2014, 9, 26, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ev(ts time.Time, kv ...any) Doc {
	d := Doc{"@timestamp": ts.Format(time.RFC3339Nano)}
	for i := 0; i+1 < len(kv); i += 2 {
		d[kv[i].(string)] = kv[i+1]
	}
	return d
}

// hits returns n events one second apart from start, as ElastAlert's hits().
func hits(n int, start time.Time, kv ...any) []Doc {
	out := make([]Doc, n)
	for i := range out {
		out[i] = ev(start.Add(time.Duration(i)*time.Second), kv...)
	}
	return out
}

func newState(t *testing.T, r Rule) *State {
	t.Helper()
	if r.Name == "" {
		r.Name = "test"
	}
	if r.Index == "" {
		r.Index = "logs-*"
	}
	s, err := NewState(r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustAdd(t *testing.T, s *State, docs ...Doc) {
	t.Helper()
	if err := s.AddDocs(docs...); err != nil {
		t.Fatal(err)
	}
}

func keysOf(ms []Match) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Key
	}
	return out
}

func TestAny(t *testing.T) {
	s := newState(t, Rule{Type: Any})
	mustAdd(t, s, ev(t0, "msg", "x"))
	ms := s.Matches()
	if len(ms) != 1 || ms[0].Doc["msg"] != "x" || !ms[0].Time.Equal(t0) {
		t.Fatalf("matches = %+v", ms)
	}
	if len(s.Matches()) != 0 {
		t.Fatal("Matches did not drain")
	}
}

func TestAnyQueryKey(t *testing.T) {
	s := newState(t, Rule{Type: Any, QueryKey: []string{"user.name"}})
	mustAdd(t, s, ev(t0, "user", map[string]any{"name": "qlo"}), ev(t0))
	if got := keysOf(s.Matches()); fmt.Sprint(got) != "[qlo _missing]" {
		t.Fatalf("keys = %v", got)
	}
}

func TestFrequency(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule Rule
		docs []Doc
		want []string
	}{
		{"fire: 60 events, 59 needed", Rule{NumEvents: 59}, hits(60, t0), []string{""}},
		{"fire: timestamp_field", Rule{NumEvents: 59, TimestampField: "blah"}, func() []Doc {
			d := hits(60, t0)
			for _, x := range d {
				x["blah"] = x["@timestamp"]
				delete(x, "@timestamp")
			}
			return d
		}(), []string{""}},
		{"fire: query_key", Rule{NumEvents: 59, QueryKey: []string{"username"}}, hits(60, t0, "username", "qlo"), []string{"qlo"}},
		{"not fire: 61 needed", Rule{NumEvents: 61}, hits(60, t0), nil},
		{"not fire: query_key splits", Rule{NumEvents: 31, QueryKey: []string{"username"}}, append(hits(30, t0, "username", "a"), hits(30, at(30*time.Second), "username", "b")...), nil},
		{"boundary: timeframe apart is outside", Rule{NumEvents: 2, Timeframe: 10 * time.Second}, []Doc{ev(t0), ev(at(10 * time.Second))}, nil},
		{"boundary: just inside", Rule{NumEvents: 2, Timeframe: 10 * time.Second}, []Doc{ev(t0), ev(at(10*time.Second - time.Millisecond))}, []string{""}},
		{"boundary: exactly num_events fires", Rule{NumEvents: 3}, hits(3, t0), []string{""}},
		{"refires after counting restarts", Rule{NumEvents: 10}, hits(25, t0), []string{"", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rule.Type = Frequency
			tc.rule.UseDocuments = true
			if tc.rule.Timeframe == 0 {
				tc.rule.Timeframe = time.Hour
			}
			s := newState(t, tc.rule)
			mustAdd(t, s, tc.docs...)
			if got := keysOf(s.Matches()); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("match keys = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFrequencyMatchIsNewestAndGarbageCollects(t *testing.T) {
	s := newState(t, Rule{Type: Frequency, NumEvents: 100, Timeframe: time.Hour, UseDocuments: true})
	mustAdd(t, s, hits(60, t0)...)
	if len(s.occ) != 1 {
		t.Fatalf("occurrences = %d keys", len(s.occ))
	}
	s.GarbageCollect(at(48 * time.Hour))
	if len(s.occ) != 0 {
		t.Fatal("garbage_collect two days later kept the window")
	}
	s = newState(t, Rule{Type: Frequency, NumEvents: 3, Timeframe: time.Hour, UseDocuments: true})
	mustAdd(t, s, hits(3, t0)...)
	m := s.Matches()[0]
	if !m.Time.Equal(at(2*time.Second)) || m.Values["count"] != int64(3) {
		t.Fatalf("match = %+v", m)
	}
}

func TestFrequencyOutOfOrder(t *testing.T) {
	s := newState(t, Rule{Type: Frequency, NumEvents: 59, Timeframe: time.Hour, UseDocuments: true})
	// Older than the window of the newest: these do not count.
	mustAdd(t, s, hits(60, at(-2*time.Hour))...)
	if n := len(s.Matches()); n != 1 {
		t.Fatalf("first batch: %d matches", n)
	}
	mustAdd(t, s, hits(58, t0)...)
	mustAdd(t, s, hits(5, at(-3*time.Hour))...) // too old, evicted at once
	if n := len(s.Matches()); n != 0 {
		t.Fatalf("58 in-window events: %d matches", n)
	}
	mustAdd(t, s, ev(at(-time.Minute)))
	if n := len(s.Matches()); n != 1 {
		t.Fatalf("59th in-window event (out of order): %d matches", n)
	}
}

func TestFrequencyCount(t *testing.T) {
	r := Rule{Type: Frequency, NumEvents: 100, Timeframe: time.Hour, UseCountQuery: true}
	s := newState(t, r)
	s.AddCount(at(0), 75)
	s.AddCount(at(15*time.Minute), 10)
	s.AddCount(at(30*time.Minute), 10)
	if n := len(s.Matches()); n != 0 {
		t.Fatalf("95 events: %d matches", n)
	}
	s.AddCount(at(45*time.Minute), 6)
	if n := len(s.Matches()); n != 1 {
		t.Fatalf("101 events: %d matches", n)
	}

	s = newState(t, r)
	s.AddCount(at(0), 75)
	s.AddCount(at(45*time.Minute), 10)
	s.AddCount(at(55*time.Minute), 10)
	s.AddCount(at(65*time.Minute), 6) // the 75 ages out
	if n := len(s.Matches()); n != 0 {
		t.Fatalf("75 aged out: %d matches", n)
	}
	s.AddCount(at(60*time.Minute), 75)
	if n := len(s.Matches()); n != 1 {
		t.Fatalf("another 75: %d matches", n)
	}
}

func TestFrequencyTerms(t *testing.T) {
	s := newState(t, Rule{Type: Frequency, NumEvents: 10, Timeframe: time.Hour, QueryKey: []string{"username"}, UseTermsQuery: true})
	s.AddTerms(at(0), []Bucket{{"userA", 3}, {"userB", 5}})
	s.AddTerms(at(10*time.Minute), []Bucket{{"userB", 5}})
	if got := keysOf(s.Matches()); fmt.Sprint(got) != "[userB]" {
		t.Fatalf("after 00:10: %v", got)
	}
	s.AddTerms(at(25*time.Minute), []Bucket{{"userA", 9}})
	ms := s.Matches()
	if got := keysOf(ms); fmt.Sprint(got) != "[userA]" {
		t.Fatalf("after 00:25: %v", got)
	}
	if ms[0].Doc["username"] != "userA" || ms[0].Values["count"] != int64(12) {
		t.Fatalf("match = %+v", ms[0])
	}
}

func TestEventWindow(t *testing.T) {
	var removed []time.Time
	w := &window{timeframe: 10 * time.Minute, onRemoved: func(e event) { removed = append(removed, e.ts) }}
	for _, m := range []int{5, 1, 3, 0, 9, 2} {
		w.append(event{ts: at(time.Duration(m) * time.Minute), count: 1})
	}
	for i := 1; i < len(w.events); i++ {
		if w.events[i].ts.Before(w.events[i-1].ts) {
			t.Fatal("window not sorted")
		}
	}
	if w.total != 6 || len(removed) != 0 {
		t.Fatalf("total %d removed %v", w.total, removed)
	}
	w.append(event{ts: at(14 * time.Minute), count: 1})
	// 14-0, 14-1, 14-2, 14-3 >= 10 min: evicted; 5 and 9 stay.
	if w.total != 3 || len(removed) != 4 || !removed[0].Equal(at(0)) {
		t.Fatalf("total %d removed %v", w.total, removed)
	}
}

func TestSpikeCount(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rule   Rule
		counts []int64
		want   int
	}{
		{"fire up", Rule{SpikeType: "both", ThresholdRef: 10}, []int64{10, 10, 20}, 1},
		{"fire down", Rule{SpikeType: "both", ThresholdRef: 10}, []int64{10, 10, 0}, 1},
		{"not fire: below height", Rule{SpikeType: "both"}, []int64{10, 10, 19}, 0},
		{"not fire: up only, dip", Rule{SpikeType: "up"}, []int64{10, 10, 0}, 0},
		{"not fire: down only, rise", Rule{SpikeType: "down"}, []int64{10, 10, 20}, 0},
		{"not fire: threshold_ref exclusive", Rule{SpikeType: "both", ThresholdRef: 11}, []int64{10, 10, 20}, 0},
		{"boundary: threshold_cur inclusive", Rule{SpikeType: "up", ThresholdCur: 20}, []int64{10, 10, 20}, 1},
		{"not fire: threshold_cur", Rule{SpikeType: "up", ThresholdCur: 21}, []int64{10, 10, 20}, 0},
		{"not fire: windows not yet filled", Rule{SpikeType: "both"}, []int64{10, 20}, 0},
		{"not fire: both windows empty", Rule{SpikeType: "both"}, []int64{0, 0, 0}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rule.Type, tc.rule.Timeframe, tc.rule.SpikeHeight, tc.rule.UseCountQuery = Spike, 10*time.Second, 2, true
			s := newState(t, tc.rule)
			for i, c := range tc.counts {
				s.AddCount(at(time.Duration(i)*10*time.Second), c)
			}
			ms := s.Matches()
			if len(ms) != tc.want {
				t.Fatalf("%d matches, want %d: %+v", len(ms), tc.want, ms)
			}
		})
	}
}

func TestSpikeDocumentedExample(t *testing.T) {
	// ElastAlert's docs: timeframe 2h, spike_height 4, threshold_cur 15;
	// hours with 5, 5, 10, 35 events alert only in hour 4 (ref 10, cur 45).
	// An hour with 0 events first: the rule has run two timeframes.
	s := newState(t, Rule{Type: Spike, Timeframe: 2 * time.Hour, SpikeHeight: 4, SpikeType: "up", ThresholdCur: 15, UseCountQuery: true})
	for i, c := range []int64{0, 5, 5, 10, 35} {
		s.AddCount(at(time.Duration(i)*time.Hour), c)
		ms := s.Matches()
		if (i == 4) != (len(ms) == 1) || len(ms) > 1 {
			t.Fatalf("hour %d: %+v", i, ms)
		}
		if i == 4 && (ms[0].Values["spike_count"] != int64(45) || ms[0].Values["reference_count"] != int64(10)) {
			t.Fatalf("match values %v", ms[0].Values)
		}
	}
}

func TestSpikeDocs(t *testing.T) {
	// One event a second is steady: no spike; doubling after 50 s spikes up.
	steady := hits(100, t0)
	for _, tc := range []struct {
		name string
		rule Rule
		docs []Doc
		want int
	}{
		{"not fire: constant rate", Rule{SpikeHeight: 2, SpikeType: "up"}, steady, 0},
		{"fire: doubled rate", Rule{SpikeHeight: 2, SpikeType: "up"}, doubled(steady), 1},
		{"not fire: height 3", Rule{SpikeHeight: 3, SpikeType: "up"}, doubled(steady), 0},
		{"fire: gap, down", Rule{SpikeHeight: 2, SpikeType: "down"}, gap(steady), 1},
		{"not fire: threshold_ref", Rule{SpikeHeight: 2, SpikeType: "down", ThresholdRef: 11}, gap(steady), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rule.Type, tc.rule.Timeframe, tc.rule.UseDocuments = Spike, 10*time.Second, true
			s := newState(t, tc.rule)
			mustAdd(t, s, tc.docs...)
			s.GarbageCollect(at(100 * time.Second))
			if ms := s.Matches(); len(ms) != tc.want {
				t.Fatalf("%d matches, want %d", len(ms), tc.want)
			}
		})
	}
}

// doubled adds a second event per second from 50 s on.
func doubled(docs []Doc) []Doc {
	var out []Doc
	for i, d := range docs {
		out = append(out, d)
		if i >= 50 {
			out = append(out, d)
		}
	}
	return out
}

// gap drops the events from 50 s to 74 s.
func gap(docs []Doc) []Doc { return append(append([]Doc{}, docs[:50]...), docs[75:]...) }

func TestSpikeQueryKey(t *testing.T) {
	s := newState(t, Rule{Type: Spike, Timeframe: 10 * time.Second, SpikeHeight: 2, SpikeType: "up", QueryKey: []string{"user"}, UseDocuments: true})
	mustAdd(t, s, hits(100, t0, "user", "qlo")...)
	// A burst under another key does not spike qlo (nor itself: new key).
	mustAdd(t, s, hits(10, at(100*time.Second), "user", "other")...)
	mustAdd(t, s, hits(10, at(100*time.Second), "user", "other")...)
	if ms := s.Matches(); len(ms) != 0 {
		t.Fatalf("%+v", ms)
	}
	s2 := newState(t, Rule{Type: Spike, Timeframe: 10 * time.Second, SpikeHeight: 2, SpikeType: "up", QueryKey: []string{"user"}, UseDocuments: true})
	mustAdd(t, s2, doubled(hits(100, t0, "user", "qlo"))...)
	ms := s2.Matches()
	if len(ms) != 1 || ms[0].Key != "qlo" {
		t.Fatalf("%+v", ms)
	}
}

func TestSpikeTermsAlertOnNewData(t *testing.T) {
	r := Rule{Type: Spike, Timeframe: 10 * time.Minute, SpikeHeight: 2, SpikeType: "up", ThresholdCur: 50, QueryKey: []string{"user"}, UseTermsQuery: true}
	for _, newData := range []bool{false, true} {
		r.AlertOnNewData = newData
		s := newState(t, r)
		for i := range 5 {
			s.AddTerms(at(time.Duration(i)*5*time.Minute), []Bucket{{"userA", 5}})
		}
		if ms := s.Matches(); len(ms) != 0 {
			t.Fatalf("steady: %+v", ms)
		}
		s.AddTerms(at(25*time.Minute), []Bucket{{"userA", 5}, {"userC", 100}})
		ms := s.Matches()
		want := 0
		if newData {
			want = 1
		}
		if len(ms) != want || (want == 1 && ms[0].Key != "userC") {
			t.Fatalf("alert_on_new_data=%v: %+v", newData, ms)
		}
		s.AddTerms(at(30*time.Minute), []Bucket{{"userA", 5}, {"userC", 100}})
		if ms := s.Matches(); len(ms) != 0 {
			t.Fatalf("userC realerted at once: %+v", ms)
		}
	}
}

func TestBlacklistWhitelist(t *testing.T) {
	docs := []Doc{ev(t0, "term", "good"), ev(t0, "term", "bad"), ev(t0, "term", "also good"), ev(t0, "term", "really bad"), ev(t0, "no_term", "bad")}
	for _, tc := range []struct {
		name string
		rule Rule
		want string
	}{
		{"blacklist", Rule{Type: Blacklist, List: []string{"bad", "really bad"}}, "[bad really bad]"},
		{"blacklist not fire", Rule{Type: Blacklist, List: []string{"worse"}}, "[]"},
		{"whitelist ignore_null", Rule{Type: Whitelist, List: []string{"good", "also good"}, IgnoreNull: true}, "[bad really bad]"},
		{"whitelist nulls match", Rule{Type: Whitelist, List: []string{"good", "also good"}}, "[bad really bad <nil>]"},
		{"whitelist exact values only", Rule{Type: Whitelist, List: []string{"good", "also good", "bad", "really bad"}, IgnoreNull: true}, "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rule.CompareKey = []string{"term"}
			s := newState(t, tc.rule)
			mustAdd(t, s, docs...)
			var got []any
			for _, m := range s.Matches() {
				got = append(got, m.Values["value"])
			}
			if fmt.Sprint(got) != tc.want {
				t.Fatalf("values %v, want %s", got, tc.want)
			}
		})
	}
}

func TestChange(t *testing.T) {
	docs := []Doc{
		ev(at(0), "username", "qlo", "term", "good", "second_term", "yes"),
		ev(at(1*time.Second), "username", "qlo", "term", "good", "second_term", "yes"),
		ev(at(2*time.Second), "username", "other", "term", "bad", "second_term", "no"),
		ev(at(3*time.Second), "username", "qlo", "term", "bad", "second_term", "no"),
		ev(at(4*time.Second), "username", "qlo"),
	}
	for _, tc := range []struct {
		name string
		rule Rule
		docs []Doc
		want int
	}{
		{"fire: compound compare key", Rule{IgnoreNull: true}, docs, 1},
		{"fire: missing fields count without ignore_null", Rule{}, docs, 2},
		{"fire: within timeframe (inclusive)", Rule{IgnoreNull: true, Timeframe: 2 * time.Second}, docs, 1},
		{"not fire: gap longer than timeframe", Rule{IgnoreNull: true, Timeframe: time.Second}, append(docs[:2:2], docs[3]), 0},
		{"not fire: no change", Rule{IgnoreNull: true}, docs[:2], 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rule.Type, tc.rule.CompareKey, tc.rule.QueryKey = Change, []string{"term", "second_term"}, []string{"username"}
			s := newState(t, tc.rule)
			mustAdd(t, s, tc.docs...)
			ms := s.Matches()
			if len(ms) != tc.want {
				t.Fatalf("%d matches, want %d: %+v", len(ms), tc.want, ms)
			}
			if tc.want > 0 && (ms[0].Key != "qlo" || fmt.Sprint(ms[0].Values["old_value"]) != "[good yes]" || fmt.Sprint(ms[0].Values["new_value"]) != "[bad no]") {
				t.Fatalf("match %+v", ms[0])
			}
		})
	}
}

func TestChangeListQueryKey(t *testing.T) {
	s := newState(t, Rule{Type: Change, CompareKey: []string{"term"}, QueryKey: []string{"tags"}})
	mustAdd(t, s, ev(t0, "tags", []any{"a", "b"}, "term", "x"), ev(at(time.Second), "tags", []any{"a", "b"}, "term", "y"))
	if ms := s.Matches(); len(ms) != 1 || ms[0].Key != `["a","b"]` {
		t.Fatalf("%+v", ms)
	}
}

func TestFlatline(t *testing.T) {
	s := newState(t, Rule{Type: Flatline, Timeframe: 30 * time.Second, Threshold: 2, UseDocuments: true})
	mustAdd(t, s, ev(t0))
	s.GarbageCollect(at(10 * time.Second))
	if n := len(s.Matches()); n != 0 {
		t.Fatalf("before timeframe elapsed: %d", n)
	}
	s.GarbageCollect(at(45 * time.Second))
	ms := s.Matches()
	if len(ms) != 1 || ms[0].Values["count"] != int64(0) || ms[0].Values["threshold"] != 2 {
		t.Fatalf("at +45s: %+v", ms)
	}
	s.GarbageCollect(at(50 * time.Second))
	if n := len(s.Matches()); n != 1 {
		t.Fatalf("keeps alerting: %d", n)
	}
	mustAdd(t, s, ev(at(51*time.Second)), ev(at(52*time.Second)))
	s.GarbageCollect(at(60 * time.Second))
	if n := len(s.Matches()); n != 0 {
		t.Fatalf("boundary: count == threshold alerted %d", n)
	}
	s.GarbageCollect(at(90 * time.Second))
	if n := len(s.Matches()); n != 1 {
		t.Fatalf("after another quiet timeframe: %d", n)
	}
}

func TestFlatlineNoData(t *testing.T) {
	s := newState(t, Rule{Type: Flatline, Timeframe: 30 * time.Second, Threshold: 2, UseDocuments: true})
	s.GarbageCollect(t0)
	if n := len(s.Matches()); n != 0 {
		t.Fatal(n)
	}
	s.GarbageCollect(at(35 * time.Minute))
	if n := len(s.Matches()); n != 1 {
		t.Fatal(n)
	}
}

func TestFlatlineCount(t *testing.T) {
	s := newState(t, Rule{Type: Flatline, Timeframe: 30 * time.Second, Threshold: 1, UseCountQuery: true})
	s.AddCount(t0, 1)
	s.AddCount(at(10*time.Second), 0)
	if n := len(s.Matches()); n != 0 {
		t.Fatal(n)
	}
	s.AddCount(at(35*time.Second), 0)
	if n := len(s.Matches()); n != 1 {
		t.Fatal(n)
	}
}

func TestFlatlineQueryKey(t *testing.T) {
	for _, forget := range []bool{false, true} {
		s := newState(t, Rule{Type: Flatline, Timeframe: 30 * time.Second, Threshold: 1, QueryKey: []string{"qk"}, ForgetKeys: forget, UseDocuments: true})
		mustAdd(t, s, ev(t0, "qk", "key1"), ev(t0, "qk", "key2"), ev(t0, "qk", "key3"))
		mustAdd(t, s, ev(at(20*time.Second), "qk", "key3"))
		s.GarbageCollect(at(45 * time.Second))
		if got := keysOf(s.Matches()); fmt.Sprint(got) != "[key1 key2]" {
			t.Fatalf("forget=%v at +45s: %v", forget, got)
		}
		s.GarbageCollect(at(80 * time.Second))
		want := "[key1 key2 key3]"
		if forget {
			want = "[key3]"
		}
		if got := keysOf(s.Matches()); fmt.Sprint(got) != want {
			t.Fatalf("forget=%v at +80s: %v, want %s", forget, got, want)
		}
	}
}

func intp(i int) *int           { return &i }
func floatp(f float64) *float64 { return &f }

func TestCardinalityMax(t *testing.T) {
	s := newState(t, Rule{Type: Cardinality, Timeframe: 10 * time.Minute, CardinalityField: "user", MaxCardinality: intp(4)})
	for i, u := range []string{"a", "b", "c", "d", "a"} {
		mustAdd(t, s, ev(at(time.Duration(i)*time.Second), "user", u))
	}
	if n := len(s.Matches()); n != 0 {
		t.Fatalf("4 distinct (boundary, exclusive): %d", n)
	}
	mustAdd(t, s, ev(at(5*time.Second), "user", "e"))
	ms := s.Matches()
	if len(ms) != 1 || ms[0].Values["cardinality"] != 5 || ms[0].Values["value"] != "e" {
		t.Fatalf("5th: %+v", ms)
	}
	for i, u := range []string{"f", "g", "h"} {
		mustAdd(t, s, ev(at(15*time.Minute+time.Duration(i)*time.Second), "user", u))
	}
	if n := len(s.Matches()); n != 0 {
		t.Fatalf("old values outside the timeframe counted: %d", n)
	}
}

func TestCardinalityMin(t *testing.T) {
	s := newState(t, Rule{Type: Cardinality, Timeframe: 10 * time.Minute, CardinalityField: "user", MinCardinality: intp(4)})
	mustAdd(t, s, ev(t0, "user", "a"), ev(at(time.Second), "user", "b"))
	if n := len(s.Matches()); n != 0 {
		t.Fatalf("timeframe not elapsed: %d", n)
	}
	for i, u := range []string{"c", "d", "e"} {
		mustAdd(t, s, ev(at(5*time.Minute+time.Duration(i)*time.Second), "user", u))
	}
	if n := len(s.Matches()); n != 0 {
		t.Fatalf("5 distinct: %d", n)
	}
	s.GarbageCollect(at(5 * time.Minute))
	mustAdd(t, s, ev(at(15*time.Minute+10*time.Second), "user", "a"))
	if n := len(s.Matches()); n != 0 {
		t.Fatalf("5 values before garbage collection: %d", n)
	}
	s.GarbageCollect(at(15*time.Minute + 10*time.Second))
	if n := len(s.Matches()); n != 1 {
		t.Fatalf("1 value in window: %d", n)
	}
}

func TestCardinalityQueryKey(t *testing.T) {
	s := newState(t, Rule{Type: Cardinality, Timeframe: 10 * time.Minute, CardinalityField: "ip", MaxCardinality: intp(2), QueryKey: []string{"user"}})
	for i, ip := range []string{"1", "2", "3", "4"} {
		mustAdd(t, s, ev(at(time.Duration(i)*time.Second), "user", "baz", "ip", ip), ev(at(time.Duration(i)*time.Second), "user", "qux", "ip", "9"))
	}
	ms := s.Matches()
	if len(ms) != 2 || ms[0].Key != "baz" || ms[0].Values["value"] != "3" || ms[1].Values["value"] != "4" {
		t.Fatalf("%+v", ms)
	}
}

func TestCardinalityNestedField(t *testing.T) {
	s := newState(t, Rule{Type: Cardinality, Timeframe: 10 * time.Minute, CardinalityField: "d.ip", MaxCardinality: intp(1)})
	mustAdd(t, s, ev(t0, "d", map[string]any{"ip": "10.0.0.1"}), ev(t0, "x", "1"), ev(t0, "d", map[string]any{"other": "y"}))
	if n := len(s.Matches()); n != 0 {
		t.Fatalf("events without the field counted: %d", n)
	}
	mustAdd(t, s, ev(t0, "d", map[string]any{"ip": "10.0.0.2"}))
	if n := len(s.Matches()); n != 1 {
		t.Fatal(n)
	}
}

func TestNewTerm(t *testing.T) {
	s := newState(t, Rule{Type: NewTerm, Fields: []string{"a", "b"}})
	s.SeedTerms("a", "key1", "key2")
	s.SeedTerms("b", "key1", "key2")
	mustAdd(t, s, ev(t0, "a", "key1", "b", "key2"), ev(t0, "a", "key2"))
	if n := len(s.Matches()); n != 0 {
		t.Fatalf("known terms / missing field: %d", n)
	}
	mustAdd(t, s, ev(t0, "a", "key2", "b", "key3"))
	ms := s.Matches()
	if len(ms) != 1 || ms[0].Values["new_field"] != "b" || ms[0].Key != "key3" {
		t.Fatalf("%+v", ms)
	}
	mustAdd(t, s, ev(t0, "a", "key2", "b", "key3"))
	if n := len(s.Matches()); n != 0 {
		t.Fatalf("realerted a known term: %d", n)
	}

	s = newState(t, Rule{Type: NewTerm, Fields: []string{"a", "b.c"}, AlertOnMissingField: true})
	s.SeedTerms("a", "key1")
	mustAdd(t, s, ev(t0, "a", "key1"), ev(t0, "a", "key1", "b", map[string]any{"c": "new"}))
	ms = s.Matches()
	if len(ms) != 2 || ms[0].Values["missing_field"] != "b.c" || ms[1].Values["new_field"] != "b.c" {
		t.Fatalf("%+v", ms)
	}
}

func TestNewTermTerms(t *testing.T) {
	s := newState(t, Rule{Type: NewTerm, QueryKey: []string{"a"}, UseTermsQuery: true})
	s.SeedTerms("a", "key1", "key2")
	s.AddTerms(t0, []Bucket{{"key1", 3}, {"key3", 1}})
	s.AddTerms(at(time.Minute), []Bucket{{"key3", 1}})
	ms := s.Matches()
	if len(ms) != 1 || ms[0].Key != "key3" {
		t.Fatalf("%+v", ms)
	}
}

func TestMetricAggregation(t *testing.T) {
	s := newState(t, Rule{Type: MetricAggregation, MetricAggKey: "cpu_pct", MetricAggType: "avg", MaxThreshold: floatp(0.8), MinThreshold: floatp(0.1)})
	for _, tc := range []struct {
		v    *float64
		want bool
	}{{floatp(0.09), true}, {floatp(0.10), false}, {floatp(0.79), false}, {floatp(0.80), false}, {floatp(0.81), true}, {nil, false}} {
		s.AddMetric(t0, "", tc.v)
		if got := len(s.Matches()) == 1; got != tc.want {
			t.Errorf("value %v: match %v, want %v", tc.v, got, tc.want)
		}
	}
	s = newState(t, Rule{Type: MetricAggregation, MetricAggKey: "cpu_pct", MetricAggType: "avg", MaxThreshold: floatp(0.8), QueryKey: []string{"host"}})
	s.AddMetric(t0, "web1", floatp(0.95))
	s.AddMetric(t0, "web2", floatp(0.05))
	ms := s.Matches()
	if len(ms) != 1 || ms[0].Key != "web1" || ms[0].Values["metric_cpu_pct_avg"] != 0.95 || ms[0].Doc["host"] != "web1" {
		t.Fatalf("%+v", ms)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		rule  Rule
		field string
	}{
		{Rule{Type: Frequency, Timeframe: time.Hour}, "num_events"},
		{Rule{Type: Spike, Timeframe: time.Hour, SpikeHeight: 2, SpikeType: "sideways"}, "spike_type"},
		{Rule{Type: Cardinality, Timeframe: time.Hour, CardinalityField: "x"}, "max_cardinality"},
		{Rule{Type: MetricAggregation, MetricAggKey: "x", MetricAggType: "percentiles", MaxThreshold: floatp(1)}, "metric_agg_type"},
		{Rule{Type: "percentage_match"}, "type"},
		{Rule{Type: Frequency, NumEvents: 1, Timeframe: time.Hour, UseCountQuery: true, QueryKey: []string{"x"}}, "use_count_query"},
	} {
		tc.rule.Name, tc.rule.Index = "r", "i"
		err := tc.rule.Validate()
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%+v: error %v, want one naming %s", tc.rule, err, tc.field)
		}
	}
}
