// Package backup makes encrypted, verifiable, off-site backups that restore.
package backup
