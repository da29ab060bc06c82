package alerting

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ErrConfig is returned (wrapped) by NewManager for an invalid Config.
var ErrConfig = errors.New("alerting: invalid configuration")

// Config is what a Manager does with alerts. The zero value of each duration
// takes the documented default.
type Config struct {
	// Receivers by name. A Receiver is one Notifier (email to a team, a
	// PagerDuty service, a webhook); an escalation level lists receivers.
	Receivers map[string]Receiver

	// Routes are tried in order; an alert follows the first route whose
	// Matchers match (and further ones after a route with Continue). An
	// alert that matches no route follows Default.
	Routes  []Route
	Default Route

	// Inhibit mutes target alerts while a source alert fires.
	Inhibit []InhibitRule

	// AckTimeout re-triggers an acknowledged group that is still firing
	// after this long: escalation starts again at the first level. Zero
	// (the default) means an acknowledgement lasts until the group resolves.
	AckTimeout time.Duration

	// ResolveTimeout resolves a firing alert that has not been sent again
	// for this long (Alertmanager's resolve_timeout), for sources that
	// never send a resolution. Zero (the default) keeps alerts firing until
	// they are resolved or their EndsAt passes.
	ResolveTimeout time.Duration

	// Retry is the backoff for failed deliveries: the first retry after
	// Min, doubling to at most Max, each with up to 50% jitter. Deliveries
	// are retried until they succeed or fail permanently (ErrPermanent):
	// a notifier outage delays alerts, it never drops them.
	// Defaults: Min 1s, Max 5m.
	Retry Backoff

	// DeliveryTimeout bounds one Notify call. Default 30s.
	DeliveryTimeout time.Duration

	// TickInterval is how often Run advances groups and starts due
	// deliveries. Default 1s.
	TickInterval time.Duration

	// Ack configures signed acknowledge links (see AckHandler). Without a
	// Key and URL, notifications carry no link.
	Ack AckLinks

	// Watchdog, if its Receiver is set, sends an always-firing "Watchdog"
	// alert every Interval: an outside dead-man's switch (a heartbeat
	// service) pages when these stop, which catches a dead daemon.
	Watchdog Watchdog
}

// Receiver is a named destination of notifications.
type Receiver struct {
	Notifier Notifier
	// NoResolved suppresses "resolved" notifications to this receiver.
	NoResolved bool
}

// Route decides how the alerts it matches are grouped and who hears of
// them. Its zero durations take the defaults noted.
type Route struct {
	Name     string
	Matchers Matchers
	// Continue lets an alert that matched this route try the next routes too.
	Continue bool
	// GroupBy lists the labels whose values form a group; alerts with the
	// same values are notified together. Empty groups by alertname.
	// "..." groups by every label (no grouping).
	GroupBy []string
	// GroupWait is how long a new group waits for siblings before its first
	// notification (default 30s); a group resolved within it is never sent.
	GroupWait time.Duration
	// GroupInterval is how long to wait before notifying a changed group
	// (new or resolved alerts) again (default 5m).
	GroupInterval time.Duration
	// RepeatInterval resends an unchanged, unacknowledged firing group
	// (default 4h).
	RepeatInterval time.Duration
	// Escalation is who is notified, level after level, until someone
	// acknowledges.
	Escalation Escalation
}

// Escalation is an on-call policy: level 1 is notified when a group first
// fires; if nobody acknowledges, level 2 is notified After its delay, then
// level 3, and so on. Every level reached keeps receiving the group's
// updates and its resolution. After the last level, the policy starts again
// at level 1 RepeatAfter later, Repeat times.
type Escalation struct {
	Levels      []Level
	Repeat      int
	RepeatAfter time.Duration // default: the last level's After, or 30m
}

// Level is one step of an Escalation.
type Level struct {
	// After is the delay since the previous level was notified (ignored for
	// the first level).
	After time.Duration
	// Receivers notified at this level.
	Receivers []string
	// When limits the level to a schedule (nights and weekends, say); a
	// level outside its schedule is skipped. Nil means always.
	When *Schedule
}

// Schedule is a set of weekly time windows in a time zone.
type Schedule struct {
	Location *time.Location // nil: UTC
	Windows  []Window
}

// Window is a daily time range on some weekdays. From and To are clock times
// since midnight; To before From wraps past midnight ("18:00" to "08:00"),
// the night belonging to the day it starts on. No Days means every day.
type Window struct {
	Days     []time.Weekday
	From, To time.Duration
}

// Contains reports whether t falls in one of the schedule's windows.
func (s *Schedule) Contains(t time.Time) bool {
	if s == nil {
		return true
	}
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	clock := t.Sub(midnight)
	yesterday := midnight.AddDate(0, 0, -1).Weekday()
	for _, w := range s.Windows {
		switch {
		case w.From == w.To: // the whole day
			if w.onDay(t.Weekday()) {
				return true
			}
		case w.From < w.To:
			if w.onDay(t.Weekday()) && clock >= w.From && clock < w.To {
				return true
			}
		default: // wraps midnight
			if w.onDay(t.Weekday()) && clock >= w.From {
				return true
			}
			if w.onDay(yesterday) && clock < w.To {
				return true
			}
		}
	}
	return false
}

