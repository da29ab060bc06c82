package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by ParseCondition's errors.
var ErrSyntax = errors.New("check: condition syntax")

// Condition is a test on a JSON document, parsed by ParseCondition.
type Condition struct {
	src   string
	path  []step
	len   bool   // len(path)
	op    string // "" (truthy), "==", "!=", "<", "<=", ">", ">="
	value any    // string, float64, bool or nil (JSON null)
}

type step struct {
	key   string
	index int // when key is "" and isIdx
	isIdx bool
}

// maxCondition bounds a condition's length: it comes from configuration.
const maxCondition = 1024

// ParseCondition parses one condition on a JSON document:
//
//	PATH                  the value exists and is not false, null, 0, "" or empty
//	PATH OP VALUE         compare; OP is ==, !=, <, <=, > or >=
//	len(PATH) OP NUMBER   length of a string, array or object
//
// PATH is a dotted path with array indexes and bracketed quoted keys:
// status.indicator, components[0].status, ["odd key"].x; a leading "$." is
// allowed. VALUE is a JSON string ("none"), number, true, false or null; an
// unquoted word (UP) is a string too, as in Gatus, unless it starts like a
// number. == and != compare type
// and value; the order operators compare numbers only. Examples:
//
//	status.indicator == "none"
//	components[0].status == operational
//	len(incidents) == 0
//	page.updated_at
func ParseCondition(s string) (Condition, error) {
	c := Condition{src: s}
	if len(s) > maxCondition {
		return c, fmt.Errorf("%w: longer than %d bytes", ErrSyntax, maxCondition)
	}
	p := &parser{s: s}
	p.space()
	if strings.HasPrefix(p.s[p.i:], "len(") {
		p.i += len("len(")
		c.len = true
	}
	path, err := p.path()
	if err != nil {
		return c, err
	}
	c.path = path
	if c.len {
		p.space()
		if !p.eat(")") {
			return c, p.errorf("missing ) after len(")
		}
	}
	p.space()
	if p.done() {
		if c.len {
			return c, p.errorf("len() needs a comparison")
		}
		return c, nil
	}
	for _, op := range []string{"==", "!=", "<=", ">=", "<", ">"} {
		if p.eat(op) {
			c.op = op
			break
		}
	}
	if c.op == "" {
		return c, p.errorf("want an operator (== != < <= > >=)")
	}
	p.space()
	v, err := p.value()
	if err != nil {
		return c, err
	}
	c.value = v
	p.space()
	if !p.done() {
		return c, p.errorf("unexpected %q", p.s[p.i:])
	}
	if _, isNum := v.(float64); !isNum && (c.len || c.op != "==" && c.op != "!=") {
		return c, p.errorf("%s needs a number", c.op)
	}
	return c, nil
}

// MustParseCondition is ParseCondition for conditions known at compile
// time (tests, examples); it returns the zero Condition, which never holds,
// on a syntax error rather than panicking.
func MustParseCondition(s string) Condition {
	c, err := ParseCondition(s)
	if err != nil {
		return Condition{src: s, op: "invalid"}
	}
	return c
}

// String returns the condition as written.
func (c Condition) String() string { return c.src }

// Eval evaluates the condition on a JSON document. ok reports whether it
// holds; why says, when it does not, what was found instead. An error
// means the document is not JSON.
func (c Condition) Eval(doc []byte) (ok bool, why string, err error) {
	v, err := decodeJSON(doc)
	if err != nil {
		return false, "", err
	}
	ok, why = c.Holds(v)
	return ok, why, nil
}

// Holds evaluates the condition on a decoded JSON value (as decoded by
// encoding/json, with or without UseNumber).
func (c Condition) Holds(doc any) (bool, string) {
	if c.op == "invalid" {
		return false, "invalid condition " + strconv.Quote(c.src)
	}
	v, found := lookup(doc, c.path)
	where := pathString(c.path)
	if !found {
		return false, where + " not found"
	}
	if c.len {
		n, isColl := length(v)
		if !isColl {
			return false, where + " has no length"
		}
		if !compare(float64(n), c.op, c.value.(float64)) {
			return false, fmt.Sprintf("len(%s) is %d", where, n)
		}
		return true, ""
	}
	if c.op == "" {
		if !truthy(v) {
			return false, where + " is " + show(v)
		}
		return true, ""
	}
	got := normalise(v)
	switch c.op {
	case "==", "!=":
		if (got == c.value) != (c.op == "==") {
			return false, where + " is " + show(v)
		}
		return true, ""
	}
	x, isNum := got.(float64)
	if !isNum {
		return false, where + " is " + show(v) + ", not a number"
	}
	if !compare(x, c.op, c.value.(float64)) {
		return false, where + " is " + show(v)
	}
	return true, ""
}

// decodeJSON decodes one JSON value, keeping numbers exact.
func decodeJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("body is empty, want JSON")
		}
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	return v, nil
}

