package esrule

import "time"

// Silence is a realert record: no alert of a rule for a query key value
// before Until. Exponent is exponential_realert's current doubling.
type Silence struct {
	Until    time.Time
	Exponent int
}

// nextSilence is ElastAlert's next_alert_time: the silence that follows an
// alert sent at now, given the previous one (nil for the first alert).
func nextSilence(r Rule, prev *Silence, now time.Time) Silence {
	if prev == nil || r.ExponentialRealert <= 0 {
		return Silence{Until: now.Add(r.Realert)}
	}
	exp := prev.Exponent
	diff := now.Sub(prev.Until)
	step := func(e int) time.Duration { return r.Realert << e }
	if diff < step(exp) {
		exp++
	} else {
		// The longer it has been quiet, the further the exponent decays.
		for exp > 0 && diff > step(exp) {
			diff -= step(exp)
			exp--
		}
	}
	wait := step(exp)
	if exp > 40 || wait >= r.ExponentialRealert {
		return Silence{Until: now.Add(r.ExponentialRealert), Exponent: exp - 1}
	}
	return Silence{Until: now.Add(wait), Exponent: exp}
}
