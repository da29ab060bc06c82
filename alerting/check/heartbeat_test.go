package check_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opskit/opskit/alerting/check"
)

const webToken = "web1-token-0123456789"

func TestHeartbeats(t *testing.T) {
	clk := &clock{t: t0}
	hb, err := check.NewHeartbeats(map[string]string{"web1": webToken, "db1": "db1-token-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	hb.Now, hb.Logger = clk.Now, quiet
	mux := http.NewServeMux()
	mux.Handle("/heartbeat/", hb)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	post := func(host, auth string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/heartbeat/"+host, strings.NewReader("up"))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		host, auth string
		code       int
	}{
		{"web1", "", 401},
		{"web1", "Bearer wrong-token-0123456789", 401},
		{"web1", "Basic " + webToken, 401},
		{"db1", "Bearer " + webToken, 401}, // another host's token
		{"nope", "Bearer " + webToken, 401},
	} {
		if code := post(tc.host, tc.auth); code != tc.code {
			t.Errorf("%s %q: %d, want %d", tc.host, tc.auth, code, tc.code)
		}
	}
	if _, seen := hb.Last("web1"); seen {
		t.Fatal("a refused check-in was recorded")
	}
	resp, err := srv.Client().Get(srv.URL + "/heartbeat/web1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}

	web := hb.Check("web1", 5*time.Minute)
	ctx := context.Background()
	if r := web.Check(ctx); !r.OK || !strings.Contains(r.Message, "no check-in yet") {
		t.Fatalf("within the grace after start: %+v", r)
	}
	clk.Add(6 * time.Minute)
	if r := web.Check(ctx); r.OK || !strings.Contains(r.Message, "web1 unresponsive: no check-in for 6m0s") {
		t.Fatalf("never checked in: %+v", r)
	}
	if code := post("web1", "Bearer "+webToken); code != http.StatusNoContent {
		t.Fatalf("check-in: %d", code)
	}
	if last, _ := hb.Last("web1"); !last.Equal(clk.Now()) {
		t.Fatalf("last check-in %v, want %v", last, clk.Now())
	}
	clk.Add(5 * time.Minute)
	if r := web.Check(ctx); !r.OK || r.Values["checkin_age_seconds"] != 300 {
		t.Fatalf("at the grace boundary: %+v", r)
	}
	clk.Add(time.Second)
	if r := web.Check(ctx); r.OK || !strings.Contains(r.Message, "last check-in 5m1s ago") {
		t.Fatalf("past the grace: %+v", r)
	}
	// An older check-in (restored from elsewhere) does not move time back.
	hb.CheckIn("web1", t0)
	if last, _ := hb.Last("web1"); !last.Equal(t0.Add(6 * time.Minute)) {
		t.Fatalf("CheckIn moved the last check-in back to %v", last)
	}
}

func TestNewHeartbeatsValidates(t *testing.T) {
	for _, tokens := range []map[string]string{
		{"web1": "short"},
		{"": webToken},
		{"a/b": webToken},
	} {
		if _, err := check.NewHeartbeats(tokens); !errors.Is(err, check.ErrInvalid) {
			t.Errorf("%v: %v, want ErrInvalid", tokens, err)
		}
	}
}
