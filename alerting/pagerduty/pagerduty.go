package pagerduty

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/webhook"
)

// DefaultURL is the Events API v2 endpoint.
const DefaultURL = "https://events.pagerduty.com/v2/enqueue"

// Config configures a Notifier. RoutingKey is required.
type Config struct {
	// RoutingKey is the integration key of the PagerDuty service (32
	// characters). It is a credential and travels in the request body.
	RoutingKey string
	// URL is the Events API endpoint; empty means DefaultURL.
	URL string
	// Source is payload.source when an alert has no "host" or "instance"
	// label; default "opskit".
	Source string
	// Client sends the requests; nil means webhook.NewClient().
	Client *http.Client
	// Logger receives debug records of deliveries; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Notifier sends alerts as PagerDuty Events API v2 events. It is safe for
// concurrent use.
type Notifier struct {
	cfg Config
}

var _ alerting.Notifier = (*Notifier)(nil)

// New validates cfg and returns a Notifier.
func New(cfg Config) (*Notifier, error) {
	if cfg.RoutingKey == "" {
		return nil, errors.New("pagerduty: RoutingKey is required")
	}
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if err := webhook.ValidateURL("pagerduty: URL", cfg.URL); err != nil {
		return nil, err
	}
	if cfg.Source == "" {
		cfg.Source = "opskit"
	}
	if cfg.Client == nil {
		cfg.Client = webhook.NewClient()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Notifier{cfg: cfg}, nil
}

// Event is an Events API v2 event.
type Event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"` // "trigger" or "resolve"
	DedupKey    string   `json:"dedup_key"`
	Payload     *Payload `json:"payload,omitempty"` // required for trigger
	Links       []Link   `json:"links,omitempty"`
	Client      string   `json:"client,omitempty"`
	ClientURL   string   `json:"client_url,omitempty"`
}

// Payload is an event's payload.
type Payload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"` // critical, error, warning, info
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// Link is a link shown on the incident.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// Notify sends the alerts. Inside a Manager (ctx carries a Delivery with
// a GroupKey) it sends one event for the group with dedup_key derived
// from GroupKey, so every notification of the group lands on one
// incident, and "resolve" when Delivery.Resolved. Otherwise it sends one
// event per alert with the alert's fingerprint as dedup_key. 2xx (202 from
// PagerDuty) means delivered; 408, 429, 5xx and network failures are
// retryable; 400 and other 4xx wrap alerting.ErrPermanent. Notify with no
// alerts sends nothing.
func (n *Notifier) Notify(ctx context.Context, alerts ...alerting.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pagerduty: %w", err)
	}
	now := n.cfg.Now()
	d, _ := alerting.DeliveryFrom(ctx)
	if d.GroupKey != "" {
		return n.send(ctx, n.event(d, now, dedupKey(d.GroupKey), alerts, d.Resolved))
	}
	var result *multierror.Error
	for _, a := range alerts {
		if err := n.send(ctx, n.event(d, now, a.Fingerprint(), []alerting.Alert{a}, a.Resolved(now))); err != nil {
			result = multierror.Append(result, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	return result.ErrorOrNil()
}

// dedupKey keeps PagerDuty's 255-character limit by hashing long keys.
func dedupKey(k string) string {
	if len(k) <= 255 {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (n *Notifier) event(d alerting.Delivery, now time.Time, key string, alerts []alerting.Alert, resolved bool) Event {
	ev := Event{RoutingKey: n.cfg.RoutingKey, EventAction: "trigger", DedupKey: key, Client: "opskit"}
	allResolved := true
	for _, a := range alerts {
		if !a.Resolved(now) {
			allResolved = false
		}
	}
	if resolved || allResolved {
		ev.EventAction = "resolve"
	}
	// Sent with resolve too: PagerDuty ignores it there, and a receiver
	// logging events then shows what was resolved.
	ev.Payload = n.payload(d, now, alerts)
	if d.AckURL != "" {
		ev.Links = append(ev.Links, Link{Href: d.AckURL, Text: "Acknowledge in opsd (stops escalation)"})
	}
	seen := map[string]bool{}
	for _, a := range alerts {
		if rb := a.Annotations["runbook_url"]; rb != "" && !seen[rb] {
			seen[rb] = true
			ev.Links = append(ev.Links, Link{Href: rb, Text: "Runbook: " + a.Name()})
		}
	}
	return ev
}

func (n *Notifier) payload(d alerting.Delivery, now time.Time, alerts []alerting.Alert) *Payload {
	first := alerts[0]
	for _, a := range alerts { // the most urgent firing alert speaks for the group
		if !a.Resolved(now) && (first.Resolved(now) || a.Severity.Rank() > first.Severity.Rank()) {
			first = a
		}
	}
	sev := alerting.Info
	firing, resolved := []map[string]any{}, []map[string]any{}
	for _, a := range alerts {
		if a.Severity.Rank() > sev.Rank() {
			sev = a.Severity
		}
		det := map[string]any{"labels": a.Labels, "summary": a.Summary, "starts_at": a.StartsAt.UTC().Format(time.RFC3339)}
		if len(a.Annotations) > 0 {
			det["annotations"] = a.Annotations
		}
		if a.Resolved(now) {
			det["ends_at"] = a.EndsAt.UTC().Format(time.RFC3339)
			resolved = append(resolved, det)
		} else {
			firing = append(firing, det)
		}
	}
	summary := first.Summary
	if summary == "" {
		summary = first.Name()
	}
	if len(alerts) > 1 {
		summary = fmt.Sprintf("[%d] %s", len(alerts), summary)
	}
	if r := []rune(summary); len(r) > 1024 {
		summary = string(r[:1023]) + "…"
	}
	p := &Payload{
		Summary:   summary,
		Source:    n.source(first),
		Severity:  severity(sev),
		Timestamp: first.StartsAt.UTC().Format(time.RFC3339),
		Component: first.Labels["service"],
		Group:     first.Labels["job"],
		Class:     first.Name(),
		CustomDetails: map[string]any{
			"firing": firing, "resolved": resolved, "num_firing": len(firing), "num_resolved": len(resolved),
		},
	}
	if first.StartsAt.IsZero() {
		p.Timestamp = ""
	}
	if d.Receiver != "" {
		p.CustomDetails["receiver"] = d.Receiver
	}
	if d.Level > 0 {
		p.CustomDetails["escalation_level"] = d.Level
	}
	if d.AckURL != "" {
		p.CustomDetails["ack_url"] = d.AckURL
	}
	return p
}

func (n *Notifier) source(a alerting.Alert) string {
	for _, k := range []string{"host", "instance", "hostname"} {
		if v := strings.TrimSpace(a.Labels[k]); v != "" {
			return v
		}
	}
	return n.cfg.Source
}

// severity maps ours to PagerDuty's (which also has "error", unused).
func severity(s alerting.Severity) string {
	switch s {
	case alerting.Critical:
		return "critical"
	case alerting.Warning:
		return "warning"
	}
	return "info"
}

func (n *Notifier) send(ctx context.Context, ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("pagerduty: encode: %w", errors.Join(err, alerting.ErrPermanent))
	}
	req, err := webhook.NewRequest(ctx, n.cfg.URL, body)
	if err != nil {
		return fmt.Errorf("pagerduty: %w", err)
	}
	if err := webhook.Post(n.cfg.Client, req, n.cfg.RoutingKey); err != nil {
		return fmt.Errorf("pagerduty %s %s: %w", ev.EventAction, shortKey(ev.DedupKey), err)
	}
	n.cfg.Logger.DebugContext(ctx, "pagerduty event sent", "action", ev.EventAction, "dedup_key", shortKey(ev.DedupKey))
	return nil
}

func shortKey(k string) string {
	if len(k) > 40 {
		return k[:40] + "…"
	}
	return k
}
