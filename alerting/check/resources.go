package check

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
)

// Metric names a HostSampler reports. Disk metrics are per mount point:
// DiskPercent + mount, e.g. "disk_percent:/var".
const (
	CPUPercent   = "cpu_percent"   // all cores, since the previous sample
	MemPercent   = "mem_percent"   // used / total, without caches
	LoadPerCore  = "load_per_core" // 1-minute load average / logical cores
	DiskPercent  = "disk_percent:" // + mount point
	InodePercent = "inode_percent:"
)

// Sampler measures a host. Resources calls it once per run.
type Sampler interface {
	Sample(ctx context.Context) (map[string]float64, error)
}

// SamplerFunc adapts a function to a Sampler (tests feed values this way).
type SamplerFunc func(ctx context.Context) (map[string]float64, error)

// Sample calls f(ctx).
func (f SamplerFunc) Sample(ctx context.Context) (map[string]float64, error) { return f(ctx) }

// HostSampler measures the local host with gopsutil: CPUPercent,
// MemPercent, LoadPerCore and, per mount in Mounts, DiskPercent and
// InodePercent. CPU is the busy share since the previous Sample (the first
// Sample measures since boot).
type HostSampler struct {
	// Mounts are the mount points to measure; default "/".
	Mounts []string
}

// Sample measures now.
func (s HostSampler) Sample(ctx context.Context) (map[string]float64, error) {
	out := map[string]float64{}
	pct, err := cpu.PercentWithContext(ctx, 0, false)
	if err != nil {
		return nil, fmt.Errorf("check: cpu: %w", err)
	}
	if len(pct) > 0 {
		out[CPUPercent] = pct[0]
	}
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("check: memory: %w", err)
	}
	out[MemPercent] = vm.UsedPercent
	if avg, err := load.AvgWithContext(ctx); err == nil {
		out[LoadPerCore] = avg.Load1 / float64(max(runtime.NumCPU(), 1))
	}
	mounts := s.Mounts
	if len(mounts) == 0 {
		mounts = []string{"/"}
	}
	for _, m := range mounts {
		u, err := disk.UsageWithContext(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("check: disk %s: %w", m, err)
		}
		out[DiskPercent+m] = u.UsedPercent
		if u.InodesTotal > 0 {
			out[InodePercent+m] = u.InodesUsedPercent
		}
	}
	return out, nil
}

// Limit is a "near its limits" threshold: Metric above Max for at least
// For (hold-down) fails the check. A value back at or below Max restarts
// the hold-down.
type Limit struct {
	Metric string
	Max    float64
	For    time.Duration
}

// Unusual flags a metric that deviates from the host's own rolling
// baseline: an exponentially weighted moving mean and variance. After
// WarmUp samples, a value more than K standard deviations (and more than
// MinDelta) above the mean (or below it, with Low) is unusual. Every
// sample updates the baseline, so a lasting change becomes the new normal
// after about 2/Alpha samples; pair with a Limit for absolute bounds.
type Unusual struct {
	Metric   string
	K        float64 // default 4
	Alpha    float64 // weight of a new sample, default 0.05 (about 40 samples)
	WarmUp   int     // samples before judging, default 30
	MinDelta float64 // minimum absolute deviation, in the metric's unit
	Low      bool    // also flag values far below the mean
}

// Resources checks host metrics from a Sampler against Limits and
// Unusual baselines. It keeps state between runs (hold-down timers,
// baselines), so use one Resources per host and per Runner entry.
//
// Results carry the sample as Values; a failure names every limit held
// too long and every unusual metric.
type Resources struct {
	// Sampler; nil means HostSampler{} (the local host, "/").
	Sampler Sampler
	Limits  []Limit
	Unusual []Unusual
	// Now is the clock for hold-downs; default time.Now.
	Now func() time.Time

	mu    sync.Mutex
	above map[int]time.Time // limit index → first sample above Max
	base  map[int]*ewma     // unusual index → baseline
}

type ewma struct {
	n              int
	mean, variance float64
}

// Check samples once and judges the sample.
func (c *Resources) Check(ctx context.Context) Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.above == nil {
		c.above, c.base = map[int]time.Time{}, map[int]*ewma{}
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	s := c.Sampler
	if s == nil {
		s = HostSampler{}
	}
	t := now()
	start := time.Now()
	v, err := s.Sample(ctx)
	lat := time.Since(start)
	if err != nil {
		return fail(fmt.Sprintf("sampling: %v", err), lat, nil)
	}
	var problems []string
	for i, l := range c.Limits {
		x, found := v[l.Metric]
		if !found {
			problems = append(problems, l.Metric+" not measured")
			continue
		}
		if x <= l.Max {
			delete(c.above, i)
			continue
		}
		since, was := c.above[i]
		if !was {
			since = t
			c.above[i] = t
		}
		if held := t.Sub(since); held >= l.For {
			msg := fmt.Sprintf("%s %.1f > %g", l.Metric, x, l.Max)
			if l.For > 0 {
				msg += " for " + held.Round(time.Second).String()
			}
			problems = append(problems, msg)
		}
	}
	for i, u := range c.Unusual {
		x, found := v[u.Metric]
		if !found {
			problems = append(problems, u.Metric+" not measured")
			continue
		}
		b := c.base[i]
		if b == nil {
			b = &ewma{}
			c.base[i] = b
		}
		if msg := b.judge(u, x); msg != "" {
			problems = append(problems, msg)
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fail(strings.Join(problems, "; "), lat, v)
	}
	return ok(summarise(v), lat, v)
}

// judge compares x with the baseline, then adds x to it (West's
// incremental EWMA mean and variance).
func (b *ewma) judge(u Unusual, x float64) string {
	k, alpha, warm := u.K, u.Alpha, u.WarmUp
	if k <= 0 {
		k = 4
	}
	if alpha <= 0 || alpha >= 1 {
		alpha = 0.05
	}
	if warm <= 0 {
		warm = 30
	}
	var msg string
	if b.n >= warm {
		sd := math.Sqrt(b.variance)
		dev := x - b.mean
		if !u.Low {
			dev = max(dev, 0)
		}
		if math.Abs(dev) > k*sd && math.Abs(dev) > u.MinDelta {
			z := math.Inf(1)
			if sd > 0 {
				z = dev / sd
			}
			msg = fmt.Sprintf("%s %.1f unusual (baseline %.1f ± %.1f, z %.1f)", u.Metric, x, b.mean, sd, z)
		}
	}
	if b.n == 0 {
		b.mean = x
	} else {
		diff := x - b.mean
		incr := alpha * diff
		b.mean += incr
		b.variance = (1 - alpha) * (b.variance + diff*incr)
	}
	b.n++
	return msg
}

// summarise renders a sample as "cpu_percent 12.0, mem_percent 40.1, ...".
func summarise(v map[string]float64) string {
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %.1f", k, v[k])
	}
	return strings.Join(parts, ", ")
}
