package esrule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/internal/estest"
	"github.com/opskit/opskit/sqlstore"
	"github.com/opskit/opskit/sqlstore/sqlstoretest"
)

var update = flag.Bool("update", false, "rewrite the golden query files in testdata/queries")

// base is the start of the generated logs.
var base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func bt(d time.Duration) time.Time { return base.Add(d) }

const mapping = `"mappings":{"properties":{
"@timestamp":{"type":"date"},
"source":{"properties":{"ip":{"type":"keyword"}}},
"user":{"properties":{"name":{"type":"keyword"}}},
"event":{"properties":{"outcome":{"type":"keyword"},"category":{"type":"keyword"},"dataset":{"type":"keyword"}}},
"url":{"properties":{"path":{"type":"keyword"}}},
"host":{"properties":{"name":{"type":"keyword"}}},
"geo":{"properties":{"country":{"type":"keyword"}}},
"http":{"properties":{"response":{"properties":{"status_code":{"type":"integer"}}}}},
"cpu_pct":{"type":"float"}}}`

func nginx(ts time.Time, path string) map[string]any {
	return map[string]any{"@timestamp": ts.Format(time.RFC3339), "event": map[string]any{"dataset": "nginx.access"},
		"host": map[string]any{"name": "web1"}, "url": map[string]any{"path": path},
		"http": map[string]any{"response": map[string]any{"status_code": 200}}}
}

func auth(ts time.Time, ip, user, outcome string) map[string]any {
	return map[string]any{"@timestamp": ts.Format(time.RFC3339), "event": map[string]any{"category": "authentication", "outcome": outcome},
		"source": map[string]any{"ip": ip}, "user": map[string]any{"name": user}}
}

// logs generates two hours of logs from base (and a little history):
//   - nginx access on web1 every 10 s, quiet from 60 to 80 min, a burst of
//     one a second from 100 to 110 min, one /wp-admin request at 15 min;
//   - one failed login from each of 30 IPs, and a brute force from
//     203.0.113.7 (20 failures from 30:05 to 31:40);
//   - 203.0.113.9 trying 8 user names from 20:05 to 21:15;
//   - successful logins: alice (FR, FR, then US at 50 min), bob, root at
//     45 min, the new user mallory at 55 min; alice, bob and root two days
//     before;
//   - system.cpu of web1 and web2 every minute, web1 at 0.95 from 90 to 100 min.
func logs() []map[string]any {
	var docs []map[string]any
	for s := 0; s < 7200; s += 10 {
		m := time.Duration(s) * time.Second
		if m >= 60*time.Minute && m < 80*time.Minute {
			continue
		}
		docs = append(docs, nginx(bt(m), "/"))
		if m >= 100*time.Minute && m < 110*time.Minute {
			for i := 1; i < 10; i++ {
				docs = append(docs, nginx(bt(m+time.Duration(i)*time.Second), "/login"))
			}
		}
	}
	docs = append(docs, nginx(bt(15*time.Minute+time.Second), "/wp-admin"))
	for i := range 30 {
		docs = append(docs, auth(bt(5*time.Minute+time.Duration(i)*10*time.Second), fmt.Sprintf("10.0.0.%d", i+1), fmt.Sprintf("u%d", i), "failure"))
	}
	for i := range 20 {
		docs = append(docs, auth(bt(30*time.Minute+time.Duration(i+1)*5*time.Second), "203.0.113.7", "admin", "failure"))
	}
	for i := range 8 {
		docs = append(docs, auth(bt(20*time.Minute+5*time.Second+time.Duration(i)*10*time.Second), "203.0.113.9", fmt.Sprintf("guess%d", i), "failure"))
	}
	ok := func(ts time.Time, user, country string) map[string]any {
		d := auth(ts, "192.0.2.10", user, "success")
		d["geo"] = map[string]any{"country": country}
		return d
	}
	docs = append(docs,
		ok(bt(-48*time.Hour), "alice", "FR"), ok(bt(-47*time.Hour), "bob", "DE"), ok(bt(-46*time.Hour), "root", "DE"),
		ok(bt(10*time.Minute), "alice", "FR"), ok(bt(12*time.Minute), "bob", "DE"), ok(bt(40*time.Minute), "alice", "FR"),
		ok(bt(45*time.Minute), "root", "DE"), ok(bt(50*time.Minute), "alice", "US"), ok(bt(55*time.Minute), "mallory", "NL"))
	for m := 1; m <= 120; m++ {
		for _, h := range []string{"web1", "web2"} {
			v := 0.2
			if h == "web1" && m > 90 && m <= 100 {
				v = 0.95
			}
			docs = append(docs, map[string]any{"@timestamp": bt(time.Duration(m)*time.Minute - 30*time.Second).Format(time.RFC3339),
				"event": map[string]any{"dataset": "system.cpu"}, "host": map[string]any{"name": h}, "cpu_pct": v})
		}
	}
	return docs
}

