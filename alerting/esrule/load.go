package esrule

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ErrUnsupported is wrapped by Load's errors for rule types and options of
// ElastAlert that this package does not implement.
var ErrUnsupported = errors.New("esrule: unsupported")

// unsupported options change what a rule matches; a file using them is
// refused rather than run with different semantics.
var unsupported = []string{
	"aggregation", "aggregation_key", "aggregate_by_match_time", "attach_related", "top_count_keys",
	"field_value", "query_delay", "scan_entire_timeframe", "timestamp_type", "timestamp_format",
	"timestamp_format_expr", "use_local_time", "percentile_range", "metric_agg_script", "bucket_interval",
	"sync_bucket_interval", "use_run_every_query_size", "allow_buffer_time_overlap", "min_doc_count",
	"limit_execution", "realert_key", "match_enhancements", "run_enhancements_first", "import",
	"filter_by_list", "max_query_size", "segment_size", "query_key_fields", "compound_query_key",
	"use_strftime_index", "search_extra_index", "five", "terms_query",
}

// ignored options only shape delivery (alerters, their texts) or are
// obsolete; alerts go to the Runner's Notifier instead.
func ignored(k string) bool {
	switch k {
	case "alert", "alert_text", "alert_text_args", "alert_text_kw", "alert_text_type", "alert_subject",
		"alert_subject_args", "alert_missing_value", "description", "owner", "priority", "category",
		"doc_type", "include", "es_host", "es_port", "use_ssl", "is_enabled", "generate_kibana_link",
		"kibana_url", "use_kibana4_dashboard", "summary_table_fields", "summary_table_type", "custom_pretty_ts_format":
		return true
	}
	// Alerter settings: email_*, slack_*, pagerduty_*, ...
	for _, p := range []string{"email", "smtp_", "slack_", "pagerduty_", "opsgenie_", "telegram_", "jira_",
		"http_post", "mattermost_", "teams_", "ms_teams_", "discord_", "command", "from_addr", "reply_to", "cc", "bcc",
		"notify_email", "alertmanager_", "victorops_", "gitter_", "sns_", "ses_", "chatwork_", "dingtalk_"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// LoadDir loads every *.yaml and *.yml file of dir, sorted by name.
func LoadDir(dir string) ([]Rule, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("esrule: rules directory: %w", err)
	}
	var rules []Rule
	names := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || (!strings.HasSuffix(e.Name(), ".yaml") && !strings.HasSuffix(e.Name(), ".yml")) {
			continue
		}
		r, err := LoadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if other, dup := names[r.Name]; dup {
			return nil, fmt.Errorf("%w: %s: name: %q is also the name of %s", ErrInvalid, e.Name(), r.Name, other)
		}
		names[r.Name] = e.Name()
		rules = append(rules, r)
	}
	return rules, nil
}

// LoadFile reads an ElastAlert rule file.
func LoadFile(path string) (Rule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Rule{}, fmt.Errorf("esrule: %w", err)
	}
	return Load(path, b)
}

// Load parses an ElastAlert YAML rule; file names it in errors. It applies
// ElastAlert's defaults (realert one minute, use_keyword_postfix true) and
// validates the rule. Alerter options are ignored (alerts go to the
// Runner's Notifier); options that change matching and are not supported
// fail with ErrUnsupported, invalid values with ErrInvalid, each naming
// the file and the option.
func Load(file string, data []byte) (Rule, error) {
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return Rule{}, fmt.Errorf("%w: %s: %v", ErrInvalid, file, err)
	}
	if raw == nil {
		return Rule{}, fmt.Errorf("%w: %s: empty rule file", ErrInvalid, file)
	}
	p := parser{file: file, raw: raw}
	r := p.rule()
	if p.err != nil {
		return Rule{}, p.err
	}
	if err := r.Validate(); err != nil {
		return Rule{}, fmt.Errorf("%s: %w", file, err)
	}
	return r, nil
}

type parser struct {
	file string
	raw  map[string]any
	err  error
}

