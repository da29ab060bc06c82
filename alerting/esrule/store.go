package esrule

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/opskit/opskit/sqlstore"
)

// component names this package's schema in sqlstore.
const component = "esrule"

var migrations = []sqlstore.Migration{{
	Version: 1,
	SQL: `
CREATE TABLE esrule_resume (
	rule TEXT PRIMARY KEY,
	end_ns BIGINT NOT NULL
);
CREATE TABLE esrule_silence (
	rule TEXT NOT NULL,
	query_key TEXT NOT NULL,
	until_ns BIGINT NOT NULL,
	exponent INTEGER NOT NULL,
	PRIMARY KEY (rule, query_key)
);`,
}}

// Store persists each rule's resume point (the end of the last window it
// processed) and its realert silences, so that a restarted runner catches
// up missed windows without re-alerting processed ones. Several runners may
// share a PostgreSQL store only if they run different rules.
type Store struct {
	db *sqlstore.DB
}

// OpenStore migrates the esrule schema (version 1) in db and returns the
// store.
func OpenStore(ctx context.Context, db *sqlstore.DB) (*Store, error) {
	if err := db.Migrate(ctx, component, migrations); err != nil {
		return nil, fmt.Errorf("esrule: store: %w", err)
	}
	return &Store{db: db}, nil
}

// Resume returns the end of the last window rule processed; ok is false if
// none was recorded.
func (s *Store) Resume(ctx context.Context, rule string) (end time.Time, ok bool, err error) {
	var ns int64
	err = s.db.QueryRowContext(ctx, `SELECT end_ns FROM esrule_resume WHERE rule = $1`, rule).Scan(&ns)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("esrule: store: resume point of %q: %w", rule, err)
	}
	return time.Unix(0, ns).UTC(), true, nil
}

// Silences returns rule's realert silences by query key value.
func (s *Store) Silences(ctx context.Context, rule string) (map[string]Silence, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT query_key, until_ns, exponent FROM esrule_silence WHERE rule = $1`, rule)
	if err != nil {
		return nil, fmt.Errorf("esrule: store: silences of %q: %w", rule, err)
	}
	defer rows.Close()
	out := map[string]Silence{}
	for rows.Next() {
		var k string
		var ns int64
		var exp int
		if err := rows.Scan(&k, &ns, &exp); err != nil {
			return nil, fmt.Errorf("esrule: store: silences of %q: %w", rule, err)
		}
		out[k] = Silence{Until: time.Unix(0, ns).UTC(), Exponent: exp}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("esrule: store: silences of %q: %w", rule, err)
	}
	return out, nil
}

// Save records, in one transaction, rule's new resume point and the
// silences that changed, and forgets silences that ended before forget
// (zero: none), which no longer affect realert.
func (s *Store) Save(ctx context.Context, rule string, end time.Time, changed map[string]Silence, forget time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("esrule: store: saving %q: %w", rule, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO esrule_resume (rule, end_ns) VALUES ($1, $2)
ON CONFLICT (rule) DO UPDATE SET end_ns = excluded.end_ns`, rule, end.UnixNano()); err != nil {
		return fmt.Errorf("esrule: store: saving the resume point of %q: %w", rule, err)
	}
	for k, sil := range changed {
		if _, err := tx.ExecContext(ctx, `INSERT INTO esrule_silence (rule, query_key, until_ns, exponent) VALUES ($1, $2, $3, $4)
ON CONFLICT (rule, query_key) DO UPDATE SET until_ns = excluded.until_ns, exponent = excluded.exponent`,
			rule, k, sil.Until.UnixNano(), sil.Exponent); err != nil {
			return fmt.Errorf("esrule: store: saving a silence of %q: %w", rule, err)
		}
	}
	if !forget.IsZero() {
		if _, err := tx.ExecContext(ctx, `DELETE FROM esrule_silence WHERE rule = $1 AND until_ns < $2`, rule, forget.UnixNano()); err != nil {
			return fmt.Errorf("esrule: store: forgetting silences of %q: %w", rule, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("esrule: store: saving %q: %w", rule, err)
	}
	return nil
}
