package email_test

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/email"
)

func Example() {
	// A port where nothing listens stands in for a mail server that is down.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	n, err := email.New(email.Config{
		Host: "127.0.0.1", Port: port,
		From: "opsd <opsd@example.com>", To: []string{"oncall@example.com"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = n.Notify(context.Background(), alerting.Alert{
		Labels: alerting.Labels{"alertname": "DiskFull"}, Severity: alerting.Critical, Summary: "disk 97% full",
	})
	fmt.Println("failed:", err != nil, "retry:", !errors.Is(err, alerting.ErrPermanent))

	_, err = email.New(email.Config{Host: "smtp.example.com", From: "opsd", To: []string{"oncall@example.com"}})
	fmt.Println(err)
	// Output:
	// failed: true retry: true
	// email: From: mail: missing '@' or angle-addr
}
