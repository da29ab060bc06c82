package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/hashicorp/go-multierror"

	"github.com/opskit/opskit/retention"
)

// parseAge reads "30d", "14w", "36h", "90m" (minutes, as Go durations do).
func parseAge(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v <= 0 {
				return 0, fmt.Errorf("age %q: want a positive number of days (d) or weeks (w), or a Go duration", s)
			}
			return time.Duration(v) * unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("age %q: want e.g. 30d, 14w or 36h", s)
	}
	return d, nil
}

// logsReport is what `opsd logs prune --json` prints.
type logsReport struct {
	DryRun  bool                     `json:"dry_run"`
	Files   []retention.FileDecision `json:"files,omitempty"`
	Indices *retention.IndexReport   `json:"indices,omitempty"`
}

// pruneLogs applies the logs section of the configuration.
func pruneLogs(ctx context.Context, cfg *Config, log *slog.Logger, dryRun bool) (logsReport, error) {
	rep := logsReport{DryRun: dryRun}
	lc := cfg.Logs
	if lc == nil {
		return rep, fmt.Errorf("%s has no logs section", cfg.path)
	}
	var errs *multierror.Error
	if len(lc.Files) > 0 {
		fp := &retention.FilePruner{Logger: log}
		for _, c := range lc.Files {
			age, err := parseAge(c.MaxAge)
			if err != nil {
				return rep, fmt.Errorf("logs.files %s: %w", c.Name, err)
			}
			globs := make([]string, len(c.Globs))
			for i, g := range c.Globs {
				globs[i] = cfg.abs(g)
			}
			fp.Classes = append(fp.Classes, retention.FileClass{Name: c.Name, Globs: globs, MaxAge: age, DateLayout: c.DateLayout})
		}
		fr, err := fp.Prune(ctx, time.Now(), dryRun)
		if fr != nil {
			rep.Files = fr.Decisions
		}
		errs = multierror.Append(errs, err)
	}
	if es := lc.Elasticsearch; es != nil {
		client, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: es.URLs})
		if err != nil {
			return rep, fmt.Errorf("logs.elasticsearch: %w", err)
		}
		ip := &retention.IndexPruner{Client: client, Logger: log}
		for _, c := range es.Indices {
			age, err := parseAge(c.MaxAge)
			if err != nil {
				return rep, fmt.Errorf("logs.elasticsearch %s: %w", c.Name, err)
			}
			ip.Classes = append(ip.Classes, retention.IndexClass{Name: c.Name, Patterns: c.Patterns, MaxAge: age, DateLayout: c.DateLayout})
		}
		ir, err := ip.Prune(ctx, time.Now(), dryRun)
		if ir != nil {
			rep.Indices = ir
		}
		errs = multierror.Append(errs, err)
	}
	return rep, errs.ErrorOrNil()
}

func cmdLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "prune" {
		return usagef("usage: opsd logs prune [--dry-run] [--json]")
	}
	fs := flag.NewFlagSet("logs prune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	dryRun := fs.Bool("dry-run", false, "show what would be deleted")
	asJSON := fs.Bool("json", false, "machine-readable output")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err.Error()}
	}
	cfg, log, closeLog, err := setup(*cfgPath, stderr, slog.LevelWarn)
	if err != nil {
		return err
	}
	defer closeLog()
	rep, err := pruneLogs(ctx, cfg, log, *dryRun)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
		return err
	}
	verb := "deleted"
	if *dryRun {
		verb = "would delete"
	}
	for _, d := range rep.Files {
		if d.Delete {
			fmt.Fprintf(stdout, "%s %s (%s: %s)\n", verb, d.Path, d.Class, d.Reason)
		}
	}
	if rep.Indices != nil {
		for _, d := range rep.Indices.Decisions {
			if d.Delete {
				fmt.Fprintf(stdout, "%s index %s\n", verb, d.Index)
			}
		}
	}
	return err
}