func (p *parser) fail(sentinel error, field, format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: %s: %s: %s", sentinel, p.file, field, fmt.Sprintf(format, args...))
	}
}

func (p *parser) rule() Rule {
	keys := make([]string, 0, len(p.raw))
	for k := range p.raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if slices.Contains(unsupported, k) {
			p.fail(ErrUnsupported, k, "option not supported")
		}
	}
	r := Rule{
		Name:                p.str("name"),
		Type:                Type(p.str("type")),
		Index:               p.str("index"),
		TimestampField:      p.str("timestamp_field"),
		Filter:              p.filters(),
		QueryKey:            p.strs("query_key"),
		Timeframe:           p.dur("timeframe"),
		BufferTime:          p.dur("buffer_time"),
		RunEvery:            p.dur("run_every"),
		Realert:             time.Minute,
		ExponentialRealert:  p.dur("exponential_realert"),
		UseCountQuery:       p.boolean("use_count_query"),
		UseTermsQuery:       p.boolean("use_terms_query"),
		TermsSize:           p.integer("terms_size"),
		NumEvents:           p.integer("num_events"),
		Threshold:           p.integer("threshold"),
		ForgetKeys:          p.boolean("forget_keys"),
		SpikeHeight:         p.number("spike_height"),
		SpikeType:           p.str("spike_type"),
		ThresholdRef:        p.number("threshold_ref"),
		ThresholdCur:        p.number("threshold_cur"),
		AlertOnNewData:      p.boolean("alert_on_new_data"),
		CompareKey:          p.strs("compare_key"),
		IgnoreNull:          p.boolean("ignore_null"),
		CardinalityField:    p.str("cardinality_field"),
		Fields:              p.strs("fields"),
		TermsWindowSize:     p.dur("terms_window_size"),
		WindowStepSize:      p.dur("window_step_size"),
		AlertOnMissingField: p.boolean("alert_on_missing_field"),
		KeywordPostfix:      true,
		MetricAggKey:        p.str("metric_agg_key"),
		MetricAggType:       p.str("metric_agg_type"),
	}
	if _, ok := p.raw["realert"]; ok {
		r.Realert = p.dur("realert")
	}
	if _, ok := p.raw["use_keyword_postfix"]; ok {
		r.KeywordPostfix = p.boolean("use_keyword_postfix")
	}
	for _, k := range []string{"use_count_query", "use_terms_query"} {
		if v, ok := p.raw[k].(bool); ok && !v {
			r.UseDocuments = true
		}
	}
	if r.Type == Blacklist || r.Type == Whitelist {
		r.List = p.strs(string(r.Type))
		for _, v := range r.List {
			if strings.HasPrefix(v, "!file") {
				p.fail(ErrUnsupported, string(r.Type), "\"!file\" entries are not supported")
			}
		}
	}
	for _, k := range []string{"max_cardinality", "min_cardinality"} {
		if _, ok := p.raw[k]; ok {
			n := p.integer(k)
			if k == "max_cardinality" {
				r.MaxCardinality = &n
			} else {
				r.MinCardinality = &n
			}
		}
	}
	for _, k := range []string{"max_threshold", "min_threshold"} {
		if _, ok := p.raw[k]; ok {
			f := p.number(k)
			if k == "max_threshold" {
				r.MaxThreshold = &f
			} else {
				r.MinThreshold = &f
			}
		}
	}
	switch r.Type {
	case "percentage_match", "spike_aggregation":
		p.fail(ErrUnsupported, "type", "%q is not supported", r.Type)
	}
	if p.err == nil {
		if strings.Contains(string(r.Type), ".") {
			p.fail(ErrUnsupported, "type", "custom rule type %q is not supported", r.Type)
		}
	}
	return r
}

func (p *parser) str(k string) string {
	v, ok := p.raw[k]
	if !ok || v == nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case int, float64, bool:
		return fmt.Sprint(x)
	}
	p.fail(ErrInvalid, k, "must be a string")
	return ""
}

