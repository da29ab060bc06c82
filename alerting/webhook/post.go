package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opskit/opskit/alerting"
)

// StatusError is an answer other than 2xx from a receiver. It wraps
// alerting.ErrPermanent unless the status says a retry may succeed
// (408, 429, 5xx), so errors.Is(err, alerting.ErrPermanent) tells the two
// apart.
type StatusError struct {
	StatusCode int
	// RetryAfter is the receiver's Retry-After in seconds, 0 when absent.
	RetryAfter time.Duration
	// Body is the start of the response body, with the notifier's secrets
	// replaced by "[redacted]", for diagnosis.
	Body string
}

// Temporary reports whether a retry may succeed.
func (e *StatusError) Temporary() bool {
	return e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// Error says the status, whether a retry may help, and the redacted body.
func (e *StatusError) Error() string {
	kind := "permanent"
	if e.Temporary() {
		kind = "retryable"
	}
	s := fmt.Sprintf("receiver answered %d %s (%s)", e.StatusCode, http.StatusText(e.StatusCode), kind)
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// Unwrap returns alerting.ErrPermanent for a permanent failure.
func (e *StatusError) Unwrap() error {
	if e.Temporary() {
		return nil
	}
	return alerting.ErrPermanent
}

// NewClient returns the HTTP client notifiers use when none is configured:
// a 30 s timeout and no redirects (a webhook that redirects is
// misconfigured, and following it would turn the POST into a GET).
func NewClient() *http.Client {
	return &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Post sends req with c and classifies the outcome for the Manager: nil for
// 2xx; a *StatusError for other answers (wrapping alerting.ErrPermanent
// unless 408, 429 or 5xx); a retryable error for network failures; an error
// wrapping ctx.Err() when ctx ends first. Errors never contain the
// request URL's path, query or user information (Slack and similar
// services put the credential in the path) nor any of secrets.
//
// Post is the transport of this package's Notifier and of the slack and
// pagerduty packages.
func Post(c *http.Client, req *http.Request, secrets ...string) error {
	resp, err := c.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return fmt.Errorf("POST %s: %w", redactURL(req.URL), ctxErr)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("POST %s: %s", redactURL(req.URL), redact(err.Error(), secrets))
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	se := &StatusError{StatusCode: resp.StatusCode, Body: redact(printable(string(head)), secrets)}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		se.RetryAfter = time.Duration(s) * time.Second
	}
	return fmt.Errorf("POST %s: %w", redactURL(req.URL), se)
}

// NewRequest builds a JSON POST to u carrying ctx.
func NewRequest(ctx context.Context, u string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("webhook request: %w", alerting.ErrPermanent)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "opskit-alerting")
	return req, nil
}

// redactURL keeps scheme and host: the rest may be a credential.
func redactURL(u *url.URL) string {
	if u == nil {
		return "receiver"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// ValidateURL checks that u is an absolute http or https URL, for the
// notifiers' New. The error never repeats the URL.
func ValidateURL(what, u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("%s must be an absolute http(s) URL", what)
	}
	return nil
}
