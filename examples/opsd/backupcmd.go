package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opskit/opskit/backup"
)

func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("backup needs a subcommand: run, list, verify, restore, drill, prune, unlock")
	}
	sub := args[0]
	fs := flag.NewFlagSet("backup "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, "machine-readable output")
	to := fs.String("to", "", "restore: target directory (must not exist or be empty)")
	dryRun := fs.Bool("dry-run", false, "prune: show what would be deleted")
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := fs.Parse(reorder(args[1:])); err != nil {
		return usageError{err.Error()}
	}
	pos := fs.Args()
	if len(pos) < 1 {
		return usagef("backup %s needs an INSTANCE", sub)
	}
	cfg, log, closeLog, err := setup(*cfgPath, stderr, slog.LevelWarn)
	if err != nil {
		return err
	}
	defer closeLog()
	w, err := newWiring(cfg, log)
	if err != nil {
		return err
	}
	inst, err := w.instance(pos[0])
	if err != nil {
		return usageError{err.Error()}
	}
	switch sub {
	case "run":
		var progress func(backup.Progress)
		if !*quiet && isTerminal(stderr) {
			progress = terminalProgress(stderr)
		}
		m, err := inst.backup(ctx, progress)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(listEntry(inst, backup.Backup{ID: m.ID, Time: m.Created, Manifest: m}))
		}
		fmt.Fprintf(stdout, "backup %s of %s stored: %d volumes, %s read, %s stored, %s\n", m.ID, m.Instance,
			len(m.Volumes), bytesHuman(m.PlainSize), bytesHuman(m.StoredSize), m.Completed.Sub(m.Created).Round(time.Millisecond))
		return nil
	case "list":
		list, err := inst.repo.List(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			out := make([]jsonBackup, 0, len(list))
			for _, b := range list {
				out = append(out, listEntry(inst, b))
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "BACKUP\tCREATED\tSIZE\tVOLUMES\tVERIFIED")
		for _, b := range list {
			v := "no"
			if !b.Verified.IsZero() {
				v = b.Verified.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", b.ID, b.Time.UTC().Format(time.RFC3339), bytesHuman(b.Manifest.StoredSize), len(b.Manifest.Volumes), v)
		}
		return tw.Flush()
	case "verify":
		id, err := pick(ctx, inst, pos)
		if err != nil {
			return err
		}
		rep, err := inst.repo.Verify(ctx, id, true)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backup %s verified: %d objects, %s, hashes match the signed manifest\n", id, rep.Volumes, bytesHuman(rep.Bytes))
		return nil
	case "restore":
		if len(pos) < 2 || *to == "" {
			return usagef("usage: opsd backup restore INSTANCE BACKUP --to DIR")
		}
		dec, err := inst.decryptor()
		if err != nil {
			return err
		}
		var target backup.Restorer
		var dr *backup.DirRestorer
		m, err := inst.repo.Manifest(ctx, pos[1])
		if err != nil {
			return err
		}
		if m.Source == "dir" {
			dr = &backup.DirRestorer{Path: *to, Owners: true, Logger: log}
			target = dr
		} else {
			target = &backup.FileRestorer{Path: *to}
		}
		st, err := inst.repo.Restore(ctx, pos[1], dec, target)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backup %s restored to %s: %s in %s\n", pos[1], *to, bytesHuman(st.PlainBytes), st.Duration.Round(time.Millisecond))
		return nil
	case "drill":
		dec, err := inst.decryptor()
		if err != nil {
			return err
		}
		opts := backup.DrillOptions{Scratch: w.scratch()}
		if len(pos) > 1 {
			opts.ID = pos[1]
		}
		rep, err := inst.repo.Drill(ctx, dec, opts)
		if *asJSON {
			json.NewEncoder(stdout).Encode(rep)
		} else if err == nil {
			fmt.Fprintf(stdout, "drill of %s passed: restored %s, %d entries match, time to restore %s\n", rep.Backup, bytesHuman(rep.Bytes), rep.Files, rep.TimeToRestore.Round(time.Millisecond))
		}
		return err
	case "prune":
		rep, err := inst.prune(ctx, *dryRun)
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.Encode(rep)
		} else {
			for _, d := range rep.Decisions {
				verb := "keep  "
				if !d.Keep {
					verb = "delete"
					if rep.DryRun {
						verb = "would delete"
					}
				}
				fmt.Fprintf(stdout, "%s %s  %s\n", verb, d.ID, strings.Join(d.Reasons, ", "))
			}
			for _, o := range rep.Orphans {
				fmt.Fprintf(stdout, "orphan %s\n", o)
			}
		}
		return err
	case "unlock":
		removed, err := inst.repo.RemoveStaleLocks(ctx)
		for _, l := range removed {
			fmt.Fprintf(stdout, "removed stale lock %s (%s by %s)\n", l.Name, l.Operation, l.Actor)
		}
		return err
	}
	return usagef("unknown backup subcommand %q", sub)
}

// reorder moves flags after positional arguments to the front, so that
// `opsd backup restore demo ID --to DIR` works as users type it.
func reorder(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && takesValue(a) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

func takesValue(flag string) bool {
	switch strings.TrimLeft(flag, "-") {
	case "config", "to", "title", "severity", "instance", "component", "what", "kind", "text", "author",
		"status", "root-cause", "what-we-did", "impact", "prevention", "for":
		return true
	}
	return false
}

func pick(ctx context.Context, inst *instance, pos []string) (string, error) {
	if len(pos) > 1 {
		return pos[1], nil
	}
	b, err := inst.repo.Latest(ctx)
	return b.ID, err
}

type jsonBackup struct {
	Name      string     `json:"name"`
	Instance  string     `json:"instance"`
	Time      time.Time  `json:"time"`
	Size      int64      `json:"size"`
	PlainSize int64      `json:"plain_size"`
	Volumes   int        `json:"volumes"`
	SHA256    []string   `json:"sha256"`
	Location  string     `json:"location"`
	Verified  *time.Time `json:"verified,omitempty"`
}

func listEntry(inst *instance, b backup.Backup) jsonBackup {
	j := jsonBackup{Name: b.ID, Instance: b.Manifest.Instance, Time: b.Time, Size: b.Manifest.StoredSize,
		PlainSize: b.Manifest.PlainSize, Volumes: len(b.Manifest.Volumes), Location: inst.location()}
	for _, v := range b.Manifest.Volumes {
		j.SHA256 = append(j.SHA256, v.SHA256)
	}
	if !b.Verified.IsZero() {
		t := b.Verified
		j.Verified = &t
	}
	return j
}

func bytesHuman(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func terminalProgress(w io.Writer) func(backup.Progress) {
	return func(p backup.Progress) {
		rate := float64(p.PlainBytes) / max(p.Elapsed.Seconds(), 0.001) / (1 << 20)
		fmt.Fprintf(w, "\r%d files, %s read, %s stored, %d volumes, %.0f MiB/s   ", p.Files, bytesHuman(p.PlainBytes), bytesHuman(p.StoredBytes), p.Volumes, rate)
		if p.Done {
			fmt.Fprintln(w)
		}
	}
}
