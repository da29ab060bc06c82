package statuspage

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Mail is one message to an email subscriber.
type Mail struct {
	To      string
	Subject string
	Text    string // plain text body
	// Unsubscribe is the subscriber's one-click unsubscribe URL. A Mailer
	// sends it as "List-Unsubscribe: <URL>" with "List-Unsubscribe-Post:
	// List-Unsubscribe=One-Click" (RFC 8058); a POST to it unsubscribes.
	Unsubscribe string
}

// Mailer sends mail to subscribers. statuspage/smtpmail implements it
// over SMTP.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// Token purposes; a token of one purpose is never accepted for another.
const (
	purposeConfirm     = "c"
	purposeUnsubscribe = "u"
)

// ErrToken is returned for a confirm or unsubscribe link that is malformed,
// forged, for another page or purpose, or expired.
var ErrToken = errors.New("statuspage: invalid or expired link")

// token signs (purpose, slug, subscriber, expiry) with HMAC-SHA256:
// "1" (format version) + purpose + "." + id + "." + expiry in base 36
// (0: never) + "." + 16 bytes of MAC in base64url.
func token(key []byte, purpose, slug, id string, exp time.Time) string {
	e := int64(0)
	if !exp.IsZero() {
		e = exp.Unix()
	}
	es := strconv.FormatInt(e, 36)
	return "1" + purpose + "." + id + "." + es + "." + base64.RawURLEncoding.EncodeToString(tokenMAC(key, purpose, slug, id, es))
}

func tokenMAC(key []byte, purpose, slug, id, exp string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("opskit statuspage token v1\x00" + purpose + "\x00" + slug + "\x00" + id + "\x00" + exp))
	return m.Sum(nil)[:16]
}

// parseToken checks a token for slug and purpose and returns the
// subscriber ID it names.
func parseToken(key []byte, purpose, slug, tok string, now time.Time) (string, error) {
	parts := strings.Split(tok, ".")
	if len(key) == 0 || len(parts) != 4 || parts[0] != "1"+purpose || !validID(parts[1]) || len(parts[2]) > 13 {
		return "", ErrToken
	}
	mac, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil || !hmac.Equal(mac, tokenMAC(key, purpose, slug, parts[1], parts[2])) {
		return "", ErrToken
	}
	exp, err := strconv.ParseInt(parts[2], 36, 64)
	if err != nil || exp < 0 || (exp != 0 && now.Unix() > exp) {
		return "", ErrToken
	}
	return parts[1], nil
}

// limiter counts requests per key in fixed windows.
type limiter struct {
	mu     sync.Mutex
	counts map[string]*window
}

type window struct {
	start time.Time
	n     int
}

// maxLimiterKeys bounds the limiter's memory: past it, expired windows are
// dropped, and if that is not enough new keys are refused.
const maxLimiterKeys = 100_000

func (l *limiter) allow(key string, limit int, per time.Duration, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = map[string]*window{}
	}
	w := l.counts[key]
	if w == nil || now.Sub(w.start) >= per {
		if w == nil && len(l.counts) >= maxLimiterKeys {
			for k, v := range l.counts {
				if now.Sub(v.start) >= per {
					delete(l.counts, k)
				}
			}
			if len(l.counts) >= maxLimiterKeys {
				return false
			}
		}
		w = &window{start: now}
		l.counts[key] = w
	}
	w.n++
	return w.n <= limit
}

func (h *Handler) subscriptionsOn() bool { return len(h.cfg.SubscriptionKey) > 0 }
func (h *Handler) emailOn() bool         { return h.subscriptionsOn() && h.cfg.Mailer != nil }

func (h *Handler) confirmTTL() time.Duration {
	if h.cfg.ConfirmTTL > 0 {
		return h.cfg.ConfirmTTL
	}
	return 48 * time.Hour
}

func (h *Handler) subscribeLimit() int {
	if h.cfg.SubscribeLimit > 0 {
		return h.cfg.SubscribeLimit
	}
	return 5
}

// parseAddress accepts a bare address (no display name), as typed in the form.
func parseAddress(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 || strings.ContainsAny(s, "\r\n<>\"") {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", false
	}
	return strings.ToLower(s), true
}

