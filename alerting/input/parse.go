package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/webhook"
)

// ErrBadInput wraps every parse failure; the handler answers it with 400.
var ErrBadInput = errors.New("bad input")

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadInput}, args...)...)
}

// MaxAlerts bounds the alerts one request may carry.
const MaxAlerts = 1000

// ParseAlertmanager parses an Alertmanager webhook (version "4") body.
// Labels and annotations are kept; severity comes from the "severity"
// label (critical/page/error → Critical, warning → Warning, else Info);
// Summary from the "summary", else "description", annotation. A resolved
// alert without endsAt ends at now.
func ParseAlertmanager(body []byte, now time.Time) ([]alerting.Alert, error) {
	var m webhook.Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, bad("alertmanager: %v", err)
	}
	if m.Version != webhook.Version {
		return nil, bad("alertmanager: version %q, want %q", m.Version, webhook.Version)
	}
	if len(m.Alerts) == 0 {
		return nil, bad("alertmanager: no alert in body")
	}
	if len(m.Alerts) > MaxAlerts {
		return nil, bad("alertmanager: %d alerts, at most %d", len(m.Alerts), MaxAlerts)
	}
	out := make([]alerting.Alert, 0, len(m.Alerts))
	for i, a := range m.Alerts {
		if len(a.Labels) == 0 {
			return nil, bad("alertmanager: alert %d has no labels", i)
		}
		al := alerting.Alert{
			Labels:      alerting.Labels(a.Labels),
			Annotations: a.Annotations,
			Severity:    severityWord(a.Labels["severity"]),
			Summary:     firstNonEmpty(a.Annotations["summary"], a.Annotations["description"], a.Labels["alertname"]),
			StartsAt:    a.StartsAt,
			EndsAt:      a.EndsAt,
			Source:      "alertmanager",
		}
		switch a.Status {
		case "resolved":
			if al.EndsAt.IsZero() || al.EndsAt.After(now) {
				al.EndsAt = now
			}
		case "firing", "":
			// Alertmanager sends the expected end of a firing alert; keep it.
		default:
			return nil, bad("alertmanager: alert %d: status %q", i, a.Status)
		}
		if al.StartsAt.IsZero() {
			al.StartsAt = now
		}
		out = append(out, al)
	}
	return out, nil
}

// FalcoPriorities are Falco's priorities, most urgent first.
var FalcoPriorities = []string{"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"}

// FalcoPriorityRank returns 7 for emergency down to 0 for debug, -1 for an
// unknown priority. "info" is taken as "informational".
func FalcoPriorityRank(p string) int {
	p = strings.ToLower(strings.TrimSpace(p))
	if p == "info" {
		p = "informational"
	}
	for i, q := range FalcoPriorities {
		if p == q {
			return len(FalcoPriorities) - 1 - i
		}
	}
	return -1
}

// FalcoEvent is a falcosidekick-style Falco alert.
type FalcoEvent struct {
	Output       string         `json:"output"`
	Priority     string         `json:"priority"`
	Rule         string         `json:"rule"`
	Time         time.Time      `json:"time"`
	OutputFields map[string]any `json:"output_fields"`
	Source       string         `json:"source"`
	Hostname     string         `json:"hostname"`
	Tags         []string       `json:"tags"`
}

// ParseFalco parses one Falco alert as falcosidekick forwards it (or
// several, one JSON object after the other). Labels: alertname (the
// rule), host (hostname), priority, source="falco", and each output field
// named in labelFields (e.g. "k8s.ns.name"; dots become underscores).
// Severity: emergency, alert, critical → Critical; error, warning →
// Warning; notice and below → Info. The output becomes Summary; tags
// and the remaining output fields become annotations.
func ParseFalco(body []byte, now time.Time, labelFields []string) ([]alerting.Alert, error) {
	var out []alerting.Alert
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		var ev FalcoEvent
		if err := dec.Decode(&ev); err == io.EOF {
			break
		} else if err != nil {
			return nil, bad("falco: %v", err)
		}
		if len(out) == MaxAlerts {
			return nil, bad("falco: more than %d alerts", MaxAlerts)
		}
		if strings.TrimSpace(ev.Rule) == "" {
			return nil, bad("falco: alert without rule")
		}
		rank := FalcoPriorityRank(ev.Priority)
		if rank < 0 {
			return nil, bad("falco: unknown priority %q", ev.Priority)
		}
		labels := alerting.Labels{"alertname": ev.Rule, "source": "falco", "priority": FalcoPriorities[len(FalcoPriorities)-1-rank]}
		if ev.Hostname != "" {
			labels["host"] = ev.Hostname
		}
		ann := map[string]string{"description": ev.Output}
		if len(ev.Tags) > 0 {
			ann["tags"] = strings.Join(ev.Tags, ",")
		}
		promoted := map[string]bool{}
		for _, f := range labelFields {
			if v, ok := ev.OutputFields[f]; ok && v != nil {
				labels[strings.ReplaceAll(f, ".", "_")] = fieldString(v)
				promoted[f] = true
			}
		}
		for k, v := range ev.OutputFields {
			if !promoted[k] && v != nil {
				ann["field."+k] = fieldString(v)
			}
		}
		sev := alerting.Info
		switch {
		case rank >= FalcoPriorityRank("critical"):
			sev = alerting.Critical
		case rank >= FalcoPriorityRank("warning"):
			sev = alerting.Warning
		}
		start := ev.Time
		if start.IsZero() {
			start = now
		}
		out = append(out, alerting.Alert{
			Labels: labels, Annotations: ann, Severity: sev,
			Summary: firstNonEmpty(strings.TrimSpace(ev.Output), ev.Rule), StartsAt: start, Source: "falco",
		})
	}
	if len(out) == 0 {
		return nil, bad("falco: no alert in body")
	}
	return out, nil
}

