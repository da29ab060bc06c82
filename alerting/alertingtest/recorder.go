package alertingtest

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/opskit/opskit/alerting"
)

// ErrInjected is the retryable error a Recorder returns when told to fail
// without a specific error.
var ErrInjected = errors.New("alertingtest: injected failure")

// Notification is one successful Notify call seen by a Recorder.
type Notification struct {
	Delivery    alerting.Delivery // zero when the context carried none
	HasDelivery bool
	Alerts      []alerting.Alert
}

// Recorder is an alerting.Notifier for other packages' tests: it records
// every accepted notification with its Delivery, and can be told to fail
// (FailNext, FailUntil) or to block (Block). The zero value accepts
// everything. It is safe for concurrent use.
type Recorder struct {
	mu       sync.Mutex
	notes    []Notification
	attempts int
	failN    int
	failErr  error
	failTill <-chan struct{}
	block    <-chan struct{}
	changed  chan struct{} // closed and replaced on every attempt
}

var _ alerting.Notifier = (*Recorder)(nil)

// Notify records the alerts, unless told to fail or block. Failed and
// blocked calls count as attempts but are not recorded.
func (r *Recorder) Notify(ctx context.Context, alerts ...alerting.Alert) error {
	r.mu.Lock()
	block := r.block
	r.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			r.mu.Lock()
			r.attempts++
			r.broadcastLocked()
			r.mu.Unlock()
			return fmt.Errorf("alertingtest: blocked: %w", ctx.Err())
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.broadcastLocked()
	r.attempts++
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("alertingtest: %w", err)
	}
	if r.failN > 0 {
		r.failN--
		return r.failErr
	}
	if r.failTill != nil {
		select {
		case <-r.failTill:
			r.failTill = nil
		default:
			return fmt.Errorf("alertingtest: failing until released: %w", ErrInjected)
		}
	}
	d, ok := alerting.DeliveryFrom(ctx)
	r.notes = append(r.notes, Notification{Delivery: d, HasDelivery: ok, Alerts: append([]alerting.Alert(nil), alerts...)})
	return nil
}

func (r *Recorder) broadcastLocked() {
	if r.changed != nil {
		close(r.changed)
	}
	r.changed = make(chan struct{})
}

// FailNext makes the next n calls return err (nil means a retryable
// ErrInjected; wrap alerting.ErrPermanent for a permanent one).
func (r *Recorder) FailNext(n int, err error) {
	if err == nil {
		err = ErrInjected
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failN, r.failErr = n, err
}

// FailUntil makes calls return a retryable error until release is closed,
// like a receiver that is down and comes back.
func (r *Recorder) FailUntil(release <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failTill = release
}

// Block makes calls wait until release is closed (then proceed) or their
// context ends (then fail with the context's error), like a hung receiver.
// Block(nil) stops blocking.
func (r *Recorder) Block(release <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.block = release
}

// Notifications returns the recorded notifications, oldest first.
func (r *Recorder) Notifications() []Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Notification(nil), r.notes...)
}

// Attempts returns the number of Notify calls that finished, successful or not.
func (r *Recorder) Attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts
}

// Wait blocks until at least n notifications are recorded and returns
// them, or returns ctx's error. Tests use it instead of sleeping.
func (r *Recorder) Wait(ctx context.Context, n int) ([]Notification, error) {
	return r.waitFor(ctx, func() bool { return len(r.notes) >= n })
}

// WaitAttempts blocks until at least n calls have finished.
func (r *Recorder) WaitAttempts(ctx context.Context, n int) error {
	_, err := r.waitFor(ctx, func() bool { return r.attempts >= n })
	return err
}

func (r *Recorder) waitFor(ctx context.Context, done func() bool) ([]Notification, error) {
	for {
		r.mu.Lock()
		if done() {
			notes := append([]Notification(nil), r.notes...)
			r.mu.Unlock()
			return notes, nil
		}
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("alertingtest: waiting for notifications: %w", ctx.Err())
		}
	}
}
