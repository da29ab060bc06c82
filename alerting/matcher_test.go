package alerting

import (
	"errors"
	"testing"
)

func TestMatchers(t *testing.T) {
	l := Labels{"alertname": "PortClosed", "host": "web1", "port": "443"}
	cases := []struct {
		in   string
		want bool
		err  bool
	}{
		{`host="web1"`, true, false},
		{`host=web1`, true, false},
		{`host!=web1`, false, false},
		{`host=~"web.*"`, true, false},
		{`host=~"eb1"`, false, false}, // anchored
		{`host!~"db.*"`, true, false},
		{`team!=ops`, true, false}, // missing label is empty
		{`team=""`, true, false},
		{`{alertname="PortClosed", port=~"80|443"}`, true, false},
		{`{alertname="PortClosed", port="22"}`, false, false},
		{`x="a,b"`, false, false},
		{`host=~"("`, false, true},
		{`=x`, false, true},
		{`host`, false, true},
		{`ho st=x`, false, true},
		{`host="unterminated`, false, true},
	}
	for _, c := range cases {
		ms, err := ParseMatchers(c.in)
		if c.err {
			if !errors.Is(err, ErrBadMatcher) {
				t.Errorf("%s: err = %v, want ErrBadMatcher", c.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := ms.Matches(l); got != c.want {
			t.Errorf("%s matches %v: %v, want %v", c.in, l, got, c.want)
		}
		back, err := ParseMatchers(ms.String())
		if err != nil || back.String() != ms.String() {
			t.Errorf("%s: round trip %q → %v %v", c.in, ms.String(), back, err)
		}
	}
}

// FuzzParseMatchers checks that matchers from the command line or the
// store never panic and print back to what they parse.
func FuzzParseMatchers(f *testing.F) {
	for _, s := range []string{`host="web1"`, `{a=~"x|y", b!="z"}`, `a!~".*"`, `x="a,b\"c"`, `=`, `{`, `a=~"("`, "a=\"\\xff\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseMatchers(s)
		if err != nil {
			if !errors.Is(err, ErrBadMatcher) {
				t.Fatalf("%q: error %v is not ErrBadMatcher", s, err)
			}
			return
		}
		ms.Matches(Labels{"a": "x", "host": "web1"})
		back, err := ParseMatchers(ms.String())
		if err != nil {
			t.Fatalf("%q printed as %q does not parse: %v", s, ms.String(), err)
		}
		if back.String() != ms.String() {
			t.Fatalf("%q: %q then %q", s, ms.String(), back.String())
		}
	})
}
