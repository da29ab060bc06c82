package rsync

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// entry is one line of `rsync --list-only --no-human-readable -8` output:
//
//	-rw-------          7 2026/11/22 14:25:01 a/b/obj
type entry struct {
	mode    string // "-rw-------", "drwx------", "lrwxrwxrwx", ...
	size    int64
	modTime time.Time
	name    string // relative to the listed directory; "." for itself
}

func (e entry) regular() bool { return strings.HasPrefix(e.mode, "-") }
func (e entry) dir() bool     { return strings.HasPrefix(e.mode, "d") }

// parseListing parses rsync's listing. Times are in loc (rsync prints the
// client's local time). Blank lines are skipped; any other line that does
// not look like an entry is an error, so that a changed output format is
// noticed instead of silently listing nothing.
func parseListing(out []byte, loc *time.Location) ([]entry, error) {
	var entries []entry
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		e, err := parseEntry(line, loc)
		if err != nil {
			return nil, fmt.Errorf("rsync listing line %q: %w", truncate(line, 200), err)
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("rsync listing: %w", err)
	}
	return entries, nil
}

func parseEntry(line string, loc *time.Location) (entry, error) {
	var e entry
	rest := line
	field := func() string {
		rest = strings.TrimLeft(rest, " ")
		f, r, _ := strings.Cut(rest, " ")
		rest = r
		return f
	}
	e.mode = field()
	if len(e.mode) != 10 || !strings.ContainsRune("-dlpscb", rune(e.mode[0])) {
		return e, fmt.Errorf("bad mode %q", e.mode)
	}
	sizeField := field()
	size, err := strconv.ParseInt(strings.NewReplacer(",", "", ".", "").Replace(sizeField), 10, 64)
	if err != nil || size < 0 {
		return e, fmt.Errorf("bad size %q", sizeField)
	}
	e.size = size
	date, clock := field(), field()
	e.modTime, err = time.ParseInLocation("2006/01/02 15:04:05", date+" "+clock, loc)
	if err != nil {
		return e, fmt.Errorf("bad time %q: %w", date+" "+clock, err)
	}
	// The name is everything after the single space that follows the time;
	// it may itself contain spaces.
	if rest == "" {
		return e, fmt.Errorf("no name")
	}
	e.name = rest
	if e.mode[0] == 'l' {
		e.name, _, _ = strings.Cut(e.name, " -> ")
	}
	if e.name == "" {
		return e, fmt.Errorf("no name")
	}
	return e, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
