package statuspage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opskit/opskit/internal/bearer"
	"github.com/opskit/opskit/sqlstore"
)

// Config configures a Handler.
type Config struct {
	// HostSuffix serves page SLUG at SLUG+HostSuffix, e.g.
	// ".status.example.com". Pages are always also served at /p/SLUG/.
	HostSuffix string
	// AdminTokens are the bearer tokens of the admin API (/api/admin/...);
	// with none, the admin API answers 403 to everything.
	AdminTokens []string
	// RedirectHTTP sends plain HTTP requests to https:// and adds HSTS to
	// TLS responses; set it when the page is served over TLS.
	RedirectHTTP bool
	// SubscriptionKey signs the confirm and unsubscribe links of
	// subscriptions (HMAC-SHA256; use 32 random bytes, kept like a
	// password: whoever has it can forge links). Without it there are no
	// subscriptions: no form, no webhooks.
	SubscriptionKey []byte
	// Mailer sends subscription mail; email subscriptions need it (and
	// SubscriptionKey). statuspage/smtpmail sends through SMTP.
	Mailer Mailer
	// ConfirmTTL is how long a confirm link is valid; default 48 hours.
	ConfirmTTL time.Duration
	// SubscribeLimit is how many subscribe requests one client IP, and
	// one address, may make per hour; default 5. Behind a reverse proxy,
	// the proxy's address is the client IP.
	SubscribeLimit int
	// DeliveryInterval is how often Run retries failed notifications;
	// default 30 seconds.
	DeliveryInterval time.Duration
	// RenderInterval, when positive, renders a page at most once per
	// interval for changes from SetComponentStatus (check results): such a
	// change is stored at once (and seen by Page), and shown on the page
	// when the interval is over, together with any others that came
	// meanwhile. A storm of check results then costs one render per
	// interval (opsd uses 1s). Other changes (admin API, incidents) are
	// rendered at once. Zero renders on every change.
	RenderInterval time.Duration
	// HTTPClient posts webhooks; nil means http.DefaultClient (each
	// delivery has a 15 s deadline).
	HTTPClient *http.Client
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Handler serves many status pages and their admin API. Each page's
// responses (HTML, JSON, feeds, and their gzip) are rendered once per
// change, so a request costs a map lookup.
type Handler struct {
	cfg   Config
	store *Store
	mu    sync.RWMutex
	pages map[string]*servedPage
	// served is a read-only copy of pages, replaced on each publish, so
	// that requests take no lock and never wait for a writer.
	served atomic.Pointer[map[string]*servedPage]

	limits     limiter
	kick       chan struct{}
	renderedAt map[string]time.Time   // by slug, with RenderInterval
	timers     map[string]*time.Timer // pending renders, by slug
	deliverMu  sync.Mutex
}

type servedPage struct {
	page    *Page
	bodies  map[string]*body
	version int64
	stale   bool // bodies show an older version of page (RenderInterval)
}

// New opens (and migrates) the store in db and loads every page.
func New(ctx context.Context, db *sqlstore.DB, cfg Config) (*Handler, error) {
	st, err := OpenStore(ctx, db)
	if err != nil {
		return nil, err
	}
	if k := cfg.SubscriptionKey; len(k) > 0 && len(k) < 16 {
		return nil, fmt.Errorf("%w: Config.SubscriptionKey has %d bytes; use 32 random bytes", ErrInvalid, len(k))
	}
	h := &Handler{cfg: cfg, store: st, pages: map[string]*servedPage{}, kick: make(chan struct{}, 1),
		renderedAt: map[string]time.Time{}, timers: map[string]*time.Timer{}}
	slugs, err := st.Slugs(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range slugs {
		p, v, err := st.load(ctx, s)
		if err != nil {
			return nil, err
		}
		if err := h.publish(p, v); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Reload picks up pages that another process (the opsd command line,
// another daemon sharing PostgreSQL) changed in the store since they were
// rendered. Call it periodically; unchanged pages cost one small query.
func (h *Handler) Reload(ctx context.Context) error {
	versions, err := h.store.versions(ctx)
	if err != nil {
		return err
	}
	for slug, v := range versions {
		h.mu.RLock()
		sp := h.pages[slug]
		h.mu.RUnlock()
		if sp != nil && sp.version == v {
			continue
		}
		p, v, err := h.store.load(ctx, slug)
		if err != nil {
			return err
		}
		if err := h.publish(p, v); err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) now() time.Time {
	if h.cfg.Now != nil {
		return h.cfg.Now()
	}
	return time.Now()
}

// publish renders p and serves it.
func (h *Handler) publish(p *Page, version int64) error { return h.install(p, version) }

// publishSoon is publish for changes that come in storms (check
// results): with RenderInterval, at most one render per interval.
func (h *Handler) publishSoon(p *Page, version int64) error {
	if iv := h.cfg.RenderInterval; iv > 0 {
		now := time.Now() // the timers' clock
		h.mu.Lock()
		old := h.pages[p.Slug]
		if old != nil && old.version > version {
			h.mu.Unlock()
			return nil
		}
		if old != nil && (h.timers[p.Slug] != nil || now.Sub(h.renderedAt[p.Slug]) < iv) {
			// Rendered a moment ago: keep the new state, render it later.
			h.pages[p.Slug] = &servedPage{page: p, bodies: old.bodies, version: version, stale: true}
			if h.timers[p.Slug] == nil {
				slug := p.Slug
				h.timers[slug] = time.AfterFunc(iv-now.Sub(h.renderedAt[slug]), func() { h.flush(slug) })
			}
			h.mu.Unlock()
			return nil
		}
		h.renderedAt[p.Slug] = now
		h.mu.Unlock()
	}
	return h.install(p, version)
}

// flush renders page slug if its bodies are stale (RenderInterval).
func (h *Handler) flush(slug string) {
	h.mu.Lock()
	if t := h.timers[slug]; t != nil {
		t.Stop()
		delete(h.timers, slug)
	}
	sp := h.pages[slug]
	if sp == nil || !sp.stale {
		h.mu.Unlock()
		return
	}
	h.renderedAt[slug] = time.Now()
	h.mu.Unlock()
	if err := h.install(sp.page, sp.version); err != nil {
		h.log().Error("statuspage: render", "page", slug, "err", err)
	}
}

// install renders p and serves it unless a newer version is served.
func (h *Handler) install(p *Page, version int64) error {
	bodies, err := p.render(h.now(), h.emailOn())
	if err != nil {
		return fmt.Errorf("statuspage: render %s: %w", p.Slug, err)
	}
	h.mu.Lock()
	if old := h.pages[p.Slug]; old == nil || old.version <= version {
		h.pages[p.Slug] = &servedPage{page: p, bodies: bodies, version: version}
		snap := make(map[string]*servedPage, len(h.pages))
		for k, v := range h.pages {
			snap[k] = v
		}
		h.served.Store(&snap)
	}
	h.mu.Unlock()
	return nil
}

func (h *Handler) change(ctx context.Context, slug string, create bool, f func(p *Page, now time.Time) error) (*Page, error) {
	return h.changeThen(ctx, slug, create, f, nil)
}

// changeThen is change with after, run in the change's transaction (to
// queue notifications with it).
func (h *Handler) changeThen(ctx context.Context, slug string, create bool, f func(p *Page, now time.Time) error,
	after func(tx *sql.Tx, p *Page, now time.Time) error) (*Page, error) {
	return h.changeWith(ctx, slug, create, f, after, h.publish)
}

// changeWith is changeThen publishing with publish.
func (h *Handler) changeWith(ctx context.Context, slug string, create bool, f func(p *Page, now time.Time) error,
	after func(tx *sql.Tx, p *Page, now time.Time) error, publish func(*Page, int64) error) (*Page, error) {
	now := h.now().UTC()
	var a func(tx *sql.Tx, p *Page) error
	if after != nil {
		a = func(tx *sql.Tx, p *Page) error { return after(tx, p, now) }
	}
	cached := func(version int64) *Page {
		h.mu.RLock()
		defer h.mu.RUnlock()
		if sp := h.pages[slug]; sp != nil && sp.version == version {
			return sp.page.clone()
		}
		return nil
	}
	p, v, err := h.store.changeCached(ctx, slug, create, cached, func(p *Page) error {
		if err := f(p, now); err != nil {
			return err
		}
		p.Updated = now
		return nil
	}, a)
	if err != nil {
		return nil, err
	}
	if after != nil {
		h.wake()
	}
	return p, publish(p, v)
}

// PutPage creates page slug or changes its name, URL and time zone.
func (h *Handler) PutPage(ctx context.Context, slug, name, url, timeZone string) error {
	if !validSlug(slug) {
		return fmt.Errorf("%w: page slug %q: use 1-63 of a-z 0-9 -", ErrInvalid, slug)
	}
	if timeZone != "" {
		if _, err := time.LoadLocation(timeZone); err != nil {
			return fmt.Errorf("%w: time zone %q", ErrInvalid, timeZone)
		}
	}
	_, err := h.change(ctx, slug, true, func(p *Page, now time.Time) error {
		if p.ID == "" {
			p.ID = newID()
		}
		p.Name, p.URL, p.TimeZone = name, strings.TrimSuffix(url, "/"), timeZone
		if p.Name == "" {
			p.Name = slug
		}
		return nil
	})
	return err
}

func validSlug(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// AddComponent adds a component (or group) and returns its ID.
func (h *Handler) AddComponent(ctx context.Context, slug string, c Component) (string, error) {
	if strings.TrimSpace(c.Name) == "" {
		return "", fmt.Errorf("%w: a component needs a name", ErrInvalid)
	}
	if c.Status == "" {
		c.Status = Operational
	}
	if !c.Status.Valid() {
		return "", fmt.Errorf("%w: component status %q", ErrInvalid, c.Status)
	}
	c.ID = newID()
	_, err := h.change(ctx, slug, false, func(p *Page, now time.Time) error {
		if c.GroupID != "" {
			g, err := p.component(c.GroupID)
			if err != nil || !g.Group {
				return fmt.Errorf("%w: group %q", ErrInvalid, c.GroupID)
			}
		}
		c.Created, c.Updated = now, now
		if c.Position == 0 {
			c.Position = len(p.Components) + 1
		}
		p.Components = append(p.Components, c)
		return nil
	})
	return c.ID, err
}

// SetComponentStatus sets a component's status: what the daemon calls
// with each result of the check that watches the component (failing:
// partial or major outage, slow: degraded performance, passing:
// operational). reason says why, e.g. the check's message; it is
// recorded with the change ([Handler.StatusChanges]) but never shown on
// the public page.
//
// A change is stored, recorded, sent to webhook subscribers and
// re-renders the page. Setting the status a component already has is
// cheap (no write, no render), so a caller may report every check result.
func (h *Handler) SetComponentStatus(ctx context.Context, slug, id string, status ComponentStatus, reason string) error {
	if !status.Valid() {
		return fmt.Errorf("%w: component status %q", ErrInvalid, status)
	}
	if h.unchanged(slug, id, status) {
		return nil
	}
	var old ComponentStatus
	_, err := h.changeWith(ctx, slug, false, func(p *Page, now time.Time) error {
		c, err := p.component(id)
		if err != nil {
			return err
		}
		old = c.Status
		if c.Status != status {
			c.Status, c.Updated = status, now
		}
		c.record(status, now, p.location())
		return nil
	}, func(tx *sql.Tx, p *Page, now time.Time) error {
		if old == status {
			return nil
		}
		c, err := p.component(id)
		if err != nil {
			return err
		}
		if err := h.store.recordChange(ctx, tx, slug, StatusChange{Component: id, At: now, Old: old, New: status, Reason: reason}); err != nil {
			return err
		}
		return h.queueComponent(ctx, tx, p, c, old, now)
	}, h.publishSoon)
	return err
}

// unchanged reports whether the served page already shows component id
// with status and today's history already holds it, so that setting it
// again would change nothing.
func (h *Handler) unchanged(slug, id string, status ComponentStatus) bool {
	h.mu.RLock()
	sp := h.pages[slug]
	h.mu.RUnlock()
	if sp == nil {
		return false
	}
	c, err := sp.page.component(id)
	if err != nil || c.Status != status {
		return false
	}
	if status == Operational {
		return true
	}
	n := len(c.History)
	return n > 0 && c.History[n-1].Date == h.now().In(sp.page.location()).Format("2006-01-02") && severity[c.History[n-1].Worst] >= severity[status]
}

// NewIncident is what CreateIncident needs.
type NewIncident struct {
	// ID, optional, lets the caller choose the incident's ID (12 characters
	// of 0-9a-z), e.g. derived from its own incident number.
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	Status         string    `json:"status"` // default investigating (scheduled for maintenances)
	Impact         string    `json:"impact"` // default minor (maintenance for maintenances)
	Body           string    `json:"body"`   // the first update
	Components     []string  `json:"components"`
	Maintenance    bool      `json:"maintenance"`
	ScheduledFor   time.Time `json:"scheduled_for"`
	ScheduledUntil time.Time `json:"scheduled_until"`
}

// CreateIncident posts an incident or schedules a maintenance, and
// returns its ID.
func (h *Handler) CreateIncident(ctx context.Context, slug string, n NewIncident) (string, error) {
	if n.Status == "" {
		n.Status = Investigating
		if n.Maintenance {
			n.Status = Scheduled
		}
	}
	if n.Impact == "" {
		n.Impact = ImpactMinor
		if n.Maintenance {
			n.Impact = ImpactMaintenance
		}
	}
	switch {
	case strings.TrimSpace(n.Name) == "" || strings.TrimSpace(n.Body) == "":
		return "", fmt.Errorf("%w: an incident needs a name and a first update", ErrInvalid)
	case !validIncidentStatus(n.Maintenance, n.Status):
		return "", fmt.Errorf("%w: status %q", ErrInvalid, n.Status)
	case !validImpact(n.Impact):
		return "", fmt.Errorf("%w: impact %q", ErrInvalid, n.Impact)
	case n.Maintenance && (n.ScheduledFor.IsZero() || !n.ScheduledUntil.After(n.ScheduledFor)):
		return "", fmt.Errorf("%w: a maintenance needs scheduled_for before scheduled_until", ErrInvalid)
	}
	id := n.ID
	if id == "" {
		id = newID()
	} else if !validID(id) {
		return "", fmt.Errorf("%w: incident id %q: want 12 characters of 0-9a-z", ErrInvalid, id)
	}
	_, err := h.changeThen(ctx, slug, false, func(p *Page, now time.Time) error {
		if _, err := p.incident(id); err == nil {
			return fmt.Errorf("%w: incident %s exists", ErrInvalid, id)
		}
		for _, c := range n.Components {
			if _, err := p.component(c); err != nil {
				return err
			}
		}
		inc := Incident{ID: id, Name: n.Name, Status: n.Status, Impact: n.Impact, Maintenance: n.Maintenance,
			ScheduledFor: n.ScheduledFor.UTC(), ScheduledUntil: n.ScheduledUntil.UTC(), Components: n.Components,
			Created: now, Updated: now, Started: now,
			Updates: []Update{{ID: newID(), Status: n.Status, Body: n.Body, Created: now}}}
		markTimes(&inc, now)
		p.Incidents = append([]Incident{inc}, p.Incidents...)
		return nil
	}, func(tx *sql.Tx, p *Page, now time.Time) error {
		return h.queueIncident(ctx, tx, p, id, true, now)
	})
	return id, err
}

func validID(id string) bool {
	if len(id) != 12 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func markTimes(inc *Incident, now time.Time) {
	switch inc.Status {
	case Monitoring:
		if inc.MonitoringAt.IsZero() {
			inc.MonitoringAt = now
		}
	case Resolved, Postmortem, Completed:
		if inc.ResolvedAt.IsZero() {
			inc.ResolvedAt = now
		}
	}
}

// CreateIncident and AddUpdate notify the confirmed subscribers of the
// affected components (all subscribers for an incident without
// components) through the outbox that Run delivers.

// AddUpdate posts an update on an incident, changing its status.
func (h *Handler) AddUpdate(ctx context.Context, slug, incidentID, status, text string) error {
	if strings.TrimSpace(text) == "" {
		return fmt.Errorf("%w: an update needs a body", ErrInvalid)
	}
	_, err := h.changeThen(ctx, slug, false, func(p *Page, now time.Time) error {
		inc, err := p.incident(incidentID)
		if err != nil {
			return err
		}
		if status == "" {
			status = inc.Status
		}
		if !validIncidentStatus(inc.Maintenance, status) {
			return fmt.Errorf("%w: status %q", ErrInvalid, status)
		}
		inc.Status, inc.Updated = status, now
		markTimes(inc, now)
		inc.Updates = append([]Update{{ID: newID(), Status: status, Body: text, Created: now}}, inc.Updates...)
		return nil
	}, func(tx *sql.Tx, p *Page, now time.Time) error {
		return h.queueIncident(ctx, tx, p, incidentID, false, now)
	})
	return err
}

// Page returns a copy of the served page.
func (h *Handler) Page(slug string) (Page, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	sp, ok := h.pages[slug]
	if !ok {
		return Page{}, fmt.Errorf("%w: page %q", ErrNotFound, slug)
	}
	return *sp.page, nil
}

const csp = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Shared header values; net/http only reads them.
var (
	cacheControl = []string{"public, max-age=30"}
	varyAE       = []string{"Accept-Encoding"}
	anyOrigin    = []string{"*"}
	gzipEnc      = []string{"gzip"}
	secHeaders   = [][2][]string{{{"X-Content-Type-Options"}, {"nosniff"}}, {{"Content-Security-Policy"}, {csp}}, {{"Referrer-Policy"}, {"no-referrer"}}}
)

// ServeHTTP serves pages and the admin API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	for _, kv := range secHeaders {
		hd[kv[0][0]] = kv[1]
	}
	if h.cfg.RedirectHTTP {
		if r.TLS == nil {
			http.Redirect(w, r, "https://"+r.Host+r.URL.RequestURI(), http.StatusMovedPermanently)
			return
		}
		hd.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if strings.HasPrefix(r.URL.Path, "/api/admin/") {
		h.admin(w, r)
		return
	}
	slug, path := h.route(r)
	if slug == "" {
		http.NotFound(w, r)
		return
	}
	if h.subscriptionsOn() && (path == "/subscribe" || path == "/confirm" || path == "/unsubscribe") {
		h.subscription(w, r, slug, path)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var b *body
	if snap := h.served.Load(); snap != nil {
		if sp := (*snap)[slug]; sp != nil {
			b = sp.bodies[path]
		}
	}
	if b == nil {
		http.NotFound(w, r)
		return
	}
	// The header values are shared, pre-built slices (see body).
	hd["Content-Type"] = b.hType
	hd["Etag"] = b.hETag
	hd["Cache-Control"] = cacheControl
	hd["Vary"] = varyAE
	if strings.HasPrefix(path, "/api/") {
		hd["Access-Control-Allow-Origin"] = anyOrigin
	}
	if inm := r.Header["If-None-Match"]; len(inm) > 0 && inm[0] == b.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	data, length := b.raw, b.hRawLen
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		hd["Content-Encoding"] = gzipEnc
		data, length = b.gz, b.hGzLen
	}
	hd["Content-Length"] = length
	if r.Method == http.MethodHead {
		return
	}
	w.Write(data)
}

// acceptsGzip parses Accept-Encoding without allocating.
func acceptsGzip(ae string) bool {
	for ae != "" {
		var part string
		part, ae, _ = strings.Cut(ae, ",")
		name, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			q, err := strconv.ParseFloat(v, 64)
			return err == nil && q > 0
		}
		return true
	}
	return false
}

// route finds the page and the path within it.
func (h *Handler) route(r *http.Request) (slug, path string) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/p/"); ok {
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			return rest, "/"
		}
		return rest[:i], rest[i:] // no concatenation: a request allocates nothing here
	}
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	if h.cfg.HostSuffix != "" {
		if s, ok := strings.CutSuffix(strings.ToLower(host), h.cfg.HostSuffix); ok && validSlug(s) {
			return s, r.URL.Path
		}
	}
	return "", ""
}

func (h *Handler) authorized(r *http.Request) bool { return bearer.Allowed(r, h.cfg.AdminTokens) }

// admin serves the token-authenticated admin API:
//
//	PUT  /api/admin/pages/{slug}                           {"name","url","time_zone"}
//	POST /api/admin/pages/{slug}/components                {"name","description","group","group_id","status"} → {"id"}
//	PUT  /api/admin/pages/{slug}/components/{id}           {"status","reason"}
//	POST /api/admin/pages/{slug}/incidents                 NewIncident → {"id"}
//	POST /api/admin/pages/{slug}/incidents/{id}/updates    {"status","body"}
//	POST /api/admin/pages/{slug}/webhooks                  {"url","components"} → {"id"}
//	GET  /api/admin/pages/{slug}/subscribers               → {"subscribers":[{"id","kind","address","components","confirmed","created_at"}]}
//	DELETE /api/admin/pages/{slug}/subscribers/{id}
func (h *Handler) admin(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	fail := func(code int, msg string) {
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"error": msg})
	}
	if !h.authorized(r) {
		hd.Set("WWW-Authenticate", `Bearer realm="statuspage admin"`)
		fail(http.StatusUnauthorized, "a valid bearer token is required")
		return
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/admin/"), "/"), "/")
	if len(parts) < 2 || parts[0] != "pages" {
		fail(http.StatusNotFound, "unknown admin path")
		return
	}
	slug := parts[1]
	var in struct {
		NewIncident
		URL         string `json:"url"`
		TimeZone    string `json:"time_zone"`
		Description string `json:"description"`
		Group       bool   `json:"group"`
		GroupID     string `json:"group_id"`
		Reason      string `json:"reason"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	if r.Body != nil && r.ContentLength != 0 {
		if err := dec.Decode(&in); err != nil && !errors.Is(err, io.EOF) {
			fail(http.StatusBadRequest, "invalid JSON: "+err.Error())
			return
		}
	}
	ctx := r.Context()
	var err error
	result := map[string]string{}
	switch {
	case r.Method == http.MethodPut && len(parts) == 2:
		err = h.PutPage(ctx, slug, in.Name, in.URL, in.TimeZone)
	case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "components":
		result["id"], err = h.AddComponent(ctx, slug, Component{Name: in.Name, Description: in.Description, Group: in.Group,
			GroupID: in.GroupID, Status: ComponentStatus(in.Status)})
	case r.Method == http.MethodPut && len(parts) == 4 && parts[2] == "components":
		err = h.SetComponentStatus(ctx, slug, parts[3], ComponentStatus(in.Status), in.Reason)
	case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "webhooks":
		result["id"], err = h.AddWebhook(ctx, slug, in.URL, in.Components)
	case r.Method == http.MethodDelete && len(parts) == 4 && parts[2] == "subscribers":
		err = h.Unsubscribe(ctx, slug, parts[3])
	case r.Method == http.MethodGet && len(parts) == 3 && parts[2] == "subscribers":
		var subs []Subscriber
		if subs, err = h.Subscribers(ctx, slug); err == nil {
			out := []map[string]any{}
			for _, s := range subs {
				out = append(out, map[string]any{"id": s.ID, "kind": s.Kind, "address": s.Address, "components": s.Components,
					"confirmed": s.Confirmed, "created_at": ts(s.Created)})
			}
			json.NewEncoder(w).Encode(map[string]any{"subscribers": out})
			return
		}
	case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "incidents":
		result["id"], err = h.CreateIncident(ctx, slug, in.NewIncident)
	case r.Method == http.MethodPost && len(parts) == 5 && parts[2] == "incidents" && parts[4] == "updates":
		err = h.AddUpdate(ctx, slug, parts[3], in.Status, in.Body)
	default:
		fail(http.StatusNotFound, "unknown admin path or method")
		return
	}
	switch {
	case errors.Is(err, ErrInvalid):
		fail(http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrNotFound):
		fail(http.StatusNotFound, err.Error())
	case err != nil:
		h.log().Error("statuspage: admin request failed", "path", r.URL.Path, "error", err)
		fail(http.StatusInternalServerError, "internal error")
	default:
		json.NewEncoder(w).Encode(result)
	}
}

func (h *Handler) log() *slog.Logger {
	if h.cfg.Logger != nil {
		return h.cfg.Logger
	}
	return slog.Default()
}
