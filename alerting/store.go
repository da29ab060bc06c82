package alerting

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/opskit/opskit/sqlstore"
)

// The Manager's schema (component "alerting" in opskit_schema). Version 1:
// alerts by fingerprint, group state, silences, and the notification outbox.
// Bodies are JSON documents whose shape belongs to this schema version.
var migrations = []sqlstore.Migration{{
	Version: 1,
	SQL: `
CREATE TABLE alerting_alerts (
	fingerprint TEXT PRIMARY KEY,
	body        TEXT NOT NULL,
	updated_at  BIGINT NOT NULL
);
CREATE TABLE alerting_groups (
	id         TEXT PRIMARY KEY,
	body       TEXT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE TABLE alerting_silences (
	id      TEXT PRIMARY KEY,
	body    TEXT NOT NULL,
	ends_at BIGINT NOT NULL
);
CREATE TABLE alerting_outbox (
	id         BIGINT PRIMARY KEY,
	key        TEXT NOT NULL UNIQUE,
	group_id   TEXT NOT NULL,
	receiver   TEXT NOT NULL,
	body       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	next_at    BIGINT NOT NULL,
	status     TEXT NOT NULL,
	last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alerting_outbox_receiver ON alerting_outbox (receiver, id);
`,
}, {
	// Version 2: requests from other processes (the CLI), applied by the
	// running Manager at its next Tick.
	Version: 2,
	SQL: `
CREATE TABLE alerting_commands (
	id         TEXT PRIMARY KEY,
	body       TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
`,
}}

// store persists the Manager's state.
type store struct{ db *sqlstore.DB }

func openStore(ctx context.Context, db *sqlstore.DB) (*store, error) {
	if err := db.Migrate(ctx, "alerting", migrations); err != nil {
		return nil, fmt.Errorf("alerting: store schema: %w", err)
	}
	return &store{db: db}, nil
}

// groupRecord is the persisted state of a group.
type groupRecord struct {
	ID        string                `json:"id"`
	Route     string                `json:"route"`
	FirstSeen time.Time             `json:"firstSeen"`
	Level     int                   `json:"level"`
	LevelAt   time.Time             `json:"levelAt"`
	Loops     int                   `json:"loops"`
	Started   bool                  `json:"started"`
	PausedAt  time.Time             `json:"pausedAt"`
	AckedBy   string                `json:"ackedBy,omitempty"`
	AckedAt   time.Time             `json:"ackedAt"`
	Reached   []string              `json:"reached,omitempty"`
	Sent      map[string]sentRecord `json:"sent,omitempty"`
	Seq       int                   `json:"seq"`
}

// sentRecord is what a receiver was last told about a group.
type sentRecord struct {
	At     time.Time `json:"at"`
	Firing []string  `json:"firing"` // fingerprints
}

// outboxBody is the persisted notification.
type outboxBody struct {
	Alerts   []Alert  `json:"alerts"`
	Delivery Delivery `json:"delivery"`
}

type outboxItem struct {
	id        int64
	key       string
	groupID   string
	receiver  string
	body      outboxBody
	createdAt time.Time
	attempts  int
	nextAt    time.Time
	status    string // "pending" or "failed"
	lastError string
}

type snapshot struct {
	alerts   []Alert
	groups   []groupRecord
	silences []Silence
	outbox   []*outboxItem
}

