package retention

import (
	"errors"
	"testing"
	"time"
)

func TestParseSpan(t *testing.T) {
	good := map[string]Span{
		"2d":       {Days: 2},
		"8w":       {Days: 56},
		"13m":      {Months: 13},
		"1y2m3d4h": {Years: 1, Months: 2, Days: 3, Clock: 4 * time.Hour},
		"1y1d1m":   {Years: 1, Months: 1, Days: 1},
		"2w3d":     {Days: 17},
		"36h30m":   {Clock: 36*time.Hour + 30*time.Minute},
		"90s":      {Clock: 90 * time.Second},
		" 5d ":     {Days: 5},
	}
	for in, want := range good {
		got, err := ParseSpan(in)
		if err != nil || got != want {
			t.Errorf("ParseSpan(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "0d", "d", "5", "5x", "1d1d", "-3d", "1.5d", "10000000000d", "-90s", "0s"} {
		if got, err := ParseSpan(in); !errors.Is(err, ErrBadSpan) {
			t.Errorf("ParseSpan(%q) = %+v, %v; want ErrBadSpan", in, got, err)
		}
	}
	if s := (Span{Years: 1, Clock: 90 * time.Minute}).String(); s != "1y1h30m0s" {
		t.Errorf("String() = %q", s)
	}
	if s := (Span{}).String(); s != "0d" {
		t.Errorf("zero String() = %q", s)
	}
}