// Subscribe asks for mail notifications of page slug to address, for the
// given components (none: all). It queues a mail with a confirm link
// valid for Config.ConfirmTTL; nothing else is sent to the address until
// the link's button is pressed. Asking again for a confirmed address sends
// a new link, which changes the selection once confirmed. Whether address
// was known is not reported.
func (h *Handler) Subscribe(ctx context.Context, slug, address string, components []string) error {
	if !h.emailOn() {
		return fmt.Errorf("%w: email subscriptions need Config.SubscriptionKey and Config.Mailer", ErrInvalid)
	}
	addr, ok := parseAddress(address)
	if !ok {
		return fmt.Errorf("%w: not an email address", ErrInvalid)
	}
	p, err := h.Page(slug)
	if err != nil {
		return err
	}
	if p.URL == "" {
		return fmt.Errorf("%w: page %s has no URL to link to", ErrInvalid, slug)
	}
	comps, names, err := p.selection(components)
	if err != nil {
		return err
	}
	now := h.now()
	tx, err := h.store.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	id, err := h.store.request(ctx, tx, slug, KindEmail, addr, comps, false, now)
	if err != nil {
		return err
	}
	exp := now.Add(h.confirmTTL())
	var b strings.Builder
	fmt.Fprintf(&b, "Someone, probably you, asked to receive %s status notifications at this address", p.Name)
	if len(names) > 0 {
		fmt.Fprintf(&b, ", for: %s", strings.Join(names, ", "))
	}
	fmt.Fprintf(&b, ".\n\nTo confirm, open this link and press the button (valid until %s):\n\n%s/confirm?t=%s\n\n"+
		"If it was not you, ignore this mail: nothing is sent to you without confirmation.\n",
		exp.In(p.location()).Format("Mon 2 Jan 2006 15:04 MST"), p.URL, token(h.cfg.SubscriptionKey, purposeConfirm, slug, id, exp))
	if err := h.store.enqueue(ctx, tx, id, outConfirm, "Confirm your subscription to "+p.Name+" status", b.String(), now); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	h.wake()
	return nil
}

// selection checks requested component IDs against the page and returns
// them (a group replaced by its components) with their names.
func (p *Page) selection(ids []string) ([]string, []string, error) {
	var comps, names []string
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		c, err := p.component(id)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: component %q", ErrInvalid, id)
		}
		if c.Group { // a group stands for its components
			names = append(names, c.Name)
			for _, k := range p.Components {
				if k.GroupID == c.ID && !seen[k.ID] {
					seen[k.ID] = true
					comps = append(comps, k.ID)
				}
			}
			continue
		}
		comps, names = append(comps, c.ID), append(names, c.Name)
	}
	return comps, names, nil
}

// AddWebhook subscribes url (http or https) to page slug's incident and
// component updates, for the given components (none: all), and returns
// the subscriber's ID. Webhooks are added by administrators, so they need
// no confirmation.
func (h *Handler) AddWebhook(ctx context.Context, slug, url string, components []string) (string, error) {
	if !h.subscriptionsOn() {
		return "", fmt.Errorf("%w: webhooks need Config.SubscriptionKey", ErrInvalid)
	}
	if !(strings.HasPrefix(url, "https://") || strings.HasPrefix(url, "http://")) || len(url) > 2000 || strings.ContainsAny(url, " \r\n") {
		return "", fmt.Errorf("%w: webhook URL %q", ErrInvalid, url)
	}
	p, err := h.Page(slug)
	if err != nil {
		return "", err
	}
	comps, _, err := p.selection(components)
	if err != nil {
		return "", err
	}
	return h.store.request(ctx, h.store.db, slug, KindWebhook, url, comps, true, h.now())
}

// Subscribers lists page slug's subscribers, confirmed or not (for
// administrators: the public side never tells who is subscribed).
func (h *Handler) Subscribers(ctx context.Context, slug string) ([]Subscriber, error) {
	return h.store.subscribers(ctx, h.store.db, slug, false)
}

