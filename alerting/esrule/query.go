package esrule

import (
	"fmt"
	"strings"
	"time"
)

// Query bodies, built without I/O so that golden files pin them.

// tsFormat is how window bounds are written into range queries.
const tsFormat = "2006-01-02T15:04:05.000Z07:00"

// query is the rule's filter over (start, end]: ElastAlert's range
// (gt start, lte end) ANDed with the rule's filters and, for blacklist and
// whitelist rules, the list pushed down as a query_string.
func (r Rule) query(start, end time.Time, inclusiveStart bool) map[string]any {
	bounds := map[string]any{"lte": end.UTC().Format(tsFormat), "format": "strict_date_optional_time"}
	if inclusiveStart {
		bounds["gte"] = start.UTC().Format(tsFormat)
	} else {
		bounds["gt"] = start.UTC().Format(tsFormat)
	}
	filters := []any{map[string]any{"range": map[string]any{r.TimestampField: bounds}}}
	for _, f := range r.Filter {
		filters = append(filters, f)
	}
	if q := r.listQuery(); q != "" {
		filters = append(filters, map[string]any{"query_string": map[string]any{"query": q}})
	}
	return map[string]any{"bool": map[string]any{"filter": filters}}
}

// listQuery is ElastAlert's filter_by_list: blacklist → `k:"a" OR k:"b"`,
// whitelist → `NOT k:"a" AND NOT k:"b"`. Whitelist rules that alert on
// missing values (ignore_null false) must see documents without the field,
// so their list is not pushed down.
func (r Rule) listQuery() string {
	if len(r.CompareKey) != 1 || len(r.List) == 0 {
		return ""
	}
	field := escapeField(r.CompareKey[0])
	parts := make([]string, len(r.List))
	switch {
	case r.Type == Blacklist:
		for i, v := range r.List {
			parts[i] = field + ":" + quote(v)
		}
		return strings.Join(parts, " OR ")
	case r.Type == Whitelist && r.IgnoreNull:
		for i, v := range r.List {
			parts[i] = "NOT " + field + ":" + quote(v)
		}
		return strings.Join(parts, " AND ")
	}
	return ""
}

func quote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// escapeField escapes query_string's reserved characters in a field name
// (dots separate objects and stay as they are).
func escapeField(f string) string {
	var b strings.Builder
	for _, c := range f {
		if strings.ContainsRune(`+-=&|><!(){}[]^"~*?:\/ `, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// docsBody searches documents in time order.
func (r Rule) docsBody(start, end time.Time, size int) map[string]any {
	return map[string]any{
		"query": r.query(start, end, false),
		"sort":  []any{map[string]any{r.TimestampField: map[string]any{"order": "asc"}}},
		"size":  size,
	}
}

// countBody is the _count API's body.
func (r Rule) countBody(start, end time.Time) map[string]any {
	return map[string]any{"query": r.query(start, end, false)}
}

// termsBody counts events per query key value (size 0: buckets only).
func (r Rule) termsBody(start, end time.Time) map[string]any {
	return map[string]any{
		"size":             0,
		"track_total_hits": false,
		"query":            r.query(start, end, false),
		"aggs": map[string]any{"counts": map[string]any{"terms": map[string]any{
			"field": r.QueryKey[0], "size": r.TermsSize, "min_doc_count": 1,
		}}},
	}
}

// metricBody computes the metric, per query key value when there is one.
func (r Rule) metricBody(start, end time.Time) map[string]any {
	metric := map[string]any{"metric": map[string]any{r.MetricAggType: map[string]any{"field": r.MetricAggKey}}}
	aggs := metric
	if len(r.QueryKey) == 1 {
		aggs = map[string]any{"keys": map[string]any{
			"terms": map[string]any{"field": r.QueryKey[0], "size": r.TermsSize, "min_doc_count": 1},
			"aggs":  metric,
		}}
	}
	return map[string]any{"size": 0, "track_total_hits": false, "query": r.query(start, end, false), "aggs": aggs}
}

// maxValues bounds the distinct values one cardinality segment returns.
const maxValues = 10000

// cardinalityBody lists the distinct values of the cardinality field with
// when each was last seen, per query key value when there is one.
func (r Rule) cardinalityBody(start, end time.Time) map[string]any {
	values := map[string]any{"values": map[string]any{
		"terms": map[string]any{"field": r.CardinalityField, "size": maxValues},
		"aggs":  map[string]any{"last": map[string]any{"max": map[string]any{"field": r.TimestampField}}},
	}}
	aggs := values
	if len(r.QueryKey) == 1 {
		aggs = map[string]any{"keys": map[string]any{
			"terms": map[string]any{"field": r.QueryKey[0], "size": r.TermsSize, "min_doc_count": 1},
			"aggs":  values,
		}}
	}
	return map[string]any{"size": 0, "track_total_hits": false, "query": r.query(start, end, false), "aggs": aggs}
}

// seedSize bounds the values of one new_term history step (Elasticsearch's
// default search.max_buckets).
const seedSize = 65536

// seedBody lists the values of a new_term field in [start, end).
func (r Rule) seedBody(field string, start, end time.Time) map[string]any {
	q := r.query(start, end, true)
	bounds := q["bool"].(map[string]any)["filter"].([]any)[0].(map[string]any)["range"].(map[string]any)[r.TimestampField].(map[string]any)
	delete(bounds, "lte")
	bounds["lt"] = end.UTC().Format(tsFormat)
	return map[string]any{
		"size": 0, "track_total_hits": false, "query": q,
		"aggs": map[string]any{"values": map[string]any{"terms": map[string]any{"field": r.termsField(field), "size": seedSize}}},
	}
}

// termsField adds ElastAlert's ".keyword" postfix to new_term fields when
// the rule asks for it (use_keyword_postfix).
func (r Rule) termsField(f string) string {
	if r.KeywordPostfix && !strings.HasSuffix(f, ".keyword") && !strings.HasSuffix(f, ".raw") {
		return f + ".keyword"
	}
	return f
}

// segmentsBody counts events in every run_every segment of (start, end]
// at once: a date_histogram whose buckets are the segments (fixed interval
// size, offset so that each bucket [k, k+size) in milliseconds is the
// segment (k-1ms, k-1ms+size], as the range queries of one segment are),
// with the terms of the query key inside each bucket for terms rules.
// Empty segments are returned too (extended bounds), so flatline sees them.
func (r Rule) segmentsBody(start, end time.Time, size time.Duration) map[string]any {
	sz := size.Milliseconds()
	s0 := start.UnixMilli()
	offset := (s0 + 1) % sz
	if offset < 0 {
		offset += sz
	}
	hist := map[string]any{
		"field":           r.TimestampField,
		"fixed_interval":  fmt.Sprintf("%dms", sz),
		"offset":          fmt.Sprintf("+%dms", offset),
		"min_doc_count":   0,
		"extended_bounds": map[string]any{"min": s0 + 1, "max": end.UnixMilli()},
	}
	seg := map[string]any{"date_histogram": hist}
	if r.Mode() == Terms {
		seg["aggs"] = map[string]any{"counts": map[string]any{"terms": map[string]any{
			"field": r.QueryKey[0], "size": r.TermsSize, "min_doc_count": 1,
		}}}
	}
	return map[string]any{
		"size": 0, "track_total_hits": false, "query": r.query(start, end, false),
		"aggs": map[string]any{"segments": seg},
	}
}
