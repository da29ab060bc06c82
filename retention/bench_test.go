package retention

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// benchItems returns n items, one every 5 minutes going back from 2026-11-22,
// shuffled so that sorting does real work.
func benchItems(n int) []Item {
	end := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	in := make([]Item, n)
	for i := range in {
		in[i] = Item{ID: fmt.Sprint(i), Time: end.Add(-time.Duration(i) * 5 * time.Minute)}
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(n, func(i, j int) { in[i], in[j] = in[j], in[i] })
	return in
}

// benchPolicy has five rules: last, 6-hourly within, daily, weekly, monthly.
func benchPolicy() Policy {
	return Policy{Last: 10, WithinNHourly: Days(5), Daily: 365, Weekly: 52, Monthly: 36}
}

func benchApply(b *testing.B, n int) {
	in := benchItems(n)
	p := benchPolicy()
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ds, err := p.Apply(in, now)
		if err != nil || len(ds) != n {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/item")
}

func BenchmarkApply10k(b *testing.B)  { benchApply(b, 10_000) }
func BenchmarkApply100k(b *testing.B) { benchApply(b, 100_000) }
func BenchmarkApply1M(b *testing.B)   { benchApply(b, 1_000_000) }

// The worst case: unlimited rules walk every item (no early exit).
func benchApplyFull(b *testing.B, n int) {
	in := benchItems(n)
	p := Policy{Last: 10, WithinNHourly: Days(5), Daily: Unlimited, Weekly: Unlimited, Monthly: Unlimited}
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ds, err := p.Apply(in, now)
		if err != nil || len(ds) != n {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/item")
}

func BenchmarkApplyUnlimited100k(b *testing.B) { benchApplyFull(b, 100_000) }
func BenchmarkApplyUnlimited1M(b *testing.B)   { benchApplyFull(b, 1_000_000) }
