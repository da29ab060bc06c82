package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/webhook"
)

func Example() {
	secret := []byte("shared-secret")
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), body, time.Now(), 5*time.Minute) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m webhook.Message
		json.Unmarshal(body, &m)
		got <- fmt.Sprintf("v%s %s %s key=%s", m.Version, m.Status, m.Alerts[0].Labels["alertname"], r.Header.Get("Idempotency-Key"))
	}))
	defer srv.Close()

	n, err := webhook.New(webhook.Config{URL: srv.URL, SigningSecret: secret})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := alerting.WithDelivery(context.Background(), alerting.Delivery{Key: "n-1", GroupKey: "g-1"})
	err = n.Notify(ctx, alerting.Alert{
		Labels:   alerting.Labels{"alertname": "DiskFull", "host": "web1"},
		Severity: alerting.Critical, Summary: "disk 97% full", StartsAt: time.Now(),
	})
	fmt.Println(err, <-got)
	// Output: <nil> v4 firing DiskFull key=n-1
}
