package statuspage

import (
	"fmt"
	"testing"
	"time"
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
