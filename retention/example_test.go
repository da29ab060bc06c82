package retention_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/opskit/opskit/retention"
)

// A dry run of "20 daily backups" on a backup every 12 hours: the reasons
// say which rule keeps what.
func ExamplePolicy_Apply() {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	var items []retention.Item
	for i := range 4 {
		t := now.Add(-time.Duration(i) * 12 * time.Hour)
		items = append(items, retention.Item{ID: t.Format("Jan 2 15h"), Time: t})
	}
	items[0].Unverified = true // its hash check has not passed yet

	p := retention.Policy{Daily: 2, Within: retention.Hours(13)}
	ds, err := p.Apply(items, now)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range ds {
		fmt.Printf("%s keep=%v: %s\n", d.ID, d.Keep, strings.Join(d.Reasons, "; "))
	}
	// Output:
	// Nov 22 12h keep=true: unverified: always kept, counts for no rule
	// Nov 22 00h keep=true: within 13h; daily 1 of 2
	// Nov 21 12h keep=true: within 13h; daily 2 of 2
	// Nov 21 00h keep=false: no rule keeps it; within 13h: older than the window; daily: all 2 used by newer items
}

// The tiered policy of the practice, in words.
func ExampleSeedTiered() {
	p := retention.SeedTiered()
	fmt.Println(p.String())
	// Output:
	// 6-hourly within 2d, daily within 7d, weekly within 28d, monthly within 13m (UTC)
}

func ExampleParseSpan() {
	s, err := retention.ParseSpan("1y2m3d")
	fmt.Println(s.Years, s.Months, s.Days, err)
	// Output:
	// 1 2 3 <nil>
}

// Removing rotated web logs older than 14 weeks; the live access.log stays.
func ExampleFilePruner() {
	dir, _ := os.MkdirTemp("", "logs")
	defer os.RemoveAll(dir)
	now := time.Now()
	for name, age := range map[string]time.Duration{
		"access.log": 0, "access.log.1": time.Hour, "access.log.9.gz": 20 * retention.Week,
	} {
		path := filepath.Join(dir, name)
		_ = os.WriteFile(path, nil, 0o644)
		_ = os.Chtimes(path, now.Add(-age), now.Add(-age))
	}
	p := &retention.FilePruner{
		Classes: []retention.FileClass{retention.SeedWebLogs(dir)},
		Logger:  slog.New(slog.DiscardHandler),
	}
	rep, err := p.Prune(context.Background(), now, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range rep.Decisions {
		fmt.Println(filepath.Base(d.Path), d.Deleted, d.Reason)
	}
	// Output:
	// access.log false live file (no rotation suffix): kept
	// access.log.1 false age 1h <= 14w (mtime)
	// access.log.9.gz true age 20w > 14w (mtime)
}

// Deleting daily log indices older than 8 weeks: a dry run first, then the
// real run. (Not run as a test: it needs an Elasticsearch.)
func ExampleIndexPruner() {
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{"http://127.0.0.1:9200"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := &retention.IndexPruner{
		Client:  es,
		Classes: []retention.IndexClass{retention.SeedElasticsearchLogs("logs-nginx-*", "filebeat-*")},
	}
	plan, err := p.Prune(context.Background(), time.Now(), true)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range plan.Decisions {
		fmt.Println(d.Index, d.Delete, d.Reason) // "logs-nginx-2026.09.20 true age 9w > 8w (name date)"
	}
	if _, err := p.Prune(context.Background(), time.Now(), false); err != nil {
		fmt.Println(err) // every failed deletion, the others done
	}
}

// "20 daily backups": a month of nightly backups keeps the newest 20.
func ExampleSeedDaily20() {
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	var items []retention.Item
	for i := range 30 {
		t := now.AddDate(0, 0, -i)
		items = append(items, retention.Item{ID: t.Format("2006-01-02"), Time: t})
	}
	ds, err := retention.SeedDaily20().Apply(items, now)
	if err != nil {
		fmt.Println(err)
		return
	}
	kept := 0
	for _, d := range ds {
		if d.Keep {
			kept++
		}
	}
	fmt.Println(kept)
	fmt.Println(ds[0].Reasons)
	fmt.Println(ds[19].Reasons)
	fmt.Println(strings.Join(ds[20].Reasons, "; "))
	// Output:
	// 20
	// [daily 1 of 20]
	// [daily 20 of 20]
	// no rule keeps it; daily: all 20 used by newer items
}
