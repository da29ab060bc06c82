package logbook

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Severity ranks an incident, SEV1 the worst.
type Severity int

// The severities and what they mean.
const (
	SEV1 Severity = 1 // critical: a customer-facing outage or data loss; all hands
	SEV2 Severity = 2 // major: a core function degraded for many customers
	SEV3 Severity = 3 // minor: a function degraded for some customers, workaround exists
	SEV4 Severity = 4 // low: no customer impact yet; a risk to fix soon
	SEV5 Severity = 5 // informational: worth recording and learning from
)

// String returns "SEV1" ... "SEV5".
func (s Severity) String() string { return fmt.Sprintf("SEV%d", int(s)) }

// Valid reports whether s is SEV1..SEV5.
func (s Severity) Valid() bool { return s >= SEV1 && s <= SEV5 }

// ParseSeverity reads "SEV2", "sev2" or "2".
func ParseSeverity(text string) (Severity, error) {
	t := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(text)), "SEV")
	if len(t) == 1 && t[0] >= '1' && t[0] <= '5' {
		return Severity(t[0] - '0'), nil
	}
	return 0, fmt.Errorf("%w: severity %q (want SEV1 to SEV5)", ErrInvalid, text)
}

// Status is where an incident stands. The first four are Statuspage's
// public incident statuses; Closed means the post-mortem is done.
type Status string

// The statuses, in their usual order.
const (
	Investigating Status = "investigating"
	Identified    Status = "identified"
	Monitoring    Status = "monitoring"
	Resolved      Status = "resolved"
	Closed        Status = "closed"
)

func (s Status) rank() int {
	switch s {
	case Investigating:
		return 1
	case Identified:
		return 2
	case Monitoring:
		return 3
	case Resolved:
		return 4
	case Closed:
		return 5
	}
	return 0
}

// ParseStatus reads a status name.
func ParseStatus(text string) (Status, error) {
	s := Status(strings.ToLower(strings.TrimSpace(text)))
	if s.rank() == 0 {
		return "", fmt.Errorf("%w: status %q (want investigating, identified, monitoring, resolved or closed)", ErrInvalid, text)
	}
	return s, nil
}

// Errors callers branch on.
var (
	ErrInvalid  = errors.New("logbook: invalid incident")
	ErrNotFound = errors.New("logbook: not found")
	// ErrConflict: the incident changed since it was read (optimistic
	// concurrency); read it again and reapply the change.
	ErrConflict = errors.New("logbook: incident changed since it was read")
)

// Milestones are the moments that give an incident its durations.
type Milestones struct {
	Started      time.Time // the problem began (often known only later)
	Detected     time.Time // someone or something noticed
	Acknowledged time.Time // a person took it
	Mitigated    time.Time // customers stopped suffering
	Resolved     time.Time // the cause is fixed
}

// TimeToDetect is Detected - Started; 0 if either is unknown (so are the others).
func (m Milestones) TimeToDetect() time.Duration { return span(m.Started, m.Detected) }

// TimeToAcknowledge is Acknowledged - Detected.
func (m Milestones) TimeToAcknowledge() time.Duration { return span(m.Detected, m.Acknowledged) }

// TimeToMitigate is Mitigated - Started.
func (m Milestones) TimeToMitigate() time.Duration { return span(m.Started, m.Mitigated) }

// TimeToResolve is Resolved - Started.
func (m Milestones) TimeToResolve() time.Duration { return span(m.Started, m.Resolved) }

func span(a, b time.Time) time.Duration {
	if a.IsZero() || b.IsZero() {
		return 0
	}
	return b.Sub(a)
}

// validate checks that known milestones are in order.
func (m Milestones) validate() error {
	order := []struct {
		name string
		t    time.Time
	}{{"started", m.Started}, {"detected", m.Detected}, {"acknowledged", m.Acknowledged}, {"mitigated", m.Mitigated}, {"resolved", m.Resolved}}
	var last time.Time
	lastName := ""
	for _, o := range order {
		if o.t.IsZero() {
			continue
		}
		if !last.IsZero() && o.t.Before(last) {
			return fmt.Errorf("%w: %s (%s) is before %s (%s)", ErrInvalid, o.name, o.t.UTC().Format(time.RFC3339), lastName, last.UTC().Format(time.RFC3339))
		}
		last, lastName = o.t, o.name
	}
	return nil
}

