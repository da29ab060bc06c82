package esrule

import (
	"testing"
	"time"
)

func TestNextSilenceExponential(t *testing.T) {
	// ElastAlert's test_exponential_realert table.
	r := Rule{Realert: 10 * time.Second, ExponentialRealert: 24 * time.Hour}
	until := time.Date(2015, 3, 24, 0, 0, 0, 0, time.UTC)
	for i, tc := range []struct {
		after time.Duration
		exp   int
		want  int
	}{
		{5 * time.Second, 0, 1},
		{15 * time.Second, 0, 0},
		{15 * time.Second, 1, 2},
		{time.Minute, 2, 1},
		{time.Minute, 3, 4},
		{5 * time.Minute, 1, 0},
		{4 * time.Hour, 9, 0},
		{4 * time.Hour, 10, 9},
		{4 * time.Hour, 11, 12},
	} {
		got := nextSilence(r, &Silence{Until: until, Exponent: tc.exp}, until.Add(tc.after))
		if got.Exponent != tc.want {
			t.Errorf("case %d: exponent %d, want %d", i, got.Exponent, tc.want)
		}
	}
}

func TestNextSilenceCapAndPlain(t *testing.T) {
	now := time.Date(2015, 3, 24, 0, 0, 0, 0, time.UTC)
	r := Rule{Realert: time.Hour, ExponentialRealert: 3 * time.Hour}
	got := nextSilence(r, &Silence{Until: now, Exponent: 2}, now) // 4h > cap
	if !got.Until.Equal(now.Add(3*time.Hour)) || got.Exponent != 2 {
		t.Fatalf("capped: %+v", got)
	}
	if got := nextSilence(Rule{Realert: time.Minute}, nil, now); !got.Until.Equal(now.Add(time.Minute)) || got.Exponent != 0 {
		t.Fatalf("first: %+v", got)
	}
	if got := nextSilence(Rule{Realert: time.Minute}, &Silence{Until: now, Exponent: 3}, now); !got.Until.Equal(now.Add(time.Minute)) {
		t.Fatalf("without exponential_realert: %+v", got)
	}
}
