package logbook

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opskit/opskit/sqlstore"
)

// Filter selects incidents for List.
type Filter struct {
	Status   Status    // only this status; empty for all
	Instance string    // only incidents affecting this instance
	Since    time.Time // only incidents created at or after this
	Limit    int       // at most this many (default 100), newest first
}

// Redaction is the audit record of one redaction.
type Redaction struct {
	Incident int64
	Entry    int64  // 0 when a field of the incident was redacted
	Field    string // "text" for an entry, else the incident field
	By       string
	Reason   string
	At       time.Time
	SHA256   string // of the removed text, to prove what was removed without keeping it
	Count    int    // occurrences replaced
}

// Redacted replaces every redacted occurrence.
const Redacted = "[REDACTED]"

// Store keeps the logbook in SQL: SQLite by default, PostgreSQL when
// several daemons share it. Every method is safe for concurrent use.
type Store struct {
	db  *sqlstore.DB
	now func() time.Time
}

const schema = "logbook"

var migrations = []sqlstore.Migration{{Version: 1,
	SQLite: `
CREATE TABLE logbook_incidents (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	data TEXT NOT NULL,
	status TEXT NOT NULL,
	created TIMESTAMP NOT NULL,
	version INTEGER NOT NULL
);
CREATE TABLE logbook_instances (incident INTEGER NOT NULL REFERENCES logbook_incidents(id), instance TEXT NOT NULL);
CREATE INDEX logbook_instances_i ON logbook_instances (instance);
CREATE TABLE logbook_entries (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	incident INTEGER NOT NULL REFERENCES logbook_incidents(id),
	data TEXT NOT NULL
);
CREATE TABLE logbook_actions (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	incident INTEGER NOT NULL REFERENCES logbook_incidents(id),
	data TEXT NOT NULL
);
CREATE TABLE logbook_redactions (incident INTEGER NOT NULL, data TEXT NOT NULL);`,
	Postgres: `
CREATE TABLE logbook_incidents (
	id BIGSERIAL PRIMARY KEY,
	data TEXT NOT NULL,
	status TEXT NOT NULL,
	created TIMESTAMPTZ NOT NULL,
	version BIGINT NOT NULL
);
CREATE TABLE logbook_instances (incident BIGINT NOT NULL REFERENCES logbook_incidents(id), instance TEXT NOT NULL);
CREATE INDEX logbook_instances_i ON logbook_instances (instance);
CREATE TABLE logbook_entries (
	id BIGSERIAL PRIMARY KEY,
	incident BIGINT NOT NULL REFERENCES logbook_incidents(id),
	data TEXT NOT NULL
);
CREATE TABLE logbook_actions (
	id BIGSERIAL PRIMARY KEY,
	incident BIGINT NOT NULL REFERENCES logbook_incidents(id),
	data TEXT NOT NULL
);
CREATE TABLE logbook_redactions (incident BIGINT NOT NULL, data TEXT NOT NULL);`,
}}

// Open migrates db to the logbook's schema (version 1) and returns a Store.
func Open(ctx context.Context, db *sqlstore.DB) (*Store, error) {
	if err := db.Migrate(ctx, schema, migrations); err != nil {
		return nil, err
	}
	return &Store{db: db, now: time.Now}, nil
}

// incidentRow is what the data column holds: the incident without its
// timeline and actions, which have tables of their own.
type incidentRow struct{ Incident }

func row(inc *Incident) incidentRow {
	r := incidentRow{*inc}
	r.Timeline, r.Actions = nil, nil
	return r
}

// Create stores a new incident (its Timeline and Actions are stored too)
// and returns its ID.
func (s *Store) Create(ctx context.Context, inc *Incident) (int64, error) {
	if inc.Status == "" {
		inc.Status = Investigating
	}
	if err := inc.Validate(); err != nil {
		return 0, err
	}
	now := s.now().UTC()
	inc.Created, inc.Updated, inc.Version = now, now, 1
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	data, err := json.Marshal(row(inc))
	if err != nil {
		return 0, err
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO logbook_incidents (data, status, created, version) VALUES ($1, $2, $3, 1) RETURNING id`,
		string(data), string(inc.Status), now).Scan(&id); err != nil {
		return 0, fmt.Errorf("logbook: create: %w", err)
	}
	inc.ID = id
	if err := setInstances(ctx, tx, id, inc.Instances); err != nil {
		return 0, err
	}
	for i := range inc.Timeline {
		if err := insertEntry(ctx, tx, id, &inc.Timeline[i], now); err != nil {
			return 0, err
		}
	}
	for i := range inc.Actions {
		if err := insertAction(ctx, tx, id, &inc.Actions[i]); err != nil {
			return 0, err
		}
	}
	return id, tx.Commit()
}

func setInstances(ctx context.Context, tx *sql.Tx, id int64, instances []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM logbook_instances WHERE incident = $1`, id); err != nil {
		return err
	}
	for _, in := range instances {
		if _, err := tx.ExecContext(ctx, `INSERT INTO logbook_instances (incident, instance) VALUES ($1, $2)`, id, in); err != nil {
			return err
		}
	}
	return nil
}

