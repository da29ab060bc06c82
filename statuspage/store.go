package statuspage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/opskit/opskit/sqlstore"
)

// Store keeps pages in SQL (SQLite or PostgreSQL), one JSON document per
// page: a page changes a few times a day and is always read whole.
type Store struct {
	db  *sqlstore.DB
	seq atomic.Int64 // last outbox sequence number
}

var migrations = []sqlstore.Migration{{Version: 1, SQL: `CREATE TABLE statuspage_pages (
	slug TEXT PRIMARY KEY,
	data TEXT NOT NULL,
	version BIGINT NOT NULL
)`}, {Version: 2, SQL: `
CREATE TABLE statuspage_subscribers (
	id TEXT PRIMARY KEY,
	slug TEXT NOT NULL,
	kind TEXT NOT NULL,
	address TEXT NOT NULL,
	components TEXT NOT NULL,
	pending TEXT NOT NULL,
	confirmed INTEGER NOT NULL,
	created BIGINT NOT NULL,
	UNIQUE (slug, kind, address)
);
CREATE TABLE statuspage_outbox (
	id TEXT PRIMARY KEY,
	subscriber TEXT NOT NULL,
	kind TEXT NOT NULL,
	subject TEXT NOT NULL,
	body TEXT NOT NULL,
	attempts INTEGER NOT NULL,
	next_at BIGINT NOT NULL,
	created BIGINT NOT NULL
);
CREATE INDEX statuspage_outbox_next ON statuspage_outbox (next_at);
CREATE TABLE statuspage_status_changes (
	slug TEXT NOT NULL,
	component TEXT NOT NULL,
	at BIGINT NOT NULL,
	old_status TEXT NOT NULL,
	new_status TEXT NOT NULL,
	reason TEXT NOT NULL
);
CREATE INDEX statuspage_status_changes_c ON statuspage_status_changes (slug, component, at);`}}

// SchemaVersion is the version of the status page schema this package
// writes: 1 pages, 2 subscribers, their outbox and component status changes.
const SchemaVersion = 2

// OpenStore migrates db to the status page schema ([SchemaVersion]).
func OpenStore(ctx context.Context, db *sqlstore.DB) (*Store, error) {
	if err := db.Migrate(ctx, "statuspage", migrations); err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Load returns a page.
func (s *Store) Load(ctx context.Context, slug string) (*Page, error) {
	p, _, err := s.load(ctx, slug)
	return p, err
}

func (s *Store) load(ctx context.Context, slug string) (*Page, int64, error) {
	var data string
	var version int64
	err := s.db.QueryRowContext(ctx, `SELECT data, version FROM statuspage_pages WHERE slug = $1`, slug).Scan(&data, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fmt.Errorf("%w: page %q", ErrNotFound, slug)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("statuspage: load %s: %w", slug, err)
	}
	var p Page
	if err := json.Unmarshal([]byte(data), &p); err != nil {
		return nil, 0, fmt.Errorf("statuspage: page %s: %w", slug, err)
	}
	return &p, version, nil
}

func (s *Store) versions(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT slug, version FROM statuspage_pages`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var slug string
		var v int64
		if err := rows.Scan(&slug, &v); err != nil {
			return nil, err
		}
		out[slug] = v
	}
	return out, rows.Err()
}

// Slugs lists the stored pages.
func (s *Store) Slugs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT slug FROM statuspage_pages ORDER BY slug`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var slug string
		if err := rows.Scan(&slug); err != nil {
			return nil, err
		}
		out = append(out, slug)
	}
	return out, rows.Err()
}

// Change loads a page, applies f and stores the result in one
// transaction; create allows the page not to exist yet. It returns the
// page and its new version.
func (s *Store) Change(ctx context.Context, slug string, create bool, f func(p *Page) error) (*Page, int64, error) {
	return s.change(ctx, slug, create, f, nil)
}

// change is Change with after, which runs in the same transaction once
// the page is written: notifications and status changes commit or roll
// back with the change that caused them.
func (s *Store) change(ctx context.Context, slug string, create bool, f func(p *Page) error, after func(tx *sql.Tx, p *Page) error) (*Page, int64, error) {
	return s.changeCached(ctx, slug, create, nil, f, after)
}

// changeCached is change with cached, which returns a private copy of the
// page at a version when it has one, to spare decoding the stored page.
func (s *Store) changeCached(ctx context.Context, slug string, create bool, cached func(version int64) *Page,
	f func(p *Page) error, after func(tx *sql.Tx, p *Page) error) (*Page, int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	var data string
	var p Page
	var version int64
	if s.db.Dialect == sqlstore.Postgres {
		// Serialise concurrent changes of one page across daemons.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "statuspage:"+slug); err != nil {
			return nil, 0, err
		}
	}
	var cp *Page
	if cached != nil {
		// The version first: a page already decoded at that version is
		// copied instead of read and decoded again.
		err = tx.QueryRowContext(ctx, `SELECT version FROM statuspage_pages WHERE slug = $1`, slug).Scan(&version)
		if err == nil {
			cp = cached(version)
		}
		if err == nil && cp == nil {
			err = tx.QueryRowContext(ctx, `SELECT data FROM statuspage_pages WHERE slug = $1`, slug).Scan(&data)
		}
	} else {
		err = tx.QueryRowContext(ctx, `SELECT data, version FROM statuspage_pages WHERE slug = $1`, slug).Scan(&data, &version)
	}
	exists := err == nil
	switch {
	case cp != nil:
		p = *cp
	case errors.Is(err, sql.ErrNoRows) && create:
		p = Page{Slug: slug}
	case errors.Is(err, sql.ErrNoRows):
		return nil, 0, fmt.Errorf("%w: page %q", ErrNotFound, slug)
	case err != nil:
		return nil, 0, err
	default:
		if err := json.Unmarshal([]byte(data), &p); err != nil {
			return nil, 0, err
		}
	}
	if err := f(&p); err != nil {
		return nil, 0, err
	}
	b, err := json.Marshal(&p)
	if err != nil {
		return nil, 0, err
	}
	if exists {
		_, err = tx.ExecContext(ctx, `UPDATE statuspage_pages SET data = $1, version = version + 1 WHERE slug = $2`, string(b), slug)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO statuspage_pages (slug, data, version) VALUES ($1, $2, 1)`, slug, string(b))
	}
	if err != nil {
		return nil, 0, fmt.Errorf("statuspage: store %s: %w", slug, err)
	}
	if after != nil {
		if err := after(tx, &p); err != nil {
			return nil, 0, err
		}
	}
	return &p, version + 1, tx.Commit()
}
