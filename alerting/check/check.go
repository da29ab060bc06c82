package check

import (
	"context"
	"time"

	"github.com/opskit/opskit/alerting"
)

// Check probes one thing once. Implementations honour ctx (the Runner gives
// each run a deadline) and report failure in the Result, never by panicking.
// A Check is never run concurrently with itself by a Runner, so stateful
// checks (Resources) may keep state between runs.
type Check interface {
	Check(ctx context.Context) Result
}

// Func adapts a function to a Check.
type Func func(ctx context.Context) Result

// Check calls f(ctx).
func (f Func) Check(ctx context.Context) Result { return f(ctx) }

// ComponentStatus is a status-page component status. The values are
// Atlassian Statuspage's, the same strings as statuspage.ComponentStatus, so
// the daemon converts with statuspage.ComponentStatus(s).
type ComponentStatus string

// The component statuses a check can map to, best to worst.
const (
	Operational         ComponentStatus = "operational"
	DegradedPerformance ComponentStatus = "degraded_performance"
	PartialOutage       ComponentStatus = "partial_outage"
	MajorOutage         ComponentStatus = "major_outage"
)

// Result is the outcome of one run of a Check.
type Result struct {
	// OK is true when the probed thing is healthy.
	OK bool
	// Message says what was found, in one line: "connection refused",
	// "certificate expires in 5 days", "status.indicator is \"major\"".
	// It never contains secrets (tokens, passwords, request headers).
	Message string
	// Latency is how long the probe took (dial, handshake, response).
	Latency time.Duration
	// Values are measurements for logs and observers, such as
	// "cert_days_left", "status_code", "cpu_percent", "disk_percent:/var".
	Values map[string]float64
	// Severity of the alert when the check fails; empty means the
	// Entry's severity. A certificate close to its expiry threshold is a
	// Warning, a closed port is not.
	Severity alerting.Severity
	// Status is the component status the failure stands for; empty
	// means the Entry's (MajorOutage by default). A slow response is
	// DegradedPerformance; an expiring certificate is Operational (the
	// service still works while the alert asks someone to renew it).
	Status ComponentStatus
}

// ok returns a passing Result.
func ok(msg string, latency time.Duration, values map[string]float64) Result {
	return Result{OK: true, Message: msg, Latency: latency, Values: values}
}

// fail returns a failing Result.
func fail(msg string, latency time.Duration, values map[string]float64) Result {
	return Result{OK: false, Message: msg, Latency: latency, Values: values}
}
