package statuspage

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"
)

// ComponentStatus is one of Statuspage's five component statuses.
type ComponentStatus string

// The component statuses, best first.
const (
	Operational         ComponentStatus = "operational"
	DegradedPerformance ComponentStatus = "degraded_performance"
	PartialOutage       ComponentStatus = "partial_outage"
	MajorOutage         ComponentStatus = "major_outage"
	UnderMaintenance    ComponentStatus = "under_maintenance"
)

// Valid reports whether s is one of the five statuses.
func (s ComponentStatus) Valid() bool {
	switch s {
	case Operational, DegradedPerformance, PartialOutage, MajorOutage, UnderMaintenance:
		return true
	}
	return false
}

// Label is how a person reads the status (never colour alone).
func (s ComponentStatus) Label() string {
	switch s {
	case Operational:
		return "Operational"
	case DegradedPerformance:
		return "Degraded performance"
	case PartialOutage:
		return "Partial outage"
	case MajorOutage:
		return "Major outage"
	case UnderMaintenance:
		return "Under maintenance"
	}
	return string(s)
}

// Incident statuses (Statuspage's), and maintenance statuses.
const (
	Investigating = "investigating"
	Identified    = "identified"
	Monitoring    = "monitoring"
	Resolved      = "resolved"
	Postmortem    = "postmortem"

	Scheduled  = "scheduled"
	InProgress = "in_progress"
	Verifying  = "verifying"
	Completed  = "completed"
)

// Impacts of incidents; maintenances have impact "maintenance".
const (
	ImpactNone        = "none"
	ImpactMinor       = "minor"
	ImpactMajor       = "major"
	ImpactCritical    = "critical"
	ImpactMaintenance = "maintenance"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("statuspage: not found")
	ErrInvalid  = errors.New("statuspage: invalid input")
)

// Page is one instance's status page.
type Page struct {
	ID         string // 12 characters of base36
	Slug       string // the instance name: {slug}.status.example.com
	Name       string
	URL        string // public URL of the page
	TimeZone   string // IANA zone times are shown in; default Etc/UTC
	Components []Component
	Incidents  []Incident // incidents and scheduled maintenances, newest first
	Updated    time.Time
}

// clone returns a deep copy of p, which a change may modify freely.
func (p *Page) clone() *Page {
	c := *p
	c.Components = make([]Component, len(p.Components))
	for i, comp := range p.Components {
		comp.History = append([]Day(nil), comp.History...)
		c.Components[i] = comp
	}
	c.Incidents = make([]Incident, len(p.Incidents))
	for i, inc := range p.Incidents {
		inc.Components = append([]string(nil), inc.Components...)
		inc.Updates = append([]Update(nil), inc.Updates...)
		c.Incidents[i] = inc
	}
	return &c
}

// Component is a service shown on the page, or a group of them.
type Component struct {
	ID          string
	Name        string
	Description string
	Group       bool   // a group row; its children name it in GroupID
	GroupID     string // the group this component belongs to
	Position    int
	Status      ComponentStatus
	Created     time.Time
	Updated     time.Time
	// History holds the worst status of each of the last UptimeDays days
	// (in the page's zone) on which the component was not operational;
	// days not listed were operational.
	History []Day
}

// Day is a component's worst status on a calendar day.
type Day struct {
	Date  string // 2006-01-02 in the page's zone
	Worst ComponentStatus
}

// UptimeDays is how many days of history a page shows.
const UptimeDays = 90

var severity = map[ComponentStatus]int{Operational: 0, UnderMaintenance: 1, DegradedPerformance: 2, PartialOutage: 3, MajorOutage: 4}

// record notes status s at time t (in loc) in the component's history.
func (c *Component) record(s ComponentStatus, t time.Time, loc *time.Location) {
	if s == Operational {
		return
	}
	date := t.In(loc).Format("2006-01-02")
	if n := len(c.History); n > 0 && c.History[n-1].Date == date {
		if severity[s] > severity[c.History[n-1].Worst] {
			c.History[n-1].Worst = s
		}
		return
	}
	c.History = append(c.History, Day{Date: date, Worst: s})
	cutoff := t.In(loc).AddDate(0, 0, -UptimeDays).Format("2006-01-02")
	for len(c.History) > 0 && c.History[0].Date <= cutoff {
		c.History = c.History[1:]
	}
}

