package alerting

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"time"
)

// Severity orders alerts by urgency.
type Severity string

// The severities, least to most urgent.
const (
	Info     Severity = "info"
	Warning  Severity = "warning"
	Critical Severity = "critical"
)

// Rank orders severities: Critical 3, Warning 2, Info 1, anything else 0.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 3
	case Warning:
		return 2
	case Info:
		return 1
	}
	return 0
}

// Labels identify an alert: two alerts with the same labels are the same
// alert (see Fingerprint). Keep them low-cardinality (host, check, rule);
// put free text in Annotations.
type Labels map[string]string

// Fingerprint returns a stable identifier of a label set: the hex SHA-256 of
// the sorted name/value pairs (first 16 bytes).
func (l Labels) Fingerprint() string {
	names := make([]string, 0, len(l))
	for k := range l {
		names = append(names, k)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, k := range names {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(l[k]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Alert is something that needs (or needed) a person's attention.
type Alert struct {
	Labels      Labels            `json:"labels"`                // identity; "alertname" names what fired
	Annotations map[string]string `json:"annotations,omitempty"` // free text: "description", "runbook_url"
	Severity    Severity          `json:"severity,omitempty"`
	Summary     string            `json:"summary,omitempty"` // one line for a phone screen
	StartsAt    time.Time         `json:"startsAt"`          // when the condition began
	EndsAt      time.Time         `json:"endsAt"`            // zero while firing; set when resolved
	Source      string            `json:"source,omitempty"`  // what produced it: "check", "logrule", "falco", "ossec", "alertmanager"
}

// Fingerprint identifies the alert by its labels.
func (a Alert) Fingerprint() string { return a.Labels.Fingerprint() }

// Resolved reports whether the alert has ended (EndsAt set and not after now).
func (a Alert) Resolved(now time.Time) bool { return !a.EndsAt.IsZero() && !a.EndsAt.After(now) }

// Notifier delivers alerts to people or systems: email, chat, paging.
// Implementations live in subpackages (email, webhook, slack, pagerduty).
//
// Notify must be safe for concurrent use. It returns nil only when the
// receiver accepted every alert; an error wrapping ErrPermanent means a retry
// cannot succeed (bad configuration, a 4xx other than 408/429).
type Notifier interface {
	Notify(ctx context.Context, alerts ...Alert) error
}

// Status is "firing" or "resolved" at now, the words Alertmanager's
// webhook and most receivers use.
func (a Alert) Status(now time.Time) string {
	if a.Resolved(now) {
		return "resolved"
	}
	return "firing"
}

// Name returns the "alertname" label.
func (a Alert) Name() string { return a.Labels["alertname"] }
