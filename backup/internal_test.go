package backup

import (
	"encoding/json"
	"testing"
)

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Shared with the external test package.
var (
	MakeTree     = makeTree
	CompareTrees = compareTrees
)
