package check_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/opskit/opskit/alerting/check"
)

// statusJSON is shaped like a Statuspage v2 summary.json.
const statusJSON = `{
  "page": {"id": "abc", "name": "Acme", "updated_at": "2026-03-01T02:00:00Z"},
  "status": {"indicator": "none", "description": "All Systems Operational"},
  "components": [
    {"name": "API", "status": "operational", "position": 1},
    {"name": "Web", "status": "degraded_performance", "position": 2}
  ],
  "incidents": [],
  "odd key": {"x": true},
  "metrics": {"latency_ms": 120.5, "errors": 0, "big": 12345678901234567890},
  "nothing": null
}`

func TestConditions(t *testing.T) {
	for _, tc := range []struct {
		cond string
		ok   bool
		why  string
	}{
		{`status.indicator == "none"`, true, ""},
		{`status.indicator != "none"`, false, `status.indicator is "none"`},
		{`status.indicator == "major"`, false, `status.indicator is "none"`},
		{`$.status.indicator == none`, true, ""},
		{`components[0].status == operational`, true, ""},
		{`components[1].status == "operational"`, false, `components[1].status is "degraded_performance"`},
		{`components[2].status == "operational"`, false, "components[2].status not found"},
		{`components.status == "x"`, false, "not found"},
		{`status[0]`, false, "not found"},
		{`len(components) == 2`, true, ""},
		{`len(incidents) == 0`, true, ""},
		{`len(incidents) > 0`, false, "len(incidents) is 0"},
		{`len(status.indicator) == 4`, true, ""},
		{`len(components) != 2`, false, "len(components) is 2"},
		{`len(page) <= 3`, true, ""},
		{`metrics.errors != 1`, true, ""},
		{`metrics.errors != 0`, false, "metrics.errors is 0"},
		{`len(metrics.errors) == 0`, false, "has no length"},
		{`metrics.latency_ms < 500`, true, ""},
		{`metrics.latency_ms >= 120.5`, true, ""},
		{`metrics.latency_ms > 120.5`, false, "metrics.latency_ms is 120.5"},
		{`metrics.errors == 0`, true, ""},
		{`metrics.big > 1e19`, true, ""},
		{`status.indicator < 3`, false, "not a number"},
		{`["odd key"].x == true`, true, ""},
		{`["odd key"].x`, true, ""},
		{`page.updated_at`, true, ""},
		{`incidents`, false, "incidents is []"},
		{`nothing == null`, true, ""},
		{`nothing`, false, "nothing is null"},
		{`metrics.errors`, false, "metrics.errors is 0"},
		{`status == "none"`, false, `status is {"description"`},
		{`missing`, false, "missing not found"},
	} {
		c, err := check.ParseCondition(tc.cond)
		if err != nil {
			t.Errorf("%s: %v", tc.cond, err)
			continue
		}
		ok, why, err := c.Eval([]byte(statusJSON))
		if err != nil {
			t.Fatal(err)
		}
		if ok != tc.ok || !strings.Contains(why, tc.why) || (ok && why != "") {
			t.Errorf("%s: ok=%v why=%q, want ok=%v why containing %q", tc.cond, ok, why, tc.ok, tc.why)
		}
		if c.String() != tc.cond {
			t.Errorf("String() = %q", c.String())
		}
	}
}

func TestConditionSyntaxErrors(t *testing.T) {
	for _, s := range []string{
		``, `   `, `== "x"`, `a ==`, `a = 1`, `a == "unterminated`, `a[`, `a[x]`, `a[1`, `a.`,
		`a == 1 2`, `len(a)`, `len(a == 1`, `a < "x"`, `a < true`, `len(a) == "x"`, `a == b c`,
		`a == 0x10`, `a == 1_000`, `a == 08`, `a == "x"y`, `$x`, `a[99999999999]`, `a == 'x'`,
		`a` + strings.Repeat(".b", 40), strings.Repeat("a", 2000),
	} {
		if _, err := check.ParseCondition(s); !errors.Is(err, check.ErrSyntax) {
			t.Errorf("%q: err %v, want ErrSyntax", s, err)
		}
	}
}

func TestConditionNotJSON(t *testing.T) {
	c := check.MustParseCondition(`a == 1`)
	for _, body := range []string{"", "<html>", `{"a":`} {
		if _, _, err := c.Eval([]byte(body)); err == nil {
			t.Errorf("%q: no error", body)
		}
	}
	bad := check.MustParseCondition(`a ==`)
	if ok, why, _ := bad.Eval([]byte(`{"a":1}`)); ok || !strings.Contains(why, "invalid condition") {
		t.Errorf("invalid condition held: %v %q", ok, why)
	}
}

func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{
		`status.indicator == "none"`, `components[0].status`, `len(incidents) == 0`,
		`["odd key"].x != true`, `$.a[1][2].b >= -1.5e3`, `a == UP`, `nothing == null`,
		`len($) > 2`, `a == "\u00e9\n"`,
	} {
		f.Add(s, statusJSON)
	}
	f.Add(`a[0]`, `[1,[2]]`)
	f.Fuzz(func(t *testing.T, cond, doc string) {
		c, err := check.ParseCondition(cond)
		if err != nil {
			if !errors.Is(err, check.ErrSyntax) {
				t.Fatalf("error not ErrSyntax: %v", err)
			}
			return
		}
		ok, why, err := c.Eval([]byte(doc))
		if err == nil && ok == (why != "") {
			t.Fatalf("%q on %q: ok=%v but why=%q", cond, doc, ok, why)
		}
		if len(why) > 2000 {
			t.Fatalf("why too long: %d bytes", len(why))
		}
		// A condition parses the same way twice.
		if _, err := check.ParseCondition(c.String()); err != nil {
			t.Fatalf("reparse %q: %v", c.String(), err)
		}
	})
}
