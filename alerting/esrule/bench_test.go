package esrule

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/opskit/opskit/internal/estest"
)

// BenchmarkFrequencyDay evaluates a brute-force frequency rule (10 failed
// logins per source IP within 5 minutes) over one day of authentication
// logs (43,200 failures from 500 IPs, one attacker an hour) and reports the
// bytes received from Elasticsearch per evaluation: counting pushed to
// Elasticsearch (a terms aggregation per run_every minute) against pulling
// the documents (ElastAlert's default, use_terms_query: false).
func BenchmarkFrequencyDay(b *testing.B) {
	es := estest.Client(b)
	prefix := estest.Prefix(b, es)
	day := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	var docs []map[string]any
	for s := 0; s < 86400; s += 2 {
		ts := day.Add(time.Duration(s) * time.Second)
		ip := fmt.Sprintf("10.%d.%d.%d", s%5, (s/7)%10, (s/3)%10)
		if s%3600 < 120 {
			ip = fmt.Sprintf("203.0.113.%d", s/3600)
		}
		docs = append(docs, auth(ts, ip, fmt.Sprintf("user%d", s%50), "failure"))
	}
	pattern := loadLogs(b, es, prefix, docs)
	ctx := context.Background()
	rule := Rule{Name: "brute-force", Type: Frequency, Index: pattern, NumEvents: 10, Timeframe: 5 * time.Minute,
		QueryKey: []string{"source.ip"}, Filter: filterAuth("failure"), RunEvery: time.Minute, BufferTime: 15 * time.Minute}
	for _, mode := range []string{"aggregation", "documents"} {
		b.Run(mode, func(b *testing.B) {
			r := rule
			r.UseDocuments = mode == "documents"
			runner := &Runner{Client: es}
			var matches int
			for b.Loop() {
				ms, err := runner.DryRun(ctx, r, day, day.Add(24*time.Hour))
				if err != nil {
					b.Fatal(err)
				}
				matches = len(ms)
			}
			b.ReportMetric(float64(runner.Received())/float64(b.N), "bytes/eval")
			b.ReportMetric(float64(matches), "matches")
		})
	}
}
