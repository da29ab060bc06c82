package check

// Damper is flap damping: a condition fires after FailuresToFire
// consecutive failures and resolves after SuccessesToResolve consecutive
// successes (Gatus' failure-threshold and success-threshold, Nagios' soft
// and hard states). A single failure between successes, or a single
// success between failures, changes nothing. The zero value fires on the
// first failure and resolves on the first success.
type Damper struct {
	FailuresToFire     int // default 1
	SuccessesToResolve int // default 1

	failures, successes int
	firing              bool
}

// Transition is what one observation did to a Damper.
type Transition int

// The transitions Observe reports.
const (
	Unchanged Transition = iota // still firing, or still quiet
	Fired                       // the failure threshold was reached
	Resolved                    // the success threshold was reached
)

// Observe records one result and reports whether it made the condition fire
// or resolve.
func (d *Damper) Observe(ok bool) Transition {
	if ok {
		d.failures = 0
		if !d.firing {
			return Unchanged
		}
		d.successes++
		if d.successes >= max(d.SuccessesToResolve, 1) {
			d.firing, d.successes = false, 0
			return Resolved
		}
		return Unchanged
	}
	d.successes = 0
	if d.firing {
		return Unchanged
	}
	d.failures++
	if d.failures >= max(d.FailuresToFire, 1) {
		d.firing, d.failures = true, 0
		return Fired
	}
	return Unchanged
}

// Firing reports whether the condition is firing.
func (d *Damper) Firing() bool { return d.firing }

// Streak returns the current run of consecutive failures (while quiet) or
// successes (while firing) counted towards the next transition.
func (d *Damper) Streak() int {
	if d.firing {
		return d.successes
	}
	return d.failures
}
