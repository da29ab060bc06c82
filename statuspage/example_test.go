package statuspage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/opskit/opskit/sqlstore"
	"github.com/opskit/opskit/statuspage"
)

func Example() {
	dir, _ := os.MkdirTemp("", "statuspage")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(dir, "opsd.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	h, err := statuspage.New(ctx, db, statuspage.Config{HostSuffix: ".status.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	h.PutPage(ctx, "acme", "Acme", "https://acme.status.example.com", "Europe/Paris")
	api, _ := h.AddComponent(ctx, "acme", statuspage.Component{Name: "API"})
	h.SetComponentStatus(ctx, "acme", api, statuspage.DegradedPerformance, "p99 latency 2.3 s > 1 s") // a failing check

	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/p/acme/api/v2/status.json")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Status struct{ Indicator, Description string }
	}
	json.NewDecoder(resp.Body).Decode(&st)
	fmt.Println(st.Status.Indicator, "-", st.Status.Description)
	// Output: minor - Partially Degraded Service
}

// A check's results drive a component: only changes are recorded, with
// the check's message as the reason.
func ExampleHandler_SetComponentStatus() {
	dir, _ := os.MkdirTemp("", "statuspage")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(dir, "opsd.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	h, err := statuspage.New(ctx, db, statuspage.Config{Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	h.PutPage(ctx, "acme", "Acme", "https://acme.status.example.com", "")
	api, _ := h.AddComponent(ctx, "acme", statuspage.Component{Name: "API"})
	for _, r := range []struct {
		ok  bool
		msg string
	}{{false, "connection refused"}, {false, "connection refused"}, {true, "200 OK"}} {
		now = now.Add(time.Minute)
		status := statuspage.Operational
		if !r.ok {
			status = statuspage.MajorOutage
		}
		if err := h.SetComponentStatus(ctx, "acme", api, status, "check api: "+r.msg); err != nil {
			log.Fatal(err)
		}
	}
	changes, _ := h.StatusChanges(ctx, "acme", api, 10)
	for _, c := range changes {
		fmt.Println(c.At.Format("15:04"), c.Old, "->", c.New, "("+c.Reason+")")
	}
	// Output:
	// 10:03 major_outage -> operational (check api: 200 OK)
	// 10:01 operational -> major_outage (check api: connection refused)
}
