package retention

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// nameDate finds a date in a name: the last match of a regular expression,
// parsed with a time layout.
type nameDate struct {
	layout string
	re     *regexp.Regexp
	group  bool // use the first submatch instead of the whole match
	loc    *time.Location
}

// newNameDate builds a nameDate from a numeric Go time layout ("2006.01.02",
// "20060102", "2006-01-02T15") and an optional regular expression whose
// first group (or whole match, without a group) is the date text. Without a
// regular expression, one is derived from the layout: each digit of the
// layout stands for one digit.
func newNameDate(layout, expr string, loc *time.Location) (*nameDate, error) {
	if layout == "" {
		return nil, nil
	}
	if loc == nil {
		loc = time.UTC
	}
	if !strings.Contains(layout, "2006") {
		return nil, fmt.Errorf("date layout %q has no four-digit year (2006)", layout)
	}
	nd := &nameDate{layout: layout, loc: loc}
	if expr != "" {
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("date pattern %q: %w", expr, err)
		}
		nd.re, nd.group = re, re.NumSubexp() > 0
		return nd, nil
	}
	var b strings.Builder
	for _, r := range layout {
		switch {
		case r >= '0' && r <= '9':
			b.WriteString(`\d`)
		case r < 0x80 && !isLetter(r):
			b.WriteString(regexp.QuoteMeta(string(r)))
		default:
			return nil, fmt.Errorf("date layout %q: only digits and punctuation are supported without a date pattern", layout)
		}
	}
	// A date must not be the middle of a longer run of digits.
	re, err := regexp.Compile(`(?:^|\D)(` + b.String() + `)(?:\D|$)`)
	if err != nil {
		return nil, fmt.Errorf("date layout %q: %w", layout, err)
	}
	nd.re, nd.group = re, true
	return nd, nil
}

func isLetter(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }

// find returns the date in name: the last match that parses.
func (nd *nameDate) find(name string) (time.Time, bool) {
	ms := nd.re.FindAllStringSubmatchIndex(name, -1)
	for i := len(ms) - 1; i >= 0; i-- {
		m := ms[i]
		lo, hi := m[0], m[1]
		if nd.group && len(m) >= 4 && m[2] >= 0 {
			lo, hi = m[2], m[3]
		}
		if t, err := time.ParseInLocation(nd.layout, name[lo:hi], nd.loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
