package alerting

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MatchOp is how a Matcher compares a label value.
type MatchOp string

// The matcher operators, as in Alertmanager.
const (
	MatchEqual     MatchOp = "="
	MatchNotEqual  MatchOp = "!="
	MatchRegexp    MatchOp = "=~"
	MatchNotRegexp MatchOp = "!~"
)

// ErrBadMatcher is returned (wrapped) for a matcher that cannot be parsed or
// compiled.
var ErrBadMatcher = errors.New("alerting: bad matcher")

// Matcher tests one label. A missing label has the empty value, so
// `team!=ops` matches alerts without a team label. Regular expressions are
// anchored: `host=~web.*` matches "web1" but not "aweb1".
type Matcher struct {
	Name  string
	Op    MatchOp
	Value string
	re    *regexp.Regexp
}

// NewMatcher returns a Matcher, compiling Value for the regexp operators.
func NewMatcher(name string, op MatchOp, value string) (Matcher, error) {
	m := Matcher{Name: name, Op: op, Value: value}
	if name == "" {
		return Matcher{}, fmt.Errorf("%w: empty label name", ErrBadMatcher)
	}
	for _, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return Matcher{}, fmt.Errorf("%w: label name %q: only letters, digits and _", ErrBadMatcher, name)
		}
	}
	switch op {
	case MatchEqual, MatchNotEqual:
	case MatchRegexp, MatchNotRegexp:
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return Matcher{}, fmt.Errorf("%w %s%s%q: %v", ErrBadMatcher, name, op, value, err)
		}
		m.re = re
	default:
		return Matcher{}, fmt.Errorf("%w: unknown operator %q (want =, !=, =~ or !~)", ErrBadMatcher, op)
	}
	return m, nil
}

// ParseMatcher reads `name=value`, `name!=value`, `name=~regexp` or
// `name!~regexp`; the value may be double-quoted (Go syntax).
func ParseMatcher(s string) (Matcher, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, "=!")
	if i <= 0 {
		return Matcher{}, fmt.Errorf("%w %q: want name=value, name!=value, name=~re or name!~re", ErrBadMatcher, s)
	}
	name := strings.TrimSpace(s[:i])
	rest := s[i:]
	var op MatchOp
	switch {
	case strings.HasPrefix(rest, "=~"):
		op = MatchRegexp
	case strings.HasPrefix(rest, "!~"):
		op = MatchNotRegexp
	case strings.HasPrefix(rest, "!="):
		op = MatchNotEqual
	case strings.HasPrefix(rest, "="):
		op = MatchEqual
	default:
		return Matcher{}, fmt.Errorf("%w %q: want name=value, name!=value, name=~re or name!~re", ErrBadMatcher, s)
	}
	value := strings.TrimSpace(rest[len(op):])
	if strings.HasPrefix(value, `"`) {
		var err error
		if value, err = strconv.Unquote(value); err != nil {
			return Matcher{}, fmt.Errorf("%w %q: %v", ErrBadMatcher, s, err)
		}
	}
	return NewMatcher(name, op, value)
}

// Matches reports whether the labels satisfy m.
func (m Matcher) Matches(l Labels) bool {
	v := l[m.Name]
	switch m.Op {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re != nil && m.re.MatchString(v)
	case MatchNotRegexp:
		return m.re == nil || !m.re.MatchString(v)
	}
	return false
}

// String formats m the way ParseMatcher reads it.
func (m Matcher) String() string { return fmt.Sprintf("%s%s%q", m.Name, m.Op, m.Value) }

// Matchers is a conjunction: every matcher must match. An empty list matches
// every alert.
type Matchers []Matcher

// Matches reports whether every matcher matches l.
func (ms Matchers) Matches(l Labels) bool {
	for _, m := range ms {
		if !m.Matches(l) {
			return false
		}
	}
	return true
}

// ParseMatchers reads a comma-separated list of matchers, optionally in
// braces: `{severity="critical", host=~"db.*"}`. Commas inside quoted values
// are part of the value.
func ParseMatchers(s string) (Matchers, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	var out Matchers
	var cur strings.Builder
	inQuote, esc := false, false
	flush := func() error {
		t := strings.TrimSpace(cur.String())
		cur.Reset()
		if t == "" {
			return nil
		}
		m, err := ParseMatcher(t)
		if err != nil {
			return err
		}
		out = append(out, m)
		return nil
	}
	for _, r := range s {
		switch {
		case esc:
			esc = false
		case r == '\\' && inQuote:
			esc = true
		case r == '"':
			inQuote = !inQuote
		case r == ',' && !inQuote:
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		cur.WriteRune(r)
	}
	if inQuote {
		return nil, fmt.Errorf("%w %q: unterminated quote", ErrBadMatcher, s)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// String formats ms as `{a="1", b=~"x"}`.
func (ms Matchers) String() string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