// Incident is one logbook entry about an issue on the infrastructure.
// The five questions of the practice are fields of their own.
type Incident struct {
	ID         int64
	Title      string
	Severity   Severity
	Status     Status
	Public     bool              // its public timeline entries go to the status pages of Instances
	Instances  []string          // affected customer instances
	Components []string          // affected components ("api", "database")
	Roles      map[string]string // role → person: "commander", "communications", "scribe"
	Milestones Milestones

	WhatsGoingOn  string // what is going on
	HowUnderstood string // how did we understand the issue (root cause)
	WhatWeDid     string // what did we do to solve the problem
	Impact        string // what are the impacts
	Prevention    string // what do we need to do to avoid it next time

	Timeline []Entry      // append-only, oldest first
	Actions  []ActionItem // follow-ups

	Created, Updated time.Time
	Version          int64 // incremented by every update; see ErrConflict
}

// Validate checks the fields a store requires.
func (inc *Incident) Validate() error {
	switch {
	case strings.TrimSpace(inc.Title) == "":
		return fmt.Errorf("%w: a title is required", ErrInvalid)
	case len(inc.Title) > 200:
		return fmt.Errorf("%w: title longer than 200 bytes", ErrInvalid)
	case !inc.Severity.Valid():
		return fmt.Errorf("%w: severity %d (want SEV1 to SEV5)", ErrInvalid, inc.Severity)
	case inc.Status.rank() == 0:
		return fmt.Errorf("%w: status %q", ErrInvalid, inc.Status)
	case inc.Status.rank() >= Resolved.rank() && inc.Milestones.Resolved.IsZero():
		return fmt.Errorf("%w: a %s incident needs its resolved time", ErrInvalid, inc.Status)
	}
	return inc.Milestones.validate()
}

// EntryKind says what a timeline entry records.
type EntryKind string

// The kinds of timeline entries.
const (
	Observation   EntryKind = "observation"
	Hypothesis    EntryKind = "hypothesis"
	Action        EntryKind = "action"
	Decision      EntryKind = "decision"
	Communication EntryKind = "communication"
	StatusChange  EntryKind = "status"
)

// Entry is one line of an incident's timeline. Entries are never edited,
// only redacted (see Store.Redact).
type Entry struct {
	ID       int64
	Kind     EntryKind
	At       time.Time // when it happened
	Recorded time.Time // when it was written down
	Author   string
	Text     string
	Public   bool // may be shown to customers (status page, customer post-mortem)
}

func (e Entry) validate() error {
	switch e.Kind {
	case Observation, Hypothesis, Action, Decision, Communication, StatusChange:
	default:
		return fmt.Errorf("%w: entry kind %q", ErrInvalid, e.Kind)
	}
	if strings.TrimSpace(e.Text) == "" || strings.TrimSpace(e.Author) == "" {
		return fmt.Errorf("%w: an entry needs an author and a text", ErrInvalid)
	}
	if e.At.IsZero() {
		return fmt.Errorf("%w: an entry needs the time it happened", ErrInvalid)
	}
	return nil
}

// ActionStatus is where a follow-up stands.
type ActionStatus string

// The action statuses.
const (
	ActionOpen   ActionStatus = "open"
	ActionDone   ActionStatus = "done"
	ActionWontDo ActionStatus = "wont-do"
)

// ActionItem is a follow-up that prevents a recurrence.
type ActionItem struct {
	ID     int64
	Title  string
	Owner  string
	Due    time.Time
	Status ActionStatus
	Link   string // an issue tracker URL
}

func (a ActionItem) validate() error {
	if strings.TrimSpace(a.Title) == "" {
		return fmt.Errorf("%w: an action item needs a title", ErrInvalid)
	}
	switch a.Status {
	case ActionOpen, ActionDone, ActionWontDo:
	default:
		return fmt.Errorf("%w: action status %q", ErrInvalid, a.Status)
	}
	return nil
}
