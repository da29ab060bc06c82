// Command alertload posts alerts as fast as a receiver takes them, for
// bench/alerting.sh: -distinct alerts (distinct label sets) re-sent round
// and round in batches of -batch per request from -c connections for -d,
// either to Alertmanager's API (-format am: POST /api/v2/alerts) or to the
// opskit alert input (-format opsd: Alertmanager webhook v4 JSON), and
// prints alerts accepted per second.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    time.Time         `json:"startsAt"`
	Status      string            `json:"status,omitempty"` // webhook v4 only
}

func main() {
	url := flag.String("url", "", "endpoint")
	format := flag.String("format", "am", "am (Alertmanager API v2) or opsd (webhook v4 to the opskit input)")
	distinct := flag.Int("distinct", 10000, "distinct alerts")
	batch := flag.Int("batch", 100, "alerts per request")
	conns := flag.Int("c", 8, "concurrent connections")
	dur := flag.Duration("d", 10*time.Second, "duration")
	token := flag.String("token", "bench-token-0123456789", "bearer token (opsd)")
	flag.Parse()
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	alerts := make([]amAlert, *distinct)
	for i := range alerts {
		alerts[i] = amAlert{
			Labels:      map[string]string{"alertname": fmt.Sprint("Check", i%50), "instance": fmt.Sprint("host", i/50), "severity": "warning"},
			Annotations: map[string]string{"summary": "disk nearly full"},
			StartsAt:    start,
		}
		if *format == "opsd" {
			alerts[i].Status = "firing"
		}
	}
	// Pre-encode the request bodies: the load generator must not be the
	// bottleneck.
	var bodies [][]byte
	for i := 0; i < len(alerts); i += *batch {
		part := alerts[i:min(i+*batch, len(alerts))]
		var v any = part
		if *format == "opsd" {
			v = map[string]any{"version": "4", "status": "firing", "receiver": "bench", "groupKey": "bench", "alerts": part}
		}
		b, err := json.Marshal(v)
		if err != nil {
			log.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conns}}
	var sent, failed atomic.Int64
	began := time.Now()
	deadline := began.Add(*dur)
	var wg sync.WaitGroup
	for c := 0; c < *conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := c; time.Now().Before(deadline); i += *conns {
				b := bodies[i%len(bodies)]
				req, _ := http.NewRequest(http.MethodPost, *url, bytes.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
				if *format == "opsd" {
					req.Header.Set("Authorization", "Bearer "+*token)
				}
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					failed.Add(1)
					continue
				}
				sent.Add(int64(min(*batch, *distinct)))
			}
		}(c)
	}
	wg.Wait()
	el := time.Since(began).Seconds()
	fmt.Printf("%s: %.0f alerts/s (%d alerts in %.1f s, %d failed requests)\n", *format, float64(sent.Load())/el, sent.Load(), el, failed.Load())
}
