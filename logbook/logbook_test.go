package logbook_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opskit/opskit/logbook"
	"github.com/opskit/opskit/sqlstore"
	"github.com/opskit/opskit/sqlstore/sqlstoretest"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 11, 22, 2, 10, 0, 0, time.UTC)

func sample() *logbook.Incident {
	return &logbook.Incident{
		Title: "Backups of acme failed for two nights", Severity: logbook.SEV2, Status: logbook.Investigating,
		Public: true, Instances: []string{"acme"}, Components: []string{"backups"},
		Roles:        map[string]string{"commander": "alice", "scribe": "bob"},
		Milestones:   logbook.Milestones{Started: t0, Detected: t0.Add(26 * time.Hour)},
		WhatsGoingOn: "Nightly backups of acme fail at upload.",
		Timeline: []logbook.Entry{
			{Kind: logbook.Observation, At: t0.Add(26 * time.Hour), Author: "alice", Text: "Drill alert: no backup since Nov 21.", Public: false},
			{Kind: logbook.Communication, At: t0.Add(27 * time.Hour), Author: "carol", Text: "We are investigating failed backups of <acme>.", Public: true},
		},
		Actions: []logbook.ActionItem{{Title: "Alert on the first failed upload", Owner: "bob", Due: t0.AddDate(0, 0, 7)}},
	}
}

func TestStore(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s, err := logbook.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		inc := sample()
		id, err := s.Create(ctx, inc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Title != inc.Title || len(got.Timeline) != 2 || len(got.Actions) != 1 || got.Version != 1 ||
			got.Roles["commander"] != "alice" || !got.Milestones.Detected.Equal(inc.Milestones.Detected) {
			t.Fatalf("round trip: %+v", got)
		}
		if got.Milestones.TimeToDetect() != 26*time.Hour {
			t.Fatalf("time to detect %v", got.Milestones.TimeToDetect())
		}
		// Append-only timeline.
		if _, err := s.Append(ctx, id, logbook.Entry{Kind: logbook.Hypothesis, At: t0.Add(28 * time.Hour), Author: "alice",
			Text: "The backup node's disk is full? password=hunter2-secret"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, id, logbook.Entry{Kind: "gossip", At: t0, Author: "x", Text: "y"}); !errors.Is(err, logbook.ErrInvalid) {
			t.Fatalf("bad entry kind: %v", err)
		}
		if _, err := s.Append(ctx, 9999, logbook.Entry{Kind: logbook.Action, At: t0, Author: "x", Text: "y"}); !errors.Is(err, logbook.ErrNotFound) {
			t.Fatalf("entry for a missing incident: %v", err)
		}
		// Resolve, with optimistic concurrency.
		a, _ := s.Get(ctx, id)
		b, _ := s.Get(ctx, id)
		a.Status = logbook.Resolved
		a.Milestones.Mitigated = t0.Add(29 * time.Hour)
		a.Milestones.Resolved = t0.Add(30 * time.Hour)
		a.HowUnderstood = "The backup node's disk filled up."
		if err := s.Update(ctx, a, "alice"); err != nil {
			t.Fatal(err)
		}
		b.Impact = "two nights without backups"
		if err := s.Update(ctx, b, "bob"); !errors.Is(err, logbook.ErrConflict) {
			t.Fatalf("stale update: %v", err)
		}
		got, _ = s.Get(ctx, id)
		last := got.Timeline[len(got.Timeline)-1]
		if got.Status != logbook.Resolved || last.Kind != logbook.StatusChange || !strings.Contains(last.Text, "resolved") {
			t.Fatalf("status change not recorded: %+v", last)
		}
		// Invalid transitions.
		bad := *got
		bad.Milestones.Detected = t0.Add(-time.Hour)
		if err := s.Update(ctx, &bad, "x"); !errors.Is(err, logbook.ErrInvalid) {
			t.Fatalf("detected before started: %v", err)
		}
		noTime := sample()
		noTime.Status = logbook.Resolved
		if _, err := s.Create(ctx, noTime); !errors.Is(err, logbook.ErrInvalid) {
			t.Fatalf("resolved without a time: %v", err)
		}
		// Actions.
		act := got.Actions[0]
		act.Status = logbook.ActionDone
		if err := s.UpdateAction(ctx, id, act); err != nil {
			t.Fatal(err)
		}
		// Redaction.
		reds, err := s.Redact(ctx, id, "hunter2-secret", "alice", "password pasted")
		if err != nil || len(reds) != 1 || reds[0].Count != 1 || reds[0].SHA256 == "" {
			t.Fatalf("redact: %+v %v", reds, err)
		}
		got, _ = s.Get(ctx, id)
		for _, e := range got.Timeline {
			if strings.Contains(e.Text, "hunter2") {
				t.Fatal("the secret survived redaction")
			}
		}
		audit, err := s.Redactions(ctx, id)
		if err != nil || len(audit) != 1 || audit[0].By != "alice" || strings.Contains(audit[0].SHA256, "hunter2") {
			t.Fatalf("audit %+v %v", audit, err)
		}
		if _, err := s.Redact(ctx, id, "not-there", "alice", ""); !errors.Is(err, logbook.ErrNotFound) {
			t.Fatalf("redacting absent text: %v", err)
		}
		// List with filters.
		other := sample()
		other.Instances = []string{"globex"}
		if _, err := s.Create(ctx, other); err != nil {
			t.Fatal(err)
		}
		list, err := s.List(ctx, logbook.Filter{Instance: "acme"})
		if err != nil || len(list) != 1 || list[0].ID != id {
			t.Fatalf("list by instance: %v %v", list, err)
		}
		list, _ = s.List(ctx, logbook.Filter{Status: logbook.Investigating})
		if len(list) != 1 || list[0].Instances[0] != "globex" {
			t.Fatalf("list by status: %v", list)
		}
		if list, _ = s.List(ctx, logbook.Filter{}); len(list) != 2 || list[0].ID < list[1].ID {
			t.Fatalf("list all, newest first: %v", list)
		}
	})
}

