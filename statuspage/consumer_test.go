package statuspage_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"testing"
	"time"

	"github.com/opskit/opskit/internal/testenv"
	"github.com/opskit/opskit/sqlstore/sqlstoretest"
	"github.com/opskit/opskit/statuspage"
)

// TestThirdPartyConsumer reads the page's JSON with statuspage.io, a
// Statuspage API client from npm written by others, and checks what it
// decoded. (The client's getActive and getAll of scheduled maintenances
// both fetch upcoming.json, a bug of the client, so only that one is read.)
func TestThirdPartyConsumer(t *testing.T) {
	nodePath := os.Getenv("OPSKIT_TEST_NODE_PATH")
	if nodePath == "" {
		testenv.Skip(t, "OPSKIT_TEST_NODE_PATH (npm's statuspage.io) is not set: run scripts/test.sh, which installs it")
	}
	node := testenv.LookPath(t, "node")
	c := &syncClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	h, err := statuspage.New(context.Background(), sqlstoretest.SQLite(t), statuspage.Config{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h.PutPage(ctx, "acme", "Acme", "https://acme.status.example.com", "Europe/Paris")
	grp, _ := h.AddComponent(ctx, "acme", statuspage.Component{Name: "Platform", Group: true})
	api, _ := h.AddComponent(ctx, "acme", statuspage.Component{Name: "API", GroupID: grp})
	h.AddComponent(ctx, "acme", statuspage.Component{Name: "Web", GroupID: grp})
	h.SetComponentStatus(ctx, "acme", api, statuspage.UnderMaintenance, "")
	id, _ := h.CreateIncident(ctx, "acme", statuspage.NewIncident{Name: "Elevated errors", Impact: "major", Body: "Investigating.", Components: []string{api}})
	c.add(time.Minute)
	h.AddUpdate(ctx, "acme", id, statuspage.Identified, "Rolling back.")
	old, _ := h.CreateIncident(ctx, "acme", statuspage.NewIncident{Name: "Slow logins", Body: "Investigating."})
	h.AddUpdate(ctx, "acme", old, statuspage.Resolved, "Resolved.")
	h.CreateIncident(ctx, "acme", statuspage.NewIncident{Name: "Database upgrade", Maintenance: true, Body: "Writes pause.",
		ScheduledFor: time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC), ScheduledUntil: time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)})
	p, _ := h.Page("acme")
	srv := httptest.NewServer(h)
	defer srv.Close()

	cmd := exec.CommandContext(ctx, node, "testdata/consumer.js", srv.URL+"/p/acme")
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("statuspage.io client: %v\n%s", err, err.(*exec.ExitError).Stderr)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]any{
		"page": "Acme", "pageID": p.ID, "timeZone": "Europe/Paris",
		"indicator": "major", "description": "Partial System Outage",
		"components": []any{
			[]any{"Platform", "operational", true, nil},
			[]any{"API", "under_maintenance", false, grp},
			[]any{"Web", "operational", false, grp},
		},
		"summaryIncidents": []any{[]any{"Elevated errors", "identified", "major", "Rolling back."}},
		"incidents": []any{
			[]any{"Slow logins", "resolved", 2.0, ""},
			[]any{"Elevated errors", "identified", 2.0, "API"},
		},
		"unresolved": []any{"Elevated errors"},
		"upcoming":   []any{[]any{"Database upgrade", "scheduled", "2026-11-25T22:00:00.000Z", "2026-11-25T23:00:00.000Z"}},
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s: the client decoded %#v, want %#v", k, got[k], v)
		}
	}
}
