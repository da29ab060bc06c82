package esrule

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Doc is one log event: a document's _source as decoded from JSON (nested
// maps), or a synthetic event made from a count or bucket.
type Doc map[string]any

// Lookup returns the value of a field. A dotted name ("source.ip") is found
// as a literal key first, then by walking nested objects, as Elasticsearch
// resolves it.
func (d Doc) Lookup(field string) (any, bool) {
	if v, ok := d[field]; ok {
		return v, true
	}
	head, rest, ok := strings.Cut(field, ".")
	if !ok {
		return nil, false
	}
	// Try every split point: "a.b.c" may be {"a.b": {"c": ..}} or {"a": {"b.c": ..}}.
	for {
		if sub, isMap := d[head].(map[string]any); isMap {
			if v, found := Doc(sub).Lookup(rest); found {
				return v, true
			}
		}
		var next string
		next, rest, ok = strings.Cut(rest, ".")
		if !ok {
			return nil, false
		}
		head += "." + next
	}
}

// text renders a field value the way it appears in keys and alerts.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []any, map[string]any:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}

// missingKey is the query key value of events that lack the field.
const missingKey = "_missing"

// key returns the query key value of d: "" without a query key, the field
// values joined by ", " for compound keys, missingKey when a field is
// absent.
func key(fields []string, d Doc) string {
	if len(fields) == 0 {
		return ""
	}
	parts := make([]string, len(fields))
	for i, f := range fields {
		v, ok := d.Lookup(f)
		if !ok || v == nil {
			return missingKey
		}
		parts[i] = text(v)
	}
	return strings.Join(parts, ", ")
}

// ParseTime reads an event timestamp: a time.Time, an RFC 3339 string (with
// or without zone; no zone means UTC), or a number of epoch milliseconds.
func ParseTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("timestamp %q is not RFC 3339", x)
	case float64:
		return time.UnixMilli(int64(x)).UTC(), nil
	case int64:
		return time.UnixMilli(x).UTC(), nil
	case int:
		return time.UnixMilli(int64(x)).UTC(), nil
	case json.Number:
		n, err := x.Int64()
		if err != nil {
			return time.Time{}, fmt.Errorf("timestamp %s is not epoch milliseconds", x)
		}
		return time.UnixMilli(n).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("timestamp of type %T", v)
}

// sortDocs orders synthetic documents by their time.Time timestamps.
func sortDocs(docs []Doc, field string) {
	slices.SortStableFunc(docs, func(a, b Doc) int {
		ta, _ := a[field].(time.Time)
		tb, _ := b[field].(time.Time)
		return ta.Compare(tb)
	})
}
