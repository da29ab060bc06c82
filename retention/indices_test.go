package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/hashicorp/go-multierror"

	"github.com/opskit/opskit/internal/estest"
)

// TestIndexPrunerReal runs against the real single-node Elasticsearch 8
// started by the test command, with indices named over a span of 14 weeks.
func TestIndexPrunerReal(t *testing.T) {
	es := estest.Client(t)
	P := estest.Prefix(t, es)
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

	// Weekly-spaced daily indices from 2026-08-16 to 2026-11-22.
	var nginx []string
	for d := now.AddDate(0, 0, -98); !d.After(now); d = d.AddDate(0, 0, 7) {
		name := P + "logs-nginx-" + d.Format("2006.01.02")
		nginx = append(nginx, name)
		estest.CreateIndex(t, es, name, "")
	}
	// The oldest index is the write index of an alias: never deleted.
	estest.Do(t, es, http.MethodPost, "/_aliases", fmt.Sprintf(
		`{"actions":[{"add":{"index":%q,"alias":%q,"is_write_index":true}},{"add":{"index":%q,"alias":%q}}]}`,
		nginx[0], P+"nginx", nginx[1], P+"nginx"))
	// A closed index is aged like an open one.
	if b, status := estest.Do(t, es, http.MethodPost, "/"+nginx[2]+"/_close", ""); status != http.StatusOK {
		t.Fatalf("close %s: %d %s", nginx[2], status, b)
	}
	// Dash-dated application indices, undated ones aged by creation date, and
	// an old index that no class names.
	for _, name := range []string{"app-2026-09-01", "app-2026-11-01", "events-a", "events-b", "other-2026.01.01"} {
		estest.CreateIndex(t, es, P+name, "")
	}
	// events-b alone behind an alias without is_write_index: its write index.
	estest.Do(t, es, http.MethodPost, "/_aliases", fmt.Sprintf(
		`{"actions":[{"add":{"index":%q,"alias":%q}}]}`, P+"events-b", P+"events"))

	classes := []IndexClass{
		SeedElasticsearchLogs(P + "logs-nginx-*"),
		{Name: "app", Patterns: []string{P + "app-*"}, MaxAge: 8 * Week, DateLayout: "2006-01-02"},
		{Name: "events", Patterns: []string{P + "events-*"}, MaxAge: 8 * Week},
	}
	p := &IndexPruner{Client: es, Classes: classes, BatchSize: 3, Logger: quiet()}

	// 8 weeks before now is 2026-09-27 12:00: the index of 09-27 began
	// 12 hours earlier.
	wantGone := []string{nginx[1], nginx[2], nginx[3], nginx[4], nginx[5], nginx[6], P + "app-2026-09-01"}

	dry, err := p.Prune(ctx, now, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := dry.Deleted(); !slices.Equal(got, sorted(wantGone)) {
		t.Errorf("dry run plans\n  %q\nwant\n  %q", got, sorted(wantGone))
	}
	all := estest.Indices(t, es, P+"*")
	if len(all) != len(nginx)+5 {
		t.Fatalf("dry run changed the indices: %q", all)
	}
	for _, d := range dry.Decisions {
		switch d.Index {
		case nginx[0]:
			if d.Delete || d.Reason != "write index of alias "+P+"nginx: kept" {
				t.Errorf("%s: %+v", d.Index, d)
			}
		case nginx[1]:
			if d.Source != "name date" || d.Reason != "age 13w12h > 8w (name date)" {
				t.Errorf("%s: source %q reason %q", d.Index, d.Source, d.Reason)
			}
		case P + "events-a":
			if d.Delete || d.Source != "creation date" {
				t.Errorf("%s: %+v", d.Index, d)
			}
		case P + "events-b":
			if d.Delete || d.Reason != "only index of alias "+P+"events (its write index): kept" {
				t.Errorf("%s: %+v", d.Index, d)
			}
		}
	}

	rep, err := p.Prune(ctx, now, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Deleted(); !slices.Equal(got, sorted(wantGone)) {
		t.Errorf("deleted\n  %q\nwant\n  %q", got, sorted(wantGone))
	}
	left := estest.Indices(t, es, P+"*")
	for _, g := range wantGone {
		if slices.Contains(left, g) {
			t.Errorf("%s still there", g)
		}
	}
	if len(left) != len(nginx)+5-len(wantGone) || !slices.Contains(left, P+"other-2026.01.01") {
		t.Errorf("left %q", left)
	}

	// Ten weeks on, the undated events-a is old by its creation date;
	// events-b stays as its alias's write index.
	later, err := (&IndexPruner{Client: es, Classes: classes[2:], Logger: quiet()}).Prune(ctx, time.Now().Add(10*Week), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := later.Deleted(); !slices.Equal(got, []string{P + "events-a"}) {
		t.Errorf("ten weeks on, deleted %q, want events-a", got)
	}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func TestIndexPrunerRefusesBroadPatterns(t *testing.T) {
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{"http://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, pat := range []string{"*", "_all", "**", "", "a,b", "-logs-*", "logs */x"} {
		p := &IndexPruner{Client: es, Classes: []IndexClass{{Name: "x", Patterns: []string{pat}, MaxAge: Week}}}
		if _, err := p.Prune(context.Background(), time.Now(), true); !errors.Is(err, ErrInvalidClass) {
			t.Errorf("pattern %q: err = %v, want ErrInvalidClass", pat, err)
		}
	}
	p := &IndexPruner{Client: es, Classes: []IndexClass{{Name: "x", Patterns: []string{"logs-*"}}}}
	if _, err := p.Prune(context.Background(), time.Now(), true); !errors.Is(err, ErrInvalidClass) {
		t.Errorf("no max age: err = %v, want ErrInvalidClass", err)
	}
}

// fixtureServer answers like Elasticsearch 8 with data streams, from
// testdata/es (see its README), and records deletions. Deleting failing
// fails with a 400.
type fixtureServer struct {
	t       *testing.T
	failing string
	mu      sync.Mutex
	deleted []string
	deletes int
}

func (f *fixtureServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	serve := func(name string) {
		b, err := os.ReadFile(filepath.Join("testdata", "es", name))
		if err != nil {
			f.t.Errorf("fixture %s: %v", name, err)
			w.WriteHeader(500)
			return
		}
		_, _ = w.Write(b)
	}
	path := r.URL.Path
	switch {
	case r.Method == http.MethodGet && path == "/_resolve/index/logs-*":
		serve("resolve.json")
	case r.Method == http.MethodGet && path == "/_data_stream/logs-app-default":
		serve("data_stream.json")
	case r.Method == http.MethodGet && path == "/logs-*/_settings/index.creation_date":
		serve("settings.json")
	case r.Method == http.MethodGet && path == "/_alias/logs-live":
		serve("alias.json")
	case r.Method == http.MethodDelete:
		names := strings.Split(strings.TrimPrefix(path, "/"), ",")
		f.mu.Lock()
		defer f.mu.Unlock()
		f.deletes++
		if slices.Contains(names, f.failing) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprintf(w, `{"error":{"type":"illegal_argument_exception","reason":"cannot delete [%s]"},"status":400}`, f.failing)
			return
		}
		f.deleted = append(f.deleted, names...)
		_, _ = w.Write([]byte(`{"acknowledged":true}`))
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"type":"index_not_found_exception","reason":"no"},"status":404}`))
	}
}

func TestIndexPrunerDataStreams(t *testing.T) {
	fs := &fixtureServer{t: t, failing: "logs-fail-2026.08.02"}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	p := &IndexPruner{Client: es, Classes: []IndexClass{SeedElasticsearchLogs("logs-*")}, Logger: quiet()}

	dry, err := p.Prune(context.Background(), now, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".ds-logs-app-default-2026.09.01-000001", "logs-fail-2026.08.02", "logs-legacy-2026.08.01"}
	if got := dry.Deleted(); !slices.Equal(got, want) {
		t.Errorf("plan %q, want %q", got, want)
	}
	if fs.deletes != 0 {
		t.Fatalf("dry run sent %d deletes", fs.deletes)
	}
	reasons := map[string]string{}
	for _, d := range dry.Decisions {
		reasons[d.Index] = d.Reason
	}
	for index, want := range map[string]string{
		".ds-logs-app-default-2026.09.01-000001": "age 9w12h > 8w (rolled over)",
		".ds-logs-app-default-2026.09.20-000002": "age 5w12h <= 8w (rolled over)",
		".ds-logs-app-default-2026.10.18-000003": "write index of data stream logs-app-default: kept",
		"logs-live-2026.08.03":                   "write index of alias logs-live: kept",
	} {
		if reasons[index] != want {
			t.Errorf("%s: reason %q, want %q", index, reasons[index], want)
		}
	}
	if _, ok := reasons[".fs-logs-app-default-2026.10.01-000004"]; ok {
		t.Error("failure-store index considered")
	}

	rep, err := p.Prune(context.Background(), now, false)
	var merr *multierror.Error
	if !errors.As(err, &merr) || len(merr.Errors) != 1 || !errors.Is(merr.Errors[0], ErrElasticsearch) ||
		!strings.Contains(err.Error(), "cannot delete [logs-fail-2026.08.02]") {
		t.Fatalf("err = %v, want one aggregated Elasticsearch error about logs-fail", err)
	}
	if want := []string{".ds-logs-app-default-2026.09.01-000001", "logs-legacy-2026.08.01"}; !slices.Equal(sorted(fs.deleted), want) {
		t.Errorf("deleted %q, want %q", fs.deleted, want)
	}
	if got := rep.Deleted(); !slices.Equal(got, []string{".ds-logs-app-default-2026.09.01-000001", "logs-legacy-2026.08.01"}) {
		t.Errorf("report says deleted %q", got)
	}
	for _, d := range rep.Decisions {
		if d.Index == "logs-fail-2026.08.02" && (d.Err == nil || d.Deleted) {
			t.Errorf("logs-fail decision %+v", d)
		}
	}
}

// FuzzIndexDecide feeds arbitrary Elasticsearch answers to the decision step
// and checks that it never panics, never deletes a write index or a
// failure-store index, and explains every decision.
func FuzzIndexDecide(f *testing.F) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "es", name))
		if err != nil {
			f.Fatal(err)
		}
		return string(b)
	}
	f.Add(read("resolve.json"), read("data_stream.json"), read("settings.json"), read("alias.json"))
	f.Add(`{"indices":[{"name":"a-2026.01.01","aliases":["x"]}]}`, `{}`, `{"a-2026.01.01":{"settings":{"index":{"creation_date":"1"}}}}`, `{"a-2026.01.01":{"aliases":{"x":{}}}}`)
	f.Add(`{"data_streams":[{"name":"d","backing_indices":["","b"]}]}`, `{"data_streams":[{"name":"d","indices":[]}]}`, `{"b":{}}`, `null`)
	f.Fuzz(func(t *testing.T, resolve, dataStreams, settings, aliases string) {
		var v clusterView
		_ = json.Unmarshal([]byte(resolve), &v.resolve)
		_ = json.Unmarshal([]byte(dataStreams), &v.dataStreams)
		_ = json.Unmarshal([]byte(settings), &v.settings)
		_ = json.Unmarshal([]byte(aliases), &v.aliases)
		nd, err := newNameDate("2006.01.02", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
		ds := v.decide(IndexClass{Name: "f", MaxAge: Week}, nd, now)
		writes := map[string]bool{}
		for _, s := range v.resolve.DataStreams {
			if n := len(s.BackingIndices); n > 0 {
				writes[s.BackingIndices[n-1]] = true
			}
		}
		failures := map[string]bool{}
		for _, s := range v.dataStreams.DataStreams {
			if n := len(s.Indices); n > 0 {
				writes[s.Indices[n-1].IndexName] = true
			}
			if s.FailureStore != nil {
				for _, x := range s.FailureStore.Indices {
					failures[x.IndexName] = true
				}
			}
		}
		for index, a := range v.aliases {
			for _, props := range a.Aliases {
				if props.IsWriteIndex != nil && *props.IsWriteIndex {
					writes[index] = true
				}
			}
		}
		seen := map[string]bool{}
		for _, d := range ds {
			if seen[d.Index] {
				t.Fatalf("%q decided twice", d.Index)
			}
			seen[d.Index] = true
			if d.Reason == "" {
				t.Fatalf("no reason for %q", d.Index)
			}
			if d.Delete && (writes[d.Index] || failures[d.Index]) {
				t.Fatalf("would delete write or failure-store index %q: %s", d.Index, d.Reason)
			}
		}
	})
}