func fieldString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// OSSECEvent is one line of OSSEC's or Wazuh's alerts.json. Both field
// spellings are read: Wazuh's rule.description/id/groups, timestamp and
// agent.name, and OSSEC's rule.comment/sidid/group, TimeStamp (ms) and
// hostname.
type OSSECEvent struct {
	Rule struct {
		Level       int             `json:"level"`
		Description string          `json:"description"`
		Comment     string          `json:"comment"`
		ID          json.RawMessage `json:"id"`
		SIDID       json.RawMessage `json:"sidid"`
		Groups      []string        `json:"groups"`
		Group       string          `json:"group"`
	} `json:"rule"`
	Agent struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"agent"`
	Hostname  string `json:"hostname"`
	FullLog   string `json:"full_log"`
	Location  string `json:"location"`
	Timestamp string `json:"timestamp"`
	TimeStamp int64  `json:"TimeStamp"`
	Data      struct {
		SrcIP   string `json:"srcip"`
		SrcUser string `json:"srcuser"`
		DstUser string `json:"dstuser"`
	} `json:"data"`
	SrcIP string `json:"srcip"`
}

// OSSEC levels at or above which an alert is Warning or Critical
// (Wazuh's rule classification: 7 "bad word" matches, 12 high importance).
const (
	OSSECWarningLevel  = 7
	OSSECCriticalLevel = 12
)

var ossecTimeLayouts = []string{
	"2006-01-02T15:04:05.000-0700", // Wazuh
	"2006-01-02T15:04:05-0700",
	time.RFC3339Nano,
}

// ParseOSSEC parses OSSEC/Wazuh alerts.json lines (one or more JSON
// objects). Labels: alertname (the rule description), rule_id, host (the
// agent), source="ossec". Severity by rule level: ≥ 12 Critical, ≥ 7
// Warning, else Info. Summary is "DESCRIPTION on HOST"; the full log,
// groups, level, location and source IP/user become annotations.
func ParseOSSEC(body []byte, now time.Time) ([]alerting.Alert, error) {
	var out []alerting.Alert
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		var ev OSSECEvent
		if err := dec.Decode(&ev); err == io.EOF {
			break
		} else if err != nil {
			return nil, bad("ossec: %v", err)
		}
		if len(out) == MaxAlerts {
			return nil, bad("ossec: more than %d alerts", MaxAlerts)
		}
		desc := strings.TrimSpace(firstNonEmpty(ev.Rule.Description, ev.Rule.Comment))
		id := rawID(firstRaw(ev.Rule.ID, ev.Rule.SIDID))
		if desc == "" && id == "" {
			return nil, bad("ossec: alert without rule description or id")
		}
		if ev.Rule.Level < 0 || ev.Rule.Level > 16 {
			return nil, bad("ossec: rule level %d out of range", ev.Rule.Level)
		}
		host := firstNonEmpty(ev.Agent.Name, ev.Hostname)
		labels := alerting.Labels{"alertname": firstNonEmpty(desc, "ossec rule "+id), "source": "ossec"}
		if id != "" {
			labels["rule_id"] = id
		}
		if host != "" {
			labels["host"] = host
		}
		groups := ev.Rule.Groups
		if len(groups) == 0 && ev.Rule.Group != "" {
			for _, g := range strings.Split(ev.Rule.Group, ",") {
				if g = strings.TrimSpace(g); g != "" {
					groups = append(groups, g)
				}
			}
		}
		ann := map[string]string{"level": strconv.Itoa(ev.Rule.Level)}
		set := func(k, v string) {
			if v != "" {
				ann[k] = v
			}
		}
		set("description", ev.FullLog)
		set("groups", strings.Join(groups, ","))
		set("location", ev.Location)
		set("srcip", firstNonEmpty(ev.Data.SrcIP, ev.SrcIP))
		set("srcuser", ev.Data.SrcUser)
		set("dstuser", ev.Data.DstUser)
		sev := alerting.Info
		switch {
		case ev.Rule.Level >= OSSECCriticalLevel:
			sev = alerting.Critical
		case ev.Rule.Level >= OSSECWarningLevel:
			sev = alerting.Warning
		}
		start := now
		if ev.TimeStamp > 0 {
			start = time.UnixMilli(ev.TimeStamp).UTC()
		}
		for _, l := range ossecTimeLayouts {
			if t, err := time.Parse(l, ev.Timestamp); err == nil {
				start = t
				break
			}
		}
		summary := labels["alertname"]
		if host != "" {
			summary += " on " + host
		}
		out = append(out, alerting.Alert{Labels: labels, Annotations: ann, Severity: sev, Summary: summary, StartsAt: start, Source: "ossec"})
	}
	if len(out) == 0 {
		return nil, bad("ossec: no alert in body")
	}
	return out, nil
}

func firstRaw(a, b json.RawMessage) json.RawMessage {
	if len(a) > 0 && string(a) != "null" {
		return a
	}
	return b
}

// rawID reads a rule id given as a string ("5712") or a number (5712).
func rawID(r json.RawMessage) string {
	var s string
	if json.Unmarshal(r, &s) == nil {
		return strings.TrimSpace(s)
	}
	var n json.Number
	if json.Unmarshal(r, &n) == nil {
		return n.String()
	}
	return ""
}

func severityWord(s string) alerting.Severity {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical", "page", "error", "emergency", "alert", "high":
		return alerting.Critical
	case "warning", "warn", "medium":
		return alerting.Warning
	}
	return alerting.Info
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
