package logbook_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opskit/opskit/logbook"
	"github.com/opskit/opskit/sqlstore"
)

func Example() {
	dir, _ := os.MkdirTemp("", "logbook")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(dir, "opsd.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := logbook.Open(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	start := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	id, _ := store.Create(ctx, &logbook.Incident{
		Title: "API errors for acme", Severity: logbook.SEV3, Instances: []string{"acme"},
		Milestones:   logbook.Milestones{Started: start, Detected: start.Add(4 * time.Minute)},
		WhatsGoingOn: "5xx on /api/v1/items.",
	})
	store.Append(ctx, id, logbook.Entry{Kind: logbook.Communication, At: start.Add(10 * time.Minute), Author: "carol",
		Text: "We are looking into errors on the items API.", Public: true})
	inc, _ := store.Get(ctx, id)
	inc.Status = logbook.Resolved
	inc.Milestones.Resolved = start.Add(40 * time.Minute)
	inc.HowUnderstood = "A database connection pool was too small."
	store.Update(ctx, inc, "alice")

	inc, _ = store.Get(ctx, id)
	md, _ := logbook.Postmortem{Incident: inc, Audience: logbook.Customer}.Markdown()
	fmt.Println(strings.SplitN(md, "\n", 4)[2])
	fmt.Println("time to resolve:", inc.Milestones.TimeToResolve())
	// Output:
	// SEV3, resolved. Started 2026-11-22 09:00 UTC, resolved 2026-11-22 09:40 UTC. Affected: acme.
	// time to resolve: 40m0s
}