func insertEntry(ctx context.Context, tx *sql.Tx, incident int64, e *Entry, now time.Time) error {
	if e.Recorded.IsZero() {
		e.Recorded = now
	}
	if err := e.validate(); err != nil {
		return err
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return tx.QueryRowContext(ctx, `INSERT INTO logbook_entries (incident, data) VALUES ($1, $2) RETURNING id`, incident, string(data)).Scan(&e.ID)
}

func insertAction(ctx context.Context, tx *sql.Tx, incident int64, a *ActionItem) error {
	if a.Status == "" {
		a.Status = ActionOpen
	}
	if err := a.validate(); err != nil {
		return err
	}
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return tx.QueryRowContext(ctx, `INSERT INTO logbook_actions (incident, data) VALUES ($1, $2) RETURNING id`, incident, string(data)).Scan(&a.ID)
}

// Get returns the incident with its timeline and action items.
func (s *Store) Get(ctx context.Context, id int64) (*Incident, error) {
	var data string
	var version int64
	err := s.db.QueryRowContext(ctx, `SELECT data, version FROM logbook_incidents WHERE id = $1`, id).Scan(&data, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: incident %d", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("logbook: get %d: %w", id, err)
	}
	var r incidentRow
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return nil, fmt.Errorf("logbook: incident %d: %w", id, err)
	}
	inc := r.Incident
	inc.ID, inc.Version = id, version
	rows, err := s.db.QueryContext(ctx, `SELECT id, data FROM logbook_entries WHERE incident = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var e Entry
		var eid int64
		var d string
		if err := rows.Scan(&eid, &d); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(d), &e); err != nil {
			rows.Close()
			return nil, err
		}
		e.ID = eid
		inc.Timeline = append(inc.Timeline, e)
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, `SELECT id, data FROM logbook_actions WHERE incident = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a ActionItem
		var aid int64
		var d string
		if err := rows.Scan(&aid, &d); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(d), &a); err != nil {
			return nil, err
		}
		a.ID = aid
		inc.Actions = append(inc.Actions, a)
	}
	return &inc, rows.Err()
}

// List returns incidents (with timelines) matching f, newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]*Incident, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT i.id FROM logbook_incidents i WHERE 1=1`
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Status != "" {
		q += ` AND i.status = ` + arg(string(f.Status))
	}
	if !f.Since.IsZero() {
		q += ` AND i.created >= ` + arg(f.Since.UTC())
	}
	if f.Instance != "" {
		q += ` AND EXISTS (SELECT 1 FROM logbook_instances x WHERE x.incident = i.id AND x.instance = ` + arg(f.Instance) + `)`
	}
	q += ` ORDER BY i.id DESC LIMIT ` + arg(limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("logbook: list: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	out := make([]*Incident, 0, len(ids))
	for _, id := range ids {
		inc, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, nil
}

// Update stores inc's fields (not its timeline or actions) if nobody
// changed the incident since inc was read (inc.Version); otherwise it
// returns ErrConflict. A status change is also recorded on the timeline.
func (s *Store) Update(ctx context.Context, inc *Incident, author string) error {
	if err := inc.Validate(); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var oldData string
	var version int64
	err = tx.QueryRowContext(ctx, `SELECT data, version FROM logbook_incidents WHERE id = $1`, inc.ID).Scan(&oldData, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: incident %d", ErrNotFound, inc.ID)
	}
	if err != nil {
		return err
	}
	if version != inc.Version {
		return fmt.Errorf("%w: incident %d is at version %d, the change was made to version %d", ErrConflict, inc.ID, version, inc.Version)
	}
	var old incidentRow
	json.Unmarshal([]byte(oldData), &old)
	now := s.now().UTC()
	inc.Updated = now
	data, err := json.Marshal(row(inc))
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE logbook_incidents SET data = $1, status = $2, version = version + 1 WHERE id = $3 AND version = $4`,
		string(data), string(inc.Status), inc.ID, inc.Version)
	if err != nil {
		return fmt.Errorf("logbook: update %d: %w", inc.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("%w: incident %d", ErrConflict, inc.ID)
	}
	if err := setInstances(ctx, tx, inc.ID, inc.Instances); err != nil {
		return err
	}
	if old.Status != inc.Status {
		e := Entry{Kind: StatusChange, At: now, Author: author, Public: inc.Public,
			Text: fmt.Sprintf("status: %s → %s", old.Status, inc.Status)}
		if err := insertEntry(ctx, tx, inc.ID, &e, now); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	inc.Version++
	return nil
}

// Append adds an entry to an incident's timeline and returns its ID.
func (s *Store) Append(ctx context.Context, incident int64, e Entry) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if err := s.exists(ctx, tx, incident); err != nil {
		return 0, err
	}
	if err := insertEntry(ctx, tx, incident, &e, s.now().UTC()); err != nil {
		return 0, err
	}
	return e.ID, tx.Commit()
}

// AddAction adds a follow-up to an incident and returns its ID.
func (s *Store) AddAction(ctx context.Context, incident int64, a ActionItem) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if err := s.exists(ctx, tx, incident); err != nil {
		return 0, err
	}
	if err := insertAction(ctx, tx, incident, &a); err != nil {
		return 0, err
	}
	return a.ID, tx.Commit()
}

// UpdateAction stores a changed action item (status, owner, due date).
func (s *Store) UpdateAction(ctx context.Context, incident int64, a ActionItem) error {
	if err := a.validate(); err != nil {
		return err
	}
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE logbook_actions SET data = $1 WHERE id = $2 AND incident = $3`, string(data), a.ID, incident)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("%w: action %d of incident %d", ErrNotFound, a.ID, incident)
	}
	return nil
}