// Unsubscribe removes a subscriber and drops what is queued for it.
func (h *Handler) Unsubscribe(ctx context.Context, slug, id string) error {
	return h.store.unsubscribe(ctx, slug, id)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// subscription serves the public subscription pages of a page:
//
//	GET  subscribe            the form (address, components)
//	POST subscribe            queue a confirm mail; the same answer whatever the address
//	GET  confirm?t=TOKEN      a page with a button: mail scanners that fetch links confirm nothing
//	POST confirm              (t in the form or query) confirm
//	GET  unsubscribe?t=TOKEN  a page with a button
//	POST unsubscribe?t=TOKEN  unsubscribe; also the RFC 8058 one-click target
func (h *Handler) subscription(w http.ResponseWriter, r *http.Request, slug, path string) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Type", "text/html; charset=utf-8")
	p, err := h.Page(slug)
	if err != nil || (path == "/subscribe" && (!h.emailOn() || p.URL == "")) {
		http.NotFound(w, r)
		return
	}
	v := formView{Page: &p, Path: strings.TrimPrefix(path, "/"), Leaves: leaves(&p)}
	show := func(code int) {
		var b bytes.Buffer
		if err := formTmpl.Execute(&b, v); err != nil {
			h.log().Error("statuspage: render form", "error", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(code)
		w.Write(b.Bytes())
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			v.Error = "The form could not be read."
			show(http.StatusBadRequest)
			return
		}
	default:
		hd.Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	now := h.now()
	if path != "/subscribe" {
		v.Token = r.FormValue("t")
		purpose := purposeConfirm
		if path == "/unsubscribe" {
			purpose = purposeUnsubscribe
		}
		id, err := parseToken(h.cfg.SubscriptionKey, purpose, slug, v.Token, now)
		if err != nil {
			v.Error = "This link is invalid or has expired."
			if purpose == purposeConfirm {
				v.Error += " Subscribe again to get a new one."
			}
			show(http.StatusBadRequest)
			return
		}
		if r.Method != http.MethodPost {
			show(http.StatusOK)
			return
		}
		if purpose == purposeConfirm {
			ok, err := h.store.confirm(r.Context(), slug, id)
			if err == nil && !ok {
				v.Error = "This subscription no longer exists. Subscribe again."
				show(http.StatusBadRequest)
				return
			}
			if err != nil {
				h.log().Error("statuspage: confirm subscription", "page", slug, "error", err)
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
		} else if err := h.store.unsubscribe(r.Context(), slug, id); err != nil {
			h.log().Error("statuspage: unsubscribe", "page", slug, "error", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		v.Done = true
		show(http.StatusOK)
		return
	}
	if r.Method != http.MethodPost {
		show(http.StatusOK)
		return
	}
	addr, ok := parseAddress(r.PostFormValue("email"))
	if !ok {
		v.Error = "Please enter an email address such as name@example.com."
		show(http.StatusBadRequest)
		return
	}
	if !h.limits.allow("ip\x00"+clientIP(r), h.subscribeLimit(), time.Hour, now) {
		hd.Set("Retry-After", "3600")
		v.Error = "Too many requests from your network; please try again later."
		show(http.StatusTooManyRequests)
		return
	}
	v.Done = true
	// Over the per-address limit the answer is the same, but no mail is
	// sent: the form cannot be used to flood a mailbox.
	if h.limits.allow("addr\x00"+addr, h.subscribeLimit(), time.Hour, now) {
		if err := h.Subscribe(r.Context(), slug, addr, r.PostForm["component"]); err != nil && !errors.Is(err, ErrInvalid) {
			h.log().Error("statuspage: subscribe", "page", slug, "error", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		} else if err != nil {
			v.Done, v.Error = false, "Please choose components from the list."
			show(http.StatusBadRequest)
			return
		}
	}
	show(http.StatusOK)
}

func leaves(p *Page) []Component {
	var out []Component
	for _, c := range p.sortedComponents() {
		if !c.Group {
			out = append(out, c)
		}
	}
	return out
}

type formView struct {
	Page   *Page
	Path   string // subscribe, confirm or unsubscribe
	Leaves []Component
	Token  string
	Error  string
	Done   bool
}

var formTmpl = template.Must(template.New("form").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Page.Name}} status: {{.Path}}</title>
<style>
:root{--fg:#1a1a1a;--bg:#fff;--line:#767676;--err:#a4000f}
@media (prefers-color-scheme:dark){:root{--fg:#eaeaea;--bg:#121212;--line:#8a8a8a;--err:#ff8389}}
body{font:16px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;color:var(--fg);background:var(--bg);margin:0}
main{max-width:40rem;margin:0 auto;padding:1rem}input[type=email]{font:inherit;padding:.4rem;width:100%;max-width:24rem;border:1px solid var(--line);color:inherit;background:inherit}
button{font:inherit;padding:.4rem 1rem;margin-top:1rem}fieldset{border:1px solid var(--line);margin-top:1rem}.error{color:var(--err);font-weight:600}a{color:inherit}
</style></head>
<body><main><h1>{{.Page.Name}} status</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if eq .Path "subscribe"}}{{if .Done}}<p role="status">Thank you. If this address can receive mail, a message with a link to confirm the subscription is on its way. Nothing is sent without confirmation.</p>
{{else}}<h2>Subscribe to updates</h2><p>Get an email when an incident is reported or updated, or maintenance is scheduled.</p>
<form method="post" action="subscribe"><label for="email">Email address</label><br>
<input id="email" name="email" type="email" autocomplete="email" required>
{{if .Leaves}}<fieldset><legend>Components (none chosen: all)</legend>
{{range .Leaves}}<div><input type="checkbox" name="component" value="{{.ID}}" id="c-{{.ID}}"> <label for="c-{{.ID}}">{{.Name}}</label></div>{{end}}</fieldset>{{end}}
<button type="submit">Subscribe</button></form>{{end}}
{{else if eq .Path "confirm"}}{{if .Done}}<p role="status">Your subscription is confirmed.</p>
{{else if not .Error}}<form method="post" action="confirm"><input type="hidden" name="t" value="{{.Token}}"><p>Press the button to confirm your subscription.</p><button type="submit">Confirm subscription</button></form>{{end}}
{{else}}{{if .Done}}<p role="status">You are unsubscribed: no more mail will be sent to you.</p>
{{else if not .Error}}<form method="post" action="unsubscribe"><input type="hidden" name="t" value="{{.Token}}"><p>Press the button to stop receiving notifications.</p><button type="submit">Unsubscribe</button></form>{{end}}
{{end}}<p><a href="./">Back to the status page</a></p></main></body></html>
`))
