package webhook_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/alertingtest"
	"github.com/opskit/opskit/alerting/webhook"
)

var now = time.Date(2026, 1, 2, 3, 10, 0, 0, time.UTC)

func clock() time.Time { return now }

func TestConformance(t *testing.T) {
	alertingtest.TestNotifier(t, func(t *testing.T) alertingtest.Target {
		rcv := alertingtest.NewHTTPReceiver(t)
		n, err := webhook.New(webhook.Config{
			URL: rcv.URL() + "/hook?token=url-secret", BearerToken: "bearer-secret",
			SigningSecret: []byte("signing-secret"), Now: clock,
		})
		if err != nil {
			t.Fatal(err)
		}
		return alertingtest.Target{Notifier: n, Receiver: rcv, Secrets: []string{"url-secret", "bearer-secret", "signing-secret"}}
	})
}

func TestPayloadV4(t *testing.T) {
	rcv := alertingtest.NewHTTPReceiver(t)
	n, err := webhook.New(webhook.Config{URL: rcv.URL(), ExternalURL: "https://opsd.example", Username: "u", Password: "basic-secret", SigningSecret: []byte("k"), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	a := alertingtest.FiringAlert()
	b := alertingtest.FiringAlert()
	b.Labels = alerting.Labels{"alertname": "DiskFull", "host": "web2", "severity": "warning"}
	b.Summary = "disk filling on web2"
	b.EndsAt = now.Add(-time.Minute)
	ctx := alerting.WithDelivery(context.Background(), alerting.Delivery{Key: "k1", GroupKey: "{}:{alertname=\"DiskFull\"}", Receiver: "ops", Level: 2, AckURL: alertingtest.AckURL})
	if err := n.Notify(ctx, a, b); err != nil {
		t.Fatal(err)
	}
	msgs := rcv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	m := msgs[0]
	h := http.Header(m.Header)
	if got := h.Get("Idempotency-Key"); got != "k1" {
		t.Errorf("Idempotency-Key = %q, want k1", got)
	}
	if got, want := h.Get("Authorization"), "Basic "+base64.StdEncoding.EncodeToString([]byte("u:basic-secret")); got != want {
		t.Errorf("Authorization = %q", got)
	}
	if err := webhook.Verify([]byte("k"), h.Get(webhook.SignatureHeader), m.Body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
	if err := webhook.Verify([]byte("other"), h.Get(webhook.SignatureHeader), m.Body, now, 5*time.Minute); !errors.Is(err, webhook.ErrBadSignature) {
		t.Errorf("wrong key verified: %v", err)
	}
	if err := webhook.Verify([]byte("k"), h.Get(webhook.SignatureHeader), m.Body, now.Add(time.Hour), 5*time.Minute); !errors.Is(err, webhook.ErrBadSignature) {
		t.Errorf("stale signature verified: %v", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(m.Body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels", "commonAnnotations", "externalURL", "alerts"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("payload lacks %q", k)
		}
	}
	var got webhook.Message
	if err := json.Unmarshal(m.Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Version != "4" || got.Status != "firing" || got.Receiver != "ops" || got.GroupKey != `{}:{alertname="DiskFull"}` || got.ExternalURL != "https://opsd.example" || got.Level != 2 || got.AckURL != alertingtest.AckURL {
		t.Errorf("header fields: %+v", got)
	}
	if len(got.Alerts) != 2 {
		t.Fatalf("alerts: %d", len(got.Alerts))
	}
	if got.Alerts[0].Status != "firing" || got.Alerts[1].Status != "resolved" {
		t.Errorf("statuses %q %q", got.Alerts[0].Status, got.Alerts[1].Status)
	}
	if got.Alerts[0].Fingerprint != a.Fingerprint() || got.Alerts[0].Labels["severity"] != "critical" || got.Alerts[1].Labels["severity"] != "warning" {
		t.Errorf("alert 0: %+v", got.Alerts[0])
	}
	if got.Alerts[1].Annotations["summary"] != "disk filling on web2" || !got.Alerts[1].EndsAt.Equal(b.EndsAt) {
		t.Errorf("alert 1: %+v", got.Alerts[1])
	}
	if got.CommonLabels["alertname"] != "DiskFull" || got.CommonLabels["host"] != "" {
		t.Errorf("commonLabels = %v", got.CommonLabels)
	}
	if got.CommonAnnotations["runbook_url"] != "https://runbooks.example/disk" {
		t.Errorf("commonAnnotations = %v", got.CommonAnnotations)
	}
}

func TestIdempotencyKeyWithoutDelivery(t *testing.T) {
	rcv := alertingtest.NewHTTPReceiver(t)
	n, err := webhook.New(webhook.Config{URL: rcv.URL(), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	a := alertingtest.FiringAlert()
	for range 2 {
		if err := n.Notify(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	a.EndsAt = now
	if err := n.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	m := rcv.Messages()
	k := func(i int) string { return http.Header(m[i].Header).Get("Idempotency-Key") }
	if k(0) == "" || k(0) != k(1) {
		t.Errorf("retries of one notification got keys %q and %q, want equal", k(0), k(1))
	}
	if k(2) == k(0) {
		t.Errorf("resolved notification reused the firing key %q", k(0))
	}
}

func TestStatusClassification(t *testing.T) {
	for _, tc := range []struct {
		code      int
		permanent bool
		ok        bool
	}{
		{200, false, true}, {202, false, true}, {204, false, true},
		{301, true, false}, {400, true, false}, {401, true, false}, {404, true, false}, {413, true, false},
		{408, false, false}, {429, false, false}, {500, false, false}, {502, false, false}, {503, false, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.Header().Set("Location", "/elsewhere")
			w.WriteHeader(tc.code)
			w.Write([]byte("echo bearer-secret\x00"))
		}))
		n, err := webhook.New(webhook.Config{URL: srv.URL, BearerToken: "bearer-secret"})
		if err != nil {
			t.Fatal(err)
		}
		err = n.Notify(context.Background(), alertingtest.FiringAlert())
		srv.Close()
		if tc.ok {
			if err != nil {
				t.Errorf("%d: %v", tc.code, err)
			}
			continue
		}
		if err == nil || errors.Is(err, alerting.ErrPermanent) != tc.permanent {
			t.Errorf("%d: err = %v, want permanent=%v", tc.code, err, tc.permanent)
			continue
		}
		var se *webhook.StatusError
		if !errors.As(err, &se) || se.StatusCode != tc.code || se.RetryAfter != 7*time.Second {
			t.Errorf("%d: StatusError = %+v", tc.code, se)
		}
		if strings.Contains(err.Error(), "bearer-secret") || !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("%d: error does not redact the echoed secret: %v", tc.code, err)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []webhook.Config{
		{},
		{URL: "ftp://example.com/x"},
		{URL: "/relative"},
		{URL: "https://example.com", BearerToken: "t", Username: "u"},
	} {
		if _, err := webhook.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}
