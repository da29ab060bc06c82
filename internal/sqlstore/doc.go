// Package sqlstore is the SQL plumbing shared by opskit's stores: opening
// SQLite (the embedded default, pure Go) or PostgreSQL (pgx) behind
// database/sql, and versioned schema migrations.
//
// Queries use PostgreSQL-style positional placeholders ($1, $2, ...), which
// both drivers accept, so one query text serves both databases. Where the
// dialects differ (types, upserts), a Migration carries one text per dialect.
package sqlstore
