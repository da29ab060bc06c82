package bearer

import (
	"net/http/httptest"
	"testing"
)

func TestAllowed(t *testing.T) {
	tokens := []string{"", "first-token-0123456789", "second-token-0123456789"}
	cases := map[string]bool{
		"Bearer first-token-0123456789":  true,
		"Bearer second-token-0123456789": true,
		"Bearer first-token-012345678":   false,
		"bearer first-token-0123456789":  false,
		"Basic first-token-0123456789":   false,
		"Bearer ":                        false,
		"":                               false,
	}
	for h, want := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		if got := Allowed(r, tokens); got != want {
			t.Errorf("%q: %v, want %v", h, got, want)
		}
	}
}
