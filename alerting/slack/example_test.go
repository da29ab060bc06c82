package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/slack"
)

func Example() {
	got := make(chan slack.Payload, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p slack.Payload
		json.NewDecoder(r.Body).Decode(&p)
		got <- p
	}))
	defer srv.Close()

	n, _ := slack.New(slack.Config{URL: srv.URL + "/hooks/secret"})
	ctx := alerting.WithDelivery(context.Background(), alerting.Delivery{AckURL: "https://opsd.example/ack/x"})
	n.Notify(ctx, alerting.Alert{
		Labels:   alerting.Labels{"alertname": "PortClosed", "host": "web1"},
		Severity: alerting.Critical, Summary: "port 443 not listening", StartsAt: time.Now(),
	})
	p := <-got
	fmt.Println(p.Text)
	fmt.Println(p.Attachments[0].Color, p.Attachments[0].Title, "-", p.Attachments[0].Text)
	// Output:
	// :rotating_light: *FIRING: 1 alert(s)*
	// <https://opsd.example/ack/x|Acknowledge> (stops escalation)
	// #d00000 [firing] PortClosed - port 443 not listening
}
