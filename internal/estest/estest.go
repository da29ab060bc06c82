package estest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/opskit/opskit/internal/testenv"
)

// Client returns a client for the test Elasticsearch, or skips the test
// (fails it under OPSKIT_TEST_NO_SKIP=1) when there is none.
func Client(t testing.TB) *elasticsearch.Client {
	t.Helper()
	url := testenv.ElasticsearchURL(t)
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{url}})
	if err != nil {
		t.Fatalf("estest: client for %s: %v", url, err)
	}
	return es
}

// Prefix returns a prefix unique to this test ("opskit-test-3f2a9c01-"), in
// lower case as index names must be, and deletes every index whose name
// starts with it when the test ends.
func Prefix(t testing.TB, es *elasticsearch.Client) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	prefix := "opskit-test-" + hex.EncodeToString(b[:]) + "-"
	t.Cleanup(func() {
		// Wildcard deletes are refused by default (action.destructive_requires_name),
		// so list the names first.
		body, status := Do(t, es, http.MethodGet, "/_cat/indices/"+prefix+"*?format=json&h=index&expand_wildcards=all", "")
		if status != http.StatusOK {
			t.Errorf("estest: listing %s*: %d %s", prefix, status, body)
			return
		}
		var rows []struct {
			Index string `json:"index"`
		}
		if err := json.Unmarshal(body, &rows); err != nil {
			t.Errorf("estest: listing %s*: %v", prefix, err)
			return
		}
		for _, r := range rows {
			if b, status := Do(t, es, http.MethodDelete, "/"+r.Index, ""); status != http.StatusOK && status != http.StatusNotFound {
				t.Errorf("estest: deleting %s: %d %s", r.Index, status, b)
			}
		}
	})
	return prefix
}

// CreateIndex creates an index with no replicas (so a single node is green)
// and the given extra JSON body members, e.g. `"aliases":{"logs":{}}`.
func CreateIndex(t testing.TB, es *elasticsearch.Client, name, extra string) {
	t.Helper()
	body := `{"settings":{"number_of_shards":1,"number_of_replicas":0}`
	if extra != "" {
		body += "," + extra
	}
	body += "}"
	if b, status := Do(t, es, http.MethodPut, "/"+name, body); status != http.StatusOK {
		t.Fatalf("estest: create index %s: %d %s", name, status, b)
	}
}

// Do sends a raw request with an optional JSON body and returns the answer's
// body and status; it fails the test only when no answer comes.
func Do(t testing.TB, es *elasticsearch.Client, method, path, body string) ([]byte, int) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := es.Perform(req)
	if err != nil {
		t.Fatalf("estest: %s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("estest: %s %s: reading the answer: %v", method, path, err)
	}
	return b, res.StatusCode
}

// Indices returns the names of the indices matching pattern (hidden ones
// included), sorted.
func Indices(t testing.TB, es *elasticsearch.Client, pattern string) []string {
	t.Helper()
	res, err := esapi.CatIndicesRequest{Index: []string{pattern}, Format: "json", H: []string{"index"}, ExpandWildcards: "all", S: []string{"index"}}.Do(context.Background(), es)
	if err != nil {
		t.Fatalf("estest: cat indices %s: %v", pattern, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		t.Fatalf("estest: cat indices %s: %s", pattern, res.String())
	}
	var rows []struct {
		Index string `json:"index"`
	}
	if err := json.NewDecoder(res.Body).Decode(&rows); err != nil {
		t.Fatalf("estest: cat indices %s: %v", pattern, err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Index
	}
	return out
}
