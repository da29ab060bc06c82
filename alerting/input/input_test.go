package input_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/alertingtest"
	"github.com/opskit/opskit/alerting/input"
)

var now = time.Date(2026, 1, 2, 3, 10, 0, 0, time.UTC)

const token = "input-token-0123456789"

const amBody = `{"version":"4","groupKey":"{}:{alertname=\"HighLatency\"}","truncatedAlerts":0,"status":"firing","receiver":"opsd",
"groupLabels":{"alertname":"HighLatency"},"commonLabels":{"alertname":"HighLatency"},"commonAnnotations":{},"externalURL":"http://am:9093",
"alerts":[{"status":"firing","labels":{"alertname":"HighLatency","instance":"api1","severity":"page"},"annotations":{"summary":"p99 at 2s"},
"startsAt":"2026-01-02T03:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom/graph","fingerprint":"abc"},
{"status":"resolved","labels":{"alertname":"HighLatency","instance":"api2","severity":"warning"},"annotations":{"description":"was slow"},
"startsAt":"2026-01-02T02:00:00Z","endsAt":"2026-01-02T03:05:00Z"}]}`

const falcoBody = `{"output":"16:31:56.746609046: Critical A shell was spawned in a container (user=root container=nginx shell=bash)",
"priority":"Critical","rule":"Terminal shell in container","time":"2026-01-02T03:09:56.746609046Z",
"output_fields":{"container.name":"nginx","k8s.ns.name":"web","proc.cmdline":"bash -il","user.uid":0},
"source":"syscall","hostname":"node-3","tags":["container","shell","mitre_execution"]}`

const wazuhLine = `{"timestamp":"2026-01-02T03:08:01.123+0000","rule":{"level":10,"description":"sshd: brute force trying to get access to the system.","id":"5712","groups":["syslog","sshd","authentication_failures"]},"agent":{"id":"001","name":"web1"},"manager":{"name":"wazuh"},"full_log":"Jan  2 03:08:01 web1 sshd[123]: Failed password for root from 203.0.113.9 port 4242 ssh2","location":"/var/log/auth.log","data":{"srcip":"203.0.113.9","dstuser":"root"}}`

const ossecLine = `{"rule":{"level":12,"comment":"Multiple authentication failures.","sidid":40111,"group":"authentication_failures,"},"id":"1767323281.1234","TimeStamp":1767323281000,"location":"/var/log/secure","full_log":"su: FAILED SU","hostname":"db1"}`

func TestParseAlertmanager(t *testing.T) {
	as, err := input.ParseAlertmanager([]byte(amBody), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 2 {
		t.Fatalf("%d alerts", len(as))
	}
	a, b := as[0], as[1]
	if a.Name() != "HighLatency" || a.Labels["instance"] != "api1" || a.Severity != alerting.Critical || a.Summary != "p99 at 2s" || a.Source != "alertmanager" || a.Resolved(now) || !a.StartsAt.Equal(now.Add(-10*time.Minute)) {
		t.Errorf("firing alert %+v", a)
	}
	if b.Severity != alerting.Warning || b.Summary != "was slow" || !b.Resolved(now) || !b.EndsAt.Equal(now.Add(-5*time.Minute)) {
		t.Errorf("resolved alert %+v", b)
	}
	for name, body := range map[string]string{
		"version 3":  strings.Replace(amBody, `"version":"4"`, `"version":"3"`, 1),
		"no labels":  `{"version":"4","alerts":[{"status":"firing","labels":{}}]}`,
		"bad status": strings.Replace(amBody, `"status":"resolved"`, `"status":"gone"`, 1),
		"not json":   `alert!`,
	} {
		if _, err := input.ParseAlertmanager([]byte(body), now); !errors.Is(err, input.ErrBadInput) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// resolved without endsAt ends now
	as, err = input.ParseAlertmanager([]byte(`{"version":"4","alerts":[{"status":"resolved","labels":{"alertname":"X"}}]}`), now)
	if err != nil || !as[0].EndsAt.Equal(now) || !as[0].StartsAt.Equal(now) || as[0].Severity != alerting.Info {
		t.Errorf("resolved without endsAt: %+v %v", as, err)
	}
}

func TestParseFalco(t *testing.T) {
	as, err := input.ParseFalco([]byte(falcoBody), now, []string{"k8s.ns.name"})
	if err != nil {
		t.Fatal(err)
	}
	a := as[0]
	want := alerting.Labels{"alertname": "Terminal shell in container", "source": "falco", "priority": "critical", "host": "node-3", "k8s_ns_name": "web"}
	if len(a.Labels) != len(want) {
		t.Errorf("labels %v", a.Labels)
	}
	for k, v := range want {
		if a.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, a.Labels[k], v)
		}
	}
	if a.Severity != alerting.Critical || !strings.Contains(a.Summary, "A shell was spawned") || a.StartsAt.Year() != 2026 {
		t.Errorf("alert %+v", a)
	}
	if a.Annotations["field.container.name"] != "nginx" || a.Annotations["field.user.uid"] != "0" || a.Annotations["tags"] != "container,shell,mitre_execution" {
		t.Errorf("annotations %v", a.Annotations)
	}
	for prio, sev := range map[string]alerting.Severity{"Emergency": alerting.Critical, "Alert": alerting.Critical, "Error": alerting.Warning, "Warning": alerting.Warning, "Notice": alerting.Info, "Informational": alerting.Info, "Debug": alerting.Info} {
		as, err := input.ParseFalco([]byte(`{"rule":"r","priority":"`+prio+`","output":"o"}`), now, nil)
		if err != nil || as[0].Severity != sev || !as[0].StartsAt.Equal(now) {
			t.Errorf("priority %s: %+v %v", prio, as, err)
		}
	}
	two, err := input.ParseFalco([]byte(falcoBody+"\n"+falcoBody), now, nil)
	if err != nil || len(two) != 2 {
		t.Errorf("two events: %d %v", len(two), err)
	}
	for _, body := range []string{`{"priority":"Critical"}`, `{"rule":"r","priority":"loud"}`, ``, `[1]`} {
		if _, err := input.ParseFalco([]byte(body), now, nil); !errors.Is(err, input.ErrBadInput) {
			t.Errorf("%q: err = %v", body, err)
		}
	}
}

