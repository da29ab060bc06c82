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

	"github.com/opskit/opskit/internal/sqlstore"
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