func (s *store) load(ctx context.Context) (*snapshot, error) {
	snap := &snapshot{}
	if err := s.each(ctx, `SELECT body FROM alerting_alerts ORDER BY fingerprint`, func(body string) error {
		var a Alert
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			return err
		}
		snap.alerts = append(snap.alerts, a)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("alerting: load alerts: %w", err)
	}
	if err := s.each(ctx, `SELECT body FROM alerting_groups ORDER BY id`, func(body string) error {
		var g groupRecord
		if err := json.Unmarshal([]byte(body), &g); err != nil {
			return err
		}
		snap.groups = append(snap.groups, g)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("alerting: load groups: %w", err)
	}
	if err := s.each(ctx, `SELECT body FROM alerting_silences ORDER BY id`, func(body string) error {
		var si silenceRecord
		if err := json.Unmarshal([]byte(body), &si); err != nil {
			return err
		}
		sil, err := si.silence()
		if err != nil {
			return err
		}
		snap.silences = append(snap.silences, sil)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("alerting: load silences: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, key, group_id, receiver, body, created_at, attempts, next_at, status, last_error
		FROM alerting_outbox ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("alerting: load outbox: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		it := &outboxItem{}
		var body string
		var created, next int64
		if err := rows.Scan(&it.id, &it.key, &it.groupID, &it.receiver, &body, &created, &it.attempts, &next, &it.status, &it.lastError); err != nil {
			return nil, fmt.Errorf("alerting: load outbox: %w", err)
		}
		if err := json.Unmarshal([]byte(body), &it.body); err != nil {
			return nil, fmt.Errorf("alerting: load outbox item %d: %w", it.id, err)
		}
		it.createdAt, it.nextAt = time.UnixMicro(created), time.UnixMicro(next)
		snap.outbox = append(snap.outbox, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerting: load outbox: %w", err)
	}
	return snap, nil
}

func (s *store) each(ctx context.Context, query string, f func(string) error) error {
	rows, err := s.db.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return err
		}
		if err := f(body); err != nil {
			return err
		}
	}
	return rows.Err()
}

// saveAlerts upserts alerts by fingerprint.
func (s *store) saveAlerts(ctx context.Context, alerts []Alert, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return upsertAlerts(ctx, tx, alerts, now) })
}

func upsertAlerts(ctx context.Context, tx *sql.Tx, alerts []Alert, now time.Time) error {
	if len(alerts) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO alerting_alerts (fingerprint, body, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (fingerprint) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, a := range alerts {
		body, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, a.Fingerprint(), string(body), now.UnixMicro()); err != nil {
			return err
		}
	}
	return nil
}

// tickChanges is what one Tick changed.
type tickChanges struct {
	alerts        []Alert // updated (auto-resolved)
	deletedAlerts []string
	groups        []groupRecord
	deletedGroups []string
	outbox        []*outboxItem
}

func (c *tickChanges) empty() bool {
	return len(c.alerts)+len(c.deletedAlerts)+len(c.groups)+len(c.deletedGroups)+len(c.outbox) == 0
}

func (s *store) saveTick(ctx context.Context, c *tickChanges, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := upsertAlerts(ctx, tx, c.alerts, now); err != nil {
			return err
		}
		for _, fp := range c.deletedAlerts {
			if _, err := tx.ExecContext(ctx, `DELETE FROM alerting_alerts WHERE fingerprint = $1`, fp); err != nil {
				return err
			}
		}
		for _, id := range c.deletedGroups {
			if _, err := tx.ExecContext(ctx, `DELETE FROM alerting_groups WHERE id = $1`, id); err != nil {
				return err
			}
		}
		for _, g := range c.groups {
			body, err := json.Marshal(g)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO alerting_groups (id, body, updated_at) VALUES ($1, $2, $3)
				ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
				g.ID, string(body), now.UnixMicro()); err != nil {
				return err
			}
		}
		for _, it := range c.outbox {
			body, err := json.Marshal(it.body)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO alerting_outbox
				(id, key, group_id, receiver, body, created_at, attempts, next_at, status, last_error)
				VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, '')`,
				it.id, it.key, it.groupID, it.receiver, string(body), it.createdAt.UnixMicro(), it.nextAt.UnixMicro(), it.status); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *store) delivered(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM alerting_outbox WHERE id = $1`, id)
	return err
}

func (s *store) failedAttempt(ctx context.Context, it *outboxItem) error {
	_, err := s.db.ExecContext(ctx, `UPDATE alerting_outbox SET attempts = $2, next_at = $3, status = $4, last_error = $5 WHERE id = $1`,
		it.id, it.attempts, it.nextAt.UnixMicro(), it.status, it.lastError)
	return err
}

func (s *store) saveSilence(ctx context.Context, si Silence) error {
	body, err := json.Marshal(newSilenceRecord(si))
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO alerting_silences (id, body, ends_at) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET body = excluded.body, ends_at = excluded.ends_at`, si.ID, string(body), si.EndsAt.UnixMicro())
	return err
}

func (s *store) deleteSilencesBefore(ctx context.Context, t time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM alerting_silences WHERE ends_at < $1`, t.UnixMicro())
	return err
}

func (s *store) deleteFailedBefore(ctx context.Context, t time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM alerting_outbox WHERE status = 'failed' AND created_at < $1`, t.UnixMicro())
	return err
}

func (s *store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
