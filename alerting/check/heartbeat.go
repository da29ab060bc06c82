package check

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Heartbeats receives check-ins from hosts and reports hosts that stopped
// checking in (Gatus' external endpoints, a dead man's switch per host).
//
// A host checks in with
//
//	POST <mount>/HOST
//	Authorization: Bearer TOKEN
//
// for example from cron: curl -fsS -X POST -H "Authorization: Bearer $T"
// https://opsd.example.com/heartbeat/web1. The handler answers 204 No
// Content; 401 for an unknown host or a wrong token (the same answer, so
// host names cannot be probed); 405 for other methods. Tokens are compared
// in constant time, as SHA-256 digests, and never logged.
//
// Check-ins are kept in memory: after a restart every host has a grace
// period from the restart to check in again. Call CheckIn to restore
// check-ins persisted elsewhere.
type Heartbeats struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger; nil means slog.Default().
	Logger *slog.Logger

	mu     sync.Mutex
	tokens map[string][32]byte
	last   map[string]time.Time
}

// NewHeartbeats returns Heartbeats for the hosts in tokens (host name →
// token). Tokens shorter than 16 bytes are refused.
func NewHeartbeats(tokens map[string]string) (*Heartbeats, error) {
	h := &Heartbeats{tokens: map[string][32]byte{}, last: map[string]time.Time{}}
	for host, tok := range tokens {
		if host == "" || strings.ContainsAny(host, "/ ") {
			return nil, fmt.Errorf("%w: heartbeat host %q", ErrInvalid, host)
		}
		if len(tok) < 16 {
			return nil, fmt.Errorf("%w: heartbeat token of %q shorter than 16 bytes", ErrInvalid, host)
		}
		h.tokens[host] = sha256.Sum256([]byte(tok))
	}
	return h, nil
}

func (h *Heartbeats) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Heartbeats) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// ServeHTTP records a check-in; see Heartbeats.
func (h *Heartbeats) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	host := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	tok, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	want, known := h.tokens[host]
	got := sha256.Sum256([]byte(tok))
	// Compare even for unknown hosts so both failures take the same time.
	match := subtle.ConstantTimeCompare(got[:], want[:]) == 1
	if !known || !hasBearer || !match {
		h.logger().Warn("check: heartbeat refused", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="heartbeat"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 4096))
	h.CheckIn(host, h.now())
	w.WriteHeader(http.StatusNoContent)
}

// CheckIn records that host checked in at t (kept if later than the
// last recorded one).
func (h *Heartbeats) CheckIn(host string, t time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t.After(h.last[host]) {
		h.last[host] = t
	}
}

// Last returns host's latest check-in, if any.
func (h *Heartbeats) Last(host string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.last[host]
	return t, ok
}

// Check returns the Check that fails when host has not checked in for
// longer than grace. Before its first check-in, the grace period runs from
// the first run of the check (the daemon's start).
func (h *Heartbeats) Check(host string, grace time.Duration) Check {
	return &heartbeat{h: h, host: host, grace: grace}
}

type heartbeat struct {
	h     *Heartbeats
	host  string
	grace time.Duration
	mu    sync.Mutex
	since time.Time // first run
}

func (c *heartbeat) Check(ctx context.Context) Result {
	now := c.h.now()
	c.mu.Lock()
	if c.since.IsZero() {
		c.since = now
	}
	since := c.since
	c.mu.Unlock()
	last, seen := c.h.Last(c.host)
	if !seen {
		age := now.Sub(since)
		v := map[string]float64{"checkin_age_seconds": age.Seconds()}
		if age > c.grace {
			return fail(fmt.Sprintf("%s unresponsive: no check-in for %s", c.host, age.Round(time.Second)), 0, v)
		}
		return ok(fmt.Sprintf("%s: no check-in yet", c.host), 0, v)
	}
	age := now.Sub(last)
	v := map[string]float64{"checkin_age_seconds": age.Seconds()}
	if age > c.grace {
		return fail(fmt.Sprintf("%s unresponsive: last check-in %s ago", c.host, age.Round(time.Second)), 0, v)
	}
	return ok(fmt.Sprintf("%s checked in %s ago", c.host, age.Round(time.Second)), 0, v)
}
