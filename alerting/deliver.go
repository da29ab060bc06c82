package alerting

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"
)

// Deliver sends the outbox notifications that are due, each receiver in
// its own goroutine and in order (a notification is not overtaken by a
// later one for the same receiver), and waits for them. A delivery that
// succeeds is removed from the outbox; one that fails is retried after a
// backoff (Config.Retry) by a later Deliver, or kept as failed when the
// error wraps ErrPermanent. One receiver's failure does not hold up the
// others; the errors of this pass are returned together.
func (m *Manager) Deliver(ctx context.Context) error {
	var g multierror.Group
	for _, r := range m.dueReceivers() {
		g.Go(func() error { return m.deliverReceiver(ctx, r) })
	}
	return g.Wait().ErrorOrNil()
}

// dueReceivers returns the receivers with a due delivery that nobody is
// delivering to, and marks them busy.
func (m *Manager) dueReceivers() []string {
	now := m.now()
	m.mu.Lock()
	var due []string
	for r, items := range m.outbox {
		for _, it := range items {
			if it.status == "pending" {
				if !it.nextAt.After(now) {
					due = append(due, r)
				}
				break // in order: only the head counts
			}
		}
	}
	m.mu.Unlock()
	sort.Strings(due)
	m.dmu.Lock()
	defer m.dmu.Unlock()
	out := due[:0]
	for _, r := range due {
		if !m.busy[r] {
			m.busy[r] = true
			out = append(out, r)
		}
	}
	return out
}

// deliverReceiver sends receiver's due notifications in order until one
// fails with a retryable error or none is due.
func (m *Manager) deliverReceiver(ctx context.Context, receiver string) error {
	defer func() {
		m.dmu.Lock()
		delete(m.busy, receiver)
		m.dmu.Unlock()
	}()
	rc, ok := m.cfg.Receivers[receiver]
	var errs error
	for ctx.Err() == nil {
		m.mu.Lock()
		var it *outboxItem
		for _, x := range m.outbox[receiver] {
			if x.status == "pending" {
				it = x
				break
			}
		}
		now := m.now()
		if it == nil || it.nextAt.After(now) {
			m.mu.Unlock()
			return errs
		}
		body := it.body
		m.mu.Unlock()

		var err error
		if !ok {
			err = fmt.Errorf("receiver %q is no longer configured: %w", receiver, ErrPermanent)
		} else {
			// A delivery under way finishes (within DeliveryTimeout) even
			// when ctx is cancelled, so that a shutdown does not leave a
			// notification sent but not recorded, to be sent again.
			dctx, cancel := context.WithTimeout(WithDelivery(context.WithoutCancel(ctx), body.Delivery), m.cfg.DeliveryTimeout)
			err = rc.Notifier.Notify(dctx, body.Alerts...)
			cancel()
		}
		sctx := context.WithoutCancel(ctx)
		now = m.now()
		m.mu.Lock()
		if err == nil {
			m.outbox[receiver] = slices.DeleteFunc(m.outbox[receiver], func(x *outboxItem) bool { return x == it })
			m.mu.Unlock()
			if serr := m.store.delivered(sctx, it.id); serr != nil {
				m.log().Error("alerting: delivered notification not marked; it may be sent again with the same key", "receiver", receiver, "key", it.key, "err", serr)
			}
			m.log().Info("alerting: notified", "receiver", receiver, "key", it.key, "alerts", len(body.Alerts), "level", body.Delivery.Level, "resolved", body.Delivery.Resolved)
			continue
		}
		it.attempts++
		it.lastError = err.Error()
		if errors.Is(err, ErrPermanent) {
			it.status = "failed"
		} else {
			it.nextAt = now.Add(m.backoff(it.attempts))
		}
		cp := *it
		m.mu.Unlock()
		if serr := m.store.failedAttempt(sctx, &cp); serr != nil {
			m.log().Error("alerting: cannot record failed delivery", "receiver", receiver, "key", it.key, "err", serr)
		}
		if cp.status == "failed" {
			m.log().Error("alerting: notification failed permanently", "receiver", receiver, "key", it.key, "attempts", cp.attempts, "err", err)
			errs = multierror.Append(errs, fmt.Errorf("receiver %s: %w", receiver, err))
			continue // the next one may still go through
		}
		m.log().Warn("alerting: notification failed, will retry", "receiver", receiver, "key", it.key, "attempts", cp.attempts, "retry_at", cp.nextAt, "err", err)
		return multierror.Append(errs, fmt.Errorf("receiver %s: %w", receiver, err))
	}
	return errs
}

