package bearer_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/opskit/opskit/internal/bearer"
)

func ExampleAllowed() {
	r := httptest.NewRequest("POST", "/api/admin/pages", nil)
	r.Header.Set("Authorization", "Bearer s3cret-token-0123456789")
	fmt.Println(bearer.Allowed(r, []string{"s3cret-token-0123456789"}))
	fmt.Println(bearer.Allowed(r, []string{"another-token-0123456789"}))
	// Output:
	// true
	// false
}
