// Command alertserver runs an alerting Manager (SQLite store) behind the
// HTTP alert input, for bench/alerting.sh: alerts posted to
// /api/alerts/alertmanager (Alertmanager webhook v4 JSON, bearer token
// "bench-token-0123456789") are deduplicated, grouped and routed to a
// receiver that drops them.
//
//	go run ./bench/alertserver -addr 127.0.0.1:8097
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/input"
	"github.com/opskit/opskit/sqlstore"
)

// drop is a receiver that accepts everything.
type drop struct{}

func (drop) Notify(context.Context, ...alerting.Alert) error { return nil }

func main() {
	addr := flag.String("addr", "127.0.0.1:8097", "listen address")
	flag.Parse()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "alertserver")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlstore.Open(ctx, filepath.Join(dir, "alerts.db"))
	if err != nil {
		log.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	m, err := alerting.NewManager(ctx, db, alerting.Config{
		Receivers: map[string]alerting.Receiver{"drop": {Notifier: drop{}}},
		Default: alerting.Route{GroupBy: []string{"alertname", "instance"}, GroupWait: 30 * time.Second,
			Escalation: alerting.Escalation{Levels: []alerting.Level{{Receivers: []string{"drop"}}}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	m.Logger = quiet
	in, err := input.New(input.Config{Sink: m, Tokens: []string{"bench-token-0123456789"}, MaxBytes: 16 << 20, Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	go m.Run(ctx)
	mux := http.NewServeMux()
	mux.Handle("/api/alerts/", http.StripPrefix("/api/alerts", in))
	fmt.Fprintf(os.Stderr, "serving http://%s/api/alerts/alertmanager\n", *addr)
	log.Fatal(http.ListenAndServe(*addr, mux))
}
