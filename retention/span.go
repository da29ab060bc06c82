package retention

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Span is a length of calendar time: years, months and days are counted on
// the calendar (a month back from 31 March is 3 March, as with
// time.Time.AddDate), Clock is exact elapsed time added on top. A Span is what
// the "within" rules measure back from the newest item.
//
// The zero Span is "not set".
type Span struct {
	Years, Months, Days int
	Clock               time.Duration
}

// Days returns a Span of n calendar days.
func Days(n int) Span { return Span{Days: n} }

// Weeks returns a Span of 7*n calendar days.
func Weeks(n int) Span { return Span{Days: 7 * n} }

// Months returns a Span of n calendar months.
func Months(n int) Span { return Span{Months: n} }

// Years returns a Span of n calendar years.
func Years(n int) Span { return Span{Years: n} }

// Hours returns a Span of n hours of elapsed time.
func Hours(n int) Span { return Span{Clock: time.Duration(n) * time.Hour} }

// IsZero reports whether s is the zero Span (not set).
func (s Span) IsZero() bool { return s == Span{} }

func (s Span) negative() bool {
	return s.Years < 0 || s.Months < 0 || s.Days < 0 || s.Clock < 0
}

// Before returns the instant s before t: t's calendar date (in t's location)
// moved back by Years, Months and Days, then Clock earlier.
func (s Span) Before(t time.Time) time.Time {
	return t.AddDate(-s.Years, -s.Months, -s.Days).Add(-s.Clock)
}

// String formats s the way ParseSpan reads it, e.g. "1y2m3d4h", "90d",
// "36h30m0s"; the zero Span is "0d". (A Span with both calendar parts and a
// Clock that is not whole hours prints as "1y1h30m0s", which ParseSpan does
// not read.)
func (s Span) String() string {
	if s.IsZero() {
		return "0d"
	}
	var b strings.Builder
	if s.Years != 0 {
		fmt.Fprintf(&b, "%dy", s.Years)
	}
	if s.Months != 0 {
		fmt.Fprintf(&b, "%dm", s.Months)
	}
	if s.Days != 0 {
		fmt.Fprintf(&b, "%dd", s.Days)
	}
	if s.Clock != 0 {
		if s.Clock%time.Hour == 0 {
			fmt.Fprintf(&b, "%dh", s.Clock/time.Hour)
		} else {
			b.WriteString(s.Clock.String())
		}
	}
	return b.String()
}

// ErrBadSpan is returned (wrapped) by ParseSpan for text that is not a span.
var ErrBadSpan = errors.New("retention: bad span")

// ParseSpan reads a Span written as numbers with units, each unit at most
// once: y (calendar years), m (calendar months, as in restic's
// --keep-within), w (weeks of 7 days), d (days), h (hours). Examples: "2d",
// "13m", "1y2m3d4h", "8w". Text with seconds, or hours followed by minutes
// ("90s", "36h30m"), is read as a Go duration (time.ParseDuration) instead.
// Zero, negative, empty and over-10000-year spans are errors matching
// ErrBadSpan: a rule that is not set is left out instead.
func ParseSpan(text string) (Span, error) {
	orig := text
	bad := func(why string) (Span, error) {
		return Span{}, fmt.Errorf("%w %q: %s", ErrBadSpan, orig, why)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return bad("empty")
	}
	// A plain Go duration with minutes or seconds ("90m" would be months here,
	// so only forms containing "s" or "h...m" are read as Go durations).
	if strings.ContainsAny(text, "s") || strings.Contains(text, "µ") || (strings.Contains(text, "h") && strings.HasSuffix(text, "m")) {
		d, err := time.ParseDuration(text)
		if err != nil {
			return bad(err.Error())
		}
		if d <= 0 {
			return bad("not positive")
		}
		return Span{Clock: d}, nil
	}
	var s Span
	order := "ymwdh"
	seen := [5]bool{}
	for text != "" {
		i := 0
		for i < len(text) && text[i] >= '0' && text[i] <= '9' {
			i++
		}
		if i == 0 {
			return bad("expected a number")
		}
		if i > 9 {
			return bad("number too large")
		}
		n, err := strconv.Atoi(text[:i])
		if err != nil {
			return bad(err.Error())
		}
		if i == len(text) {
			return bad("number without a unit (y, m, w, d or h)")
		}
		unit := text[i]
		k := strings.IndexByte(order, unit)
		if k < 0 {
			return bad(fmt.Sprintf("unknown unit %q (want y, m, w, d or h)", unit))
		}
		if seen[k] {
			return bad(fmt.Sprintf("unit %q given twice", unit))
		}
		seen[k] = true
		switch unit {
		case 'y':
			s.Years = n
		case 'm':
			s.Months = n
		case 'w':
			s.Days += 7 * n
		case 'd':
			s.Days += n
		case 'h':
			if n > 1_000_000 {
				return bad("too many hours")
			}
			s.Clock = time.Duration(n) * time.Hour
		}
		text = text[i+1:]
	}
	if s.IsZero() {
		return bad("zero")
	}
	// Nothing is kept for ten thousand years; the bound also keeps String's
	// output (weeks print as days) readable by ParseSpan.
	if s.Years > maxSpanYears || s.Months > 12*maxSpanYears || s.Days > 366*maxSpanYears {
		return bad("longer than 10000 years")
	}
	return s, nil
}

// maxSpanYears bounds every part of a parsed Span.
const maxSpanYears = 10000
