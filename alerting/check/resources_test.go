package check_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/opskit/opskit/alerting/check"
)

// feed is a Sampler returning queued samples.
type feed struct{ samples []map[string]float64 }

func (f *feed) Sample(ctx context.Context) (map[string]float64, error) {
	if len(f.samples) == 0 {
		return nil, errors.New("no sample")
	}
	s := f.samples[0]
	f.samples = f.samples[1:]
	return s, nil
}

func TestResourcesHoldDown(t *testing.T) {
	f := &feed{}
	clk := &clock{t: t0}
	c := &check.Resources{
		Sampler: f,
		Now:     clk.Now,
		Limits: []check.Limit{
			{Metric: check.CPUPercent, Max: 90, For: 5 * time.Minute},
			{Metric: check.DiskPercent + "/var", Max: 85},
		},
	}
	ctx := context.Background()
	step := func(cpu, disk float64) check.Result {
		f.samples = append(f.samples, map[string]float64{check.CPUPercent: cpu, check.DiskPercent + "/var": disk})
		r := c.Check(ctx)
		clk.Add(time.Minute)
		return r
	}
	// CPU high at minutes 0..5: fails from minute 5 (held 5 minutes).
	for i := range 5 {
		if r := step(95, 10); !r.OK {
			t.Fatalf("minute %d: %+v, want ok during hold-down", i, r)
		}
	}
	r := step(95, 10)
	if r.OK || r.Message != "cpu_percent 95.0 > 90 for 5m0s" || r.Values[check.CPUPercent] != 95 {
		t.Fatalf("held 5 minutes: %+v", r)
	}
	// A dip at or below the limit restarts the hold-down.
	if r := step(90, 10); !r.OK {
		t.Fatalf("at the limit: %+v", r)
	}
	if r := step(99, 10); !r.OK {
		t.Fatalf("hold-down restarted: %+v", r)
	}
	// Disk has no hold-down: fails at once; both problems are named.
	for range 4 {
		step(99, 10)
	}
	r = step(99, 86)
	if r.OK || r.Message != "cpu_percent 99.0 > 90 for 5m0s; disk_percent:/var 86.0 > 85" {
		t.Fatalf("both: %q", r.Message)
	}
	f.samples = append(f.samples, map[string]float64{check.CPUPercent: 1})
	if r := c.Check(ctx); r.OK || !strings.Contains(r.Message, "disk_percent:/var not measured") {
		t.Fatalf("missing metric: %+v", r)
	}
	if r := c.Check(ctx); r.OK || !strings.Contains(r.Message, "sampling: no sample") {
		t.Fatalf("sampler error: %+v", r)
	}
}

func TestResourcesUnusual(t *testing.T) {
	f := &feed{}
	c := &check.Resources{
		Sampler: f,
		Unusual: []check.Unusual{{Metric: check.CPUPercent, K: 4, Alpha: 0.05, WarmUp: 30, MinDelta: 5}},
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	cpu := func(v float64) check.Result {
		f.samples = append(f.samples, map[string]float64{check.CPUPercent: v})
		return c.Check(ctx)
	}
	// A host that idles around 20% ± 2.
	for i := range 200 {
		if r := cpu(20 + rng.NormFloat64()*2); !r.OK {
			t.Fatalf("sample %d of a steady host judged unusual: %+v", i, r)
		}
	}
	r := cpu(60)
	if r.OK || !strings.Contains(r.Message, "cpu_percent 60.0 unusual (baseline 19.6 ± 1.7") {
		t.Fatalf("spike: %+v", r)
	}
	// Low values are not flagged without Low.
	if r := cpu(0); !r.OK {
		t.Fatalf("drop flagged without Low: %+v", r)
	}
	// A lasting change becomes the new normal.
	var last check.Result
	for range 150 {
		last = cpu(60 + rng.NormFloat64()*2)
	}
	if !last.OK {
		t.Fatalf("after adapting to 60%%: %+v", last)
	}
}

func TestResourcesWarmUpAndMinDelta(t *testing.T) {
	f := &feed{}
	c := &check.Resources{
		Sampler: f,
		Unusual: []check.Unusual{{Metric: "m", WarmUp: 10, MinDelta: 5, Low: true}},
	}
	ctx := context.Background()
	v := func(x float64) bool {
		f.samples = append(f.samples, map[string]float64{"m": x})
		return c.Check(ctx).OK
	}
	// A constant series has zero variance: only MinDelta keeps 51 normal.
	for i := range 10 {
		if !v(50) {
			t.Fatalf("warm-up sample %d judged", i)
		}
	}
	if !v(54) {
		t.Fatal("deviation below MinDelta flagged")
	}
	if v(40) {
		t.Fatal("drop of 10 with Low not flagged")
	}
}

func TestHostSamplerReal(t *testing.T) {
	s := check.HostSampler{Mounts: []string{"/"}}
	v, err := s.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{check.CPUPercent, check.MemPercent, check.DiskPercent + "/"} {
		x, ok := v[name]
		if !ok || x < 0 || x > 100 {
			t.Errorf("%s = %v (present %v), want a percentage", name, x, ok)
		}
	}
	if v[check.MemPercent] == 0 || v[check.DiskPercent+"/"] == 0 {
		t.Errorf("a running host uses some memory and disk: %v", v)
	}
	if _, err := (check.HostSampler{Mounts: []string{"/does/not/exist"}}).Sample(context.Background()); err == nil {
		t.Error("missing mount: no error")
	}
}
