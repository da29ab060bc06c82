package statuspage

import (
	"reflect"
	"testing"
	"time"
)

// TestCloneIsDeep: a change works on a clone of the served page; nothing
// it does may show through to the page readers are served.
func TestCloneIsDeep(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	p := &Page{ID: "p", Slug: "s", Components: []Component{{ID: "c", Status: Operational, History: []Day{{Date: "2026-11-30", Worst: MajorOutage}}}},
		Incidents: []Incident{{ID: "i", Components: []string{"c"}, Updates: []Update{{ID: "u", Body: "x", Created: now}}}}}
	want := p.clone()
	c := p.clone()
	if !reflect.DeepEqual(c, p) {
		t.Fatalf("clone differs: %+v", c)
	}
	c.Components[0].Status = MajorOutage
	c.Components[0].History[0].Worst = PartialOutage
	c.Components = append(c.Components, Component{ID: "d"})
	c.Incidents[0].Components[0] = "d"
	c.Incidents[0].Updates[0].Body = "changed"
	c.Incidents[0].Status = Resolved
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("changing the clone changed the original: %+v", p)
	}
}
