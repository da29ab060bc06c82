package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/opskit/opskit/sqlstore"
	"github.com/opskit/opskit/sqlstore/sqlstoretest"
)

func TestMigrate(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		v1 := []sqlstore.Migration{{Version: 1, SQL: `CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`}}
		if err := db.Migrate(ctx, "things", v1); err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx, "things", v1); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		v2 := append(v1, sqlstore.Migration{Version: 2, SQLite: `ALTER TABLE things ADD COLUMN note TEXT`, Postgres: `ALTER TABLE things ADD COLUMN note TEXT DEFAULT ''`})
		if err := db.Migrate(ctx, "things", v2); err != nil {
			t.Fatal(err)
		}
		if v, err := db.Version(ctx, "things"); err != nil || v != 2 {
			t.Fatalf("version = %d, %v; want 2", v, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO things (id, name, note) VALUES ($1, $2, $3)`, 1, "a", "n"); err != nil {
			t.Fatal(err)
		}
		var name string
		if err := db.QueryRowContext(ctx, `SELECT name FROM things WHERE id = $1`, 1).Scan(&name); err != nil || name != "a" {
			t.Fatalf("select: %q, %v", name, err)
		}
		if err := db.Migrate(ctx, "things", v1); !errors.Is(err, sqlstore.ErrSchemaTooNew) {
			t.Fatalf("older program: err = %v, want ErrSchemaTooNew", err)
		}
		bad := []sqlstore.Migration{{Version: 1, SQL: `SELECT 1`}, {Version: 3, SQL: `SELECT 1`}}
		if err := db.Migrate(ctx, "other", bad); err == nil {
			t.Fatal("gap in versions accepted")
		}
		broken := []sqlstore.Migration{{Version: 1, SQL: `CREATE TABLE broken (`}}
		if err := db.Migrate(ctx, "broken", broken); err == nil {
			t.Fatal("broken migration accepted")
		}
		if v, _ := db.Version(ctx, "broken"); v != 0 {
			t.Fatalf("broken migration recorded version %d", v)
		}
	})
}

func TestTryLock(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		a, b := sqlstoretest.Postgres(t), sqlstoretest.Postgres(t)
		ctx := context.Background()
		unlock, ok, err := a.TryLock(ctx, "job/backup/demo")
		if err != nil || !ok {
			t.Fatalf("first TryLock = %v, %v", ok, err)
		}
		if _, ok, err := b.TryLock(ctx, "job/backup/demo"); err != nil || ok {
			t.Fatalf("second daemon took a held lock: %v, %v", ok, err)
		}
		other, ok, err := b.TryLock(ctx, "job/backup/other")
		if err != nil || !ok {
			t.Fatalf("another job's lock: %v, %v", ok, err)
		}
		other()
		unlock()
		unlock2, ok, err := b.TryLock(ctx, "job/backup/demo")
		if err != nil || !ok {
			t.Fatalf("lock after release: %v, %v", ok, err)
		}
		unlock2()
	})
	t.Run("sqlite", func(t *testing.T) {
		db := sqlstoretest.SQLite(t)
		unlock, ok, err := db.TryLock(context.Background(), "x")
		if err != nil || !ok {
			t.Fatalf("sqlite TryLock = %v, %v", ok, err)
		}
		unlock()
	})
}
