package statuspage

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/opskit/opskit/sqlstore/sqlstoretest"
)

// BenchmarkRender renders every response of a page with 50 components and
// 1,000 incidents: the cost of one change.
func BenchmarkRender(b *testing.B) {
	p := &Page{ID: newID(), Slug: "bench", Name: "Bench", URL: "http://bench.example", TimeZone: "Europe/Paris", Updated: time.Now()}
	for i := 0; i < 50; i++ {
		p.Components = append(p.Components, Component{ID: newID(), Name: fmt.Sprint("Service ", i), Status: Operational, Position: i})
	}
	for i := 0; i < 1000; i++ {
		now := time.Now()
		p.Incidents = append(p.Incidents, Incident{ID: newID(), Name: fmt.Sprint("Incident ", i), Status: Resolved, Impact: ImpactMinor,
			Components: []string{p.Components[i%50].ID}, Created: now, Updated: now, Started: now, ResolvedAt: now,
			Updates: []Update{{ID: newID(), Status: Resolved, Body: "Resolved.", Created: now}, {ID: newID(), Status: Investigating, Body: "Investigating.", Created: now}}})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.render(time.Now(), true); err != nil {
			b.Fatal(err)
		}
	}
}

// discard is a ResponseWriter that keeps one header map, as net/http's
// does per connection, so the benchmark counts the handler's allocations.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkServeHTTP serves the pre-rendered summary.json, gzipped: the
// cost of a request once net/http has parsed it.
func BenchmarkServeHTTP(b *testing.B) {
	h, err := New(context.Background(), sqlstoretest.SQLite(b), Config{})
	if err != nil {
		b.Fatal(err)
	}
	h.PutPage(context.Background(), "bench", "Bench", "http://bench.example", "")
	r := httptest.NewRequest("GET", "/p/bench/api/v2/summary.json", nil)
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discard{h: http.Header{}}
		for pb.Next() {
			h.ServeHTTP(w, r)
		}
	})
}

// BenchmarkSetComponentStatus changes a component of a page with 50
// components and 1,000 incidents, as a check does, renders coalesced (the
// cost of storing the change).
func BenchmarkSetComponentStatus(b *testing.B) {
	ctx := context.Background()
	h, err := New(ctx, sqlstoretest.SQLite(b), Config{RenderInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	var first string
	p, v, err := h.store.change(ctx, "bench", true, func(p *Page) error {
		p.ID, p.Name, p.URL = newID(), "Bench", "http://bench.example"
		now := time.Now()
		for i := 0; i < 50; i++ {
			p.Components = append(p.Components, Component{ID: newID(), Name: fmt.Sprint("Service ", i), Status: Operational, Position: i})
		}
		first = p.Components[0].ID
		for i := 0; i < 1000; i++ {
			p.Incidents = append(p.Incidents, Incident{ID: newID(), Name: fmt.Sprint("Incident ", i), Status: Resolved, Impact: ImpactMinor,
				Components: []string{p.Components[i%50].ID}, Created: now, Updated: now, Started: now, ResolvedAt: now,
				Updates: []Update{{ID: newID(), Status: Resolved, Body: "Resolved.", Created: now}, {ID: newID(), Status: Investigating, Body: "Investigating.", Created: now}}})
		}
		return nil
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := h.publish(p, v); err != nil {
		b.Fatal(err)
	}
	statuses := []ComponentStatus{MajorOutage, Operational}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := h.SetComponentStatus(ctx, "bench", first, statuses[i%2], "check"); err != nil {
			b.Fatal(err)
		}
	}
}