// loadLogs creates PREFIX-logs-2026.01.01 holding the documents and returns
// the index pattern "PREFIX-logs-*".
func loadLogs(t testing.TB, es *elasticsearch.Client, prefix string, docs []map[string]any) string {
	t.Helper()
	index := prefix + "logs-2026.01.01"
	estest.CreateIndex(t, es, index, mapping)
	for len(docs) > 0 {
		n := min(len(docs), 5000)
		var b bytes.Buffer
		for _, d := range docs[:n] {
			b.WriteString(`{"index":{}}` + "\n")
			j, _ := json.Marshal(d)
			b.Write(j)
			b.WriteByte('\n')
		}
		res, status := estest.Do(t, es, http.MethodPost, "/"+index+"/_bulk?refresh=true", b.String())
		if status != http.StatusOK || bytes.Contains(res[:min(len(res), 100)], []byte(`"errors":true`)) {
			t.Fatalf("bulk: %d %.500s", status, res)
		}
		docs = docs[n:]
	}
	return prefix + "logs-*"
}

var (
	esOnce    sync.Once
	esPattern string
)

func filterAuth(outcome string) []map[string]any {
	return []map[string]any{{"term": map[string]any{"event.outcome": outcome}}}
}

func dataset(name string) []map[string]any {
	return []map[string]any{{"term": map[string]any{"event.dataset": name}}}
}

