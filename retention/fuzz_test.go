package retention

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"
)

// fuzzPolicy builds a policy from 8 bytes: counts in -1..6, spans in days.
func fuzzPolicy(b []byte) Policy {
	c := func(i int) int { return int(b[i]%8) - 1 }
	s := func(i int) Span {
		if b[i]%3 == 0 {
			return Span{}
		}
		return Span{Days: int(b[i] % 40), Clock: time.Duration(b[i]%5) * time.Hour}
	}
	p := Policy{
		Last: c(0), Hourly: c(1), NHourly: c(2), Daily: c(3), Weekly: c(4), Monthly: c(5), Yearly: c(6),
		NHours:        []int{0, 1, 2, 3, 4, 6, 8, 12}[b[7]%8],
		Within:        s(0),
		WithinDaily:   s(3),
		WithinWeekly:  s(4),
		WithinNHourly: s(2),
	}
	if b[7]&0x80 != 0 {
		p.Tags = []string{"t1"}
	}
	return p
}

// fuzzItems builds items from 6-byte records: seconds offset, tag and
// verification flags.
func fuzzItems(b []byte) []Item {
	base := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var out []Item
	for i := 0; i+6 <= len(b) && len(out) < 300; i += 6 {
		off := int32(binary.LittleEndian.Uint32(b[i:]))
		it := Item{ID: fmt.Sprint(len(out)), Time: base.Add(time.Duration(off) * time.Second / 16)}
		if b[i+4]&1 != 0 {
			it.Tags = []string{"t1"}
		}
		it.Unverified = b[i+5]%7 == 0
		out = append(out, it)
	}
	return out
}

// FuzzApply checks that a decision list always partitions the input and that
// adding a rule never drops an item that was kept.
func FuzzApply(f *testing.F) {
	f.Add([]byte{3, 3, 0, 3, 2, 1, 0, 5}, []byte{0, 8, 2, 3, 9, 4, 0, 1, 2, 3, 4, 5, 7, 7, 7, 7, 0, 0, 200, 1, 0, 0, 1, 1}, byte(1))
	f.Add([]byte{0, 0, 0, 4, 0, 0, 0, 0}, []byte{1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 255, 255, 255, 127, 1, 1}, byte(9))
	f.Add([]byte{1, 1, 1, 1, 1, 1, 1, 0x80}, []byte{}, byte(3))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0}, []byte{1, 2, 3, 4, 5, 6}, byte(0))
	f.Fuzz(func(t *testing.T, pb, ib []byte, extra byte) {
		if len(pb) < 8 {
			return
		}
		p := fuzzPolicy(pb)
		in := fuzzItems(ib)
		now := time.Date(2026, 6, 20, 0, 0, 0, 0, time.UTC)
		ds, err := p.Apply(in, now)
		if err != nil {
			if !errors.Is(err, ErrEmptyPolicy) && !errors.Is(err, ErrRemovesAll) && !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		checkPartition(t, in, ds)
		keptBefore := map[string]bool{}
		for _, d := range ds {
			if d.Unverified && !d.Keep {
				t.Fatalf("unverified %s removed", d.ID)
			}
			if d.Keep {
				keptBefore[d.ID] = true
			}
		}
		// Add (or widen) one rule; an unlimited count stays unlimited.
		more := func(n, by int) int {
			if n == Unlimited {
				return n
			}
			return n + by
		}
		q := p
		switch extra % 9 {
		case 0:
			q.Last = more(q.Last, 1)
		case 1:
			q.Hourly = more(q.Hourly, 1)
		case 2:
			q.Daily = Unlimited
		case 3:
			q.Weekly = more(q.Weekly, 2)
		case 4:
			q.Monthly = more(q.Monthly, 1)
		case 5:
			q.Within.Days += 3
		case 6:
			q.WithinDaily.Days += 2
		case 7:
			q.Tags = append(q.Tags, "t1")
		case 8:
			q.Yearly = Unlimited
		}
		ds2, err := q.Apply(in, now)
		if err != nil {
			t.Fatalf("policy %v kept items, %v (one more rule) fails: %v", p.String(), q.String(), err)
		}
		checkPartition(t, in, ds2)
		for _, d := range ds2 {
			if keptBefore[d.ID] && !d.Keep {
				t.Fatalf("%s kept by %v but removed by %v", d.ID, p.String(), q.String())
			}
		}
	})
}

// FuzzParseSpan checks that ParseSpan never panics and that what it accepts
// prints back to the same Span.
func FuzzParseSpan(f *testing.F) {
	for _, s := range []string{"1d", "2d", "13m", "1y2m3d4h", "8w", "36h30m", "1y1d1m", "0", "", "5x", "1h1h", "999999999999d", "1.5h", "90s", "-3d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSpan(s)
		if err != nil {
			if !errors.Is(err, ErrBadSpan) {
				t.Fatalf("ParseSpan(%q) error %v does not match ErrBadSpan", s, err)
			}
			return
		}
		if sp.IsZero() || sp.negative() {
			t.Fatalf("ParseSpan(%q) = %+v: zero or negative", s, sp)
		}
		back, err := ParseSpan(sp.String())
		if err != nil {
			t.Fatalf("ParseSpan(%q).String() = %q does not parse: %v", s, sp.String(), err)
		}
		if back != sp {
			// Weeks print as days; nothing else may change.
			t.Fatalf("ParseSpan(%q) = %+v, printed %q, read back %+v", s, sp, sp.String(), back)
		}
	})
}
