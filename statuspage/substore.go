package statuspage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Subscriber kinds.
const (
	KindEmail   = "email"
	KindWebhook = "webhook"
)

// Subscriber is someone notified of a page's incidents: an email address
// (after double opt-in) or a webhook URL (added by an administrator).
type Subscriber struct {
	ID         string
	Page       string // the page's slug
	Kind       string // KindEmail or KindWebhook
	Address    string // email address or webhook URL
	Components []string
	Confirmed  bool
	Created    time.Time
}

// wants reports whether a subscriber to comps hears of something that
// affects affected: everything when either is empty (a page-wide incident
// reaches every subscriber), otherwise when they share a component.
func wants(comps, affected []string) bool {
	if len(comps) == 0 || len(affected) == 0 {
		return true
	}
	for _, a := range affected {
		for _, c := range comps {
			if a == c {
				return true
			}
		}
	}
	return false
}

// queryer is what both *sql.DB and *sql.Tx offer.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func marshalIDs(ids []string) string {
	if ids == nil {
		ids = []string{}
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// request records a subscription request of address to slug and returns
// the subscriber's ID. A new address is stored unconfirmed; a known one
// keeps its state and its current selection until the new one (pending)
// is confirmed.
func (s *Store) request(ctx context.Context, q queryer, slug, kind, address string, comps []string, confirmed bool, now time.Time) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT id FROM statuspage_subscribers WHERE slug = $1 AND kind = $2 AND address = $3`, slug, kind, address).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		id = newID()
		active := "[]"
		if confirmed {
			active = marshalIDs(comps)
		}
		_, err = q.ExecContext(ctx, `INSERT INTO statuspage_subscribers (id, slug, kind, address, components, pending, confirmed, created)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, slug, kind, address, active, marshalIDs(comps), b2i(confirmed), now.Unix())
	case err == nil && confirmed:
		_, err = q.ExecContext(ctx, `UPDATE statuspage_subscribers SET components = $1, pending = $1, confirmed = 1 WHERE id = $2`, marshalIDs(comps), id)
	case err == nil:
		_, err = q.ExecContext(ctx, `UPDATE statuspage_subscribers SET pending = $1 WHERE id = $2`, marshalIDs(comps), id)
	}
	if err != nil {
		return "", fmt.Errorf("statuspage: store subscriber of %s: %w", slug, err)
	}
	return id, nil
}

// confirm makes a subscriber's pending selection active. It reports
// whether the subscriber exists.
func (s *Store) confirm(ctx context.Context, slug, id string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE statuspage_subscribers SET confirmed = 1, components = pending WHERE id = $1 AND slug = $2`, id, slug)
	if err != nil {
		return false, fmt.Errorf("statuspage: confirm subscriber: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// unsubscribe deletes a subscriber and what is queued for it.
func (s *Store) unsubscribe(ctx context.Context, slug, id string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM statuspage_subscribers WHERE id = $1 AND slug = $2`, id, slug)
	if err != nil {
		return fmt.Errorf("statuspage: unsubscribe: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM statuspage_outbox WHERE subscriber = $1`, id); err != nil {
			return fmt.Errorf("statuspage: unsubscribe: %w", err)
		}
	}
	return tx.Commit()
}

