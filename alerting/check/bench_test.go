package check_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/opskit/opskit/alerting/check"
)

func BenchmarkConditionEval(b *testing.B) {
	c := check.MustParseCondition(`components[1].status == "operational"`)
	doc := []byte(statusJSON)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if ok, _, _ := c.Eval(doc); ok {
			b.Fatal("held")
		}
	}
}

// BenchmarkRunnerRunOnce measures the Runner's own cost per check run
// (scheduling, damping, observer), with checks that do nothing.
func BenchmarkRunnerRunOnce(b *testing.B) {
	var entries []check.Entry
	for i := range 1000 {
		entries = append(entries, check.Entry{Name: fmt.Sprint(i), Check: check.Func(func(context.Context) check.Result {
			return check.Result{OK: i%2 == 0}
		})})
	}
	r, err := check.NewRunner(check.RunnerConfig{Entries: entries, Notifier: &recorder{}, Logger: quiet,
		Observer: check.ObserverFunc(func(context.Context, check.Event) {})})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if err := r.RunOnce(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/check")
}
