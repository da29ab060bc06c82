package retention

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

// items builds items named by their times ("2026-11-22 10:00:00").
func items(times ...string) []Item {
	out := make([]Item, len(times))
	for i, s := range times {
		out[i] = Item{ID: s, Time: utc(s)}
	}
	return out
}

// kept returns the IDs kept, newest first (ties in input order), each with
// its reasons.
func kept(ds []Decision) []string {
	ds = slices.Clone(ds)
	slices.SortStableFunc(ds, func(a, b Decision) int { return b.Time.Compare(a.Time) })
	var out []string
	for _, d := range ds {
		if d.Keep {
			out = append(out, d.ID+" "+strings.Join(d.Reasons, "; "))
		}
	}
	return out
}

// daysAt returns one item at 10:00 UTC on each of n days before end.
func daysAt(end string, n int) []Item {
	e := utc(end)
	out := make([]Item, n)
	for i := range n {
		t := e.AddDate(0, 0, -i)
		out[i] = Item{ID: t.Format("2006-01-02 15:04:05"), Time: t}
	}
	return out
}

func TestApplyRules(t *testing.T) {
	now := utc("2026-11-30 00:00:00")
	// Two items a day (10:00 and 22:00) from Mon 2026-10-26 to Sun 2026-11-29.
	var two []Item
	for d := utc("2026-10-26 00:00:00"); d.Before(now); d = d.AddDate(0, 0, 1) {
		for _, h := range []int{10, 22} {
			tm := d.Add(time.Duration(h) * time.Hour)
			two = append(two, Item{ID: tm.Format("01-02T15"), Time: tm})
		}
	}
	tests := []struct {
		name string
		p    Policy
		in   []Item
		want []string
	}{
		{"last", Policy{Last: 3}, two, []string{
			"11-29T22 last 1 of 3", "11-29T10 last 2 of 3", "11-28T22 last 3 of 3"}},
		{"daily", Policy{Daily: 3}, two, []string{
			"11-29T22 daily 1 of 3", "11-28T22 daily 2 of 3", "11-27T22 daily 3 of 3"}},
		{"hourly", Policy{Hourly: 2}, two, []string{
			"11-29T22 hourly 1 of 2", "11-29T10 hourly 2 of 2"}},
		{"6-hourly", Policy{NHourly: 3}, two, []string{
			"11-29T22 6-hourly 1 of 3", "11-29T10 6-hourly 2 of 3", "11-28T22 6-hourly 3 of 3"}},
		{"12-hourly blocks", Policy{NHourly: 2, NHours: 12}, two, []string{
			"11-29T22 12-hourly 1 of 2", "11-29T10 12-hourly 2 of 2"}},
		{"24-hour blocks are days", Policy{NHourly: 2, NHours: 24}, two, []string{
			"11-29T22 24-hourly 1 of 2", "11-28T22 24-hourly 2 of 2"}},
		{"weekly (ISO weeks end on Sunday)", Policy{Weekly: 2}, two, []string{
			"11-29T22 weekly 1 of 2", "11-22T22 weekly 2 of 2"}},
		{"monthly", Policy{Monthly: 2}, two, []string{
			"11-29T22 monthly 1 of 2", "10-31T22 monthly 2 of 2"}},
		{"yearly keeps the oldest while count is left", Policy{Yearly: 3}, two, []string{
			"11-29T22 yearly 1 of 3", "10-26T10 yearly 2 of 3 (oldest)"}},
		{"monthly unlimited", Policy{Monthly: Unlimited}, two, []string{
			"11-29T22 monthly 1 of unlimited", "10-31T22 monthly 2 of unlimited", "10-26T10 monthly 3 of unlimited (oldest)"}},
		{"within", Policy{Within: Hours(24)}, two, []string{
			"11-29T22 within 24h", "11-29T10 within 24h"}},
		// Windows are exclusive: 2 days before 11-29T22 leaves 11-27T22 out.
		{"within daily", Policy{WithinDaily: Days(2)}, two, []string{
			"11-29T22 daily within 2d", "11-28T22 daily within 2d"}},
		{"within weekly", Policy{WithinWeekly: Days(8)}, two, []string{
			"11-29T22 weekly within 8d", "11-22T22 weekly within 8d"}},
		{"within 6-hourly", Policy{WithinNHourly: Hours(13)}, two, []string{
			"11-29T22 6-hourly within 13h", "11-29T10 6-hourly within 13h"}},
		{"within monthly", Policy{WithinMonthly: Months(1)}, two, []string{
			"11-29T22 monthly within 1m", "10-31T22 monthly within 1m"}},
		{"within yearly oldest", Policy{WithinYearly: Years(1)}, two, []string{
			"11-29T22 yearly within 1y", "10-26T10 yearly within 1y (oldest)"}},
		{"within hourly", Policy{WithinHourly: Hours(13)}, two, []string{
			"11-29T22 hourly within 13h", "11-29T10 hourly within 13h"}},
		{"counted independently", Policy{Daily: 2, Weekly: 2, Monthly: 1}, two, []string{
			"11-29T22 daily 1 of 2; weekly 1 of 2; monthly 1 of 1",
			"11-28T22 daily 2 of 2",
			"11-22T22 weekly 2 of 2"}},
		{"last and within", Policy{Last: 1, Within: Hours(13)}, two, []string{
			"11-29T22 within 13h; last 1 of 1", "11-29T10 within 13h"}},
		{"tags", Policy{Tags: []string{"keep"}}, []Item{
			{ID: "a", Time: utc("2026-11-29 00:00:00")},
			{ID: "b", Time: utc("2026-11-28 00:00:00"), Tags: []string{"keep"}},
			{ID: "c", Time: utc("2026-11-27 00:00:00"), Tags: []string{"other"}},
		}, []string{"a " + ReasonNewestVerified, "b tags keep"}},
		{"tags all of an entry", Policy{Tags: []string{"prod,monthly", "pin"}}, []Item{
			{ID: "a", Time: utc("2026-11-29 00:00:00"), Tags: []string{"prod", "monthly"}},
			{ID: "b", Time: utc("2026-11-28 00:00:00"), Tags: []string{"prod"}},
			{ID: "c", Time: utc("2026-11-27 00:00:00"), Tags: []string{"pin", "x"}},
		}, []string{"a tags prod,monthly", "c tags pin"}},
		{"ties keep input order", Policy{Last: 2}, []Item{
			{ID: "first", Time: utc("2026-11-29 00:00:00")},
			{ID: "second", Time: utc("2026-11-29 00:00:00")},
			{ID: "third", Time: utc("2026-11-29 00:00:00")},
		}, []string{"first last 1 of 2", "second last 2 of 2"}},
		{"ties in one day: the first listed is the daily", Policy{Daily: 1}, []Item{
			{ID: "x", Time: utc("2026-11-29 00:00:00")},
			{ID: "y", Time: utc("2026-11-29 00:00:00")},
		}, []string{"x daily 1 of 1"}},
		{"sub-second order", Policy{Last: 1}, []Item{
			{ID: "early", Time: utc("2026-11-29 10:20:30").Add(100 * time.Millisecond)},
			{ID: "late", Time: utc("2026-11-29 10:20:30").Add(100*time.Millisecond + time.Nanosecond)},
		}, []string{"late last 1 of 1"}},
		{"sub-second within boundary is exclusive", Policy{Within: Span{Clock: 500 * time.Millisecond}}, []Item{
			{ID: "ref", Time: utc("2026-11-29 10:20:30").Add(500 * time.Millisecond)},
			{ID: "in", Time: utc("2026-11-29 10:20:30").Add(time.Nanosecond)},
			{ID: "edge", Time: utc("2026-11-29 10:20:30")},
		}, []string{"ref within 500ms", "in within 500ms"}},
		{"future items count but are not the reference", Policy{Within: Days(1), Last: 1}, []Item{
			{ID: "future", Time: utc("2027-01-01 00:00:00")},
			{ID: "now", Time: utc("2026-11-29 12:00:00")},
			{ID: "yesterday", Time: utc("2026-11-28 13:00:00")},
			{ID: "old", Time: utc("2026-11-20 00:00:00")},
		}, []string{"future within 1d; last 1 of 1", "now within 1d", "yesterday within 1d"}},
		{"all in the future: now is the reference", Policy{Within: Days(400)}, []Item{
			{ID: "f1", Time: utc("2027-01-01 00:00:00")},
			{ID: "f2", Time: utc("2026-12-01 00:00:00")},
		}, []string{"f1 within 400d", "f2 within 400d"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := tc.p.Apply(tc.in, now)
			if err != nil {
				t.Fatal(err)
			}
			checkPartition(t, tc.in, ds)
			if got := kept(ds); !slices.Equal(got, tc.want) {
				t.Errorf("kept\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// checkPartition asserts that ds decides about each input item exactly once
// and that every decision has a reason.
func checkPartition(t *testing.T, in []Item, ds []Decision) {
	t.Helper()
	if len(ds) != len(in) {
		t.Fatalf("%d decisions for %d items", len(ds), len(in))
	}
	for i := range in {
		if ds[i].ID != in[i].ID || !ds[i].Time.Equal(in[i].Time) {
			t.Fatalf("decision %d is about %s, item %d is %s", i, ds[i].ID, i, in[i].ID)
		}
	}
	count := map[string]int{}
	for _, it := range in {
		count[it.ID+"|"+it.Time.String()]++
	}
	for _, d := range ds {
		count[d.ID+"|"+d.Time.String()]--
		if len(d.Reasons) == 0 {
			t.Errorf("decision for %s has no reason", d.ID)
		}
	}
	for k, n := range count {
		if n != 0 {
			t.Errorf("item %s decided %d times too few", k, n)
		}
	}
}

func TestApplyEmptyInput(t *testing.T) {
	p := Policy{Daily: 3}
	ds, err := p.Apply(nil, time.Now())
	if err != nil || len(ds) != 0 {
		t.Fatalf("Apply(nil) = %v, %v; want nothing, no error", ds, err)
	}
}

func TestApplyRefuses(t *testing.T) {
	now := utc("2026-11-30 00:00:00")
	in := daysAt("2026-11-29 10:00:00", 5)
	if _, err := (&Policy{}).Apply(in, now); !errors.Is(err, ErrEmptyPolicy) {
		t.Errorf("empty policy: err = %v, want ErrEmptyPolicy", err)
	}
	if _, err := (&Policy{}).Apply(nil, now); !errors.Is(err, ErrEmptyPolicy) {
		t.Errorf("empty policy, empty input: err = %v, want ErrEmptyPolicy", err)
	}
	ds, err := (&Policy{Tags: []string{"nope"}}).Apply(in, now)
	if !errors.Is(err, ErrRemovesAll) || ds != nil {
		t.Errorf("policy keeping nothing: %v, %v; want nil, ErrRemovesAll", ds, err)
	}
	bad := []Policy{
		{Daily: -2},
		{NHourly: 1, NHours: 5},
		{NHourly: 1, NHours: 25},
		{Within: Span{Days: -1}},
		{Tags: []string{"  "}},
	}
	for _, p := range bad {
		if _, err := p.Apply(in, now); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("%+v: err = %v, want ErrInvalidPolicy", p, err)
		}
	}
}

func TestApplyUnverified(t *testing.T) {
	now := utc("2026-11-30 00:00:00")
	in := daysAt("2026-11-29 10:00:00", 5)
	in[0].Unverified = true // the newest is not verified yet
	in[3].Unverified = true
	p := Policy{Last: 2}
	ds, err := p.Apply(in, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2026-11-29 10:00:00 " + ReasonUnverified,
		"2026-11-28 10:00:00 last 1 of 2", // unverified items do not use up a count
		"2026-11-27 10:00:00 last 2 of 2",
		"2026-11-26 10:00:00 " + ReasonUnverified,
	}
	if got := kept(ds); !slices.Equal(got, want) {
		t.Errorf("kept\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// Only unverified items: nothing to decide, nothing refused.
	for i := range in {
		in[i].Unverified = true
	}
	ds, err = p.Apply(in, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if !d.Keep {
			t.Errorf("unverified %s removed", d.ID)
		}
	}
}

func TestApplyNewestVerifiedKept(t *testing.T) {
	now := utc("2026-11-30 00:00:00")
	in := daysAt("2026-11-29 10:00:00", 4)
	in[2].Tags = []string{"pin"}
	in[0].Unverified = true
	ds, err := (&Policy{Tags: []string{"pin"}}).Apply(in, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2026-11-29 10:00:00 " + ReasonUnverified,
		"2026-11-28 10:00:00 " + ReasonNewestVerified,
		"2026-11-27 10:00:00 tags pin",
	}
	if got := kept(ds); !slices.Equal(got, want) {
		t.Errorf("kept\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestApplyDST checks calendar periods across daylight-saving changes in
// Europe/Paris: 2026-03-29 (23 hours) and 2026-10-25 (25 hours).
func TestApplyDST(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, paris)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	t.Run("spring forward: a 23-hour day is one day", func(t *testing.T) {
		in := []Item{
			{ID: "mar30-00:30", Time: at("2026-03-30 00:30")},
			{ID: "mar29-23:30", Time: at("2026-03-29 23:30")},
			{ID: "mar29-00:30", Time: at("2026-03-29 00:30")},
			{ID: "mar28-23:30", Time: at("2026-03-28 23:30")},
		}
		ds, err := (&Policy{Daily: 3, Location: paris}).Apply(in, at("2026-04-01 00:00"))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"mar30-00:30 daily 1 of 3", "mar29-23:30 daily 2 of 3", "mar28-23:30 daily 3 of 3"}
		if got := kept(ds); !slices.Equal(got, want) {
			t.Errorf("kept %q, want %q", got, want)
		}
		// In UTC the same instants fall on other days.
		ds, err = (&Policy{Daily: 3}).Apply(in, at("2026-04-01 00:00"))
		if err != nil {
			t.Fatal(err)
		}
		// 29 March 00:30 CET is 28 March in UTC, the day of the oldest
		// item, which the count left over keeps anyway.
		want = []string{"mar30-00:30 daily 1 of 3", "mar29-00:30 daily 2 of 3", "mar28-23:30 daily 3 of 3 (oldest)"}
		if got := kept(ds); !slices.Equal(got, want) {
			t.Errorf("UTC: kept %q, want %q", got, want)
		}
	})
	t.Run("6-hour blocks follow the local clock", func(t *testing.T) {
		// 2026-10-25: 02:00-03:00 CEST is lived twice; 01:30 CEST and 05:30
		// CET are 5 hours apart yet in the same 00-06 block.
		in := []Item{
			{ID: "06:30", Time: at("2026-10-25 06:30")},
			{ID: "05:30", Time: at("2026-10-25 05:30")},
			{ID: "01:30", Time: at("2026-10-25 01:30")},
			{ID: "oct24-23:00", Time: at("2026-10-24 23:00")},
		}
		ds, err := (&Policy{NHourly: 10, Location: paris}).Apply(in, at("2026-10-26 00:00"))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"06:30 6-hourly 1 of 10", "05:30 6-hourly 2 of 10", "oct24-23:00 6-hourly 3 of 10"}
		if got := kept(ds); !slices.Equal(got, want) {
			t.Errorf("kept %q, want %q", got, want)
		}
	})
	t.Run("repeated hour: two instants, one hourly period", func(t *testing.T) {
		first := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)  // 02:30 CEST
		second := time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC) // 02:30 CET
		in := []Item{{ID: "cet", Time: second}, {ID: "cest", Time: first}, {ID: "prev", Time: first.Add(-time.Hour)}}
		ds, err := (&Policy{Hourly: 10, Location: paris}).Apply(in, second.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"cet hourly 1 of 10", "prev hourly 2 of 10"}
		if got := kept(ds); !slices.Equal(got, want) {
			t.Errorf("kept %q, want %q", got, want)
		}
	})
	t.Run("within months is calendar time", func(t *testing.T) {
		in := []Item{
			{ID: "ref", Time: at("2026-03-31 12:00")},
			{ID: "in", Time: at("2026-03-03 12:01")},
			{ID: "out", Time: at("2026-03-03 12:00")},
		}
		ds, err := (&Policy{Within: Months(1), Location: paris}).Apply(in, at("2026-04-01 00:00"))
		if err != nil {
			t.Fatal(err)
		}
		// 31 March minus one month normalises to 3 March (AddDate).
		want := []string{"ref within 1m", "in within 1m"}
		if got := kept(ds); !slices.Equal(got, want) {
			t.Errorf("kept %q, want %q", got, want)
		}
	})
}

func TestSeedPolicies(t *testing.T) {
	t.Run("20 daily backups", func(t *testing.T) {
		// 40 days of backups at 02:00, with days 5-9 missing: the 20 kept
		// are the newest 20 days that have one.
		var in []Item
		end := utc("2026-11-29 02:00:00")
		for i := range 40 {
			if i >= 5 && i < 10 {
				continue
			}
			tm := end.AddDate(0, 0, -i)
			in = append(in, Item{ID: fmt.Sprint(i), Time: tm}, Item{ID: fmt.Sprint(i, "b"), Time: tm.Add(-time.Hour)})
		}
		p := SeedDaily20()
		ds, err := p.Apply(in, end.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range ds {
			if d.Keep {
				ids = append(ids, d.ID)
			}
		}
		var want []string
		for i := 0; len(want) < 20; i++ {
			if i >= 5 && i < 10 {
				continue
			}
			want = append(want, fmt.Sprint(i))
		}
		if !slices.Equal(ids, want) {
			t.Errorf("kept %v, want %v", ids, want)
		}
	})
	t.Run("tiered 6h/daily/weekly/monthly", func(t *testing.T) {
		// A backup every 6 hours for 500 days.
		end := utc("2026-11-29 18:00:00")
		var in []Item
		for tm := end; !tm.Before(end.AddDate(0, 0, -500)); tm = tm.Add(-6 * time.Hour) {
			in = append(in, Item{ID: tm.Format("2006-01-02T15"), Time: tm})
		}
		p := SeedTiered()
		ds, err := p.Apply(in, end)
		if err != nil {
			t.Fatal(err)
		}
		checkPartition(t, in, ds)
		var ids []string
		for _, d := range ds {
			if d.Keep {
				ids = append(ids, d.ID)
			}
		}
		// 6-hourly within 2 days of 2026-11-29T18: blocks after 11-27T18.
		for _, id := range []string{"2026-11-29T18", "2026-11-29T12", "2026-11-29T06", "2026-11-29T00", "2026-11-28T00", "2026-11-28T18"} {
			if !slices.Contains(ids, id) {
				t.Errorf("%s not kept", id)
			}
		}
		if slices.Contains(ids, "2026-11-27T18") == false {
			t.Errorf("2026-11-27T18 (newest of a day within 7 days) not kept")
		}
		if slices.Contains(ids, "2026-11-27T12") {
			t.Errorf("2026-11-27T12 kept: it is outside the 6-hourly window and not the newest of its day")
		}
		// Dailies within 7 days: newest of 11-23 .. 11-29 = 18:00 each.
		for d := 23; d <= 29; d++ {
			if id := fmt.Sprintf("2026-11-%02dT18", d); !slices.Contains(ids, id) {
				t.Errorf("daily %s not kept", id)
			}
		}
		if slices.Contains(ids, "2026-11-21T18") {
			t.Errorf("2026-11-21T18 kept: outside the daily window; a Saturday is no week end")
		}
		// Weekly within 28 days: Sundays 11-08 .. 11-29; 11-01T18 is exactly
		// 28 days back and windows are exclusive.
		for _, id := range []string{"2026-11-22T18", "2026-11-15T18", "2026-11-08T18"} {
			if !slices.Contains(ids, id) {
				t.Errorf("weekly %s not kept", id)
			}
		}
		if slices.Contains(ids, "2026-11-01T18") {
			t.Errorf("2026-11-01T18 kept: on the edge of the weekly window")
		}
		// Monthly within 13 months: last backups of Oct 2025 .. Oct 2026.
		for _, id := range []string{"2026-10-31T18", "2026-01-31T18", "2025-11-30T18", "2025-10-31T18"} {
			if !slices.Contains(ids, id) {
				t.Errorf("monthly %s not kept", id)
			}
		}
		if slices.Contains(ids, "2025-09-30T18") {
			t.Errorf("2025-09-30T18 kept: outside the 13-month window")
		}
		// 6h blocks (8) + days 11-23..11-27 (5) + weeks 11-22,15,08 (3)
		// + months 2025-10..2026-10 (13); the oldest is in no window.
		if len(ids) != 8+5+3+13 {
			t.Errorf("kept %d backups, want %d: %v", len(ids), 8+5+3+13, ids)
		}
	})
}

func TestPolicyString(t *testing.T) {
	p := Policy{Last: 3, Daily: 7, Monthly: Unlimited, WithinWeekly: Weeks(4), Within: Days(2), Tags: []string{"pin"}}
	want := "last 3, daily 7, all monthly, weekly within 28d, within 2d, tags pin (UTC)"
	if got := p.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestCivilCache checks the fast calendar arithmetic against time.Time's own
// across zones with daylight saving, half-hour offsets and 30-minute shifts.
func TestCivilCache(t *testing.T) {
	for _, name := range []string{"UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago", "Pacific/Chatham"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Logf("skipping %s: %v", name, err)
			continue
		}
		start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		end := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		var cc civilCache
		for sec := end; sec >= start; sec -= 37*60 + 11 {
			got := cc.civil(sec, 5, loc)
			lt := time.Unix(sec, 5).In(loc)
			y, m, d := lt.Date()
			iy, iw := lt.ISOWeek()
			want := civil{year: y, month: int(m), day: d, hour: lt.Hour(), isoYear: iy, isoWeek: iw}
			if got != want {
				t.Fatalf("%s %v: got %+v, want %+v", name, lt, got, want)
			}
		}
	}
}

// TestRemovedReasons checks that a removed item says why each rule passed it
// over.
func TestRemovedReasons(t *testing.T) {
	now := utc("2026-11-30 00:00:00")
	in := items("2026-11-29 22:00:00", "2026-11-29 10:00:00", "2026-11-20 10:00:00", "2026-11-01 10:00:00")
	in[2].Tags = []string{"x"}
	p := Policy{Daily: 1, Weekly: 5, WithinDaily: Days(3), Tags: []string{"pin"}}
	ds, err := p.Apply(in, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"2026-11-29 10:00:00": {ReasonNoRule, "tags: no tag list matches", "daily: all 1 used by newer items",
			"weekly: a newer item holds its ISO week", "daily within 3d: a newer item holds its day"},
		"2026-11-20 10:00:00": nil, // weekly 2 of 5
		"2026-11-01 10:00:00": nil, // weekly 3 of 5 (oldest kept while count is left)
	}
	for _, d := range ds {
		w, ok := want[d.ID]
		if !ok {
			continue
		}
		if w == nil {
			if !d.Keep {
				t.Errorf("%s removed: %q", d.ID, d.Reasons)
			}
			continue
		}
		if d.Keep || !slices.Equal(d.Reasons, w) {
			t.Errorf("%s: keep=%v reasons\n  %q\nwant\n  %q", d.ID, d.Keep, d.Reasons, w)
		}
	}
	// Once no rule can keep anything older, the rest share one explanation.
	in = daysAt("2026-11-29 10:00:00", 10)
	ds, err = (&Policy{Last: 2, WithinWeekly: Days(2)}).Apply(in, now)
	if err != nil {
		t.Fatal(err)
	}
	wantOld := []string{ReasonNoRule, "last: all 2 used by newer items", "weekly within 2d: older than the window"}
	if got := ds[9].Reasons; !slices.Equal(got, wantOld) {
		t.Errorf("oldest: %q, want %q", got, wantOld)
	}
}
