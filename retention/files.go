package retention

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"
)

// FileClass is one kind of log file and how long it is kept: every regular
// file matching one of Globs is removed once its time is more than MaxAge
// before now.
//
// A file's time is the date in its name when DateLayout is set and the name
// carries one ("app-2026-11-22.log", "access.log-20261122.gz"), else its
// modification time. A name date is the instant the layout names (for a
// date alone, the start of that day) in Location, so a daily file is removed
// MaxAge after its day began.
//
// Files that are never removed: directories, symbolic links (they are not
// followed either), anything outside the globs, and the live file: a name
// without a rotation suffix (".1", ".2.gz", "-20261122", ".2026-11-22", ".gz"
// ...) and without a name date, such as "access.log" itself.
type FileClass struct {
	// Name labels the class in reports and logs ("web", "app").
	Name string
	// Globs are filepath.Match patterns, e.g. "/var/log/nginx/access.log*".
	Globs []string
	// MaxAge is how long a file is kept; it must be positive.
	MaxAge time.Duration
	// DateLayout is a Go time layout of a date in the file name, with a
	// four-digit year, made of digits and punctuation ("20060102",
	// "2006-01-02", "2006.01.02"); empty means modification times only.
	DateLayout string
	// DatePattern optionally tells where the date is: a regular expression
	// whose first group (or whole match) is parsed with DateLayout. The last
	// match in the name wins.
	DatePattern string
	// Location is the zone of name dates; nil means UTC.
	Location *time.Location
}

// FileDecision is what a FilePruner decided about one file.
type FileDecision struct {
	Class string
	Path  string
	// Time is the file's time (name date or modification time); Age is
	// now minus Time.
	Time time.Time
	Age  time.Duration
	// Delete says the file is past its age; Deleted that it was removed
	// (false in a dry run and on error).
	Delete, Deleted bool
	// Reason explains the decision: "age 15w2d > 14w (mtime)", "live file".
	Reason string
	// Err is the error removing the file, if any.
	Err error
}

// FileReport lists every decision of one FilePruner run, sorted by class and
// path.
type FileReport struct {
	DryRun    bool
	Decisions []FileDecision
}

// Deleted returns the paths removed (or, in a dry run, to be removed).
func (r *FileReport) Deleted() []string {
	var out []string
	for _, d := range r.Decisions {
		if d.Deleted || (r.DryRun && d.Delete) {
			out = append(out, d.Path)
		}
	}
	return out
}

// ErrInvalidClass wraps a description of a malformed FileClass or IndexClass.
var ErrInvalidClass = errors.New("retention: invalid class")

// FilePruner removes log files past their age.
type FilePruner struct {
	Classes []FileClass
	// Logger receives one line per removed file and per error; nil means
	// slog.Default().
	Logger *slog.Logger
}

// rotated matches names that carry a rotation suffix: a counter (".1"), a
// date or timestamp ("-20261122", ".2026-11-22", "-2026112215"), optionally
// compressed, or just a compression extension.
const rotatedExpr = `(?:[._-]\d+|[._-]\d{4}-\d{2}-\d{2}(?:[T_-]?\d{2,6})?)(?:\.(?:gz|bz2|xz|zst|lz4|z|Z|zip))?$|\.(?:gz|bz2|xz|zst|lz4|z|Z|zip)$`