// Incident is an incident or, with Maintenance set, a scheduled maintenance.
type Incident struct {
	ID             string
	Name           string
	Status         string // incident or maintenance status
	Impact         string
	Maintenance    bool
	ScheduledFor   time.Time // maintenances
	ScheduledUntil time.Time
	Components     []string // affected component IDs
	Created        time.Time
	Updated        time.Time
	Started        time.Time
	MonitoringAt   time.Time
	ResolvedAt     time.Time
	Updates        []Update // newest first
}

// Update is one message posted on an incident.
type Update struct {
	ID      string
	Status  string
	Body    string
	Created time.Time
}

// Unresolved reports whether an incident is still open.
func (i Incident) Unresolved() bool {
	if i.Maintenance {
		return i.Status == InProgress || i.Status == Verifying
	}
	return i.Status == Investigating || i.Status == Identified || i.Status == Monitoring
}

func validIncidentStatus(maintenance bool, s string) bool {
	if maintenance {
		return s == Scheduled || s == InProgress || s == Verifying || s == Completed
	}
	return s == Investigating || s == Identified || s == Monitoring || s == Resolved || s == Postmortem
}

func validImpact(s string) bool {
	return s == ImpactNone || s == ImpactMinor || s == ImpactMajor || s == ImpactCritical || s == ImpactMaintenance
}

// newID returns a Statuspage-style id: 12 lowercase base36 characters.
func newID() string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b [12]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// Indicator is the page's overall status.
type Indicator struct {
	Indicator   string // none, minor, major, critical, maintenance
	Description string
}

var impactRank = map[string]int{ImpactNone: 0, ImpactMinor: 1, ImpactMajor: 2, ImpactCritical: 3}

// Rollup computes the page status the way Statuspage does: a blend of the
// (non-group) component statuses, raised to the impact of any unresolved
// incident; "maintenance" when nothing is worse and a component is under
// maintenance or a maintenance is in progress.
func (p *Page) Rollup() Indicator {
	var leaves, degraded, partial, major, maint int
	for _, c := range p.Components {
		if c.Group {
			continue
		}
		leaves++
		switch c.Status {
		case DegradedPerformance:
			degraded++
		case PartialOutage:
			partial++
		case MajorOutage:
			major++
		case UnderMaintenance:
			maint++
		}
	}
	ind := Indicator{"none", "All Systems Operational"}
	switch {
	case leaves > 0 && major == leaves:
		ind = Indicator{"critical", "Major System Outage"}
	case major > 0:
		ind = Indicator{"major", "Partial System Outage"}
	case leaves > 0 && partial == leaves:
		ind = Indicator{"major", "Partial System Outage"}
	case partial > 0:
		ind = Indicator{"minor", "Minor Service Outage"}
	case leaves > 0 && degraded == leaves && leaves > 1:
		ind = Indicator{"minor", "Degraded System Service"}
	case degraded > 0:
		ind = Indicator{"minor", "Partially Degraded Service"}
	}
	if leaves == 1 && major == 1 {
		ind = Indicator{"critical", "Major System Outage"}
	}
	worst := impactRank[ind.Indicator]
	if ind.Indicator == "none" {
		worst = 0
	}
	maintActive := maint > 0
	for _, inc := range p.Incidents {
		if !inc.Unresolved() {
			continue
		}
		if inc.Maintenance {
			maintActive = true
			continue
		}
		if r := impactRank[inc.Impact]; r > worst {
			worst = r
			switch inc.Impact {
			case ImpactMinor:
				ind = Indicator{"minor", "Minor Service Outage"}
			case ImpactMajor:
				ind = Indicator{"major", "Partial System Outage"}
			case ImpactCritical:
				ind = Indicator{"critical", "Major System Outage"}
			}
		}
	}
	if ind.Indicator == "none" && maintActive {
		ind = Indicator{"maintenance", "Service Under Maintenance"}
	}
	return ind
}

func (p *Page) component(id string) (*Component, error) {
	for i := range p.Components {
		if p.Components[i].ID == id {
			return &p.Components[i], nil
		}
	}
	return nil, fmt.Errorf("%w: component %q on page %s", ErrNotFound, id, p.Slug)
}

func (p *Page) incident(id string) (*Incident, error) {
	for i := range p.Incidents {
		if p.Incidents[i].ID == id {
			return &p.Incidents[i], nil
		}
	}
	return nil, fmt.Errorf("%w: incident %q on page %s", ErrNotFound, id, p.Slug)
}

func (p *Page) location() *time.Location {
	if loc, err := time.LoadLocation(p.TimeZone); err == nil && p.TimeZone != "" {
		return loc
	}
	return time.UTC
}
