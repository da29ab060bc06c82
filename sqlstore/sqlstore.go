package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Dialect names the SQL database behind a DB.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is a database/sql handle that knows its dialect.
type DB struct {
	*sql.DB
	Dialect Dialect
}

// Open opens a store. A DSN starting with "postgres://" or "postgresql://"
// opens PostgreSQL through pgx; anything else is a SQLite file path (created
// with mode 0600 if missing, in WAL mode, with foreign keys on and a busy
// timeout so that concurrent writers wait instead of failing).
func Open(ctx context.Context, dsn string) (*DB, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
		}
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlstore: connect to postgres %s: %w", redact(dsn), err)
		}
		return &DB{DB: db, Dialect: Postgres}, nil
	}
	if dsn == "" {
		return nil, errors.New("sqlstore: empty DSN: give a SQLite file path or a postgres:// URL")
	}
	if dir := filepath.Dir(dsn); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlstore: %w", err)
		}
	}
	if f, err := os.OpenFile(dsn, os.O_CREATE|os.O_RDWR, 0o600); err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	} else {
		f.Close()
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+dsn+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open sqlite %s: %w", dsn, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: open sqlite %s: %w", dsn, err)
	}
	return &DB{DB: db, Dialect: SQLite}, nil
}

// redact removes a password from a URL-shaped DSN for error messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	return u.Redacted()
}

// Migration is one step of a component's schema. Versions start at 1 and
// increase by one; a step runs in a transaction, once.
type Migration struct {
	Version  int
	SQL      string // for both dialects, unless the dialect's field is set
	SQLite   string // SQLite-only text, overrides SQL
	Postgres string // PostgreSQL-only text, overrides SQL
}

// ErrSchemaTooNew is returned by Migrate when the database holds a newer
// schema than this program knows: an older binary must not write to it.
var ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this program")

// Migrate brings component's schema to the last version in migrations,
// recording versions in the table opskit_schema (component, version). It is
// safe to call at every start and from several processes.
func (db *DB) Migrate(ctx context.Context, component string, migrations []Migration) error {
	for i, m := range migrations {
		if m.Version != i+1 {
			return fmt.Errorf("sqlstore: %s: migration %d has version %d, want %d", component, i, m.Version, i+1)
		}
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS opskit_schema (
		component TEXT PRIMARY KEY,
		version INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("sqlstore: create opskit_schema: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", component, err)
	}
	defer tx.Rollback()
	if db.Dialect == Postgres {
		// Serialise concurrent migrations of the same component.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "opskit_schema:"+component); err != nil {
			return fmt.Errorf("sqlstore: migrate %s: lock: %w", component, err)
		}
	}
	var current int
	err = tx.QueryRowContext(ctx, `SELECT version FROM opskit_schema WHERE component = $1`, component).Scan(&current)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlstore: migrate %s: read version: %w", component, err)
	}
	if current > len(migrations) {
		return fmt.Errorf("%w: %s is at version %d, this program knows %d", ErrSchemaTooNew, component, current, len(migrations))
	}
	for _, m := range migrations[current:] {
		text := m.SQL
		if db.Dialect == SQLite && m.SQLite != "" {
			text = m.SQLite
		}
		if db.Dialect == Postgres && m.Postgres != "" {
			text = m.Postgres
		}
		if _, err := tx.ExecContext(ctx, text); err != nil {
			return fmt.Errorf("sqlstore: migrate %s to version %d: %w", component, m.Version, err)
		}
	}
	if current == len(migrations) {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO opskit_schema (component, version) VALUES ($1, $2)
		ON CONFLICT (component) DO UPDATE SET version = excluded.version`, component, len(migrations)); err != nil {
		return fmt.Errorf("sqlstore: migrate %s: record version: %w", component, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: migrate %s: commit: %w", component, err)
	}
	return nil
}

// Version returns the schema version recorded for component (0 if none).
func (db *DB) Version(ctx context.Context, component string) (int, error) {
	var v int
	err := db.QueryRowContext(ctx, `SELECT version FROM opskit_schema WHERE component = $1`, component).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: read version of %s: %w", component, err)
	}
	return v, nil
}
