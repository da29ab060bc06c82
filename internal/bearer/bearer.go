package bearer

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// Allowed reports whether r carries one of tokens as its bearer token.
// Every token is compared, in constant time, so the answer's timing does not
// tell which token came close. An empty token never matches.
func Allowed(r *http.Request, tokens []string) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return false
	}
	good := 0
	for _, t := range tokens {
		if t != "" {
			good |= subtle.ConstantTimeCompare([]byte(tok), []byte(t))
		}
	}
	return good == 1
}
