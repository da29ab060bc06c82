package esrule_test

import (
	"fmt"
	"time"

	"github.com/opskit/opskit/alerting/esrule"
)

// A brute-force rule from an ElastAlert file, evaluated offline on counts
// per source IP, as the Runner feeds it from terms aggregations.
func Example() {
	rule, err := esrule.Load("brute_force.yaml", []byte(`
name: SSH brute force
type: frequency
index: filebeat-*
num_events: 10
timeframe: {minutes: 5}
query_key: source.ip
filter:
- term: {event.outcome: failure}
alert: [email]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rule.Name, rule.Mode())
	state, err := esrule.NewState(rule)
	if err != nil {
		fmt.Println(err)
		return
	}
	t := time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)
	state.AddTerms(t, []esrule.Bucket{{Key: "203.0.113.7", Count: 6}, {Key: "10.0.0.1", Count: 1}})
	state.AddTerms(t.Add(time.Minute), []esrule.Bucket{{Key: "203.0.113.7", Count: 5}})
	for _, m := range state.Matches() {
		fmt.Println(m.Key, m.Values["count"], m.Time.Format(time.Kitchen))
	}
	// Output:
	// SSH brute force terms
	// 203.0.113.7 11 3:01AM
}

// Unsupported options are refused, naming the file and the option.
func ExampleLoad_unsupported() {
	_, err := esrule.Load("rules/digest.yaml", []byte("name: x\ntype: any\nindex: logs-*\naggregation: {hours: 1}\n"))
	fmt.Println(err)
	// Output:
	// esrule: unsupported: rules/digest.yaml: aggregation: option not supported
}