// esRules are the rules run over the generated logs, with where each must
// fire: the match times (and keys) expected.
func esRules() []struct {
	rule  Rule
	times []time.Duration
	key   string
} {
	return []struct {
		rule  Rule
		times []time.Duration
		key   string
	}{
		{Rule{Name: "any-root", Type: Any, Filter: []map[string]any{{"query_string": map[string]any{"query": `user.name:root`}}}}, []time.Duration{45 * time.Minute}, ""},
		{Rule{Name: "blacklist", Type: Blacklist, CompareKey: []string{"user.name"}, List: []string{"root", "toor"}}, []time.Duration{45 * time.Minute}, ""},
		{Rule{Name: "whitelist", Type: Whitelist, CompareKey: []string{"url.path"}, List: []string{"/", "/login"}, IgnoreNull: true, Filter: dataset("nginx.access")}, []time.Duration{15*time.Minute + time.Second}, ""},
		{Rule{Name: "change", Type: Change, CompareKey: []string{"geo.country"}, QueryKey: []string{"user.name"}, Filter: filterAuth("success")}, []time.Duration{50 * time.Minute}, "alice"},
		{Rule{Name: "brute-force", Type: Frequency, NumEvents: 10, Timeframe: 5 * time.Minute, QueryKey: []string{"source.ip"}, Filter: filterAuth("failure")}, []time.Duration{31 * time.Minute}, "203.0.113.7"},
		{Rule{Name: "brute-force-docs", Type: Frequency, NumEvents: 10, Timeframe: 5 * time.Minute, QueryKey: []string{"source.ip"}, Filter: filterAuth("failure"), UseDocuments: true}, []time.Duration{30*time.Minute + 50*time.Second, 31*time.Minute + 40*time.Second}, "203.0.113.7"},
		{Rule{Name: "spike", Type: Spike, Timeframe: 10 * time.Minute, SpikeHeight: 3, SpikeType: "up", ThresholdCur: 50, ThresholdRef: 50, Filter: dataset("nginx.access")},
			// Detected at 103 min (cur 222, ref 60); as in ElastAlert the match is
			// the oldest event of the current window.
			[]time.Duration{94 * time.Minute}, ""},
		{Rule{Name: "flatline", Type: Flatline, Threshold: 1, Timeframe: 5 * time.Minute, Filter: dataset("nginx.access")}, minutes(65, 79), ""},
		{Rule{Name: "cardinality", Type: Cardinality, CardinalityField: "user.name", MaxCardinality: intp(5), Timeframe: 10 * time.Minute, QueryKey: []string{"source.ip"}, Filter: filterAuth("failure")},
			[]time.Duration{20*time.Minute + 55*time.Second, 21*time.Minute + 5*time.Second, 21*time.Minute + 15*time.Second}, "203.0.113.9"},
		{Rule{Name: "new-user", Type: NewTerm, Fields: []string{"user.name"}, TermsWindowSize: 72 * time.Hour, WindowStepSize: 24 * time.Hour, Filter: filterAuth("success")}, []time.Duration{55 * time.Minute}, "mallory"},
		{Rule{Name: "cpu", Type: MetricAggregation, MetricAggKey: "cpu_pct", MetricAggType: "avg", MaxThreshold: floatp(0.9), BufferTime: 10 * time.Minute, QueryKey: []string{"host.name"}, Filter: dataset("system.cpu")}, []time.Duration{100 * time.Minute}, "web1"},
	}
}

func minutes(from, to int) []time.Duration {
	var out []time.Duration
	for m := from; m <= to; m++ {
		out = append(out, time.Duration(m)*time.Minute)
	}
	return out
}

func TestRulesOnElasticsearch(t *testing.T) {
	es := estest.Client(t)
	prefix := estest.Prefix(t, es)
	pattern := loadLogs(t, es, prefix, logs())
	ctx := context.Background()
	for _, tc := range esRules() {
		t.Run(tc.rule.Name, func(t *testing.T) {
			rule := tc.rule
			rule.Index = pattern
			var reqs []Request
			r := &Runner{Client: es, Trace: func(q Request) { reqs = append(reqs, q) }}
			ms, err := r.DryRun(ctx, rule, base, bt(2*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.Time.Sub(base).String()+"/"+m.Key)
			}
			var want []string
			for _, d := range tc.times {
				want = append(want, d.String()+"/"+tc.key)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("matches at %v, want %v", got, want)
			}
			golden(t, rule.Name, prefix, reqs)
		})
	}
}

