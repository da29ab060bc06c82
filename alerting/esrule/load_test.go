package esrule

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLoadDir(t *testing.T) {
	rules, err := LoadDir("testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 {
		t.Fatalf("%d rules", len(rules))
	}
	b := rules[0]
	if b.Name != "SSH brute force" || b.Type != Frequency || b.NumEvents != 10 || b.Timeframe != 5*time.Minute ||
		b.Realert != 30*time.Minute || b.ExponentialRealert != 4*time.Hour || len(b.Filter) != 2 ||
		b.Filter[1]["query_string"] == nil || b.QueryKey[0] != "source.ip" || b.Mode() != Terms {
		t.Fatalf("brute force rule: %+v", b)
	}
	c := rules[1]
	if c.Type != MetricAggregation || *c.MaxThreshold != 0.9 || c.Index != "metricbeat-*,other-*" || c.Realert != time.Minute || c.BufferTime != 10*time.Minute {
		t.Fatalf("cpu rule: %+v", c)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		yaml     string
		sentinel error
		field    string
	}{
		{"name: x\ntype: percentage_match\nindex: i\n", ErrUnsupported, "type"},
		{"name: x\ntype: my.module.Rule\nindex: i\n", ErrUnsupported, "type"},
		{"name: x\ntype: any\nindex: i\naggregation:\n  hours: 1\n", ErrUnsupported, "aggregation"},
		{"name: x\ntype: frequency\nindex: i\nnum_events: many\ntimeframe: {minutes: 1}\n", ErrInvalid, "num_events"},
		{"name: x\ntype: frequency\nindex: i\nnum_events: 3\ntimeframe: 5\n", ErrInvalid, "timeframe"},
		{"name: x\ntype: frequency\nindex: i\nnum_events: 3\ntimeframe: {fortnights: 1}\n", ErrInvalid, "timeframe"},
		{"name: x\ntype: frequency\nindex: i\nnum_events: 3\n", ErrInvalid, "timeframe"},
		{"name: x\ntype: blacklist\nindex: i\ncompare_key: u\nblacklist: ['!file /etc/bad']\n", ErrUnsupported, "blacklist"},
		{"name: x\ntype: new_term\nindex: i\nfields: [[a, b]]\n", ErrUnsupported, "fields"},
		{"name: x\ntype: any\nindex: i\nfilter: {term: {a: b}}\n", ErrInvalid, "filter"},
		{"type: any\nindex: i\n", ErrInvalid, "name"},
		{"[not a mapping", ErrInvalid, "rule.yaml"},
	} {
		_, err := Load("rule.yaml", []byte(tc.yaml))
		if err == nil || !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), "rule.yaml") || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%q: error %v, want %v naming rule.yaml and %s", tc.yaml, err, tc.sentinel, tc.field)
		}
	}
}

func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"name: x\ntype: frequency\nindex: i\nnum_events: 3\ntimeframe: {minutes: 5}\nquery_key: [a, b]\n",
		"name: x\ntype: spike\nindex: i\ntimeframe: {hours: 1.5}\nspike_height: 2\nspike_type: up\nthreshold_cur: 3\n",
		"name: x\ntype: cardinality\nindex: i\ntimeframe: {days: 1}\ncardinality_field: u\nmax_cardinality: 3\n",
		"name: x\ntype: whitelist\nindex: i\ncompare_key: u\nwhitelist: [a, 1, true]\nignore_null: true\n",
		"name: x\ntype: metric_aggregation\nindex: i\nmetric_agg_key: c\nmetric_agg_type: max\nmin_threshold: -1e9\n",
		"name: x\ntype: new_term\nindex: i\nfields: a\nterms_window_size: {days: 2}\n",
		"filter: [{query: {query_string: {query: 'a:b'}}}]\n",
		"{1: 2}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Load("fuzz.yaml", data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error not classified: %v", err)
			}
			return
		}
		// A loaded rule must be usable: a state and its queries.
		if _, err := NewState(r); err != nil {
			t.Fatalf("loaded rule rejected by NewState: %v", err)
		}
		r = r.withDefaults()
		_ = r.query(t0, t0.Add(time.Minute), false)
	})
}
