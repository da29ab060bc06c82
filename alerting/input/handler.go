package input

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/internal/bearer"
)

// The sources, as in Alert.Source and Allow.Source.
const (
	Alertmanager = "alertmanager"
	Falco        = "falco"
	OSSEC        = "ossec"
)

// Allow is one allow-list entry. An alert passes an entry when it matches
// every non-zero field.
type Allow struct {
	// Source is Alertmanager, Falco or OSSEC; empty matches any.
	Source string
	// Rule is a path.Match pattern on the alert name (alertname: the
	// Alertmanager alert, Falco rule or OSSEC rule description), or an
	// OSSEC rule id; empty matches any.
	Rule string
	// MinSeverity is the least severity let through; empty lets all.
	MinSeverity alerting.Severity
	// MinFalcoPriority (e.g. "warning") applies to Falco alerts only.
	MinFalcoPriority string
	// MinOSSECLevel applies to OSSEC alerts only.
	MinOSSECLevel int
}

func (a Allow) match(al alerting.Alert) bool {
	if a.Source != "" && a.Source != al.Source {
		return false
	}
	if a.Rule != "" {
		ok, _ := path.Match(a.Rule, al.Name())
		if !ok && (al.Source != OSSEC || a.Rule != al.Labels["rule_id"]) {
			return false
		}
	}
	if a.MinSeverity != "" && al.Severity.Rank() < a.MinSeverity.Rank() {
		return false
	}
	if a.MinFalcoPriority != "" && al.Source == Falco && FalcoPriorityRank(al.Labels["priority"]) < FalcoPriorityRank(a.MinFalcoPriority) {
		return false
	}
	if a.MinOSSECLevel > 0 && al.Source == OSSEC {
		var lvl int
		fmt.Sscan(al.Annotations["level"], &lvl)
		if lvl < a.MinOSSECLevel {
			return false
		}
	}
	return true
}

// Config configures a Handler.
type Config struct {
	// Sink receives the accepted alerts (the Manager). Required.
	Sink alerting.Notifier
	// Tokens are the accepted bearer tokens; at least one is required.
	Tokens []string
	// Allow is the allow-list: an alert is delivered when it matches at
	// least one entry. Nil delivers every alert.
	Allow []Allow
	// MaxBytes bounds a request body; default 1 MiB.
	MaxBytes int64
	// FalcoLabelFields are Falco output fields promoted to labels, so they
	// take part in the alert's identity (e.g. "k8s.ns.name",
	// "container.name"). Others become annotations.
	FalcoLabelFields []string
	// Logger records rejected requests (never their bodies); nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler receives alerts over HTTP:
//
//	POST /alertmanager   Alertmanager webhook v4 JSON
//	POST /falco          Falco alert JSON as falcosidekick sends it
//	POST /ossec          OSSEC/Wazuh alerts.json lines
//
// Mount it under a prefix with http.StripPrefix. It is safe for
// concurrent use.
type Handler struct {
	cfg Config
	mux *http.ServeMux
}

// New validates cfg and returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Sink == nil {
		return nil, errors.New("input: Sink is required")
	}
	if len(cfg.Tokens) == 0 {
		return nil, errors.New("input: at least one bearer token is required")
	}
	for _, t := range cfg.Tokens {
		if len(t) < 16 {
			return nil, errors.New("input: bearer tokens must be at least 16 characters")
		}
	}
	for i, a := range cfg.Allow {
		if a.Source != "" && a.Source != Alertmanager && a.Source != Falco && a.Source != OSSEC {
			return nil, fmt.Errorf("input: Allow[%d]: unknown source %q", i, a.Source)
		}
		if _, err := path.Match(a.Rule, ""); err != nil {
			return nil, fmt.Errorf("input: Allow[%d]: rule pattern: %w", i, err)
		}
		if a.MinFalcoPriority != "" && FalcoPriorityRank(a.MinFalcoPriority) < 0 {
			return nil, fmt.Errorf("input: Allow[%d]: unknown Falco priority %q", i, a.MinFalcoPriority)
		}
		if a.MinSeverity != "" && a.MinSeverity.Rank() == 0 {
			return nil, fmt.Errorf("input: Allow[%d]: unknown severity %q", i, a.MinSeverity)
		}
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	h.mux.Handle("POST /alertmanager", h.route(Alertmanager, func(b []byte, now time.Time) ([]alerting.Alert, error) { return ParseAlertmanager(b, now) }))
	h.mux.Handle("POST /falco", h.route(Falco, func(b []byte, now time.Time) ([]alerting.Alert, error) {
		return ParseFalco(b, now, cfg.FalcoLabelFields)
	}))
	h.mux.Handle("POST /ossec", h.route(OSSEC, ParseOSSEC))
	for _, p := range []string{"/alertmanager", "/falco", "/ossec"} {
		h.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", http.MethodPost)
			fail(w, http.StatusMethodNotAllowed, "use POST")
		})
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "unknown input: use /alertmanager, /falco or /ossec")
	})
	return h, nil
}

// Result is the JSON answer to an accepted request.
type Result struct {
	Accepted int `json:"accepted"` // delivered to the sink
	Filtered int `json:"filtered"` // dropped by the allow-list
}

// ServeHTTP authenticates the request, then routes it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="opsd alert input"`)
		fail(w, http.StatusUnauthorized, "a valid bearer token is required")
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) authorized(r *http.Request) bool { return bearer.Allowed(r, h.cfg.Tokens) }

func (h *Handler) route(source string, parse func([]byte, time.Time) ([]alerting.Alert, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/x-ndjson") && !strings.HasPrefix(ct, "text/plain") {
			fail(w, http.StatusUnsupportedMediaType, "send application/json")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", h.cfg.MaxBytes))
				return
			}
			fail(w, http.StatusBadRequest, "cannot read body")
			return
		}
		alerts, err := parse(body, h.cfg.Now())
		if err != nil {
			h.cfg.Logger.InfoContext(r.Context(), "alert input rejected", "source", source, "remote", r.RemoteAddr, "err", err)
			fail(w, http.StatusBadRequest, err.Error())
			return
		}
		res := Result{}
		kept := alerts[:0]
		for _, a := range alerts {
			if h.allowed(a) {
				kept = append(kept, a)
			} else {
				res.Filtered++
			}
		}
		if len(kept) > 0 {
			if err := h.cfg.Sink.Notify(r.Context(), kept...); err != nil {
				h.cfg.Logger.WarnContext(r.Context(), "alert input: sink failed", "source", source, "alerts", len(kept), "err", err)
				// 503 tells Alertmanager and falcosidekick to retry.
				fail(w, http.StatusServiceUnavailable, "alerts not accepted, retry later")
				return
			}
		}
		res.Accepted = len(kept)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(res)
	})
}

func (h *Handler) allowed(a alerting.Alert) bool {
	if h.cfg.Allow == nil {
		return true
	}
	for _, al := range h.cfg.Allow {
		if al.match(a) {
			return true
		}
	}
	return false
}

func fail(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
