package check_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/opskit/opskit/alerting/check"
)

// statusServer serves a Statuspage-like summary whose indicator the test
// sets, and records the last request.
type statusServer struct {
	*httptest.Server
	mu     sync.Mutex
	body   string
	status int
	last   *http.Request
}

func (s *statusServer) set(body string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.status = body, status
}

func (s *statusServer) lastRequest() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func newStatusServer(t *testing.T, tlsOn bool) *statusServer {
	s := &statusServer{body: statusJSON, status: 200}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.last = r.Clone(context.Background())
		if r.URL.Path != "/api/v2/summary.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		w.Write([]byte(s.body))
	})
	if tlsOn {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

func TestHTTPStatusPage(t *testing.T) {
	s := newStatusServer(t, false)
	c := &check.HTTP{
		URL:  s.URL + "/api/v2/summary.json",
		JSON: []check.Condition{check.MustParseCondition(`status.indicator == "none"`), check.MustParseCondition(`len(incidents) == 0`)},
	}
	ctx := context.Background()
	r := c.Check(ctx)
	if !r.OK || r.Values["status_code"] != 200 || !strings.Contains(r.Message, "status 200") {
		t.Fatalf("healthy page: %+v", r)
	}
	s.set(strings.Replace(statusJSON, `"indicator": "none"`, `"indicator": "major"`, 1), 200)
	r = c.Check(ctx)
	if r.OK || !strings.Contains(r.Message, `status.indicator is "major" (want status.indicator == "none")`) {
		t.Fatalf("major outage: %+v", r)
	}
	s.set("<html>maintenance</html>", 200)
	r = c.Check(ctx)
	if r.OK || !strings.Contains(r.Message, "not JSON") {
		t.Fatalf("HTML body: %+v", r)
	}
	s.set(statusJSON, 503)
	r = c.Check(ctx)
	if r.OK || !strings.Contains(r.Message, "status 503") || r.Values["status_code"] != 503 {
		t.Fatalf("503: %+v", r)
	}
	r = (&check.HTTP{URL: s.URL + "/other"}).Check(ctx)
	if r.OK || !strings.Contains(r.Message, "status 404") {
		t.Fatalf("404: %+v", r)
	}
	r = (&check.HTTP{URL: s.URL + "/other", Status: []int{404}}).Check(ctx)
	if !r.OK {
		t.Fatalf("404 expected: %+v", r)
	}
}

func TestHTTPBodyConditions(t *testing.T) {
	s := newStatusServer(t, false)
	url := s.URL + "/api/v2/summary.json"
	ctx := context.Background()
	for _, tc := range []struct {
		c  *check.HTTP
		ok bool
	}{
		{&check.HTTP{BodyContains: "All Systems Operational"}, true},
		{&check.HTTP{BodyContains: "Partial Outage"}, false},
		{&check.HTTP{BodyMatches: regexp.MustCompile(`"indicator":\s*"none"`)}, true},
		{&check.HTTP{BodyMatches: regexp.MustCompile(`"indicator":\s*"(minor|major)"`)}, false},
		{&check.HTTP{MaxBody: 10, JSON: []check.Condition{check.MustParseCondition("page")}}, false},
	} {
		tc.c.URL = url
		if r := tc.c.Check(ctx); r.OK != tc.ok {
			t.Errorf("%s %v %d: %+v, want ok=%v", tc.c.BodyContains, tc.c.BodyMatches, tc.c.MaxBody, r, tc.ok)
		}
	}
}

func TestHTTPRequestAndSecrets(t *testing.T) {
	s := newStatusServer(t, false)
	c := &check.HTTP{
		Method: http.MethodPost,
		URL:    strings.Replace(s.URL, "http://", "http://user:pw-secret@", 1) + "/nope?token=q-secret",
		Header: http.Header{"Authorization": {"Bearer h-secret"}, "X-Probe": {"1"}},
		Body:   `{"ping":1}`,
	}
	r := c.Check(context.Background())
	if r.OK {
		t.Fatalf("404 passed: %+v", r)
	}
	last := s.lastRequest()
	if last.Method != http.MethodPost || last.Header.Get("Authorization") != "Bearer h-secret" || last.Header.Get("X-Probe") != "1" {
		t.Fatalf("request not as configured: %s %v", last.Method, last.Header)
	}
	if strings.Contains(r.Message, "secret") {
		t.Fatalf("message leaks a secret: %q", r.Message)
	}
	// Transport errors carry the URL too.
	r = (&check.HTTP{URL: "http://user:pw-secret@" + closedAddr(t) + "/x?token=q-secret"}).Check(context.Background())
	if r.OK || strings.Contains(r.Message, "secret") || !strings.Contains(r.Message, "refused") {
		t.Fatalf("connection refused: %q", r.Message)
	}
}

func TestHTTPTLSVerifiedByDefault(t *testing.T) {
	s := newStatusServer(t, true)
	url := s.URL + "/api/v2/summary.json"
	r := (&check.HTTP{URL: url}).Check(context.Background())
	if r.OK || !strings.Contains(r.Message, "certificate") {
		t.Fatalf("self-signed certificate accepted by default: %+v", r)
	}
	pool := s.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	r = (&check.HTTP{URL: url, RootCAs: pool}).Check(context.Background())
	if !r.OK {
		t.Fatalf("with the server's CA: %+v", r)
	}
}

func TestHTTPMaxLatencyDegrades(t *testing.T) {
	s := newStatusServer(t, false)
	// 1ns is always exceeded by a real request: no timing assumption.
	r := (&check.HTTP{URL: s.URL + "/api/v2/summary.json", MaxLatency: 1}).Check(context.Background())
	if r.OK || r.Status != check.DegradedPerformance || !strings.Contains(r.Message, "slower than") {
		t.Fatalf("slow response: %+v", r)
	}
}
