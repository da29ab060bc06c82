package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// NoSkipVar is the environment variable that turns every Skip into a failure.
const NoSkipVar = "OPSKIT_TEST_NO_SKIP"

// Environment variables the test command exports for the servers it starts.
const (
	PostgresVar      = "OPSKIT_TEST_PG_DSN" // a DSN for a database the tests may create schemas in
	ElasticsearchVar = "OPSKIT_TEST_ES_URL" // http://127.0.0.1:PORT of a single-node Elasticsearch 8
)

// Strict reports whether skips are turned into failures.
func Strict() bool { return os.Getenv(NoSkipVar) == "1" }

// Skip skips t with the message, or fails it when Strict.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Strict() {
		t.Fatalf("%s (a real component is missing and %s=1 forbids skipping)", msg, NoSkipVar)
	}
	t.Skip(msg)
}

// LookPath returns the path of the named binary, or skips (fails when Strict).
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
			if _, serr := os.Stat(dir + "/" + name); serr == nil {
				return dir + "/" + name
			}
		}
		Skip(t, "%s not found on PATH: run scripts/test.sh, which installs it", name)
	}
	return p
}

// PostgresDSN returns the DSN of the test PostgreSQL server, or skips.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	return fromEnv(t, PostgresVar, "PostgreSQL")
}

// ElasticsearchURL returns the URL of the test Elasticsearch server, or skips.
func ElasticsearchURL(t testing.TB) string {
	t.Helper()
	return fromEnv(t, ElasticsearchVar, "Elasticsearch")
}

func fromEnv(t testing.TB, key, what string) string {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		Skip(t, "%s is not set: run scripts/test.sh, which starts %s", key, what)
	}
	return v
}