// backoff returns the wait before retry attempt n (1-based): Min doubled
// n-1 times, capped at Max, minus up to half of it at random.
func (m *Manager) backoff(n int) time.Duration {
	d := m.cfg.Retry.Min
	for i := 1; i < n && d < m.cfg.Retry.Max; i++ {
		d *= 2
	}
	d = min(d, m.cfg.Retry.Max)
	return d - time.Duration(rand.Int64N(int64(d)/2+1))
}

// Pending is an undelivered notification, as Manager.Outbox reports it.
type Pending struct {
	Key       string
	Receiver  string
	GroupKey  string
	Alerts    int
	Created   time.Time
	Attempts  int
	NextTry   time.Time
	Failed    bool // permanently: kept for an operator to see
	LastError string
}

// Outbox returns the notifications not yet delivered, oldest first.
func (m *Manager) Outbox() []Pending {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Pending
	for _, items := range m.outbox {
		for _, it := range items {
			out = append(out, Pending{Key: it.key, Receiver: it.receiver, GroupKey: it.body.Delivery.GroupKey,
				Alerts: len(it.body.Alerts), Created: it.createdAt, Attempts: it.attempts, NextTry: it.nextAt,
				Failed: it.status == "failed", LastError: it.lastError})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// Run drives the Manager until ctx is done: Tick every TickInterval, deliveries
// as soon as they are due (each receiver on its own), the watchdog
// heartbeat, and daily removal of expired silences. It returns nil when
// ctx is cancelled.
func (m *Manager) Run(ctx context.Context) error {
	tick := time.NewTicker(m.cfg.TickInterval)
	defer tick.Stop()
	var watchdog <-chan time.Time
	var beats sync.WaitGroup
	defer beats.Wait()
	if m.cfg.Watchdog.Receiver != "" {
		t := time.NewTicker(m.cfg.Watchdog.Interval)
		defer t.Stop()
		watchdog = t.C
		beats.Go(func() { m.sendWatchdog(ctx) })
	}
	gc := time.NewTicker(24 * time.Hour)
	defer gc.Stop()
	done := make(chan struct{})
	running := 0
	for {
		select {
		case <-ctx.Done():
			for ; running > 0; running-- {
				<-done
			}
			return nil
		case <-tick.C:
			if err := m.Tick(ctx); err != nil {
				m.log().Error("alerting: tick failed", "err", err)
			}
			for _, r := range m.dueReceivers() {
				running++
				go func() {
					m.deliverReceiver(ctx, r) // errors are logged per attempt
					done <- struct{}{}
				}()
			}
		case <-done:
			running--
		case <-watchdog:
			beats.Go(func() { m.sendWatchdog(ctx) })
		case <-gc.C:
			if err := m.cleanUp(ctx, m.now().Add(-7*24*time.Hour)); err != nil {
				m.log().Warn("alerting: removing expired silences and old failed notifications", "err", err)
			}
		}
	}
}

// cleanUp removes silences that ended, and notifications that failed
// permanently, before t.
func (m *Manager) cleanUp(ctx context.Context, t time.Time) error {
	if err := m.store.deleteSilencesBefore(ctx, t); err != nil {
		return err
	}
	if err := m.store.deleteFailedBefore(ctx, t); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, s := range m.silences {
		if s.EndsAt.Before(t) {
			delete(m.silences, id)
		}
	}
	for r, items := range m.outbox {
		m.outbox[r] = slices.DeleteFunc(items, func(it *outboxItem) bool { return it.status == "failed" && it.createdAt.Before(t) })
	}
	return nil
}

// sendWatchdog sends the always-firing heartbeat alert.
func (m *Manager) sendWatchdog(ctx context.Context) {
	rc := m.cfg.Receivers[m.cfg.Watchdog.Receiver]
	now := m.now()
	a := Alert{
		Labels:   Labels{"alertname": "Watchdog"},
		Severity: Info,
		Summary:  "opskit alerting is alive: this alert always fires; page if it stops",
		StartsAt: now, Source: "watchdog",
	}
	dctx, cancel := context.WithTimeout(WithDelivery(ctx, Delivery{
		Key: fmt.Sprintf("watchdog-%d", now.Unix()), GroupKey: "watchdog", Receiver: m.cfg.Watchdog.Receiver,
	}), m.cfg.DeliveryTimeout)
	defer cancel()
	if err := rc.Notifier.Notify(dctx, a); err != nil && ctx.Err() == nil {
		m.log().Warn("alerting: watchdog heartbeat failed", "receiver", m.cfg.Watchdog.Receiver, "err", err)
	}
}
