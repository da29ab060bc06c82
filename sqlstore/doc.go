// Package sqlstore opens the SQL database that opskit's stores keep their
// state in: SQLite (the embedded default, pure Go, one file) or PostgreSQL
// (pgx) for several daemons, behind database/sql, with versioned schema
// migrations and cluster-wide job locks.
//
// Open a database once and hand it to the stores that need it:
//
//	db, err := sqlstore.Open(ctx, "/var/lib/opsd/opsd.db") // or "postgres://..."
//	incidents, err := logbook.Open(ctx, db)
//	pages, err := statuspage.New(ctx, db, statuspage.Config{})
//	alerts, err := alerting.NewManager(ctx, db, alertingConfig)
//
// Each store migrates its own tables (DB.Migrate records versions per
// component in the table opskit_schema) and refuses a database whose
// schema is newer than it knows (ErrSchemaTooNew).
//
// Queries use PostgreSQL-style positional placeholders ($1, $2, ...), which
// both drivers accept, so one query text serves both databases. Where the
// dialects differ (types, upserts), a Migration carries one text per dialect.
//
// Package sqlstoretest runs a store's tests on both databases.
package sqlstore