// golden pins the first three query bodies a rule sends (scrolls aside).
func golden(t *testing.T, name, prefix string, reqs []Request) {
	t.Helper()
	var b strings.Builder
	n := 0
	for _, q := range reqs {
		if strings.HasPrefix(q.Path, "/_search/scroll") {
			continue
		}
		var body bytes.Buffer
		if err := json.Indent(&body, q.Body, "", "  "); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s\n%s\n\n", q.Method, strings.ReplaceAll(q.Path, prefix, "PREFIX-"), body.String())
		if n++; n == 3 {
			break
		}
	}
	path := filepath.Join("testdata", "queries", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != b.String() {
		t.Fatalf("queries differ from %s (go test -update rewrites it):\n%s", path, b.String())
	}
}

// recorder is a Notifier that keeps what it was given.
type recorder struct {
	mu     sync.Mutex
	alerts []alerting.Alert
	fail   error
}

func (r *recorder) Notify(_ context.Context, alerts ...alerting.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
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

func TestRunnerCatchUpAndRealert(t *testing.T) {
	es := estest.Client(t)
	prefix := estest.Prefix(t, es)
	pattern := loadLogs(t, es, prefix, logs())
	ctx := context.Background()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		store, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		brute := Rule{Name: "brute-force", Type: Frequency, NumEvents: 10, Timeframe: 5 * time.Minute, QueryKey: []string{"source.ip"}, Filter: filterAuth("failure"), Index: pattern, Realert: time.Minute}
		flat := Rule{Name: "flatline", Type: Flatline, Threshold: 1, Timeframe: 5 * time.Minute, Filter: dataset("nginx.access"), Index: pattern, Realert: 5 * time.Minute}
		rec := &recorder{}
		now := bt(25 * time.Minute)
		newRunner := func() *Runner {
			return &Runner{Client: es, Notifier: rec, Store: store, Rules: []Rule{brute, flat}, Now: func() time.Time { return now }}
		}
		if err := newRunner().RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if a := rec.take(); len(a) != 0 {
			t.Fatalf("before the attack: %v", a)
		}
		// Down from 25 to 40 min: a new runner catches up, alerts once.
		now = bt(40 * time.Minute)
		if err := newRunner().RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		a := rec.take()
		if len(a) != 1 || a[0].Labels["query_key"] != "203.0.113.7" || a[0].Labels["alertname"] != "brute-force" || a[0].Labels["rule_type"] != "frequency" || !a[0].StartsAt.Equal(bt(31*time.Minute)) {
			t.Fatalf("catch-up alerts: %+v", a)
		}
		if !strings.Contains(a[0].Summary, "12 events") || !strings.Contains(a[0].Annotations["matched"], `"source.ip":"203.0.113.7"`) {
			t.Fatalf("alert text: %q %q", a[0].Summary, a[0].Annotations["matched"])
		}
		// Restarted again: processed windows are never re-alerted.
		now = bt(41 * time.Minute)
		r := newRunner()
		if err := r.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if a := rec.take(); len(a) != 0 {
			t.Fatalf("re-alerted: %+v", a)
		}
		// The flatline fires from 65 min on every minute; realert 5m lets
		// one alert through per 5 minutes of runs.
		var at []time.Duration
		for m := 42; m <= 85; m++ {
			now = bt(time.Duration(m) * time.Minute)
			if err := r.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			for _, x := range rec.take() {
				if x.Labels["alertname"] == "flatline" {
					at = append(at, now.Sub(base))
				}
			}
		}
		if fmt.Sprint(at) != "[1h5m0s 1h10m0s 1h15m0s]" {
			t.Fatalf("flatline alerts at %v", at)
		}
		// A resume point older than OldQueryLimit is ignored.
		now = bt(48 * time.Hour)
		old := newRunner()
		old.OldQueryLimit = time.Hour
		var reqs []Request
		old.Trace = func(q Request) { reqs = append(reqs, q) }
		if err := old.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if len(reqs) != 2 {
			t.Fatalf("fresh start sent %d requests, want one window per rule", len(reqs))
		}
	})
}