func compare(x float64, op string, y float64) bool {
	switch op {
	case "==":
		return x == y
	case "!=":
		return x != y
	case "<":
		return x < y
	case "<=":
		return x <= y
	case ">":
		return x > y
	case ">=":
		return x >= y
	}
	return false
}

func lookup(v any, path []step) (any, bool) {
	for _, s := range path {
		switch t := v.(type) {
		case map[string]any:
			if s.isIdx {
				return nil, false
			}
			var found bool
			if v, found = t[s.key]; !found {
				return nil, false
			}
		case []any:
			if !s.isIdx || s.index >= len(t) {
				return nil, false
			}
			v = t[s.index]
		default:
			return nil, false
		}
	}
	return v, true
}

func length(v any) (int, bool) {
	switch t := v.(type) {
	case string:
		return len(t), true
	case []any:
		return len(t), true
	case map[string]any:
		return len(t), true
	}
	return 0, false
}

// normalise maps decoded JSON scalars onto the literal types.
func normalise(v any) any {
	switch t := v.(type) {
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return string(t)
		}
		return f
	case float64, string, bool, nil:
		return t
	}
	return struct{}{} // objects and arrays equal no literal
}

func truthy(v any) bool {
	switch t := normalise(v).(type) {
	case nil:
		return false
	case bool:
		return t
	case float64:
		return t != 0
	case string:
		return t != ""
	}
	n, _ := length(v)
	return n > 0
}

// show renders a found value for a message, shortened.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	if len(b) > 80 {
		return printable(string(b[:77]), 77) + "..."
	}
	return printable(string(b), 80)
}

func pathString(path []step) string {
	var b strings.Builder
	for i, s := range path {
		switch {
		case s.isIdx:
			fmt.Fprintf(&b, "[%d]", s.index)
		case isIdent(s.key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		default:
			b.WriteString("[" + strconv.Quote(s.key) + "]")
		}
	}
	if b.Len() == 0 {
		return "$"
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !identByte(s[i]) {
			return false
		}
	}
	return true
}

func identByte(c byte) bool {
	return c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

type parser struct {
	s string
	i int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d in %q", ErrSyntax, fmt.Sprintf(format, args...), p.i, p.s)
}

func (p *parser) done() bool { return p.i >= len(p.s) }

func (p *parser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *parser) eat(tok string) bool {
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

func (p *parser) ident() string {
	start := p.i
	for p.i < len(p.s) && identByte(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// maxPath bounds a path's depth.
const maxPath = 32

func (p *parser) path() ([]step, error) {
	rooted := p.eat("$")
	var path []step
	for {
		if len(path) >= maxPath {
			return nil, p.errorf("path deeper than %d", maxPath)
		}
		switch {
		case p.eat("["):
			if !p.done() && p.s[p.i] == '"' {
				key, err := p.quoted()
				if err != nil {
					return nil, err
				}
				path = append(path, step{key: key})
			} else {
				start := p.i
				for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
					p.i++
				}
				if p.i == start || p.i-start > 9 {
					return nil, p.errorf("want an index or a quoted key in [ ]")
				}
				n, _ := strconv.Atoi(p.s[start:p.i])
				path = append(path, step{index: n, isIdx: true})
			}
			if !p.eat("]") {
				return nil, p.errorf("missing ]")
			}
		case p.eat("."):
			key := p.ident()
			if key == "" {
				return nil, p.errorf("want a key after .")
			}
			path = append(path, step{key: key})
		case len(path) == 0 && !rooted && !p.done() && identByte(p.s[p.i]):
			path = append(path, step{key: p.ident()})
		default:
			if len(path) == 0 && !rooted {
				return nil, p.errorf("want a path")
			}
			return path, nil
		}
	}
}

func (p *parser) quoted() (string, error) {
	// Find the closing quote, honouring backslash escapes.
	j := p.i + 1
	for j < len(p.s) && p.s[j] != '"' {
		if p.s[j] == '\\' {
			j++
		}
		j++
	}
	if j >= len(p.s) {
		return "", p.errorf("unterminated string")
	}
	var v string
	if err := json.Unmarshal([]byte(p.s[p.i:j+1]), &v); err != nil {
		return "", p.errorf("bad string: %v", err)
	}
	p.i = j + 1
	return v, nil
}

func (p *parser) value() (any, error) {
	if p.done() {
		return nil, p.errorf("want a value")
	}
	if p.s[p.i] == '"' {
		return p.quoted()
	}
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != ' ' && p.s[p.i] != '\t' {
		p.i++
	}
	word := p.s[start:p.i]
	switch word {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	if f, err := strconv.ParseFloat(word, 64); err == nil && json.Valid([]byte(word)) {
		return f, nil
	}
	if !isIdent(word) || strings.ContainsAny(word[:1], "0123456789-") {
		return nil, p.errorf("want a value, got %q (quote strings)", word)
	}
	return word, nil
}
