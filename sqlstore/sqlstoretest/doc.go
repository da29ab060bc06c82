// Package sqlstoretest runs a store test against every database opskit
// supports: a fresh SQLite file, and a fresh schema on the test PostgreSQL
// server (testenv.PostgresDSN; skipped locally without it, a failure in CI).
package sqlstoretest
