package slack_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/alertingtest"
	"github.com/opskit/opskit/alerting/slack"
)

var now = time.Date(2026, 1, 2, 3, 10, 0, 0, time.UTC)

const token = "XXsecretTOKENxx0123"

func TestConformance(t *testing.T) {
	alertingtest.TestNotifier(t, func(t *testing.T) alertingtest.Target {
		rcv := alertingtest.NewHTTPReceiver(t)
		n, err := slack.New(slack.Config{URL: rcv.URL() + "/services/T000/B000/" + token, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return alertingtest.Target{Notifier: n, Receiver: rcv, Secrets: []string{token}}
	})
}

func TestPayload(t *testing.T) {
	rcv := alertingtest.NewHTTPReceiver(t)
	n, err := slack.New(slack.Config{URL: rcv.URL() + "/hooks/" + token, Channel: "#ops", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	crit := alertingtest.FiringAlert()
	crit.Summary = "<!channel> click <https://evil.example|here> & relax"
	warn := alerting.Alert{Labels: alerting.Labels{"alertname": "HighCPU"}, Severity: alerting.Warning, Summary: "cpu"}
	info := alerting.Alert{Labels: alerting.Labels{"alertname": "Deploy"}, Severity: alerting.Info}
	gone := alerting.Alert{Labels: alerting.Labels{"alertname": "PortClosed"}, Severity: alerting.Critical, EndsAt: now.Add(-time.Second)}
	ctx := alerting.WithDelivery(context.Background(), alerting.Delivery{Key: "k", Level: 3, AckURL: "https://opsd.example/ack/a|b>c"})
	if err := n.Notify(ctx, crit, warn, info, gone); err != nil {
		t.Fatal(err)
	}
	var p slack.Payload
	if err := json.Unmarshal(rcv.Messages()[0].Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Channel != "#ops" || !strings.Contains(p.Text, "FIRING: 3 alert(s)") || !strings.Contains(p.Text, "1 resolved") || !strings.Contains(p.Text, "escalation level 3") {
		t.Errorf("text %q", p.Text)
	}
	if !strings.Contains(p.Text, "<https://opsd.example/ack/a%7Cb%3Ec|Acknowledge>") {
		t.Errorf("ack link not escaped: %q", p.Text)
	}
	if len(p.Attachments) != 4 {
		t.Fatalf("%d attachments", len(p.Attachments))
	}
	want := []string{slack.ColorCritical, slack.ColorWarning, slack.ColorInfo, slack.ColorResolved}
	for i, a := range p.Attachments {
		if a.Color != want[i] {
			t.Errorf("attachment %d colour %s, want %s", i, a.Color, want[i])
		}
	}
	a := p.Attachments[0]
	if a.Text != "&lt;!channel&gt; click &lt;https://evil.example|here&gt; &amp; relax\n<https://runbooks.example/disk|Runbook>" {
		t.Errorf("alert text not escaped: %q", a.Text)
	}
	if a.TitleLink != "https://runbooks.example/disk" || a.Title != "[firing] DiskFull" {
		t.Errorf("title %q link %q", a.Title, a.TitleLink)
	}
	if len(a.Fields) != 2 || a.Fields[0].Title != "severity" || a.Fields[1].Value != "web1" {
		t.Errorf("fields %+v", a.Fields)
	}
	if p.Attachments[3].Title != "[resolved] PortClosed" {
		t.Errorf("resolved title %q", p.Attachments[3].Title)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := slack.New(slack.Config{URL: "hooks.slack.com/services/x"}); err == nil || strings.Contains(err.Error(), "hooks") {
		t.Fatalf("New with a relative URL: %v", err)
	}
}
