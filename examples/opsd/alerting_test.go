package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opskit/opskit/alerting/alertingtest"
	"github.com/opskit/opskit/internal/estest"
	"github.com/opskit/opskit/internal/testenv"
)

// hookMessage is the part of an Alertmanager v4 webhook this test reads.
type hookMessage struct {
	Version string `json:"version"`
	Status  string `json:"status"`
	AckURL  string `json:"ackURL"`
	Alerts  []struct {
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

// lineWaiter is a Writer that signals when a line containing want appears.
type lineWaiter struct {
	mu   sync.Mutex
	buf  strings.Builder
	want string
	seen chan struct{}
	once sync.Once
}

func (w *lineWaiter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

// TestDaemonAlerting runs the daemon with a failing port check, a real
// webhook receiver and the alert inputs: the check's alert reaches the
// receiver and turns the status page component red, a Falco alert posted
// to the input arrives too, the acknowledge link in the notification
// acknowledges the group, and `opsd alert list` shows it.
func TestDaemonAlerting(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if code, out, errs := opsd(t, "init", "--dir", dir); code != 0 {
		t.Fatalf("init: %s %s", out, errs)
	}
	cfgPath := filepath.Join(dir, "opsd.yaml")
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan hookMessage, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m hookMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		w.WriteHeader(http.StatusOK)
		got <- m
	}))
	defer hook.Close()
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	closedPort := free()
	cfg.Listen = free()
	cfg.Backups[0].RunAtStart = false
	if err := os.WriteFile(filepath.Join(dir, "keys", "inputs.token"), []byte("input-token-0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Alerting = &AlertingConfig{
		ExternalURL: "http://" + cfg.Listen,
		Receivers:   []ReceiverConfig{{Name: "hook", Webhook: &WebhookReceiver{URL: hook.URL}}},
		Default:     RouteConfig{Receivers: []string{"hook"}, GroupWait: "10ms"},
		Checks: []CheckConfig{{Name: "api-port", Host: "web1", Instance: "demo", Interval: "100ms", FailuresToFire: 1,
			Component: "demo/API", TCP: &TCPCheck{Addr: closedPort, Mode: "connect"}}},
		Inputs: &InputsConfig{TokenFile: "keys/inputs.token"},
	}
	// Status page subscriptions mail through a real SMTP server (a relay on
	// loopback, so without TLS).
	smtp := alertingtest.NewSMTPReceiver(t, alertingtest.SMTPConfig{NoTLS: true})
	cfg.Status.Subscriptions = &SubscriptionsConfig{KeyFile: "keys/subscriptions.key",
		SMTP: &SMTPConfig{Host: smtp.Host(), Port: smtp.Port(), TLS: "none", From: "status@example.com"}}
	os.Remove(cfgPath)
	if err := writeConfig(cfgPath, cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &lineWaiter{want: "opsd: serving", seen: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- runDaemon(ctx, cfgPath, stdout, io.Discard) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}()
	select {
	case <-stdout.seen:
	case err := <-done:
		t.Fatalf("daemon stopped: %v", err)
	}
	base := "http://" + cfg.Listen

	m := <-got
	if m.Version != "4" || m.Status != "firing" || len(m.Alerts) != 1 || m.Alerts[0].Labels["alertname"] != "PortDown" ||
		m.Alerts[0].Labels["host"] != "web1" || !strings.HasPrefix(m.AckURL, base+"/alerts/ack?") {
		t.Fatalf("notification %+v", m)
	}
	// The check set the status page component.
	resp, err := http.Get(base + "/p/demo/api/v2/components.json")
	if err != nil {
		t.Fatal(err)
	}
	var comps struct {
		Components []struct{ Name, Status string }
	}
	json.NewDecoder(resp.Body).Decode(&comps)
	resp.Body.Close()
	status := map[string]string{}
	for _, c := range comps.Components {
		status[c.Name] = c.Status
	}
	if status["API"] != "major_outage" || status["Web application"] != "operational" {
		t.Fatalf("components %+v", comps)
	}

	// A Falco alert through the input.
	req, _ := http.NewRequest("POST", base+"/api/alerts/falco", strings.NewReader(
		`{"output":"shell in container","priority":"Critical","rule":"Terminal shell in container","time":"2026-12-01T03:00:00Z","hostname":"k8s-1","output_fields":{}}`))
	req.Header.Set("Authorization", "Bearer input-token-0123456789abcdef")
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("falco input: %v %v", resp, err)
	}
	resp.Body.Close()
	req, _ = http.NewRequest("POST", base+"/api/alerts/falco", strings.NewReader(`{}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("input without token: %v %v", resp, err)
	}
	m2 := <-got
	if len(m2.Alerts) != 1 || !strings.Contains(m2.Alerts[0].Labels["alertname"], "shell") {
		t.Fatalf("falco notification %+v", m2)
	}

	// Acknowledge through the link: GET shows a form, POST acknowledges.
	link, _ := url.Parse(m.AckURL)
	resp, err = http.Get(m.AckURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `method="post"`) {
		t.Fatalf("ack page: %d %s", resp.StatusCode, body)
	}
	resp, err = http.PostForm(base+"/alerts/ack", link.Query())
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Acknowledged") {
		t.Fatalf("ack: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "opsd_alert_groups 2\n") || !strings.Contains(string(body), "opsd_alert_groups_acknowledged 1\n") ||
		!strings.Contains(string(body), `opsd_alert_notifications_undelivered{receiver="hook",state="failed"} 0`) {
		t.Fatalf("metrics:\n%s", body)
	}
	code, out, errs := opsd(t, "alert", "list", "-config", cfgPath)
	if code != 0 || !strings.Contains(out, "ack link") || !strings.Contains(out, "api-port on web1") {
		t.Fatalf("alert list: %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = opsd(t, "alert", "test", "-config", cfgPath, "hook")
	if code != 0 || !strings.Contains(out, "sent a test notification") {
		t.Fatalf("alert test: %d %s %s", code, out, errs)
	}
	if m3 := <-got; len(m3.Alerts) != 1 || m3.Alerts[0].Labels["alertname"] != "OpsdTest" {
		t.Fatalf("test notification %+v", m3)
	}
	// A reader subscribes: the confirmation mail arrives, signed link inside.
	resp, err = http.PostForm(base+"/p/demo/subscribe", url.Values{"email": {"reader@example.com"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("subscribe: %v %v", resp, err)
	}
	resp.Body.Close()
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	mails, err := smtp.Wait(wctx, 1)
	wcancel()
	if err != nil {
		t.Fatal(err)
	}
	if b := string(mails[0].Body); !strings.Contains(b, "reader@example.com") || !strings.Contains(b, "/p/demo/confirm?t=") {
		t.Fatalf("confirmation mail:\n%s", b)
	}
	if fi, err := os.Stat(filepath.Join(dir, "keys", "subscriptions.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("subscription key file: %v %v", fi, err)
	}
	code, _, errs = opsd(t, "alert", "silence", "-config", cfgPath, `host="web1"`)
	if code != exitUsage || !strings.Contains(errs, "-comment") {
		t.Fatalf("silence without a comment: %d %s", code, errs)
	}
}

// TestAlertDryRunElasticsearch replays an ElastAlert brute-force rule over
// logs in a real Elasticsearch with `opsd alert dryrun`.
func TestAlertDryRunElasticsearch(t *testing.T) {
	es := estest.Client(t)
	index := estest.Prefix(t, es) + "auth"
	estest.CreateIndex(t, es, index, `"mappings":{"properties":{"@timestamp":{"type":"date"},"source.ip":{"type":"keyword"},"event.outcome":{"type":"keyword"}}}`)
	base := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Minute)
	var bulk strings.Builder
	add := func(ip, outcome string, at time.Time) {
		bulk.WriteString(`{"index":{}}` + "\n")
		fmt.Fprintf(&bulk, `{"@timestamp":%q,"source.ip":%q,"event.outcome":%q}`+"\n", at.Format(time.RFC3339), ip, outcome)
	}
	for i := range 12 {
		add("10.0.0.1", "failure", base.Add(time.Duration(i)*10*time.Second))
	}
	for i := range 3 {
		add("10.0.0.2", "failure", base.Add(time.Duration(i)*time.Minute))
	}
	for i := range 20 {
		add("10.0.0.3", "success", base.Add(time.Duration(i)*5*time.Second))
	}
	if body, code := estest.Do(t, es, "POST", "/"+index+"/_bulk?refresh=true", bulk.String()); code != 200 || strings.Contains(string(body), `"errors":true`) {
		t.Fatalf("bulk: %d %s", code, body)
	}
	dir := filepath.Join(t.TempDir(), "data")
	if code, out, errs := opsd(t, "init", "--dir", dir); code != 0 {
		t.Fatalf("init: %s %s", out, errs)
	}
	cfgPath := filepath.Join(dir, "opsd.yaml")
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Alerting.Rules = &RulesConfig{Dir: "rules", URLs: []string{testenv.ElasticsearchURL(t)}}
	os.Remove(cfgPath)
	if err := writeConfig(cfgPath, cfg); err != nil {
		t.Fatal(err)
	}
	rule := filepath.Join(dir, "brute.yaml")
	os.WriteFile(rule, []byte(`name: SSH brute force
type: frequency
index: `+index+`
num_events: 10
timeframe:
  minutes: 5
query_key: source.ip
filter:
- term:
    event.outcome: failure
`), 0o600)
	code, out, errs := opsd(t, "alert", "dryrun", "-config", cfgPath, "-from", base.Add(-10*time.Minute).Format(time.RFC3339),
		"-to", base.Add(30*time.Minute).Format(time.RFC3339), rule)
	if code != 0 || !strings.Contains(out, "1 matches") || !strings.Contains(out, "10.0.0.1") || strings.Contains(out, "10.0.0.2") ||
		strings.Contains(out, "10.0.0.3") || !strings.Contains(out, "nothing was sent") {
		t.Fatalf("dryrun: %d\n%s\n%s", code, out, errs)
	}
	code, _, errs = opsd(t, "alert", "dryrun", "-config", cfgPath, filepath.Join(dir, "missing.yaml"))
	if code == 0 || !strings.Contains(errs, "missing.yaml") {
		t.Fatalf("missing rule file: %d %s", code, errs)
	}
}

// TestStatusServeAndExport: `opsd status export` writes the page as files,
// `opsd status serve` serves it alone.
func TestStatusServeAndExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if code, out, errs := opsd(t, "init", "--dir", dir); code != 0 {
		t.Fatalf("init: %s %s", out, errs)
	}
	cfgPath := filepath.Join(dir, "opsd.yaml")
	out := t.TempDir()
	code, stdout, errs := opsd(t, "status", "export", "-config", cfgPath, "demo", out)
	if code != 0 || !strings.Contains(stdout, "files") {
		t.Fatalf("export: %d %s %s", code, stdout, errs)
	}
	b, err := os.ReadFile(filepath.Join(out, "api", "v2", "summary.json"))
	if err != nil || !strings.Contains(string(b), `"Web application"`) {
		t.Fatalf("exported summary: %s %v", b, err)
	}
	if code, _, errs := opsd(t, "status", "export", "-config", cfgPath, "nope", out); code == 0 || !strings.Contains(errs, "nope") {
		t.Fatalf("export of an unknown page: %d %s", code, errs)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	w := &lineWaiter{want: "serving status pages", seen: make(chan struct{})}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"status", "serve", "-config", cfgPath, "-listen", addr}, w, io.Discard)
	}()
	select {
	case <-w.seen:
	case c := <-done:
		t.Fatalf("status serve exited with %d", c)
	}
	resp, err := http.Get("http://" + addr + "/p/demo/api/v2/status.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"indicator":"none"`) {
		t.Fatalf("served: %d %s", resp.StatusCode, body)
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status serve serves more than pages: %v %v", resp, err)
	}
	cancel()
	if c := <-done; c != 0 {
		t.Fatalf("status serve exit %d", c)
	}
}
