package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBody bounds how much of a response an HTTP check reads.
const DefaultMaxBody = 1 << 20

// HTTP checks a URL: an application's status page, a health endpoint.
// It fails when the request fails, the status code is not expected, the
// body lacks what it must contain, a JSON condition does not hold, or the
// response took longer than MaxLatency (the last one as
// DegradedPerformance). TLS certificates are verified unless
// InsecureSkipVerify is set.
//
// Results carry Values "status_code" and "response_ms".
type HTTP struct {
	// URL to request. Required.
	URL string
	// Method; default GET.
	Method string
	// Header is sent with the request (Authorization, Host, ...). Its
	// values never appear in results or logs.
	Header http.Header
	// Body is sent with the request when set.
	Body string
	// Status lists the accepted status codes; default any 2xx.
	Status []int
	// BodyContains must occur in the body when set.
	BodyContains string
	// BodyMatches must match the body when set.
	BodyMatches *regexp.Regexp
	// JSON conditions must all hold on the body (parsed as JSON).
	JSON []Condition
	// MaxLatency, when positive, fails slower responses as
	// DegradedPerformance.
	MaxLatency time.Duration
	// MaxBody bounds the bytes read; default DefaultMaxBody. A longer
	// body is checked on its first MaxBody bytes (JSON then fails).
	MaxBody int64
	// Timeout bounds the request on top of ctx; default DefaultTimeout.
	Timeout time.Duration
	// Client sends the request; nil means a client built from RootCAs and
	// InsecureSkipVerify that follows up to 10 redirects.
	Client *http.Client
	// RootCAs verify the server's certificate; nil means the system roots.
	RootCAs *x509.CertPool
	// InsecureSkipVerify disables certificate verification. Avoid: use
	// RootCAs for private CAs.
	InsecureSkipVerify bool

	once   sync.Once
	client *http.Client
}

func (c *HTTP) httpClient() *http.Client {
	c.once.Do(func() {
		c.client = c.Client
		if c.client == nil {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.TLSClientConfig = &tls.Config{
				RootCAs:            c.RootCAs,
				InsecureSkipVerify: c.InsecureSkipVerify, // #nosec G402: opt-in, documented
				MinVersion:         tls.VersionTLS12,
			}
			c.client = &http.Client{Transport: tr}
		}
	})
	return c.client
}

// Check requests URL once and evaluates the response.
func (c *HTTP) Check(ctx context.Context) Result {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	method := c.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL, body)
	if err != nil {
		return fail(fmt.Sprintf("bad request: %v", redactURL(err)), 0, nil)
	}
	for k, vs := range c.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	target := safeURL(c.URL)
	start := time.Now()
	resp, err := c.httpClient().Do(req)
	if err != nil {
		lat := time.Since(start)
		return fail(fmt.Sprintf("%s %s: %v", method, target, redactURL(err)), lat,
			map[string]float64{"response_ms": ms(lat)})
	}
	defer resp.Body.Close()
	max := c.MaxBody
	if max <= 0 {
		max = DefaultMaxBody
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max))
	lat := time.Since(start)
	values := map[string]float64{"status_code": float64(resp.StatusCode), "response_ms": ms(lat)}
	if err != nil {
		return fail(fmt.Sprintf("%s %s: reading body: %v", method, target, redactURL(err)), lat, values)
	}
	if !c.statusOK(resp.StatusCode) {
		return fail(fmt.Sprintf("%s %s: status %d", method, target, resp.StatusCode), lat, values)
	}
	if c.BodyContains != "" && !strings.Contains(string(data), c.BodyContains) {
		return fail(fmt.Sprintf("%s %s: body does not contain %q", method, target, c.BodyContains), lat, values)
	}
	if c.BodyMatches != nil && !c.BodyMatches.Match(data) {
		return fail(fmt.Sprintf("%s %s: body does not match /%s/", method, target, c.BodyMatches), lat, values)
	}
	if len(c.JSON) > 0 {
		doc, err := decodeJSON(data)
		if err != nil {
			return fail(fmt.Sprintf("%s %s: %v", method, target, err), lat, values)
		}
		for _, cond := range c.JSON {
			if ok, why := cond.Holds(doc); !ok {
				return fail(fmt.Sprintf("%s %s: %s (want %s)", method, target, why, cond), lat, values)
			}
		}
	}
	msg := fmt.Sprintf("%s %s: status %d in %s", method, target, resp.StatusCode, lat.Round(time.Millisecond))
	if c.MaxLatency > 0 && lat > c.MaxLatency {
		r := fail(msg+", slower than "+c.MaxLatency.String(), lat, values)
		r.Status = DegradedPerformance
		return r
	}
	return ok(msg, lat, values)
}

func (c *HTTP) statusOK(code int) bool {
	if len(c.Status) == 0 {
		return code >= 200 && code < 300
	}
	return slices.Contains(c.Status, code)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// safeURL drops user information and the query (which may hold tokens)
// from a URL shown in messages.
func safeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "..."
	}
	u.Fragment = ""
	return u.String()
}

// redactURL replaces the URL inside a *url.Error by its safe form.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: safeURL(ue.URL), Err: ue.Err}
	}
	return err
}
