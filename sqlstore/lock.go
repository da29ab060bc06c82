package sqlstore

import (
	"context"
	"fmt"
)

// TryLock takes the named cluster-wide lock if nobody holds it, so that of
// several daemons sharing one PostgreSQL store exactly one runs a scheduled
// job. It reports whether the lock was taken; release it with unlock. On
// PostgreSQL it is a session advisory lock held on a dedicated connection
// (released also if the process dies); on SQLite, which one daemon owns,
// it always succeeds.
func (db *DB) TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	if db.Dialect != Postgres {
		return func() {}, true, nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("sqlstore: lock %s: %w", name, err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, "opskit:"+name).Scan(&ok); err != nil {
		conn.Close()
		return nil, false, fmt.Errorf("sqlstore: lock %s: %w", name, err)
	}
	if !ok {
		conn.Close()
		return nil, false, nil
	}
	return func() {
		conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext($1))`, "opskit:"+name)
		conn.Close()
	}, true, nil
}
