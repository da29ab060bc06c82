package esrule

import (
	"errors"
	"fmt"
	"time"
)

// Type names a rule type, spelled as in ElastAlert rule files.
type Type string

// The supported rule types.
const (
	Any               Type = "any"
	Blacklist         Type = "blacklist"
	Whitelist         Type = "whitelist"
	Change            Type = "change"
	Frequency         Type = "frequency"
	Spike             Type = "spike"
	Flatline          Type = "flatline"
	Cardinality       Type = "cardinality"
	NewTerm           Type = "new_term"
	MetricAggregation Type = "metric_aggregation"
)

// Mode is how a rule's data is fetched from Elasticsearch.
type Mode string

// The query modes (ElastAlert's run_query).
const (
	// Documents pulls the matching documents (sorted by time).
	Documents Mode = "documents"
	// Count asks the _count API once per run_every segment.
	Count Mode = "count"
	// Terms asks a size:0 terms aggregation on the query key once per
	// run_every segment.
	Terms Mode = "terms"
	// Aggregation asks a size:0 search with the rule's own aggregation
	// (metric_aggregation's metric, cardinality's values) per segment.
	Aggregation Mode = "aggregation"
)

// ErrInvalid is wrapped by every error about a rule's configuration.
var ErrInvalid = errors.New("esrule: invalid rule")

// Rule is one log rule. Fields mirror ElastAlert's rule options (named in
// each comment); zero values are the defaults noted. Load fills a Rule from
// an ElastAlert YAML file and applies ElastAlert's defaults.
type Rule struct {
	Name string // name (required, unique: it keys resume points and realert)
	Type Type   // type
	// Index is the index expression searched (index): wildcards and comma
	// separated lists are passed to Elasticsearch as they are.
	Index string
	// TimestampField is the event time field (timestamp_field), default
	// "@timestamp".
	TimestampField string
	// Filter is ANDed Elasticsearch query DSL (filter), e.g.
	// {"term": {"event.outcome": "failure"}} or {"query_string": {"query": "..."}}.
	Filter []map[string]any
	// QueryKey partitions counting, matches and realert (query_key); several
	// fields form a compound key whose value is the values joined by ", ".
	QueryKey []string

	Timeframe  time.Duration // timeframe
	BufferTime time.Duration // buffer_time: look-back of document queries, metric calc window
	RunEvery   time.Duration // run_every: how often the rule runs; count/terms segment size
	// Realert suppresses further alerts for the same rule and query key
	// value for this long after one was sent (realert). Zero means no
	// suppression; Load applies ElastAlert's default of one minute.
	Realert time.Duration
	// ExponentialRealert, when set, doubles Realert for alerts that keep
	// coming, up to this cap (exponential_realert).
	ExponentialRealert time.Duration

	// UseCountQuery and UseTermsQuery choose ElastAlert's count and terms
	// modes (use_count_query, use_terms_query); TermsSize bounds the terms
	// buckets (terms_size, default 50).
	UseCountQuery, UseTermsQuery bool
	TermsSize                    int
	// UseDocuments forces document pulling for frequency, spike and flatline
	// rules, whose counting is otherwise pushed to Elasticsearch (Load sets
	// it when a file says use_count_query: false or use_terms_query: false).
	UseDocuments bool

	NumEvents int // frequency: num_events (inclusive)

	Threshold  int  // flatline: threshold (alert when count < threshold)
	ForgetKeys bool // flatline: forget_keys

	SpikeHeight    float64 // spike: spike_height
	SpikeType      string  // spike: spike_type "up", "down" or "both"
	ThresholdRef   float64 // spike: threshold_ref
	ThresholdCur   float64 // spike: threshold_cur
	AlertOnNewData bool    // spike: alert_on_new_data

	// CompareKey is the compared field(s) (compare_key) of blacklist,
	// whitelist (one field) and change (one or more).
	CompareKey []string
	List       []string // blacklist / whitelist values
	IgnoreNull bool     // whitelist, change: ignore_null

	CardinalityField string // cardinality: cardinality_field
	MaxCardinality   *int   // cardinality: max_cardinality
	MinCardinality   *int   // cardinality: min_cardinality

	Fields              []string      // new_term: fields (default: query_key)
	TermsWindowSize     time.Duration // new_term: terms_window_size, default 30 days
	WindowStepSize      time.Duration // new_term: window_step_size, default 1 day
	AlertOnMissingField bool          // new_term: alert_on_missing_field
	// KeywordPostfix adds ".keyword" to new_term fields in terms
	// aggregations (use_keyword_postfix; Load defaults it to true as
	// ElastAlert does, the Go zero value is false).
	KeywordPostfix bool

	MetricAggKey  string   // metric_aggregation: metric_agg_key
	MetricAggType string   // metric_aggregation: min, max, avg, sum, cardinality, value_count
	MaxThreshold  *float64 // metric_aggregation: max_threshold (exclusive)
	MinThreshold  *float64 // metric_aggregation: min_threshold (exclusive)
}

func invalid(rule, field, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s: %s", ErrInvalid, rule, field, fmt.Sprintf(format, args...))
}

