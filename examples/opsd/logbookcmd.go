package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opskit/opskit/logbook"
	"github.com/opskit/opskit/sqlstore"
	"github.com/opskit/opskit/statuspage"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// openStore opens the daemon's store (store: in opsd.yaml, or SQLite in
// the data directory).
func openStore(ctx context.Context, cfg *Config) (*sqlstore.DB, error) {
	dsn := cfg.Store
	if dsn == "" {
		dsn = filepath.Join(cfg.abs(cfg.DataDir), "opsd.db")
	}
	return sqlstore.Open(ctx, dsn)
}

func cmdLogbook(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("logbook needs a subcommand: new, note, close, postmortem, list")
	}
	sub := args[0]
	fs := flag.NewFlagSet("logbook "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	title := fs.String("title", "", "new: one-line title")
	sev := fs.String("severity", "SEV3", "new: SEV1 (worst) to SEV5")
	var instances, components multiFlag
	fs.Var(&instances, "instance", "new: affected instance (repeatable)")
	fs.Var(&components, "component", "new: affected component (repeatable)")
	public := fs.Bool("public", false, "new, note: customers may see it")
	what := fs.String("what", "", "new: what is going on")
	kind := fs.String("kind", "observation", "note: observation, hypothesis, action, decision or communication")
	text := fs.String("text", "", "note: the entry")
	author := fs.String("author", currentUser(), "note, close: who writes")
	status := fs.String("status", "", "close: resolved (default) or closed; list: filter")
	rootCause := fs.String("root-cause", "", "close: how we understood the issue")
	did := fs.String("what-we-did", "", "close: what we did to solve it")
	impact := fs.String("impact", "", "close: what the impacts are")
	prevention := fs.String("prevention", "", "close: what we need to do to avoid it next time")
	customer := fs.Bool("customer", false, "postmortem: the customer version (public entries, no names)")
	asHTML := fs.Bool("html", false, "postmortem: HTML instead of Markdown")
	publishPM := fs.Bool("publish", false, "postmortem: publish the customer version to the status pages")
	asJSON := fs.Bool("json", false, "list: machine-readable output")
	instance := fs.String("for", "", "list: only incidents affecting this instance")
	if err := fs.Parse(reorder(args[1:])); err != nil {
		return usageError{err.Error()}
	}
	cfg, _, closeLog, err := setup(*cfgPath, stderr, slog.LevelWarn)
	if err != nil {
		return err
	}
	defer closeLog()
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	store, err := logbook.Open(ctx, db)
	if err != nil {
		return err
	}
	var pages *statuspage.Handler
	if cfg.Status != nil {
		if pages, err = openStatus(ctx, cfg, db); err != nil {
			return err
		}
	}
	announce := func(inc *logbook.Incident, status, text string) error {
		published, err := publish(ctx, pages, inc, status, text)
		if len(published) > 0 {
			fmt.Fprintf(stdout, "published to the status page of %s\n", strings.Join(published, ", "))
		}
		return err
	}
	incidentID := func() (int64, error) {
		if fs.NArg() < 1 {
			return 0, usagef("logbook %s needs an incident ID", sub)
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return 0, usagef("incident ID %q is not a number", fs.Arg(0))
		}
		return id, nil
	}
	now := time.Now().UTC()
	switch sub {
	case "new":
		s, err := logbook.ParseSeverity(*sev)
		if err != nil {
			return usageError{err.Error()}
		}
		inc := &logbook.Incident{Title: *title, Severity: s, Public: *public, Instances: instances, Components: components,
			WhatsGoingOn: *what, Milestones: logbook.Milestones{Started: now, Detected: now}}
		id, err := store.Create(ctx, inc)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "incident %d opened: %s %s\n", id, s, inc.Title)
		body := inc.WhatsGoingOn
		if body == "" {
			body = "We are investigating this issue."
		}
		return announce(inc, statuspage.Investigating, body)
	case "note":
		id, err := incidentID()
		if err != nil {
			return err
		}
		eid, err := store.Append(ctx, id, logbook.Entry{Kind: logbook.EntryKind(*kind), At: now, Author: *author, Text: *text, Public: *public})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "entry %d added to incident %d\n", eid, id)
		if !*public {
			return nil
		}
		inc, err := store.Get(ctx, id)
		if err != nil {
			return err
		}
		return announce(inc, publicStatus(inc.Status), *text)
	case "close":
		id, err := incidentID()
		if err != nil {
			return err
		}
		inc, err := store.Get(ctx, id)
		if err != nil {
			return err
		}
		st := logbook.Resolved
		if *status != "" {
			if st, err = logbook.ParseStatus(*status); err != nil {
				return usageError{err.Error()}
			}
		}
		inc.Status = st
		if inc.Milestones.Resolved.IsZero() {
			inc.Milestones.Resolved = now
		}
		if inc.Milestones.Mitigated.IsZero() {
			inc.Milestones.Mitigated = inc.Milestones.Resolved
		}
		for _, f := range []struct {
			v   string
			dst *string
		}{{*rootCause, &inc.HowUnderstood}, {*did, &inc.WhatWeDid}, {*impact, &inc.Impact}, {*prevention, &inc.Prevention}} {
			if f.v != "" {
				*f.dst = f.v
			}
		}
		if err := store.Update(ctx, inc, *author); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "incident %d %s after %s\n", id, inc.Status, inc.Milestones.TimeToResolve().Round(time.Second))
		return announce(inc, statuspage.Resolved, "This incident has been resolved.")
	case "postmortem":
		id, err := incidentID()
		if err != nil {
			return err
		}
		inc, err := store.Get(ctx, id)
		if err != nil {
			return err
		}
		pm := logbook.Postmortem{Incident: inc, Audience: logbook.Internal}
		if *customer {
			pm.Audience = logbook.Customer
		}
		var out string
		if *asHTML {
			out, err = pm.HTML()
		} else {
			out, err = pm.Markdown()
		}
		if err != nil {
			return err
		}
		if _, err := io.WriteString(stdout, out); err != nil {
			return err
		}
		if *publishPM {
			if !*customer {
				return usagef("--publish needs --customer: only the customer version is published")
			}
			md, err := pm.Markdown()
			if err != nil {
				return err
			}
			return announce(inc, statuspage.Postmortem, md)
		}
		return nil
	case "list":
		f := logbook.Filter{Instance: *instance}
		if *status != "" {
			if f.Status, err = logbook.ParseStatus(*status); err != nil {
				return usageError{err.Error()}
			}
		}
		list, err := store.List(ctx, f)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(list)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSEVERITY\tSTATUS\tOPENED\tINSTANCES\tTITLE")
		for _, inc := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", inc.ID, inc.Severity, inc.Status, inc.Created.Format(time.RFC3339), strings.Join(inc.Instances, ","), inc.Title)
		}
		return tw.Flush()
	}
	return usagef("unknown logbook subcommand %q", sub)
}
