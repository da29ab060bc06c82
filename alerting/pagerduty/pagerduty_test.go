package pagerduty_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/alertingtest"
	"github.com/opskit/opskit/alerting/pagerduty"
)

var now = time.Date(2026, 1, 2, 3, 10, 0, 0, time.UTC)

const routingKey = "R0UT1NGKEY0123456789abcdefABCDEF"

func newPD(t *testing.T) (*pagerduty.Notifier, *alertingtest.HTTPReceiver) {
	rcv := alertingtest.NewHTTPReceiver(t)
	rcv.AcceptStatus = 202
	n, err := pagerduty.New(pagerduty.Config{RoutingKey: routingKey, URL: rcv.URL() + "/v2/enqueue", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return n, rcv
}

func TestConformance(t *testing.T) {
	alertingtest.TestNotifier(t, func(t *testing.T) alertingtest.Target {
		n, rcv := newPD(t)
		// The routing key belongs in the body; it must still stay out of errors.
		return alertingtest.Target{Notifier: n, Receiver: rcv}
	})
}

func events(t *testing.T, rcv *alertingtest.HTTPReceiver) []pagerduty.Event {
	var out []pagerduty.Event
	for _, m := range rcv.Messages() {
		var ev pagerduty.Event
		if err := json.Unmarshal(m.Body, &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func TestGroupEvent(t *testing.T) {
	n, rcv := newPD(t)
	crit := alertingtest.FiringAlert()
	warn := alerting.Alert{Labels: alerting.Labels{"alertname": "HighCPU", "host": "db1"}, Severity: alerting.Warning, Summary: "cpu"}
	d := alerting.Delivery{Key: "k1", GroupKey: "grp-1", Level: 2, AckURL: alertingtest.AckURL}
	if err := n.Notify(alerting.WithDelivery(context.Background(), d), warn, crit); err != nil {
		t.Fatal(err)
	}
	d.Resolved, d.Key = true, "k2"
	crit.EndsAt, warn.EndsAt = now, now
	if err := n.Notify(alerting.WithDelivery(context.Background(), d), warn, crit); err != nil {
		t.Fatal(err)
	}
	evs := events(t, rcv)
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	tr, rs := evs[0], evs[1]
	if tr.RoutingKey != routingKey || tr.EventAction != "trigger" || tr.DedupKey != "grp-1" {
		t.Errorf("trigger %+v", tr)
	}
	if rs.EventAction != "resolve" || rs.DedupKey != "grp-1" {
		t.Errorf("resolve %+v", rs)
	}
	p := tr.Payload
	if p.Summary != "[2] disk almost full on web1" || p.Source != "web1" || p.Severity != "critical" || p.Class != "DiskFull" || p.Timestamp != "2026-01-02T03:04:05Z" {
		t.Errorf("payload %+v", p)
	}
	if p.CustomDetails["num_firing"] != float64(2) || p.CustomDetails["escalation_level"] != float64(2) || p.CustomDetails["ack_url"] != alertingtest.AckURL {
		t.Errorf("custom_details %v", p.CustomDetails)
	}
	if len(tr.Links) != 2 || tr.Links[0].Href != alertingtest.AckURL || tr.Links[1].Href != "https://runbooks.example/disk" {
		t.Errorf("links %+v", tr.Links)
	}
}

func TestPerAlertEvents(t *testing.T) {
	n, rcv := newPD(t)
	a := alertingtest.FiringAlert()
	b := alerting.Alert{Labels: alerting.Labels{"alertname": "Backup"}, Severity: alerting.Info, Summary: "backup late", EndsAt: now.Add(-time.Minute)}
	if err := n.Notify(context.Background(), a, b); err != nil {
		t.Fatal(err)
	}
	evs := events(t, rcv)
	if len(evs) != 2 || evs[0].DedupKey != a.Fingerprint() || evs[0].EventAction != "trigger" || evs[1].DedupKey != b.Fingerprint() || evs[1].EventAction != "resolve" {
		t.Fatalf("events %+v", evs)
	}
	if evs[1].Payload.Source != "opskit" || evs[1].Payload.Severity != "info" {
		t.Errorf("payload %+v", evs[1].Payload)
	}
}

func TestLongGroupKey(t *testing.T) {
	n, rcv := newPD(t)
	key := strings.Repeat("g", 300)
	if err := n.Notify(alerting.WithDelivery(context.Background(), alerting.Delivery{GroupKey: key}), alertingtest.FiringAlert()); err != nil {
		t.Fatal(err)
	}
	if k := events(t, rcv)[0].DedupKey; len(k) > 255 || !strings.HasPrefix(k, "sha256:") {
		t.Errorf("dedup_key %q", k)
	}
}

func TestRoutingKeyNotInErrors(t *testing.T) {
	n, rcv := newPD(t)
	rcv.SetMode(alertingtest.FailPermanent)
	err := n.Notify(context.Background(), alertingtest.FiringAlert())
	if !errors.Is(err, alerting.ErrPermanent) || strings.Contains(err.Error(), routingKey) {
		t.Fatalf("err = %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := pagerduty.New(pagerduty.Config{}); err == nil {
		t.Error("no routing key accepted")
	}
	if _, err := pagerduty.New(pagerduty.Config{RoutingKey: "k", URL: "mailto:x"}); err == nil {
		t.Error("bad URL accepted")
	}
	n, err := pagerduty.New(pagerduty.Config{RoutingKey: "k"})
	if err != nil || n == nil {
		t.Fatal(err)
	}
}