// withDefaults returns a copy with documented defaults applied.
func (r Rule) withDefaults() Rule {
	if r.TimestampField == "" {
		r.TimestampField = "@timestamp"
	}
	if r.RunEvery <= 0 {
		r.RunEvery = time.Minute
	}
	if r.BufferTime <= 0 {
		r.BufferTime = 15 * time.Minute
	}
	if r.TermsSize <= 0 {
		r.TermsSize = 50
	}
	if r.Type == NewTerm {
		if len(r.Fields) == 0 {
			r.Fields = r.QueryKey
		}
		if r.TermsWindowSize <= 0 {
			r.TermsWindowSize = 30 * 24 * time.Hour
		}
		if r.WindowStepSize <= 0 {
			r.WindowStepSize = 24 * time.Hour
		}
	}
	if r.Type == Spike && r.SpikeType == "" {
		r.SpikeType = "both"
	}
	return r
}

// Validate reports the first problem with r (wrapping ErrInvalid, naming
// the option), after applying defaults.
func (r Rule) Validate() error {
	r = r.withDefaults()
	if r.Name == "" {
		return invalid(r.Name, "name", "required")
	}
	if r.Index == "" {
		return invalid(r.Name, "index", "required")
	}
	switch r.Type {
	case Any:
	case Blacklist, Whitelist:
		if len(r.CompareKey) != 1 {
			return invalid(r.Name, "compare_key", "one field required")
		}
		if len(r.List) == 0 {
			return invalid(r.Name, string(r.Type), "at least one value required")
		}
	case Change:
		if len(r.CompareKey) == 0 {
			return invalid(r.Name, "compare_key", "required")
		}
		if len(r.QueryKey) == 0 {
			return invalid(r.Name, "query_key", "required for change rules")
		}
	case Frequency:
		if r.NumEvents <= 0 {
			return invalid(r.Name, "num_events", "must be positive")
		}
		if r.Timeframe <= 0 {
			return invalid(r.Name, "timeframe", "required")
		}
	case Flatline:
		if r.Threshold <= 0 {
			return invalid(r.Name, "threshold", "must be positive")
		}
		if r.Timeframe <= 0 {
			return invalid(r.Name, "timeframe", "required")
		}
	case Spike:
		if r.Timeframe <= 0 {
			return invalid(r.Name, "timeframe", "required")
		}
		if r.SpikeHeight <= 0 {
			return invalid(r.Name, "spike_height", "must be positive")
		}
		if r.SpikeType != "up" && r.SpikeType != "down" && r.SpikeType != "both" {
			return invalid(r.Name, "spike_type", "%q is not up, down or both", r.SpikeType)
		}
	case Cardinality:
		if r.Timeframe <= 0 {
			return invalid(r.Name, "timeframe", "required")
		}
		if r.CardinalityField == "" {
			return invalid(r.Name, "cardinality_field", "required")
		}
		if (r.MaxCardinality == nil) == (r.MinCardinality == nil) {
			return invalid(r.Name, "max_cardinality", "exactly one of max_cardinality and min_cardinality required")
		}
	case NewTerm:
		if len(r.Fields) == 0 {
			return invalid(r.Name, "fields", "fields or query_key required")
		}
		if r.UseTermsQuery && (len(r.Fields) != 1 || len(r.QueryKey) != 1 || r.QueryKey[0] != r.Fields[0]) {
			return invalid(r.Name, "use_terms_query", "needs one field equal to query_key")
		}
		if r.TermsWindowSize < r.WindowStepSize {
			return invalid(r.Name, "terms_window_size", "shorter than window_step_size")
		}
	case MetricAggregation:
		if r.MetricAggKey == "" {
			return invalid(r.Name, "metric_agg_key", "required")
		}
		switch r.MetricAggType {
		case "min", "max", "avg", "sum", "cardinality", "value_count":
		default:
			return invalid(r.Name, "metric_agg_type", "%q is not one of min, max, avg, sum, cardinality, value_count", r.MetricAggType)
		}
		if r.MaxThreshold == nil && r.MinThreshold == nil {
			return invalid(r.Name, "max_threshold", "max_threshold or min_threshold required")
		}
	case "":
		return invalid(r.Name, "type", "required")
	default:
		return invalid(r.Name, "type", "%q is not supported", r.Type)
	}
	if r.UseCountQuery && len(r.QueryKey) > 0 {
		return invalid(r.Name, "use_count_query", "cannot be combined with query_key (use use_terms_query)")
	}
	if r.UseTermsQuery && len(r.QueryKey) != 1 {
		return invalid(r.Name, "use_terms_query", "needs exactly one query_key field")
	}
	if r.UseCountQuery || r.UseTermsQuery {
		switch r.Type {
		case Frequency, Spike, Flatline, NewTerm:
		default:
			return invalid(r.Name, "use_count_query", "not supported by %s rules", r.Type)
		}
		if r.Type == NewTerm && r.UseCountQuery {
			return invalid(r.Name, "use_count_query", "not supported by new_term rules")
		}
	}
	return nil
}

// Mode reports how the rule fetches its data. Frequency, spike and flatline
// rules count in Elasticsearch (Count without a query key, Terms with one)
// unless UseDocuments is set; metric_aggregation and cardinality always
// aggregate; new_term uses Terms with UseTermsQuery; the others pull
// documents.
func (r Rule) Mode() Mode {
	switch r.Type {
	case Frequency, Spike, Flatline:
		switch {
		case r.UseCountQuery:
			return Count
		case r.UseTermsQuery:
			return Terms
		case r.UseDocuments:
			return Documents
		case len(r.QueryKey) == 0:
			return Count
		case len(r.QueryKey) == 1:
			return Terms
		}
		return Documents
	case NewTerm:
		if r.UseTermsQuery {
			return Terms
		}
	case MetricAggregation, Cardinality:
		return Aggregation
	}
	return Documents
}