func (w Window) onDay(d time.Weekday) bool {
	if len(w.Days) == 0 {
		return true
	}
	for _, x := range w.Days {
		if x == d {
			return true
		}
	}
	return false
}

// InhibitRule mutes alerts matching Target while an alert matching Source
// fires with the same values of the Equal labels (a missing label counts as
// empty). An alert matching both sides is never muted by the rule through
// itself. Example: host_down inhibits port_closed on the same host.
type InhibitRule struct {
	Source, Target Matchers
	Equal          []string
}

// Backoff is an exponential retry schedule.
type Backoff struct {
	Min, Max time.Duration
}

// Watchdog configures the dead-man's-switch heartbeat.
type Watchdog struct {
	Receiver string
	Interval time.Duration // default 1m
}

const (
	defaultGroupWait      = 30 * time.Second
	defaultGroupInterval  = 5 * time.Minute
	defaultRepeatInterval = 4 * time.Hour
)

func (r *Route) withDefaults() {
	if r.GroupWait == 0 {
		r.GroupWait = defaultGroupWait
	}
	if r.GroupInterval == 0 {
		r.GroupInterval = defaultGroupInterval
	}
	if r.RepeatInterval == 0 {
		r.RepeatInterval = defaultRepeatInterval
	}
	if len(r.GroupBy) == 0 {
		r.GroupBy = []string{"alertname"}
	}
	if r.Escalation.RepeatAfter == 0 {
		r.Escalation.RepeatAfter = 30 * time.Minute
		if n := len(r.Escalation.Levels); n > 1 && r.Escalation.Levels[n-1].After > 0 {
			r.Escalation.RepeatAfter = r.Escalation.Levels[n-1].After
		}
	}
}

// validate checks the configuration and fills defaults in place.
func (c *Config) validate() error {
	var errs []string
	if c.Retry.Min <= 0 {
		c.Retry.Min = time.Second
	}
	if c.Retry.Max <= 0 {
		c.Retry.Max = 5 * time.Minute
	}
	if c.Retry.Max < c.Retry.Min {
		c.Retry.Max = c.Retry.Min
	}
	if c.DeliveryTimeout <= 0 {
		c.DeliveryTimeout = 30 * time.Second
	}
	if c.TickInterval <= 0 {
		c.TickInterval = time.Second
	}
	if c.Watchdog.Interval <= 0 {
		c.Watchdog.Interval = time.Minute
	}
	for name, r := range c.Receivers {
		if r.Notifier == nil {
			errs = append(errs, fmt.Sprintf("receiver %q has no notifier", name))
		}
		if strings.ContainsAny(name, " \t\n") || name == "" {
			errs = append(errs, fmt.Sprintf("receiver name %q: no spaces, not empty", name))
		}
	}
	if c.Watchdog.Receiver != "" {
		if _, ok := c.Receivers[c.Watchdog.Receiver]; !ok {
			errs = append(errs, fmt.Sprintf("watchdog receiver %q is not defined", c.Watchdog.Receiver))
		}
	}
	if c.Default.Name == "" {
		c.Default.Name = "default"
	}
	seen := map[string]bool{}
	check := func(r *Route) {
		r.withDefaults()
		if seen[r.Name] {
			errs = append(errs, fmt.Sprintf("route name %q used twice", r.Name))
		}
		seen[r.Name] = true
		if r.Name == "" {
			errs = append(errs, "a route has no name")
		}
		if len(r.Escalation.Levels) == 0 {
			errs = append(errs, fmt.Sprintf("route %q: no escalation levels (at least one level with a receiver)", r.Name))
		}
		for i, l := range r.Escalation.Levels {
			if len(l.Receivers) == 0 {
				errs = append(errs, fmt.Sprintf("route %q level %d: no receivers", r.Name, i+1))
			}
			for _, name := range l.Receivers {
				if _, ok := c.Receivers[name]; !ok {
					errs = append(errs, fmt.Sprintf("route %q level %d: receiver %q is not defined", r.Name, i+1, name))
				}
			}
			if l.After < 0 {
				errs = append(errs, fmt.Sprintf("route %q level %d: negative delay", r.Name, i+1))
			}
		}
		if r.Escalation.Repeat < 0 {
			errs = append(errs, fmt.Sprintf("route %q: negative repeat", r.Name))
		}
	}
	for i := range c.Routes {
		check(&c.Routes[i])
	}
	check(&c.Default)
	if len(errs) > 0 {
		sort.Strings(errs)
		return fmt.Errorf("%w: %s", ErrConfig, strings.Join(errs, "; "))
	}
	return nil
}