func (p *parser) strs(k string) []string {
	v, ok := p.raw[k]
	if !ok || v == nil {
		return nil
	}
	if s, isStr := v.(string); isStr {
		if k == "query_key" || k == "compare_key" {
			// ElastAlert also accepts "a,b" for compound keys.
			var out []string
			for _, f := range strings.Split(s, ",") {
				if f = strings.TrimSpace(f); f != "" {
					out = append(out, f)
				}
			}
			return out
		}
		return []string{s}
	}
	list, isList := v.([]any)
	if !isList {
		p.fail(ErrInvalid, k, "must be a string or a list of strings")
		return nil
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		switch y := x.(type) {
		case string:
			out = append(out, y)
		case int, float64, bool:
			out = append(out, fmt.Sprint(y))
		case []any:
			p.fail(ErrUnsupported, k, "composite fields are not supported")
			return nil
		default:
			p.fail(ErrInvalid, k, "must be a list of strings")
			return nil
		}
	}
	return out
}

func (p *parser) boolean(k string) bool {
	v, ok := p.raw[k]
	if !ok || v == nil {
		return false
	}
	b, isBool := v.(bool)
	if !isBool {
		p.fail(ErrInvalid, k, "must be true or false")
	}
	return b
}

func (p *parser) number(k string) float64 {
	v, ok := p.raw[k]
	if !ok || v == nil {
		return 0
	}
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			return x
		}
	}
	p.fail(ErrInvalid, k, "must be a number")
	return 0
}

func (p *parser) integer(k string) int {
	v, ok := p.raw[k]
	if !ok || v == nil {
		return 0
	}
	if n, isInt := v.(int); isInt && n >= 0 && n <= math.MaxInt32 {
		return n
	}
	p.fail(ErrInvalid, k, "must be a non-negative integer")
	return 0
}

// dur reads ElastAlert's duration mapping: {weeks, days, hours, minutes,
// seconds, milliseconds}, each a number.
func (p *parser) dur(k string) time.Duration {
	v, ok := p.raw[k]
	if !ok || v == nil {
		return 0
	}
	m, isMap := v.(map[string]any)
	if !isMap || len(m) == 0 {
		p.fail(ErrInvalid, k, "must be a mapping like {minutes: 5}")
		return 0
	}
	units := map[string]time.Duration{"weeks": 7 * 24 * time.Hour, "days": 24 * time.Hour, "hours": time.Hour,
		"minutes": time.Minute, "seconds": time.Second, "milliseconds": time.Millisecond}
	var total float64
	for u, n := range m {
		unit, known := units[u]
		if !known {
			p.fail(ErrInvalid, k, "unknown unit %q", u)
			return 0
		}
		var f float64
		switch x := n.(type) {
		case int:
			f = float64(x)
		case float64:
			f = x
		default:
			p.fail(ErrInvalid, k, "%s must be a number", u)
			return 0
		}
		total += f * float64(unit)
	}
	// Bound to 100 years: beyond, time arithmetic overflows.
	if math.IsNaN(total) || total < 0 || total > float64(100*365*24*time.Hour) {
		p.fail(ErrInvalid, k, "out of range")
		return 0
	}
	return time.Duration(total)
}

func (p *parser) filters() []map[string]any {
	v, ok := p.raw["filter"]
	if !ok || v == nil {
		return nil
	}
	list, isList := v.([]any)
	if !isList {
		p.fail(ErrInvalid, "filter", "must be a list of query DSL objects")
		return nil
	}
	out := make([]map[string]any, 0, len(list))
	for i, x := range list {
		m, isMap := x.(map[string]any)
		if !isMap || len(m) == 0 {
			p.fail(ErrInvalid, "filter", "entry %d is not a query DSL object", i+1)
			return nil
		}
		// ElastAlert accepts the old {query: {query_string: ...}} wrapping.
		if q, wrapped := m["query"].(map[string]any); wrapped && len(m) == 1 {
			m = q
		}
		if _, err := json.Marshal(m); err != nil {
			p.fail(ErrInvalid, "filter", "entry %d cannot be sent as JSON: %v", i+1, err)
			return nil
		}
		out = append(out, m)
	}
	return out
}
