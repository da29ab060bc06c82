package sqlstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/opskit/opskit/sqlstore"
)

func Example() {
	dir, _ := os.MkdirTemp("", "sqlstore")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(dir, "opsd.db")) // or "postgres://..."
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	err = db.Migrate(ctx, "notes", []sqlstore.Migration{
		{Version: 1, SQL: `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`},
	})
	if err != nil {
		log.Fatal(err)
	}
	db.ExecContext(ctx, `INSERT INTO notes (id, body) VALUES ($1, $2)`, 1, "hello")
	var body string
	db.QueryRowContext(ctx, `SELECT body FROM notes WHERE id = $1`, 1).Scan(&body)
	v, _ := db.Version(ctx, "notes")
	fmt.Println(db.Dialect, v, body)
	// Output: sqlite 1 hello
}