func TestParseOSSEC(t *testing.T) {
	as, err := input.ParseOSSEC([]byte(wazuhLine+"\n"+ossecLine+"\n"), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 2 {
		t.Fatalf("%d alerts", len(as))
	}
	w, o := as[0], as[1]
	if w.Name() != "sshd: brute force trying to get access to the system." || w.Labels["rule_id"] != "5712" || w.Labels["host"] != "web1" || w.Severity != alerting.Warning {
		t.Errorf("wazuh %+v", w)
	}
	if !w.StartsAt.Equal(time.Date(2026, 1, 2, 3, 8, 1, 123e6, time.UTC)) {
		t.Errorf("wazuh time %v", w.StartsAt)
	}
	if w.Annotations["srcip"] != "203.0.113.9" || w.Annotations["groups"] != "syslog,sshd,authentication_failures" || w.Annotations["level"] != "10" || !strings.Contains(w.Annotations["description"], "Failed password") {
		t.Errorf("wazuh annotations %v", w.Annotations)
	}
	if w.Summary != "sshd: brute force trying to get access to the system. on web1" {
		t.Errorf("summary %q", w.Summary)
	}
	if o.Labels["rule_id"] != "40111" || o.Labels["host"] != "db1" || o.Severity != alerting.Critical || o.Annotations["groups"] != "authentication_failures" || !o.StartsAt.Equal(time.UnixMilli(1767323281000)) {
		t.Errorf("ossec %+v", o)
	}
	for _, body := range []string{`{"rule":{"level":3}}`, `{"rule":{"level":99,"id":"1"}}`, `{`, ``} {
		if _, err := input.ParseOSSEC([]byte(body), now); !errors.Is(err, input.ErrBadInput) {
			t.Errorf("%q: err = %v", body, err)
		}
	}
}

type server struct {
	url  string
	sink *alertingtest.Recorder
}

func newServer(t *testing.T, mod func(*input.Config)) server {
	sink := &alertingtest.Recorder{}
	cfg := input.Config{Logger: slog.New(slog.DiscardHandler), Sink: sink, Tokens: []string{"other-token-0123456789", token}, MaxBytes: 4096, Now: func() time.Time { return now }}
	if mod != nil {
		mod(&cfg)
	}
	h, err := input.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/api/alerts", h))
	t.Cleanup(srv.Close)
	return server{url: srv.URL + "/api/alerts", sink: sink}
}

func (s server) post(t *testing.T, path, tok, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHandler(t *testing.T) {
	s := newServer(t, nil)
	for _, tc := range []struct {
		path, tok, body string
		code            int
		accepted        int
	}{
		{"/alertmanager", token, amBody, 200, 2},
		{"/falco", token, falcoBody, 200, 1},
		{"/ossec", token, wazuhLine + "\n" + ossecLine, 200, 2},
		{"/falco", "", falcoBody, 401, 0},
		{"/falco", "wrong-token-0123456789", falcoBody, 401, 0},
		{"/falco", token + "x", falcoBody, 401, 0},
		{"/falco", token, `{"rule":`, 400, 0},
		{"/alertmanager", token, `{"version":"3","alerts":[]}`, 400, 0},
		{"/falco", token, `{"rule":"r","priority":"p","output":"` + strings.Repeat("x", 5000) + `"}`, 413, 0},
		{"/nagios", token, `{}`, 404, 0},
	} {
		before := len(s.sink.Notifications())
		code, body := s.post(t, tc.path, tc.tok, tc.body)
		if code != tc.code {
			t.Errorf("%s (token %q): %d %s, want %d", tc.path, tc.tok, code, body, tc.code)
			continue
		}
		got := 0
		for _, n := range s.sink.Notifications()[before:] {
			got += len(n.Alerts)
		}
		if got != tc.accepted {
			t.Errorf("%s: sink got %d alerts, want %d", tc.path, got, tc.accepted)
		}
		if code == 200 {
			var r input.Result
			if err := json.Unmarshal([]byte(body), &r); err != nil || r.Accepted != tc.accepted {
				t.Errorf("%s: result %s", tc.path, body)
			}
		} else if !strings.Contains(body, `"error"`) {
			t.Errorf("%s: error body %q", tc.path, body)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, s.url+"/falco", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

func TestAllowList(t *testing.T) {
	s := newServer(t, func(c *input.Config) {
		c.Allow = []input.Allow{
			{Source: input.Alertmanager, MinSeverity: alerting.Critical},
			{Source: input.Falco, Rule: "Terminal shell*", MinFalcoPriority: "error"},
			{Source: input.OSSEC, MinOSSECLevel: 12},
			{Source: input.OSSEC, Rule: "5712"},
		}
	})
	check := func(path, body string, accepted, filtered int) {
		t.Helper()
		code, out := s.post(t, path, token, body)
		var r input.Result
		if code != 200 || json.Unmarshal([]byte(out), &r) != nil || r.Accepted != accepted || r.Filtered != filtered {
			t.Errorf("%s: %d %s, want accepted %d filtered %d", path, code, out, accepted, filtered)
		}
	}
	check("/alertmanager", amBody, 1, 1) // the warning is filtered
	check("/falco", falcoBody, 1, 0)
	check("/falco", strings.Replace(falcoBody, `"priority":"Critical"`, `"priority":"Warning"`, 1), 0, 1)
	check("/falco", strings.Replace(falcoBody, `"rule":"Terminal shell in container"`, `"rule":"Write below etc"`, 1), 0, 1)
	check("/ossec", wazuhLine+ossecLine, 2, 0)                               // 5712 by id, 40111 by level
	check("/ossec", strings.Replace(wazuhLine, `"5712"`, `"5700"`, 1), 0, 1) // level 10 < 12
	notes := s.sink.Notifications()
	if len(notes) != 3 || notes[0].Alerts[0].Labels["instance"] != "api1" {
		t.Errorf("sink got %+v", notes)
	}
}

func TestSinkFailureIsRetryable(t *testing.T) {
	s := newServer(t, nil)
	s.sink.FailNext(1, nil)
	if code, _ := s.post(t, "/falco", token, falcoBody); code != http.StatusServiceUnavailable {
		t.Fatalf("sink failure answered %d, want 503", code)
	}
	if code, _ := s.post(t, "/falco", token, falcoBody); code != 200 {
		t.Fatalf("retry answered %d", code)
	}
	if n, err := s.sink.Wait(context.Background(), 1); err != nil || len(n) != 1 {
		t.Fatalf("sink: %v %v", n, err)
	}
}

func TestNewValidates(t *testing.T) {
	sink := &alertingtest.Recorder{}
	for name, cfg := range map[string]input.Config{
		"no sink":      {Tokens: []string{token}},
		"no token":     {Sink: sink},
		"short token":  {Sink: sink, Tokens: []string{"short"}},
		"bad source":   {Sink: sink, Tokens: []string{token}, Allow: []input.Allow{{Source: "nagios"}}},
		"bad pattern":  {Sink: sink, Tokens: []string{token}, Allow: []input.Allow{{Rule: "["}}},
		"bad priority": {Sink: sink, Tokens: []string{token}, Allow: []input.Allow{{MinFalcoPriority: "loud"}}},
		"bad severity": {Sink: sink, Tokens: []string{token}, Allow: []input.Allow{{MinSeverity: "meh"}}},
	} {
		if _, err := input.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
