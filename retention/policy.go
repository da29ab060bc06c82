package retention

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Unlimited as a count keeps one item of every period (or every item, for
// Last), however many there are.
const Unlimited = -1

// Item is one thing a policy decides about: a backup, a log file, an index.
type Item struct {
	// ID names the item for the caller; the policy does not interpret it.
	ID string
	// Time is when the item was made. Period rules look at it in the
	// policy's Location.
	Time time.Time
	// Tags are matched by Policy.Tags.
	Tags []string
	// Unverified marks an item whose integrity check has not passed and been
	// recorded yet. It is always kept and never counts toward a rule.
	Unverified bool
}

// Decision says whether one item is kept, and why. Reasons is never empty:
// a kept item lists every rule that keeps it ("daily 3 of 20", "within 2d");
// a removed one starts with ReasonNoRule and then says why each rule passed
// it over ("daily: a newer item holds its day", "weekly: all 4 used by newer
// items", "within 2d: older than the window"). Reasons is read-only: items
// may share one slice.
type Decision struct {
	Item
	Keep    bool
	Reasons []string
}

// Reasons given to items that no rule keeps, and to the safety nets.
const (
	ReasonNoRule         = "no rule keeps it"
	ReasonUnverified     = "unverified: always kept, counts for no rule"
	ReasonNewestVerified = "newest verified item: never removed"
)

// Errors returned by Policy.Apply and Policy.Validate. Callers branch on them
// with errors.Is.
var (
	// ErrEmptyPolicy means no rule is set: such a policy would remove
	// everything and is refused.
	ErrEmptyPolicy = errors.New("retention: the policy has no rule, so it would remove everything")
	// ErrRemovesAll means the rules keep none of the (verified) items.
	ErrRemovesAll = errors.New("retention: the policy would remove every item")
	// ErrInvalidPolicy wraps a description of a malformed policy.
	ErrInvalidPolicy = errors.New("retention: invalid policy")
)

// Policy says which items to keep. It is plain data (the daemon fills it
// from its configuration file) and follows restic's "forget" semantics:
//
//   - Items are ordered newest first; items at the same instant keep their
//     input order (the earlier one in the input counts as the newer).
//   - Each rule is evaluated on its own and an item is kept when any rule
//     keeps it; one item may use up a daily, a weekly and a monthly count at
//     once ("daily 7 + weekly 4" keeps 7 days plus about 3 older weeks).
//   - A count rule (Hourly, NHourly, Daily, Weekly, Monthly, Yearly) keeps the
//     newest item of each of the N most recent periods that contain an item;
//     periods without items use up nothing. Last keeps the N newest items.
//   - While a count rule still has count left when it reaches the oldest
//     item, it keeps the oldest item too (the history stays as long as the
//     counts allow), with the reason marked "(oldest)".
//   - Within keeps every item newer than Within before the reference time,
//     which is the time of the newest item that is not in the future
//     (now, if every item is in the future). WithinHourly etc. keep the newest
//     item of every period inside their window, however many.
//   - A count of Unlimited (-1) keeps one item of every period.
//   - Tags keeps every item carrying the listed tags, uncounted.
//
// Periods are calendar periods in Location (UTC when nil): clock hours,
// NHours-hour blocks aligned to local midnight, days, ISO weeks (Monday to
// Sunday), months and years. A day with a daylight-saving change is one
// period, whatever its length.
//
// On top of the rules, Apply keeps every Unverified item (they count for no
// rule) and the newest verified item, and refuses a policy that has no rule
// or whose rules keep no verified item.
type Policy struct {
	// Last keeps the Last newest items.
	Last int
	// Hourly keeps the newest item of each of the Hourly most recent clock
	// hours that contain one.
	Hourly int
	// NHourly keeps the newest item of each of the NHourly most recent
	// NHours-hour blocks (00:00-05:59, 06:00-11:59, ... for NHours 6).
	NHourly int
	// NHours is the length of an NHourly block in hours; it must divide 24.
	// Zero means 6.
	NHours int
	// Daily, Weekly, Monthly and Yearly keep the newest item of each of the
	// N most recent days, ISO weeks, months and years that contain one.
	Daily, Weekly, Monthly, Yearly int

	// Within keeps every item made within this span of the reference time.
	Within Span
	// WithinHourly ... WithinYearly keep, among the items made within the
	// span of the reference time, the newest item of every period (hour,
	// NHours block, day, ISO week, month, year), however many periods.
	WithinHourly, WithinNHourly, WithinDaily, WithinWeekly, WithinMonthly, WithinYearly Span

	// Tags keeps every item that has all tags of any one entry; an entry
	// lists tags separated by commas ("prod,monthly" needs both).
	Tags []string

	// Location is the time zone of the calendar periods; nil means UTC.
	Location *time.Location
}

// tier is one period rule of a policy, resolved for evaluation.
type tier struct {
	name   string
	count  int  // for count tiers; Unlimited allowed
	within Span // for within tiers
	isWith bool
	unit   unit
	// why the tier does not keep an item, shared by all such items
	samePeriod, usedUp, outside string
	// state during a pass
	last    int64
	started bool
	used    int
}

type unit int

const (
	unitLast unit = iota
	unitHour
	unitNHour
	unitDay
	unitWeek
	unitMonth
	unitYear
)

func (p Policy) nHours() int {
	if p.NHours == 0 {
		return 6
	}
	return p.NHours
}

func (p Policy) location() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

// Empty reports whether p has no rule at all.
func (p Policy) Empty() bool {
	return p.Last == 0 && p.Hourly == 0 && p.NHourly == 0 && p.Daily == 0 &&
		p.Weekly == 0 && p.Monthly == 0 && p.Yearly == 0 && p.Within.IsZero() &&
		p.WithinHourly.IsZero() && p.WithinNHourly.IsZero() && p.WithinDaily.IsZero() &&
		p.WithinWeekly.IsZero() && p.WithinMonthly.IsZero() && p.WithinYearly.IsZero() &&
		len(p.Tags) == 0
}

// Validate reports whether p is well formed and has a rule. The errors match
// ErrEmptyPolicy or ErrInvalidPolicy.
func (p Policy) Validate() error {
	if p.Empty() {
		return ErrEmptyPolicy
	}
	counts := []struct {
		name string
		n    int
	}{{"last", p.Last}, {"hourly", p.Hourly}, {"n-hourly", p.NHourly}, {"daily", p.Daily},
		{"weekly", p.Weekly}, {"monthly", p.Monthly}, {"yearly", p.Yearly}}
	for _, c := range counts {
		if c.n < Unlimited {
			return fmt.Errorf("%w: %s count %d (want a positive count, 0 for none, or -1 for unlimited)", ErrInvalidPolicy, c.name, c.n)
		}
	}
	if p.NHours < 0 || p.NHours > 24 || (p.NHours > 0 && 24%p.NHours != 0) {
		return fmt.Errorf("%w: n-hours %d does not divide 24", ErrInvalidPolicy, p.NHours)
	}
	spans := []struct {
		name string
		s    Span
	}{{"within", p.Within}, {"within-hourly", p.WithinHourly}, {"within-n-hourly", p.WithinNHourly},
		{"within-daily", p.WithinDaily}, {"within-weekly", p.WithinWeekly},
		{"within-monthly", p.WithinMonthly}, {"within-yearly", p.WithinYearly}}
	for _, s := range spans {
		if s.s.negative() {
			return fmt.Errorf("%w: %s span %v is negative", ErrInvalidPolicy, s.name, s.s)
		}
	}
	for _, t := range p.Tags {
		if strings.TrimSpace(t) == "" && t != "" {
			return fmt.Errorf("%w: tag entry %q is blank", ErrInvalidPolicy, t)
		}
	}
	return nil
}

func (p Policy) tiers() []tier {
	nh := strconv.Itoa(p.nHours()) + "-hourly"
	var ts []tier
	add := func(name string, n int, u unit) {
		if n != 0 {
			ts = append(ts, tier{name: name, count: n, unit: u})
		}
	}
	add("last", p.Last, unitLast)
	add("hourly", p.Hourly, unitHour)
	add(nh, p.NHourly, unitNHour)
	add("daily", p.Daily, unitDay)
	add("weekly", p.Weekly, unitWeek)
	add("monthly", p.Monthly, unitMonth)
	add("yearly", p.Yearly, unitYear)
	addW := func(name string, s Span, u unit) {
		if !s.IsZero() {
			ts = append(ts, tier{name: name, within: s, isWith: true, unit: u})
		}
	}
	addW("hourly", p.WithinHourly, unitHour)
	addW(nh, p.WithinNHourly, unitNHour)
	addW("daily", p.WithinDaily, unitDay)
	addW("weekly", p.WithinWeekly, unitWeek)
	addW("monthly", p.WithinMonthly, unitMonth)
	addW("yearly", p.WithinYearly, unitYear)
	for i := range ts {
		t := &ts[i]
		period := map[unit]string{unitHour: "hour", unitNHour: strconv.Itoa(p.nHours()) + "-hour block",
			unitDay: "day", unitWeek: "ISO week", unitMonth: "month", unitYear: "year"}[t.unit]
		if t.isWith {
			label := t.name + " within " + t.within.String()
			t.samePeriod = label + ": a newer item holds its " + period
			t.outside = label + ": older than the window"
		} else {
			t.samePeriod = t.name + ": a newer item holds its " + period
			t.usedUp = t.name + ": all " + strconv.Itoa(t.count) + " used by newer items"
		}
	}
	return ts
}

// String describes p in words, e.g. "last 3, daily 7, weekly 4, within 2d (UTC)".
func (p Policy) String() string {
	var parts []string
	for _, t := range p.tiers() {
		switch {
		case t.isWith:
			parts = append(parts, fmt.Sprintf("%s within %v", t.name, t.within))
		case t.count == Unlimited:
			parts = append(parts, "all "+t.name)
		default:
			parts = append(parts, fmt.Sprintf("%s %d", t.name, t.count))
		}
	}
	if !p.Within.IsZero() {
		parts = append(parts, fmt.Sprintf("within %v", p.Within))
	}
	for _, t := range p.Tags {
		parts = append(parts, "tags "+t)
	}
	if len(parts) == 0 {
		return "no rule"
	}
	return strings.Join(parts, ", ") + " (" + p.location().String() + ")"
}

// sortKey orders items newest first, then by input position.
type sortKey struct {
	sec        int64
	nsec, idx  int32
	unverified bool
}

func (k *sortKey) time() time.Time { return time.Unix(k.sec, int64(k.nsec)) }

// civil holds the calendar fields of an instant in the policy's zone.
type civil struct {
	year, month, day, hour, isoYear, isoWeek int
}

func (c *civil) key(u unit, nh int) int64 {
	switch u {
	case unitHour:
		return int64(c.year)*1_000_000 + int64(c.month)*10_000 + int64(c.day)*100 + int64(c.hour)
	case unitNHour:
		return int64(c.year)*1_000_000 + int64(c.month)*10_000 + int64(c.day)*100 + int64(c.hour/nh)
	case unitDay:
		return int64(c.year)*10_000 + int64(c.month)*100 + int64(c.day)
	case unitWeek:
		return int64(c.isoYear)*100 + int64(c.isoWeek)
	case unitMonth:
		return int64(c.year)*100 + int64(c.month)
	case unitYear:
		return int64(c.year)
	}
	return 0
}

// Apply decides about every item: the result holds one Decision per item, in
// the order of items (Decisions[i] is about items[i]). Rules see the items
// newest first, ties in input order. items is not modified. now is the
// present instant: items after it are "in the future" and do not serve as
// the reference time of the within rules.
//
// Apply returns ErrEmptyPolicy or ErrInvalidPolicy for a policy that fails
// Validate, and ErrRemovesAll (with no decisions) when the rules would keep
// none of the verified items. Empty input yields no decisions and no error.
func (p Policy) Apply(items []Item, now time.Time) ([]Decision, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, nil
	}
	if len(items) > math.MaxInt32 {
		return nil, fmt.Errorf("%w: %d items, at most %d per call", ErrInvalidPolicy, len(items), math.MaxInt32)
	}
	loc := p.location()
	nh := p.nHours()

	// Sort small keys, not items: newest first, ties in input order. The
	// input index makes every key unique, so an unstable O(n log n) sort
	// gives the stable order. The pass below reads only the keys, and writes
	// its results by input index, so it never walks items in random order.
	keys := make([]sortKey, len(items))
	for i := range items {
		t := items[i].Time
		keys[i] = sortKey{sec: t.Unix(), nsec: int32(t.Nanosecond()), idx: int32(i), unverified: items[i].Unverified}
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if a.sec != b.sec {
			return cmp.Compare(b.sec, a.sec)
		}
		if a.nsec != b.nsec {
			return cmp.Compare(b.nsec, a.nsec)
		}
		return cmp.Compare(a.idx, b.idx)
	})

	// The oldest verified item gets the "oldest" treatment; verified items
	// are the only ones rules see, and the only reference candidates.
	oldest, newestVerified, verified := -1, -1, 0
	// Spans are calendar arithmetic in the policy's zone.
	ref := now.In(loc)
	refSet := false
	for k := range keys {
		if keys[k].unverified {
			continue
		}
		if newestVerified < 0 {
			newestVerified = k
		}
		if t := keys[k].time(); !refSet && !t.After(now) {
			ref, refSet = t.In(loc), true
		}
		oldest = k
		verified++
	}

	tiers := p.tiers()
	cutoffs := make([]time.Time, len(tiers))
	for i := range tiers {
		if tiers[i].isWith {
			cutoffs[i] = tiers[i].within.Before(ref)
		}
	}
	var withinCut time.Time
	withinReason := "within " + p.Within.String()
	if !p.Within.IsZero() {
		withinCut = p.Within.Before(ref)
	}
	tagSets := parseTags(p.Tags)
	needCivil := false
	for _, t := range tiers {
		if t.unit != unitLast {
			needCivil = true
		}
	}

	// Slices shared by many items of this call: a Decision's Reasons are
	// read-only.
	unverifiedReasons := []string{ReasonUnverified}
	var exhaustedReasons []string // built when no rule can keep anything more
	withinOutside := "within " + p.Within.String() + ": older than the window"
	tagsMiss := "tags: no tag list matches"
	type result struct {
		keep    bool
		reasons []string
	}
	res := make([]result, len(items))
	keptVerified := 0
	var reasons, whyNot []string
	// Removed items with the same explanation share one slice. A policy has
	// at most 13 tiers (2 bits each) plus tags and within: 32 bits.
	removedReasons := map[uint32][]string{}
	var cache civilCache
	// exhausted reports whether no rule can keep an item at t or older: every
	// count is used up and t is outside every window. It then stays true, as
	// items come newest first.
	done := false
	exhausted := func(t time.Time) bool {
		if len(tagSets) > 0 || (!p.Within.IsZero() && t.After(withinCut)) {
			return false
		}
		for i := range tiers {
			tr := &tiers[i]
			if tr.isWith {
				if t.After(cutoffs[i]) {
					return false
				}
			} else if tr.count == Unlimited || tr.used < tr.count {
				return false
			}
		}
		return true
	}
	for k := range keys {
		key := &keys[k]
		r := &res[key.idx]
		if key.unverified {
			r.keep, r.reasons = true, unverifiedReasons
			continue
		}
		t := key.time()
		if !done {
			done = exhausted(t)
		}
		if done {
			// No rule can keep this or any older item.
			if exhaustedReasons == nil {
				exhaustedReasons = []string{ReasonNoRule}
				if !p.Within.IsZero() {
					exhaustedReasons = append(exhaustedReasons, withinOutside)
				}
				for i := range tiers {
					if tiers[i].isWith {
						exhaustedReasons = append(exhaustedReasons, tiers[i].outside)
					} else {
						exhaustedReasons = append(exhaustedReasons, tiers[i].usedUp)
					}
				}
			}
			r.reasons = exhaustedReasons
			continue
		}
		reasons, whyNot = reasons[:0], whyNot[:0]
		var whyCode uint32 // whyNot as a number, to share equal lists
		tagged := false
		for _, ts := range tagSets {
			if hasAll(items[key.idx].Tags, ts) {
				reasons = append(reasons, "tags "+strings.Join(ts, ","))
				tagged = true
			}
		}
		if len(tagSets) > 0 && !tagged {
			whyNot = append(whyNot, tagsMiss)
			whyCode |= 1 << 30
		}
		if !p.Within.IsZero() {
			if t.After(withinCut) {
				reasons = append(reasons, withinReason)
			} else {
				whyNot = append(whyNot, withinOutside)
				whyCode |= 1 << 31
			}
		}
		var c civil
		if needCivil {
			c = cache.civil(key.sec, key.nsec, loc)
		}
		isOldest := k == oldest
		for i := range tiers {
			tr := &tiers[i]
			if tr.isWith {
				if !t.After(cutoffs[i]) {
					whyNot = append(whyNot, tr.outside)
					whyCode |= 3 << (2 * i)
					continue
				}
				pk := c.key(tr.unit, nh)
				if tr.started && pk == tr.last && !isOldest {
					whyNot = append(whyNot, tr.samePeriod)
					whyCode |= 1 << (2 * i)
					continue
				}
				oldestMark := tr.started && pk == tr.last
				tr.started, tr.last = true, pk
				tr.used++
				why := tr.name + " within " + tr.within.String()
				if oldestMark {
					why += " (oldest)"
				}
				reasons = append(reasons, why)
				continue
			}
			if tr.count != Unlimited && tr.used >= tr.count {
				whyNot = append(whyNot, tr.usedUp)
				whyCode |= 2 << (2 * i)
				continue
			}
			var pk int64
			if tr.unit == unitLast {
				pk = int64(k)
			} else {
				pk = c.key(tr.unit, nh)
			}
			if tr.started && pk == tr.last && !isOldest {
				whyNot = append(whyNot, tr.samePeriod)
				whyCode |= 1 << (2 * i)
				continue
			}
			oldestMark := tr.started && pk == tr.last
			tr.started, tr.last = true, pk
			tr.used++
			var why string
			if tr.count == Unlimited {
				why = tr.name + " " + strconv.Itoa(tr.used) + " of unlimited"
			} else {
				why = tr.name + " " + strconv.Itoa(tr.used) + " of " + strconv.Itoa(tr.count)
			}
			if oldestMark {
				why += " (oldest)"
			}
			reasons = append(reasons, why)
		}
		if len(reasons) > 0 {
			r.keep, r.reasons = true, slices.Clone(reasons)
			keptVerified++
		} else if shared, ok := removedReasons[whyCode]; ok {
			r.reasons = shared
		} else {
			r.reasons = make([]string, 0, 1+len(whyNot))
			r.reasons = append(append(r.reasons, ReasonNoRule), whyNot...)
			removedReasons[whyCode] = r.reasons
		}
	}
	if newestVerified >= 0 {
		if keptVerified == 0 {
			return nil, fmt.Errorf("%w (%s; %d verified items)", ErrRemovesAll, p.String(), verified)
		}
		if r := &res[keys[newestVerified].idx]; !r.keep {
			r.keep, r.reasons = true, []string{ReasonNewestVerified}
		}
	}
	out := make([]Decision, len(items))
	for i := range items {
		out[i] = Decision{Item: items[i], Keep: res[i].keep, Reasons: res[i].reasons}
	}
	return out, nil
}

