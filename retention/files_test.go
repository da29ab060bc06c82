package retention

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"
)

// touch creates path with the given modification time.
func touch(t *testing.T, path string, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("log line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func TestFilePrunerMtime(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	old := now.Add(-15 * Week)
	young := now.Add(-13 * Week)
	nginx := filepath.Join(dir, "nginx")
	files := map[string]time.Time{
		"access.log":             old, // live file: never removed, even if idle
		"access.log.1":           old,
		"access.log.2.gz":        old,
		"access.log-20260801.gz": old,
		"access.log.3.gz":        young,
		"error.log":              old,
		"error.log.1":            old,
		"other.log.1":            old, // outside the globs
	}
	for name, mt := range files {
		touch(t, filepath.Join(nginx, name), mt)
	}
	// A symbolic link matching the glob, pointing outside: neither the link
	// nor its target is touched.
	outside := filepath.Join(dir, "precious")
	touch(t, outside, old)
	if err := os.Symlink(outside, filepath.Join(nginx, "access.log.9")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(nginx, "access.log.d"), 0o755); err != nil {
		t.Fatal(err)
	}

	p := &FilePruner{Logger: quiet(), Classes: []FileClass{SeedWebLogs(nginx)}}
	want := []string{
		filepath.Join(nginx, "access.log-20260801.gz"),
		filepath.Join(nginx, "access.log.1"),
		filepath.Join(nginx, "access.log.2.gz"),
		filepath.Join(nginx, "error.log.1"),
	}

	dry, err := p.Prune(context.Background(), now, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := dry.Deleted(); !slices.Equal(got, want) {
		t.Errorf("dry run would delete %q, want %q", got, want)
	}
	for name := range files {
		if !exists(filepath.Join(nginx, name)) {
			t.Fatalf("dry run removed %s", name)
		}
	}

	rep, err := p.Prune(context.Background(), now, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Deleted(); !slices.Equal(got, want) {
		t.Errorf("deleted %q, want %q", got, want)
	}
	for _, w := range want {
		if exists(w) {
			t.Errorf("%s still there", w)
		}
	}
	for _, keep := range []string{"access.log", "access.log.3.gz", "error.log", "other.log.1", "access.log.9", "access.log.d"} {
		if !exists(filepath.Join(nginx, keep)) {
			t.Errorf("%s removed", keep)
		}
	}
	if !exists(outside) {
		t.Error("symlink target removed")
	}
	reasons := map[string]string{}
	for _, d := range rep.Decisions {
		reasons[filepath.Base(d.Path)] = d.Reason
	}
	for name, want := range map[string]string{
		"access.log":      "live file (no rotation suffix): kept",
		"access.log.1":    "age 15w > 14w (mtime)",
		"access.log.3.gz": "age 13w <= 14w (mtime)",
		"access.log.9":    "symbolic link: not followed, not removed",
	} {
		if reasons[name] != want {
			t.Errorf("reason for %s = %q, want %q", name, reasons[name], want)
		}
	}
}

func TestFilePrunerNameDate(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	recent := now.Add(-time.Hour) // mtimes are recent: only names age these files
	for _, name := range []string{"app-2025-11-20.log", "app-2025-11-24.log.gz", "app-2026-11-22.log", "app.log", "app-notes.log"} {
		touch(t, filepath.Join(dir, name), recent)
	}
	p := &FilePruner{Logger: quiet(), Classes: []FileClass{{
		Name: "app", Globs: []string{filepath.Join(dir, "app*")}, MaxAge: AppLogAge, DateLayout: "2006-01-02",
	}}}
	rep, err := p.Prune(context.Background(), now, false)
	if err != nil {
		t.Fatal(err)
	}
	// 52 weeks before 2026-11-22 12:00 is 2025-11-23 12:00.
	if got, want := rep.Deleted(), []string{filepath.Join(dir, "app-2025-11-20.log")}; !slices.Equal(got, want) {
		t.Errorf("deleted %q, want %q", got, want)
	}
	for _, name := range []string{"app-2025-11-24.log.gz", "app-2026-11-22.log", "app.log", "app-notes.log"} {
		if !exists(filepath.Join(dir, name)) {
			t.Errorf("%s removed", name)
		}
	}
}

// lockFile makes path impossible to remove: a read-only directory for an
// ordinary user, the immutable attribute (chattr +i) for root, who ignores
// permissions. It skips the test where neither works.
func lockFile(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		dir := filepath.Dir(path)
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
		return
	}
	chattr, err := exec.LookPath("chattr")
	if err != nil {
		t.Skip("running as root without chattr: cannot make a file unremovable")
	}
	if out, err := exec.Command(chattr, "+i", path).CombinedOutput(); err != nil {
		t.Skipf("running as root and chattr +i fails here (%v: %s): cannot make a file unremovable", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(chattr, "-i", path).Run() })
}

func TestFilePrunerErrorsAggregated(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	locked := filepath.Join(dir, "locked")
	open := filepath.Join(dir, "open")
	touch(t, filepath.Join(locked, "a.log.1"), now.Add(-60*Week))
	touch(t, filepath.Join(locked, "c.log.1"), now.Add(-60*Week))
	touch(t, filepath.Join(open, "b.log.1"), now.Add(-60*Week))
	lockFile(t, filepath.Join(locked, "a.log.1"))
	if os.Geteuid() == 0 {
		lockFile(t, filepath.Join(locked, "c.log.1"))
	}
	p := &FilePruner{Logger: quiet(), Classes: []FileClass{
		{Name: "locked", Globs: []string{filepath.Join(locked, "*.log*")}, MaxAge: Week},
		{Name: "open", Globs: []string{filepath.Join(open, "*.log*")}, MaxAge: Week},
	}}
	rep, err := p.Prune(context.Background(), now, false)
	var merr *multierror.Error
	if !errors.As(err, &merr) || len(merr.Errors) != 2 {
		t.Fatalf("err = %v, want two aggregated errors", err)
	}
	if exists(filepath.Join(open, "b.log.1")) {
		t.Error("the errors in one class stopped the other")
	}
	if got := rep.Deleted(); !slices.Equal(got, []string{filepath.Join(open, "b.log.1")}) {
		t.Errorf("deleted %q", got)
	}
	for _, d := range rep.Decisions {
		if strings.HasPrefix(d.Path, locked) && (d.Err == nil || d.Deleted) {
			t.Errorf("%s: %+v", d.Path, d)
		}
	}
}

func TestFilePrunerInvalid(t *testing.T) {
	for _, c := range []FileClass{
		{Name: "noglob", MaxAge: Week},
		{Name: "noage", Globs: []string{"/tmp/x*"}},
		{Name: "badglob", Globs: []string{"/tmp/[x"}, MaxAge: Week},
		{Name: "badlayout", Globs: []string{"/tmp/x*"}, MaxAge: Week, DateLayout: "Jan 2"},
		{Name: "noyear", Globs: []string{"/tmp/x*"}, MaxAge: Week, DateLayout: "01.02"},
		{Name: "badpattern", Globs: []string{"/tmp/x*"}, MaxAge: Week, DateLayout: "2006", DatePattern: "("},
	} {
		p := &FilePruner{Logger: quiet(), Classes: []FileClass{c}}
		if _, err := p.Prune(context.Background(), time.Now(), true); !errors.Is(err, ErrInvalidClass) {
			t.Errorf("%s: err = %v, want ErrInvalidClass", c.Name, err)
		}
	}
}

func TestFilePrunerCancelled(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	touch(t, filepath.Join(dir, "a.log.1"), now.Add(-60*Week))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := &FilePruner{Logger: quiet(), Classes: []FileClass{{Name: "x", Globs: []string{filepath.Join(dir, "*")}, MaxAge: Week}}}
	if _, err := p.Prune(ctx, now, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !exists(filepath.Join(dir, "a.log.1")) {
		t.Error("removed a file after cancellation")
	}
}

// FuzzNameDate checks that dates in names are found without panics, and
// that a found date formats back into the name.
func FuzzNameDate(f *testing.F) {
	for _, s := range []string{"logs-nginx-2026.11.22", "filebeat-8.19.7-2026.11.22", ".ds-logs-app-default-2026.11.22-000001", "x-2026.13.40", "", "2026.11.22.2026.11.23"} {
		f.Add(s, "2006.01.02")
	}
	f.Add("access.log-20261101.gz", "20060102")
	f.Add("app-2026-11-22.log", "2006-01-02")
	f.Fuzz(func(t *testing.T, name, layout string) {
		nd, err := newNameDate(layout, "", nil)
		if err != nil || nd == nil {
			return
		}
		tm, ok := nd.find(name)
		if !ok {
			return
		}
		if tm.Year() != 0 && (tm.Year() < 1 || tm.Year() > 9999) {
			t.Fatalf("found year %d in %q", tm.Year(), name)
		}
		switch layout {
		case "2006.01.02", "20060102", "2006-01-02":
		default:
			return // other layouts need not print back the same way
		}
		if s := tm.Format(layout); !strings.Contains(name, s) {
			t.Fatalf("found %v (%q) in %q with layout %q", tm, s, name, layout)
		}
	})
}

func TestFilePrunerOverlappingClasses(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	touch(t, filepath.Join(dir, "access.log.1"), now.Add(-20*Week))
	touch(t, filepath.Join(dir, "access.log.2"), now.Add(-60*Week))
	p := &FilePruner{Logger: quiet(), Classes: []FileClass{SeedWebLogs(dir), SeedAppLogs(dir)}}
	rep, err := p.Prune(context.Background(), now, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rep.Deleted(), []string{filepath.Join(dir, "access.log.2")}; !slices.Equal(got, want) {
		t.Errorf("deleted %q, want %q", got, want)
	}
	if !exists(filepath.Join(dir, "access.log.1")) {
		t.Fatal("access.log.1 removed although the app class keeps it for 52 weeks")
	}
	for _, d := range rep.Decisions {
		if filepath.Base(d.Path) == "access.log.1" && !strings.Contains(d.Reason, "kept although class web would remove it") {
			t.Errorf("reason %q", d.Reason)
		}
	}
}
