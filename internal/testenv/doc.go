// Package testenv gives opskit's tests access to the real components that the
// test command (scripts/test.sh) installs and starts: PostgreSQL,
// Elasticsearch, binaries such as sshd, rsync, gpg and chromium.
//
// A test that needs a component it cannot find skips with a clear message on
// a developer's machine, and fails instead when OPSKIT_TEST_NO_SKIP=1 (set by
// .ci/run), so that CI never passes by skipping.
package testenv
