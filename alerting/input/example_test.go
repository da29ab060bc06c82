package input_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/opskit/opskit/alerting/alertingtest"
	"github.com/opskit/opskit/alerting/input"
)

func Example() {
	var sink alertingtest.Recorder // the Manager in opsd
	h, err := input.New(input.Config{
		Sink:   &sink,
		Tokens: []string{"a-long-random-token-for-falcosidekick"},
		Allow:  []input.Allow{{Source: input.Falco, MinFalcoPriority: "warning"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	post := func(body string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/falco", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer a-long-random-token-for-falcosidekick")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Print(resp.StatusCode, " ", string(b))
	}
	post(`{"output":"Shell in container nginx","priority":"Critical","rule":"Terminal shell in container","hostname":"node-3"}`)
	post(`{"output":"Package manager run","priority":"Notice","rule":"Launch Package Management Process in Container","hostname":"node-3"}`)
	post(`{"output":"x","priority":"Loud","rule":"r"}`)

	a := sink.Notifications()[0].Alerts[0]
	fmt.Println(a.Name(), a.Labels["host"], a.Severity)
	// Output:
	// 200 {"accepted":1,"filtered":0}
	// 200 {"accepted":0,"filtered":1}
	// 400 {"error":"bad input: falco: unknown priority \"Loud\""}
	// Terminal shell in container node-3 critical
}