func resolved() *logbook.Incident {
	inc := sample()
	inc.ID = 7
	inc.Status = logbook.Closed
	inc.Milestones.Acknowledged = t0.Add(26*time.Hour + 5*time.Minute)
	inc.Milestones.Mitigated = t0.Add(29 * time.Hour)
	inc.Milestones.Resolved = t0.Add(30 * time.Hour)
	inc.Impact = "No backups of acme for two nights; no data lost."
	inc.HowUnderstood = "The backup node's disk filled up; uploads failed <script>alert(1)</script>."
	inc.WhatWeDid = "Pruned old backups, grew the disk, re-ran the backup and a restore drill."
	inc.Prevention = "Alert on disk usage of backup nodes."
	inc.Actions[0].Status = logbook.ActionDone
	return inc
}

func TestPostmortemGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		aud  logbook.Audience
		html bool
	}{{"internal.md", logbook.Internal, false}, {"customer.md", logbook.Customer, false}, {"internal.html", logbook.Internal, true}, {"customer.html", logbook.Customer, true}} {
		t.Run(c.name, func(t *testing.T) {
			pm := logbook.Postmortem{Incident: resolved(), Audience: c.aud}
			var out string
			var err error
			if c.html {
				out, err = pm.HTML()
			} else {
				out, err = pm.Markdown()
			}
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "postmortem-"+c.name)
			if *update {
				os.WriteFile(golden, []byte(out), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Fatalf("differs from %s (run with -update):\n%s", golden, out)
			}
			if c.aud == logbook.Customer && (strings.Contains(out, "alice") || strings.Contains(out, "bob") || strings.Contains(out, "Drill alert")) {
				t.Fatal("the customer version names people or shows internal entries")
			}
			if c.html && strings.Contains(out, "<script>alert") {
				t.Fatal("HTML not escaped")
			}
		})
	}
}

func FuzzParseSeverity(f *testing.F) {
	for _, s := range []string{"SEV1", "sev5", "3", "SEV0", "", "SEV10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sev, err := logbook.ParseSeverity(s)
		if err == nil && !sev.Valid() {
			t.Fatalf("%q parsed to invalid %d", s, sev)
		}
		st, err := logbook.ParseStatus(s)
		if err == nil && st == "" {
			t.Fatalf("%q parsed to an empty status", s)
		}
	})
}
