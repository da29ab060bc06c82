// Command statusserver serves one status page seeded for the benchmark: 50
// components in 5 groups, 1,000 past incidents with 3 updates each, a
// maintenance, while a simulated check changes a component's status every
// 100 ms (each change re-renders the page).
//
//	go run ./bench/statusserver -addr 127.0.0.1:8099
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/opskit/opskit/sqlstore"
	"github.com/opskit/opskit/statuspage"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8099", "listen address")
	every := flag.Duration("check-interval", 100*time.Millisecond, "how often the simulated check changes a component (0: never)")
	renderEvery := flag.Duration("render-interval", time.Second, "statuspage.Config.RenderInterval (0: render on every change)")
	flag.Parse()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "statusserver")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlstore.Open(ctx, filepath.Join(dir, "status.db"))
	if err != nil {
		log.Fatal(err)
	}
	h, err := statuspage.New(ctx, db, statuspage.Config{HostSuffix: ".status.localhost", RenderInterval: *renderEvery})
	if err != nil {
		log.Fatal(err)
	}
	if err := h.PutPage(ctx, "bench", "Bench Corp", "http://bench.status.localhost", "Europe/Paris"); err != nil {
		log.Fatal(err)
	}
	var comps []string
	for g := 0; g < 5; g++ {
		gid, err := h.AddComponent(ctx, "bench", statuspage.Component{Name: fmt.Sprintf("Region %d", g+1), Group: true})
		if err != nil {
			log.Fatal(err)
		}
		for i := 0; i < 9; i++ {
			id, _ := h.AddComponent(ctx, "bench", statuspage.Component{Name: fmt.Sprintf("Service %d.%d", g+1, i+1), GroupID: gid,
				Description: "A service of region " + fmt.Sprint(g+1)})
			comps = append(comps, id)
		}
	}
	for i := 0; i < 1000; i++ {
		id, err := h.CreateIncident(ctx, "bench", statuspage.NewIncident{Name: fmt.Sprintf("Incident %d: elevated error rates", i),
			Impact: "minor", Body: "We are investigating elevated error rates.", Components: []string{comps[i%len(comps)]}})
		if err != nil {
			log.Fatal(err)
		}
		h.AddUpdate(ctx, "bench", id, statuspage.Identified, "The cause is identified; a fix is being deployed.")
		h.AddUpdate(ctx, "bench", id, statuspage.Resolved, "This incident has been resolved.")
	}
	now := time.Now()
	h.CreateIncident(ctx, "bench", statuspage.NewIncident{Name: "Database upgrade", Maintenance: true, Body: "Writes pause briefly.",
		ScheduledFor: now.Add(48 * time.Hour), ScheduledUntil: now.Add(49 * time.Hour)})
	go func() {
		if *every <= 0 {
			return
		}
		statuses := []statuspage.ComponentStatus{statuspage.DegradedPerformance, statuspage.Operational}
		for i := 0; ; i++ {
			time.Sleep(*every)
			h.SetComponentStatus(ctx, "bench", comps[i%len(comps)], statuses[i%2], "simulated check")
		}
	}()
	log.Printf("serving http://%s/p/bench/ (seeded)", *addr)
	log.Fatal(http.ListenAndServe(*addr, h))
}
