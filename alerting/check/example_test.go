package check_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/check"
)

// printer is a Notifier that prints what it is given.
type printer struct{}

func (printer) Notify(ctx context.Context, alerts ...alerting.Alert) error {
	for _, a := range alerts {
		status := "firing"
		if !a.EndsAt.IsZero() {
			status = "resolved"
		}
		fmt.Println(status, a.Name(), a.Labels["check"], a.Labels["host"], a.Severity)
	}
	return nil
}

// A port check that fires after two failed runs and resolves after one
// good one; the Observer sees every run and the damped component status.
func Example() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	r, err := check.NewRunner(check.RunnerConfig{
		Entries: []check.Entry{{
			Name: "app-port", Host: "web1", Alertname: "PortDown",
			Check:          &check.TCP{Addr: addr, Mode: check.Connect},
			FailuresToFire: 2, SuccessesToResolve: 1,
		}},
		Notifier: printer{},
		Observer: check.ObserverFunc(func(ctx context.Context, ev check.Event) {
			fmt.Println("  run ok:", ev.Result.OK, "component:", ev.Status)
		}),
		Now: func() time.Time { return now },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	_ = r.RunOnce(ctx) // listening
	ln.Close()
	_ = r.RunOnce(ctx) // first failure: damped
	_ = r.RunOnce(ctx) // second failure: fires
	ln, _ = net.Listen("tcp", addr)
	defer ln.Close()
	_ = r.RunOnce(ctx) // back: resolves
	// Output:
	//   run ok: true component: operational
	//   run ok: false component: operational
	//   run ok: false component: major_outage
	// firing PortDown app-port web1 critical
	//   run ok: true component: operational
	// resolved PortDown app-port web1 critical
}

// An application's status page must report no incident.
func ExampleHTTP() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status": {"indicator": "minor"}, "incidents": [{"name": "Slow API"}]}`)
	}))
	defer srv.Close()
	c := &check.HTTP{
		URL:  srv.URL + "/api/v2/status.json",
		JSON: []check.Condition{check.MustParseCondition(`status.indicator == "none"`)},
	}
	r := c.Check(context.Background())
	fmt.Println(r.OK, strings.TrimPrefix(r.Message, "GET "+srv.URL))
	// Output: false /api/v2/status.json: status.indicator is "minor" (want status.indicator == "none")
}

func ExampleParseCondition() {
	for _, s := range []string{`components[0].status == operational`, `len(incidents) == 0`, `status.indicator = none`} {
		c, err := check.ParseCondition(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		ok, why, _ := c.Eval([]byte(`{"components": [{"status": "major_outage"}], "incidents": []}`))
		fmt.Println(strings.TrimSpace(fmt.Sprintln(s, "->", ok, why)))
	}
	// Output:
	// components[0].status == operational -> false components[0].status is "major_outage"
	// len(incidents) == 0 -> true
	// error: check: condition syntax: want an operator (== != < <= > >=) at offset 17 in "status.indicator = none"
}

// Hosts check in over HTTP; a host silent for longer than the grace period
// is unresponsive.
func ExampleHeartbeats() {
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	hb, _ := check.NewHeartbeats(map[string]string{"web1": "a-long-random-token-for-web1"})
	hb.Now = func() time.Time { return now }
	mux := http.NewServeMux()
	mux.Handle("/heartbeat/", hb)

	req := httptest.NewRequest(http.MethodPost, "/heartbeat/web1", nil)
	req.Header.Set("Authorization", "Bearer a-long-random-token-for-web1")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	fmt.Println("check-in:", w.Code)

	c := hb.Check("web1", 5*time.Minute)
	now = now.Add(10 * time.Minute)
	fmt.Println(c.Check(context.Background()).Message)
	// Output:
	// check-in: 204
	// web1 unresponsive: last check-in 10m0s ago
}