// subscribers lists a page's subscribers; confirmedOnly leaves out those
// who have not confirmed.
func (s *Store) subscribers(ctx context.Context, q queryer, slug string, confirmedOnly bool) ([]Subscriber, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, kind, address, components, confirmed, created FROM statuspage_subscribers
		WHERE slug = $1 AND confirmed >= $2 ORDER BY created, id`, slug, b2i(confirmedOnly))
	if err != nil {
		return nil, fmt.Errorf("statuspage: subscribers of %s: %w", slug, err)
	}
	defer rows.Close()
	var out []Subscriber
	for rows.Next() {
		sub := Subscriber{Page: slug}
		var comps string
		var confirmed int
		var created int64
		if err := rows.Scan(&sub.ID, &sub.Kind, &sub.Address, &comps, &confirmed, &created); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(comps), &sub.Components); err != nil {
			return nil, fmt.Errorf("statuspage: subscriber %s: %w", sub.ID, err)
		}
		sub.Confirmed, sub.Created = confirmed == 1, time.Unix(created, 0).UTC()
		out = append(out, sub)
	}
	return out, rows.Err()
}

// Outbox message kinds.
const (
	outConfirm = "confirm" // a confirm link, sent to unconfirmed subscribers
	outNotice  = "notice"  // a notification, for confirmed subscribers only
)

// enqueue queues a message. Its created column is a sequence (wall-clock
// nanoseconds, strictly increasing in this process) so that the updates
// of an incident go out in the order they were posted.
func (s *Store) enqueue(ctx context.Context, q queryer, subscriber, kind, subject, body string, now time.Time) error {
	seq := time.Now().UnixNano()
	for {
		last := s.seq.Load()
		if seq <= last {
			seq = last + 1
		}
		if s.seq.CompareAndSwap(last, seq) {
			break
		}
	}
	_, err := q.ExecContext(ctx, `INSERT INTO statuspage_outbox (id, subscriber, kind, subject, body, attempts, next_at, created)
		VALUES ($1, $2, $3, $4, $5, 0, $6, $7)`, newID(), subscriber, kind, subject, body, now.Unix(), seq)
	if err != nil {
		return fmt.Errorf("statuspage: queue notification: %w", err)
	}
	return nil
}

// outMessage is a queued message with its recipient.
type outMessage struct {
	id, kind, subject, body string
	attempts                int
	sub                     Subscriber
	confirmed               bool
}

// due returns queued messages whose time has come, oldest first, and
// drops those whose subscriber is gone.
func (s *Store) due(ctx context.Context, now time.Time, limit int) ([]outMessage, error) {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM statuspage_outbox WHERE subscriber NOT IN (SELECT id FROM statuspage_subscribers)`); err != nil {
		return nil, fmt.Errorf("statuspage: outbox: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT o.id, o.kind, o.subject, o.body, o.attempts, s.id, s.slug, s.kind, s.address, s.confirmed
		FROM statuspage_outbox o JOIN statuspage_subscribers s ON s.id = o.subscriber
		WHERE o.next_at <= $1 ORDER BY o.next_at, o.created, o.id LIMIT $2`, now.Unix(), limit)
	if err != nil {
		return nil, fmt.Errorf("statuspage: outbox: %w", err)
	}
	defer rows.Close()
	var out []outMessage
	for rows.Next() {
		var m outMessage
		var confirmed int
		if err := rows.Scan(&m.id, &m.kind, &m.subject, &m.body, &m.attempts, &m.sub.ID, &m.sub.Page, &m.sub.Kind, &m.sub.Address, &confirmed); err != nil {
			return nil, err
		}
		m.confirmed = confirmed == 1
		m.sub.Confirmed = m.confirmed
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *Store) done(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM statuspage_outbox WHERE id = $1`, id)
	return err
}

func (s *Store) retry(ctx context.Context, id string, attempts int, next time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE statuspage_outbox SET attempts = $1, next_at = $2 WHERE id = $3`, attempts, next.Unix(), id)
	return err
}

// StatusChange is a recorded change of a component's status.
type StatusChange struct {
	Component string
	At        time.Time
	Old, New  ComponentStatus
	Reason    string // why, e.g. the failing check's message; never shown on the public page
}

func (s *Store) recordChange(ctx context.Context, q queryer, slug string, c StatusChange) error {
	_, err := q.ExecContext(ctx, `INSERT INTO statuspage_status_changes (slug, component, at, old_status, new_status, reason)
		VALUES ($1, $2, $3, $4, $5, $6)`, slug, c.Component, c.At.UnixMilli(), string(c.Old), string(c.New), c.Reason)
	if err != nil {
		return fmt.Errorf("statuspage: record status change: %w", err)
	}
	return nil
}

// StatusChanges returns the last limit status changes of a component,
// newest first.
func (h *Handler) StatusChanges(ctx context.Context, slug, component string, limit int) ([]StatusChange, error) {
	rows, err := h.store.db.QueryContext(ctx, `SELECT at, old_status, new_status, reason FROM statuspage_status_changes
		WHERE slug = $1 AND component = $2 ORDER BY at DESC LIMIT $3`, slug, component, limit)
	if err != nil {
		return nil, fmt.Errorf("statuspage: status changes of %s/%s: %w", slug, component, err)
	}
	defer rows.Close()
	var out []StatusChange
	for rows.Next() {
		c := StatusChange{Component: component}
		var at int64
		var old, nw string
		if err := rows.Scan(&at, &old, &nw, &c.Reason); err != nil {
			return nil, err
		}
		c.At, c.Old, c.New = time.UnixMilli(at).UTC(), ComponentStatus(old), ComponentStatus(nw)
		out = append(out, c)
	}
	return out, rows.Err()
}
