package pagerduty_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/pagerduty"
)

func Example() {
	got := make(chan pagerduty.Event, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev pagerduty.Event
		json.NewDecoder(r.Body).Decode(&ev)
		got <- ev
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	n, _ := pagerduty.New(pagerduty.Config{RoutingKey: "R0123456789abcdef0123456789abcde", URL: srv.URL})
	a := alerting.Alert{
		Labels:   alerting.Labels{"alertname": "HostDown", "host": "db1"},
		Severity: alerting.Critical, Summary: "db1 stopped answering", StartsAt: time.Now(),
	}
	d := alerting.Delivery{Key: "n-1", GroupKey: "hostdown/db1"}
	n.Notify(alerting.WithDelivery(context.Background(), d), a)
	a.EndsAt, d.Resolved = time.Now(), true
	n.Notify(alerting.WithDelivery(context.Background(), d), a)
	for range 2 {
		ev := <-got
		fmt.Println(ev.EventAction, ev.DedupKey, ev.Payload.Severity, ev.Payload.Source, ev.Payload.Summary)
	}
	// Output:
	// trigger hostdown/db1 critical db1 db1 stopped answering
	// resolve hostdown/db1 critical db1 db1 stopped answering
}
