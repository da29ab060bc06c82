package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"time"

	"github.com/opskit/opskit/alerting"
)

// Version is the payload version this package writes and the input package
// accepts: Alertmanager's webhook format version "4".
const Version = "4"

// Message is the Alertmanager webhook v4 payload. Field names and JSON
// keys are Alertmanager's, so receivers written for Alertmanager work
// unchanged. AckURL and Level are opskit additions that v4 readers ignore.
type Message struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"` // "firing" or "resolved"
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
	AckURL            string            `json:"ackURL,omitempty"`
	Level             int               `json:"level,omitempty"`
}

// Alert is one alert of a Message.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// NewMessage builds the v4 payload for alerts as delivered in ctx (see
// alerting.DeliveryFrom) at now. Each alert's Summary becomes its
// "summary" annotation and its Severity its "severity" label when those
// are not already set. Without a Delivery, the group key is derived from
// the alerts' fingerprints.
func NewMessage(ctx context.Context, now time.Time, externalURL string, alerts []alerting.Alert) Message {
	d, _ := alerting.DeliveryFrom(ctx)
	m := Message{
		Version:     Version,
		GroupKey:    d.GroupKey,
		Status:      "resolved",
		Receiver:    d.Receiver,
		ExternalURL: externalURL,
		AckURL:      d.AckURL,
		Level:       d.Level,
		Alerts:      make([]Alert, 0, len(alerts)),
	}
	for _, a := range alerts {
		labels := make(map[string]string, len(a.Labels)+1)
		for k, v := range a.Labels {
			labels[k] = v
		}
		if _, ok := labels["severity"]; !ok && a.Severity != "" {
			labels["severity"] = string(a.Severity)
		}
		ann := make(map[string]string, len(a.Annotations)+1)
		for k, v := range a.Annotations {
			ann[k] = v
		}
		if _, ok := ann["summary"]; !ok && a.Summary != "" {
			ann["summary"] = a.Summary
		}
		st := a.Status(now)
		if st == "firing" && !d.Resolved {
			m.Status = "firing"
		}
		m.Alerts = append(m.Alerts, Alert{
			Status: st, Labels: labels, Annotations: ann,
			StartsAt: a.StartsAt, EndsAt: a.EndsAt, Fingerprint: a.Fingerprint(),
		})
	}
	m.CommonLabels = common(m.Alerts, func(a Alert) map[string]string { return a.Labels })
	m.CommonAnnotations = common(m.Alerts, func(a Alert) map[string]string { return a.Annotations })
	m.GroupLabels = m.CommonLabels
	if len(d.GroupLabels) > 0 {
		m.GroupLabels = d.GroupLabels
	}
	if m.GroupKey == "" {
		m.GroupKey = GroupKey(alerts)
	}
	return m
}

// common returns the pairs every alert shares.
func common(alerts []Alert, get func(Alert) map[string]string) map[string]string {
	out := map[string]string{}
	if len(alerts) == 0 {
		return out
	}
	for k, v := range get(alerts[0]) {
		out[k] = v
	}
	for _, a := range alerts[1:] {
		m := get(a)
		for k, v := range out {
			if m[k] != v {
				delete(out, k)
			}
		}
	}
	return out
}

// GroupKey derives a group key from the alerts' fingerprints, for
// notifications sent outside a Manager.
func GroupKey(alerts []alerting.Alert) string {
	fps := make([]string, len(alerts))
	for i, a := range alerts {
		fps[i] = a.Fingerprint()
	}
	sort.Strings(fps)
	sum := sha256.Sum256([]byte(strings.Join(fps, ",")))
	return hex.EncodeToString(sum[:16])
}

// Key returns the idempotency key of a notification: Delivery.Key when
// ctx carries a Delivery, otherwise a hash of the alerts' fingerprints,
// statuses and start times (so a retry of the same call repeats it).
func Key(ctx context.Context, now time.Time, alerts []alerting.Alert) string {
	if d, ok := alerting.DeliveryFrom(ctx); ok && d.Key != "" {
		return d.Key
	}
	parts := make([]string, len(alerts))
	for i, a := range alerts {
		parts[i] = a.Fingerprint() + "/" + a.Status(now) + "/" + a.StartsAt.UTC().Format(time.RFC3339Nano)
	}
	sort.Strings(parts)
	sum := sha256.Sum256([]byte(strings.Join(parts, ",")))
	return hex.EncodeToString(sum[:16])
}