// Prune decides about every file of every class and, unless dryRun, removes
// the files past their age; a file that several classes reach is removed
// only if all of them say so. It goes on after errors: errors examining or
// removing files are recorded in the report and returned together (a
// *multierror.Error). A cancelled ctx stops it before the next file.
// A bad class (no glob, malformed glob or date layout, MaxAge not
// positive) stops the run before anything is removed, with an error matching
// ErrInvalidClass.
func (p *FilePruner) Prune(ctx context.Context, now time.Time, dryRun bool) (*FileReport, error) {
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	rotated, err := regexp.Compile(rotatedExpr)
	if err != nil {
		return nil, err
	}
	type prepared struct {
		FileClass
		nd *nameDate
	}
	var classes []prepared
	for _, c := range p.Classes {
		if len(c.Globs) == 0 {
			return nil, fmt.Errorf("%w: file class %q has no glob", ErrInvalidClass, c.Name)
		}
		if c.MaxAge <= 0 {
			return nil, fmt.Errorf("%w: file class %q: max age %v is not positive", ErrInvalidClass, c.Name, c.MaxAge)
		}
		for _, g := range c.Globs {
			if _, err := filepath.Match(g, ""); err != nil {
				return nil, fmt.Errorf("%w: file class %q: glob %q: %v", ErrInvalidClass, c.Name, g, err)
			}
		}
		nd, err := newNameDate(c.DateLayout, c.DatePattern, c.Location)
		if err != nil {
			return nil, fmt.Errorf("%w: file class %q: %v", ErrInvalidClass, c.Name, err)
		}
		classes = append(classes, prepared{c, nd})
	}

	// Decide first, for every class; a file that several classes reach is
	// removed only if every one of them says so.
	var errs *multierror.Error
	byPath := map[string]*FileDecision{}
	for _, c := range classes {
		seen := map[string]bool{}
		var paths []string
		for _, g := range c.Globs {
			ms, err := filepath.Glob(g)
			if err != nil {
				return nil, fmt.Errorf("%w: file class %q: glob %q: %v", ErrInvalidClass, c.Name, g, err)
			}
			for _, m := range ms {
				if !seen[m] {
					seen[m] = true
					paths = append(paths, m)
				}
			}
		}
		for _, path := range paths {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			d, err := decideFile(c.FileClass, c.nd, rotated, path, now)
			if errors.Is(err, fs.ErrNotExist) {
				continue // gone since the glob ran
			}
			if err != nil {
				errs = multierror.Append(errs, fmt.Errorf("retention: class %q: %w", c.Name, err))
			}
			prev, ok := byPath[path]
			switch {
			case !ok:
				byPath[path] = &d
			case prev.Delete && !d.Delete:
				d.Reason += "; kept although class " + prev.Class + " would remove it"
				byPath[path] = &d
			case !prev.Delete && d.Delete:
				prev.Reason += "; kept although class " + d.Class + " would remove it"
			}
		}
	}
	rep := &FileReport{DryRun: dryRun}
	for _, d := range byPath {
		rep.Decisions = append(rep.Decisions, *d)
	}
	slices.SortFunc(rep.Decisions, func(a, b FileDecision) int {
		if a.Class != b.Class {
			return strings.Compare(a.Class, b.Class)
		}
		return strings.Compare(a.Path, b.Path)
	})
	if dryRun {
		return rep, errs.ErrorOrNil()
	}
	for i := range rep.Decisions {
		d := &rep.Decisions[i]
		if !d.Delete {
			continue
		}
		if err := ctx.Err(); err != nil {
			errs = multierror.Append(errs, err)
			break
		}
		if err := removeRegular(d.Path); err != nil {
			d.Err = err
			errs = multierror.Append(errs, fmt.Errorf("retention: class %q: %w", d.Class, err))
			log.Warn("retention: cannot remove log file", "class", d.Class, "path", d.Path, "err", err)
			continue
		}
		d.Deleted = true
		log.Info("retention: removed log file", "class", d.Class, "path", d.Path, "reason", d.Reason)
	}
	return rep, errs.ErrorOrNil()
}

// decideFile examines one file of class c. An error other than "not exist"
// is also recorded in the decision, which then keeps the file.
func decideFile(c FileClass, nd *nameDate, rotated *regexp.Regexp, path string, now time.Time) (FileDecision, error) {
	d := FileDecision{Class: c.Name, Path: path}
	fi, err := os.Lstat(path)
	switch {
	case err != nil:
		d.Err, d.Reason = err, "cannot examine: kept"
		return d, err
	case fi.Mode()&fs.ModeSymlink != 0:
		d.Reason = "symbolic link: not followed, not removed"
		return d, nil
	case !fi.Mode().IsRegular():
		d.Reason = "not a regular file"
		return d, nil
	}
	base := filepath.Base(path)
	source := "mtime"
	d.Time = fi.ModTime()
	if nd != nil {
		if t, ok := nd.find(base); ok {
			d.Time, source = t, "name date"
		}
	}
	d.Age = now.Sub(d.Time)
	switch {
	case source == "mtime" && !rotated.MatchString(base):
		d.Reason = "live file (no rotation suffix): kept"
	case d.Age > c.MaxAge:
		d.Delete = true
		d.Reason = fmt.Sprintf("age %s > %s (%s)", fmtAge(d.Age), fmtAge(c.MaxAge), source)
	default:
		d.Reason = fmt.Sprintf("age %s <= %s (%s)", fmtAge(d.Age), fmtAge(c.MaxAge), source)
	}
	return d, nil
}

// removeRegular removes path if it is still a regular file (not replaced by
// a symbolic link or directory since it was examined).
func removeRegular(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return &fs.PathError{Op: "remove", Path: path, Err: errors.New("no longer a regular file")}
	}
	return os.Remove(path)
}

// fmtAge writes a duration in weeks, days and hours ("14w", "3d12h"), or
// Go's form below an hour.
func fmtAge(d time.Duration) string {
	if d < time.Hour && d > -time.Hour {
		return d.Round(time.Second).String()
	}
	neg := d < 0
	if neg {
		d = -d
	}
	w := d / Week
	d -= w * Week
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	s := ""
	if w > 0 {
		s += fmt.Sprintf("%dw", w)
	}
	if days > 0 {
		s += fmt.Sprintf("%dd", days)
	}
	if h > 0 || s == "" {
		s += fmt.Sprintf("%dh", h)
	}
	if neg {
		s = "-" + s
	}
	return s
}