// civilCache computes calendar fields fast. Within one zone period (a span
// of constant UTC offset, as time.Time.ZoneBounds reports) the local day and
// hour follow from the Unix time by arithmetic; the year, month, day and ISO
// week are computed once per local day. Items come newest first, so most
// share their day and zone period with the previous one.
type civilCache struct {
	zoneOK, dayOK bool
	zStart, zEnd  int64 // [zStart, zEnd) in Unix seconds
	offset        int64
	day           int64 // local day number of c
	c             civil
}

func (cc *civilCache) civil(sec int64, nsec int32, loc *time.Location) civil {
	if !cc.zoneOK || sec < cc.zStart || sec >= cc.zEnd {
		lt := time.Unix(sec, int64(nsec)).In(loc)
		_, off := lt.Zone()
		start, end := lt.ZoneBounds()
		cc.zStart, cc.zEnd = math.MinInt64, math.MaxInt64
		if !start.IsZero() {
			cc.zStart = start.Unix()
		}
		if !end.IsZero() {
			cc.zEnd = end.Unix()
		}
		cc.offset = int64(off)
		cc.zoneOK, cc.dayOK = true, false
	}
	local := sec + cc.offset
	day := local / 86400
	if local%86400 < 0 {
		day--
	}
	if !cc.dayOK || day != cc.day {
		lt := time.Unix(sec, int64(nsec)).In(loc)
		y, m, d := lt.Date()
		iy, iw := lt.ISOWeek()
		cc.c = civil{year: y, month: int(m), day: d, isoYear: iy, isoWeek: iw}
		cc.day, cc.dayOK = day, true
	}
	c := cc.c
	c.hour = int((local - day*86400) / 3600)
	return c
}

func parseTags(entries []string) [][]string {
	var sets [][]string
	for _, e := range entries {
		var set []string
		for _, t := range strings.Split(e, ",") {
			if t = strings.TrimSpace(t); t != "" {
				set = append(set, t)
			}
		}
		sets = append(sets, set)
	}
	return sets
}

// hasAll reports whether tags contains every entry of want; an empty want
// (the entry "") matches only untagged items, as in restic.
func hasAll(tags, want []string) bool {
	if len(want) == 0 {
		return len(tags) == 0
	}
	for _, w := range want {
		if !slices.Contains(tags, w) {
			return false
		}
	}
	return true
}
