package alerting_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/sqlstore"
)

// printer is a Notifier that prints what it is sent.
type printer struct{}

func (printer) Notify(ctx context.Context, alerts ...alerting.Alert) error {
	d, _ := alerting.DeliveryFrom(ctx)
	for _, a := range alerts {
		fmt.Printf("level %d to %s: %s %s\n", d.Level, d.Receiver, a.Status(time.Time{}), a.Summary)
	}
	return nil
}

// Escalate from the team's chat to the on-call pager when nobody
// acknowledges within ten minutes. The example steps a clock instead of
// calling Run.
func ExampleManager() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "alerting")
	defer os.RemoveAll(dir)
	db, err := sqlstore.Open(ctx, filepath.Join(dir, "opsd.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	m, err := alerting.NewManager(ctx, db, alerting.Config{
		Receivers: map[string]alerting.Receiver{"chat": {Notifier: printer{}}, "pager": {Notifier: printer{}}},
		Default: alerting.Route{
			GroupWait: 30 * time.Second,
			Escalation: alerting.Escalation{Levels: []alerting.Level{
				{Receivers: []string{"chat"}},
				{After: 10 * time.Minute, Receivers: []string{"pager"}},
			}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	m.Now = func() time.Time { return now }
	step := func(d time.Duration) {
		now = now.Add(d)
		m.Tick(ctx)
		m.Deliver(ctx)
	}

	m.Notify(ctx, alerting.Alert{Labels: alerting.Labels{"alertname": "HostDown", "host": "db1"}, Summary: "db1 is not answering"})
	step(30 * time.Second) // group_wait over: level 1
	step(10 * time.Minute) // nobody acknowledged: level 2
	m.Ack(ctx, m.Groups()[0].ID, "alice")
	step(time.Hour) // acknowledged: quiet
	// Output:
	// level 1 to chat: firing db1 is not answering
	// level 2 to pager: firing db1 is not answering
}