func TestRunnerNotifierFailureRetried(t *testing.T) {
	es := estest.Client(t)
	prefix := estest.Prefix(t, es)
	pattern := loadLogs(t, es, prefix, logs())
	ctx := context.Background()
	rec := &recorder{fail: fmt.Errorf("receiver down: %w", alerting.ErrPermanent)}
	now := bt(46 * time.Minute)
	r := &Runner{Client: es, Notifier: rec, Now: func() time.Time { return now },
		Rules: []Rule{{Name: "root", Type: Blacklist, CompareKey: []string{"user.name"}, List: []string{"root"}, Index: pattern, BufferTime: 5 * time.Minute}}}
	if err := r.RunOnce(ctx); err == nil || !strings.Contains(err.Error(), "receiver down") {
		t.Fatalf("RunOnce error %v", err)
	}
	rec.mu.Lock()
	rec.fail = nil
	rec.mu.Unlock()
	now = bt(47 * time.Minute)
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	now = bt(48 * time.Minute)
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// Overlapping document windows saw the root login three times: one alert.
	if a := rec.take(); len(a) != 1 || a[0].Labels["alertname"] != "root" {
		t.Fatalf("alerts %+v", a)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := r.Run(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run on a cancelled context: %v", err)
	}
}

// TestSegmentsQueryMatchesSegmentQueries: counting every segment in one
// date_histogram gives exactly what one query per segment gives, events on
// segment boundaries included, for count and terms rules, with a window
// that does not start on a whole minute.
func TestSegmentsQueryMatchesSegmentQueries(t *testing.T) {
	es := estest.Client(t)
	prefix := estest.Prefix(t, es)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	start := base.Add(17*time.Second + 250*time.Millisecond)
	var docs []map[string]any
	add := func(at time.Time, ip string) {
		docs = append(docs, map[string]any{"@timestamp": at.Format(time.RFC3339Nano), "event": map[string]any{"dataset": "auth", "outcome": "failure"},
			"source": map[string]any{"ip": ip}})
	}
	for i := range 12 {
		edge := start.Add(time.Duration(i) * time.Minute) // exactly on a segment boundary
		add(edge, "10.0.0.1")
		add(edge.Add(time.Millisecond), "10.0.0.2")
		add(edge.Add(-time.Millisecond), "10.0.0.3")
		add(edge.Add(time.Duration(i*997)*time.Millisecond), fmt.Sprint("10.0.1.", i%4))
	}
	index := loadLogs(t, es, prefix, docs)
	end := start.Add(10*time.Minute + 30*time.Second)
	for _, src := range []string{
		"name: c\ntype: frequency\nindex: " + index + "\nnum_events: 100\ntimeframe:\n  minutes: 5\nrun_every:\n  minutes: 1\nfilter:\n- term:\n    event.dataset: auth\n",
		"name: t\ntype: frequency\nindex: " + index + "\nnum_events: 100\ntimeframe:\n  minutes: 5\nrun_every:\n  minutes: 1\nquery_key: source.ip\nfilter:\n- term:\n    event.dataset: auth\n",
	} {
		rule, err := Load("rule.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		rule = rule.withDefaults() // as the Runner does
		s := (&Runner{Client: es}).searcher()
		ctx := context.Background()
		batch, err := s.segments(ctx, rule, start, end, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for ss := start; ss.Before(end); ss = ss.Add(time.Minute) {
			se := ss.Add(time.Minute)
			if se.After(end) {
				se = end
			}
			got, ok := batch[ss.UnixMilli()]
			if !ok {
				t.Fatalf("%s: no bucket for the segment starting %s", rule.Name, ss)
			}
			if rule.Mode() == Count {
				want, err := s.count(ctx, rule, ss, se)
				if err != nil {
					t.Fatal(err)
				}
				if got.count != want {
					t.Fatalf("%s: segment %s: %d in the histogram, %d counted alone", rule.Name, ss, got.count, want)
				}
				n += int(want)
				continue
			}
			want, err := s.terms(ctx, rule, ss, se)
			if err != nil {
				t.Fatal(err)
			}
			sort.Slice(want, func(i, j int) bool { return want[i].Key < want[j].Key })
			sort.Slice(got.buckets, func(i, j int) bool { return got.buckets[i].Key < got.buckets[j].Key })
			if fmt.Sprint(got.buckets) != fmt.Sprint(want) {
				t.Fatalf("%s: segment %s: %v in the histogram, %v alone", rule.Name, ss, got.buckets, want)
			}
		}
		if rule.Mode() == Count && n == 0 {
			t.Fatal("nothing counted: the test proves nothing")
		}
	}
}