func (s *Store) exists(ctx context.Context, tx *sql.Tx, id int64) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM logbook_incidents WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: incident %d", ErrNotFound, id)
	}
	return err
}

// Redact removes every occurrence of secret (a pasted password, a token)
// from an incident: its timeline entries and its text fields. It records
// who redacted, why, when, where and the SHA-256 of the secret, never the
// secret itself, and returns that record. Nothing matching is an error.
func (s *Store) Redact(ctx context.Context, incident int64, secret, by, reason string) ([]Redaction, error) {
	if len(strings.TrimSpace(secret)) < 4 {
		return nil, fmt.Errorf("%w: a redaction needs the text to remove (at least 4 characters)", ErrInvalid)
	}
	if strings.TrimSpace(by) == "" {
		return nil, fmt.Errorf("%w: a redaction needs the name of who redacts", ErrInvalid)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	now := s.now().UTC()
	sum := sha256.Sum256([]byte(secret))
	rec := func(entry int64, field string, n int) Redaction {
		return Redaction{Incident: incident, Entry: entry, Field: field, By: by, Reason: reason, At: now, SHA256: hex.EncodeToString(sum[:]), Count: n}
	}
	var out []Redaction
	// Entries.
	rows, err := tx.QueryContext(ctx, `SELECT id, data FROM logbook_entries WHERE incident = $1`, incident)
	if err != nil {
		return nil, err
	}
	type change struct {
		id   int64
		data string
		n    int
	}
	var changes []change
	for rows.Next() {
		var id int64
		var d string
		if err := rows.Scan(&id, &d); err != nil {
			rows.Close()
			return nil, err
		}
		var e Entry
		json.Unmarshal([]byte(d), &e)
		if n := strings.Count(e.Text, secret); n > 0 {
			e.Text = strings.ReplaceAll(e.Text, secret, Redacted)
			b, _ := json.Marshal(e)
			changes = append(changes, change{id, string(b), n})
		}
	}
	rows.Close()
	for _, c := range changes {
		if _, err := tx.ExecContext(ctx, `UPDATE logbook_entries SET data = $1 WHERE id = $2`, c.data, c.id); err != nil {
			return nil, err
		}
		out = append(out, rec(c.id, "text", c.n))
	}
	// Incident fields.
	var data string
	if err := tx.QueryRowContext(ctx, `SELECT data FROM logbook_incidents WHERE id = $1`, incident).Scan(&data); errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: incident %d", ErrNotFound, incident)
	} else if err != nil {
		return nil, err
	}
	var rw incidentRow
	json.Unmarshal([]byte(data), &rw)
	for _, f := range []struct {
		name string
		p    *string
	}{{"title", &rw.Title}, {"whats_going_on", &rw.WhatsGoingOn}, {"how_understood", &rw.HowUnderstood},
		{"what_we_did", &rw.WhatWeDid}, {"impact", &rw.Impact}, {"prevention", &rw.Prevention}} {
		if n := strings.Count(*f.p, secret); n > 0 {
			*f.p = strings.ReplaceAll(*f.p, secret, Redacted)
			out = append(out, rec(0, f.name, n))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the text to redact does not occur in incident %d", ErrNotFound, incident)
	}
	b, _ := json.Marshal(rw)
	if _, err := tx.ExecContext(ctx, `UPDATE logbook_incidents SET data = $1, version = version + 1 WHERE id = $2`, string(b), incident); err != nil {
		return nil, err
	}
	for _, r := range out {
		b, _ := json.Marshal(r)
		if _, err := tx.ExecContext(ctx, `INSERT INTO logbook_redactions (incident, data) VALUES ($1, $2)`, incident, string(b)); err != nil {
			return nil, err
		}
	}
	return out, tx.Commit()
}

// Redactions returns the redaction audit records of an incident.
func (s *Store) Redactions(ctx context.Context, incident int64) ([]Redaction, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT data FROM logbook_redactions WHERE incident = $1`, incident)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Redaction
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		var r Redaction
		if err := json.Unmarshal([]byte(d), &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
