// Package estest helps tests talk to the real Elasticsearch that the test
// command starts (scripts/test.d/20-elasticsearch.sh exports
// OPSKIT_TEST_ES_URL): a client, a unique index prefix per test whose indices
// are deleted when the test ends, and a raw request helper.
package estest
