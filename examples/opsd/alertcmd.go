package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/esrule"
)

// cmdAlert is `opsd alert list|ack|silence|expire|test`. Changes go
// through the store, where the running daemon picks them up within a
// second (or at its next start).
func cmdAlert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("alert needs a subcommand: list, ack, silence, expire, test, dryrun")
	}
	sub := args[0]
	fs := flag.NewFlagSet("alert "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, "list: JSON output")
	dur := fs.Duration("for", 2*time.Hour, "silence: how long")
	start := fs.String("start", "", "silence: start time (RFC 3339), default now")
	comment := fs.String("comment", "", "silence: why (required)")
	maint := fs.Bool("maintenance", false, "silence: a planned maintenance window")
	from := fs.String("from", "", "dryrun: start of the range (RFC 3339), default 24h ago")
	to := fs.String("to", "", "dryrun: end of the range (RFC 3339), default now")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err.Error()}
	}
	cfg, log, closeLog, err := setup(*cfgPath, stderr, slog.LevelWarn)
	if err != nil {
		return err
	}
	defer closeLog()
	if cfg.Alerting == nil {
		return usageError{errNoAlerting.Error()}
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	mc, notifiers, err := managerConfig(cfg, log)
	if err != nil {
		return usageError{err.Error()}
	}
	// A Manager loaded from the store, read only: it is never ticked here.
	m, err := alerting.NewManager(ctx, db, mc)
	if err != nil {
		return err
	}
	m.Logger = log
	rest := fs.Args()
	switch sub {
	case "list":
		groups, out, sil := m.Groups(), m.Outbox(), m.Silences()
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"groups": groups, "outbox": out, "silences": sil})
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GROUP\tSINCE\tLEVEL\tACK\tALERTS")
		for _, g := range groups {
			ack := "-"
			if g.Acked {
				ack = g.AckedBy
			}
			var names []string
			for _, a := range g.Alerts {
				s := a.Summary
				if s == "" {
					s = a.Name()
				}
				names = append(names, s)
			}
			if g.Muted > 0 {
				names = append(names, fmt.Sprintf("(%d muted)", g.Muted))
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", g.ID, g.FirstSeen.UTC().Format("2006-01-02 15:04"), g.Level, ack, strings.Join(names, "; "))
		}
		tw.Flush()
		if len(out) > 0 {
			fmt.Fprintln(stdout, "\nUNDELIVERED NOTIFICATIONS")
			for _, p := range out {
				state := fmt.Sprintf("retry at %s", p.NextTry.UTC().Format(time.RFC3339))
				if p.Failed {
					state = "failed permanently"
				}
				fmt.Fprintf(stdout, "%s  to %s  %d attempts, %s: %s\n", p.Key, p.Receiver, p.Attempts, state, p.LastError)
			}
		}
		if len(sil) > 0 {
			fmt.Fprintln(stdout, "\nSILENCES")
			for _, s := range sil {
				kind := "silence"
				if s.Maintenance {
					kind = "maintenance"
				}
				fmt.Fprintf(stdout, "%s  %s %s until %s by %s: %s\n", s.ID, kind, s.Matchers, s.EndsAt.UTC().Format(time.RFC3339), s.CreatedBy, s.Comment)
			}
		}
		return nil
	case "ack":
		if len(rest) != 1 {
			return usagef("alert ack GROUP_OR_FINGERPRINT")
		}
		found := false
		for _, g := range m.Groups() {
			if strings.HasPrefix(g.ID, rest[0]) {
				found = true
			}
			for _, a := range g.Alerts {
				if strings.HasPrefix(a.Fingerprint(), rest[0]) {
					found = true
				}
			}
		}
		if !found || len(rest[0]) < 6 {
			return fmt.Errorf("no alert group or alert %q (at least 6 characters of an ID from opsd alert list)", rest[0])
		}
		if err := alerting.SendCommand(ctx, db, alerting.Command{Ack: rest[0], By: currentUser()}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "acknowledged %s (the daemon applies it within a second)\n", rest[0])
		return nil
	case "silence":
		if len(rest) == 0 || *comment == "" {
			return usagef(`alert silence -comment WHY [-for 2h] [-start TIME] [-maintenance] MATCHER... (e.g. 'host="db1"')`)
		}
		ms, err := alerting.ParseMatchers(strings.Join(rest, ","))
		if err != nil {
			return usageError{err.Error()}
		}
		from := time.Now()
		if *start != "" {
			if from, err = time.Parse(time.RFC3339, *start); err != nil {
				return usagef("-start: %v", err)
			}
		}
		s := alerting.Silence{ID: newID(), Matchers: ms, StartsAt: from, EndsAt: from.Add(*dur), CreatedBy: currentUser(), Comment: *comment, Maintenance: *maint}
		if err := alerting.SendCommand(ctx, db, alerting.Command{Silence: &s}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "silence %s: %s from %s until %s\n", s.ID, ms, s.StartsAt.UTC().Format(time.RFC3339), s.EndsAt.UTC().Format(time.RFC3339))
		return nil
	case "expire":
		if len(rest) != 1 {
			return usagef("alert expire SILENCE_ID")
		}
		if err := alerting.SendCommand(ctx, db, alerting.Command{Expire: rest[0]}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "silence %s ends now\n", rest[0])
		return nil
	case "test":
		if len(rest) != 1 {
			return usagef("alert test RECEIVER")
		}
		n, ok := notifiers[rest[0]]
		if !ok {
			return usagef("no receiver %q in opsd.yaml", rest[0])
		}
		now := time.Now()
		a := alerting.Alert{Labels: alerting.Labels{"alertname": "OpsdTest", "receiver": rest[0]}, Severity: alerting.Info,
			Summary: "opsd test notification: the receiver works", StartsAt: now, Source: "opsd"}
		tctx, cancel := context.WithTimeout(alerting.WithDelivery(ctx, alerting.Delivery{
			Key: "test-" + newID(), GroupKey: "opsd-test", Receiver: rest[0], Level: 1}), 30*time.Second)
		defer cancel()
		if err := n.Notify(tctx, a); err != nil {
			return fmt.Errorf("receiver %s: %w", rest[0], err)
		}
		fmt.Fprintf(stdout, "sent a test notification to %s\n", rest[0])
		return nil
	case "dryrun":
		if len(rest) != 1 {
			return usagef("alert dryrun RULE_FILE [-from TIME] [-to TIME]")
		}
		if cfg.Alerting.Rules == nil {
			return usageError{"alerting.rules (the Elasticsearch URLs) is not configured"}
		}
		rule, err := esrule.LoadFile(rest[0])
		if err != nil {
			return usageError{err.Error()}
		}
		end, start := time.Now(), time.Now().Add(-24*time.Hour)
		if *to != "" {
			if end, err = time.Parse(time.RFC3339, *to); err != nil {
				return usagef("-to: %v", err)
			}
		}
		if *from != "" {
			if start, err = time.Parse(time.RFC3339, *from); err != nil {
				return usagef("-from: %v", err)
			}
		}
		client, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: cfg.Alerting.Rules.URLs})
		if err != nil {
			return err
		}
		r := &esrule.Runner{Client: client, Logger: log}
		matches, err := r.DryRun(ctx, rule, start, end)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(matches)
		}
		for _, mt := range matches {
			key := ""
			if mt.Key != "" {
				key = " " + mt.Key
			}
			fmt.Fprintf(stdout, "%s  %s%s  %v\n", mt.Time.UTC().Format(time.RFC3339), mt.Rule, key, mt.Values)
		}
		fmt.Fprintf(stdout, "%d matches from %s to %s; nothing was sent (%d bytes read from Elasticsearch)\n",
			len(matches), start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), r.Received())
		return nil
	}
	return usagef("unknown alert subcommand %q", sub)
}

// newID returns 16 random hex digits.
func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
