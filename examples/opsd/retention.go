package main

import (
	"fmt"
	"time"

	"github.com/opskit/opskit/backup"
	"github.com/opskit/opskit/retention"
)

// policy turns the configuration into a retention.Policy.
func (rc RetentionConfig) policy() (retention.Policy, error) {
	var p retention.Policy
	switch rc.Preset {
	case "", "daily20":
		p = retention.SeedDaily20()
	case "tiered":
		p = retention.SeedTiered()
	case "custom":
	default:
		return p, fmt.Errorf("retention preset %q (use daily20, tiered or custom)", rc.Preset)
	}
	explicit := rc.Last != 0 || rc.Hourly != 0 || rc.SixHourly != 0 || rc.Daily != 0 || rc.Weekly != 0 ||
		rc.Monthly != 0 || rc.Yearly != 0 || rc.Within != "" || rc.WithinSixHourly != "" || rc.WithinDaily != "" ||
		rc.WithinWeekly != "" || rc.WithinMonthly != "" || rc.WithinYearly != ""
	if explicit {
		if rc.Preset != "custom" && rc.Preset != "" {
			return p, fmt.Errorf("retention: give a preset or rules (with preset: custom), not both")
		}
		p = retention.Policy{Last: rc.Last, Hourly: rc.Hourly, NHourly: rc.SixHourly, NHours: 6, Daily: rc.Daily,
			Weekly: rc.Weekly, Monthly: rc.Monthly, Yearly: rc.Yearly}
		for _, f := range []struct {
			text string
			dst  *retention.Span
		}{{rc.Within, &p.Within}, {rc.WithinSixHourly, &p.WithinNHourly}, {rc.WithinDaily, &p.WithinDaily},
			{rc.WithinWeekly, &p.WithinWeekly}, {rc.WithinMonthly, &p.WithinMonthly}, {rc.WithinYearly, &p.WithinYearly}} {
			if f.text == "" {
				continue
			}
			s, err := retention.ParseSpan(f.text)
			if err != nil {
				return p, fmt.Errorf("retention: %w", err)
			}
			*f.dst = s
		}
	}
	if rc.TimeZone != "" {
		loc, err := time.LoadLocation(rc.TimeZone)
		if err != nil {
			return p, fmt.Errorf("retention time_zone: %w", err)
		}
		p.Location = loc
	}
	return p, p.Validate()
}

// prunePolicy adapts a retention.Policy to backup.PrunePolicy: backups are
// items, and a backup without a recorded verification is Unverified.
func prunePolicy(p retention.Policy) backup.PrunePolicy {
	return func(backups []backup.Backup, now time.Time) ([]backup.PruneDecision, error) {
		items := make([]retention.Item, len(backups))
		for i, b := range backups {
			items[i] = retention.Item{ID: b.ID, Time: b.Time, Unverified: b.Verified.IsZero()}
		}
		ds, err := p.Apply(items, now)
		if err != nil {
			return nil, err
		}
		out := make([]backup.PruneDecision, len(ds))
		for i, d := range ds {
			out[i] = backup.PruneDecision{ID: d.ID, Keep: d.Keep, Reasons: d.Reasons}
		}
		return out, nil
	}
}
