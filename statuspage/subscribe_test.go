package statuspage_test

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/opskit/opskit/sqlstore"
	"github.com/opskit/opskit/sqlstore/sqlstoretest"
	"github.com/opskit/opskit/statuspage"
	"github.com/opskit/opskit/statuspage/smtpmail"
)

// syncClock is a clock that HTTP server goroutines may read while the
// test moves it.
type syncClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *syncClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *syncClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// received is a mail as the SMTP server got it, body decoded.
type received struct {
	to     []string
	header mail.Header
	text   string
}

// smtpSink is a real SMTP server (go-smtp) on loopback that hands every
// message it accepts to a channel.
type smtpSink struct {
	addr string
	msgs chan received
}

type sinkSession struct {
	sink *smtpSink
	to   []string
}

func (s *sinkSession) Reset()        { s.to = nil }
func (s *sinkSession) Logout() error { return nil }
func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	return nil
}
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	var body io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(m.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	s.sink.msgs <- received{to: s.to, header: m.Header, text: string(b)}
	return nil
}

func newSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	sink := &smtpSink{msgs: make(chan received, 100)}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: sink}, nil })
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sink
}

// take returns the mails received so far (Deliver returns after the
// server accepted them, so nothing is in flight).
func (s *smtpSink) take() []received {
	var out []received
	for {
		select {
		case m := <-s.msgs:
			out = append(out, m)
		default:
			return out
		}
	}
}

func (s *smtpSink) mailer(t *testing.T) *smtpmail.Mailer {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.addr)
	p, _ := strconv.Atoi(port)
	m, err := smtpmail.New(smtpmail.Config{Host: host, Port: p, From: "status@example.com", TLS: smtpmail.NoTLS})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var subKey = []byte("0123456789abcdef0123456789abcdef")

type subEnv struct {
	h     *statuspage.Handler
	srv   *httptest.Server
	sink  *smtpSink
	clock *syncClock
	base  string // the page's URL
	api   string // component IDs
	web   string
}

func newSubEnv(t *testing.T, db *sqlstore.DB, limit int) *subEnv {
	t.Helper()
	e := &subEnv{sink: newSMTPSink(t), clock: &syncClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}}
	h, err := statuspage.New(context.Background(), db, statuspage.Config{HostSuffix: ".status.example.com", AdminTokens: []string{token},
		Now: e.clock.now, SubscriptionKey: subKey, Mailer: e.sink.mailer(t), SubscribeLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	e.base = e.srv.URL + "/p/acme"
	ctx := context.Background()
	if err := h.PutPage(ctx, "acme", "Acme", e.base, "Europe/Paris"); err != nil {
		t.Fatal(err)
	}
	e.api, _ = h.AddComponent(ctx, "acme", statuspage.Component{Name: "API"})
	e.web, _ = h.AddComponent(ctx, "acme", statuspage.Component{Name: "Web"})
	return e
}

func (e *subEnv) post(t *testing.T, rawURL string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(rawURL, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *subEnv) get(t *testing.T, rawURL string) (int, string) {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *subEnv) deliver(t *testing.T) []received {
	t.Helper()
	if _, err := e.h.Deliver(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e.sink.take()
}

func (e *subEnv) adminReq(t *testing.T, method, path, body string) map[string]string {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
	}
	return out
}

var confirmLink = regexp.MustCompile(`http://\S+/confirm\?t=\S+`)

// unsubscribeURL checks the RFC 8058 headers of a mail and returns its
// one-click URL.
func unsubscribeURL(t *testing.T, m received) string {
	t.Helper()
	lu, post := m.header.Get("List-Unsubscribe"), m.header.Get("List-Unsubscribe-Post")
	if !strings.HasPrefix(lu, "<http") || !strings.HasSuffix(lu, ">") || post != "List-Unsubscribe=One-Click" {
		t.Fatalf("mail lacks RFC 8058 headers: List-Unsubscribe %q, List-Unsubscribe-Post %q", lu, post)
	}
	return strings.Trim(lu, "<>")
}

// TestSubscriptionsEndToEnd: subscribe through the form, confirm from the
// link in the mail a real SMTP server received, get notified of an
// incident posted through the admin API, unsubscribe with the one-click
// POST of List-Unsubscribe, and receive nothing after.
func TestSubscriptionsEndToEnd(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newSubEnv(t, db, 100)
		ctx := context.Background()

		// The page links to the form, and the form lists the components.
		if _, page := e.get(t, e.base+"/"); !strings.Contains(page, `href="subscribe"`) {
			t.Fatal("the page does not link to the subscription form")
		}
		if code, form := e.get(t, e.base+"/subscribe"); code != 200 || !strings.Contains(form, `value="`+e.api+`"`) || !strings.Contains(form, `<label for="email">`) {
			t.Fatalf("form: %d\n%s", code, form)
		}
		code, fresh := e.post(t, e.base+"/subscribe", url.Values{"email": {"Alice@Example.com"}, "component": {e.api}})
		if code != 200 || !strings.Contains(fresh, "a link to confirm") {
			t.Fatalf("subscribe: %d\n%s", code, fresh)
		}
		// Bob wants Web only; Carol never confirms.
		e.post(t, e.base+"/subscribe", url.Values{"email": {"bob@example.com"}, "component": {e.web}})
		e.post(t, e.base+"/subscribe", url.Values{"email": {"carol@example.com"}})
		mails := e.deliver(t)
		if len(mails) != 3 {
			t.Fatalf("%d confirm mails, want 3", len(mails))
		}
		links := map[string]string{}
		for _, m := range mails {
			unsubscribeURL(t, m)
			link := confirmLink.FindString(m.text)
			if link == "" || !strings.Contains(m.header.Get("Subject"), "Confirm") {
				t.Fatalf("confirm mail to %v: %q\n%s", m.to, m.header.Get("Subject"), m.text)
			}
			links[m.to[0]] = link
		}
		if !strings.Contains(mails[0].text, "for: API") {
			t.Errorf("the confirm mail does not name the chosen components:\n%s", mails[0].text)
		}

		// Fetching the link (as a mail scanner does) confirms nothing.
		code, page := e.get(t, links["alice@example.com"])
		if code != 200 || !strings.Contains(page, "Confirm subscription</button>") {
			t.Fatalf("confirm page: %d\n%s", code, page)
		}
		e.adminReq(t, "POST", "/api/admin/pages/acme/incidents", `{"name":"Nobody hears this","body":"Yet.","components":["`+e.api+`"]}`)
		if got := e.deliver(t); len(got) != 0 {
			t.Fatalf("%d mails to unconfirmed subscribers", len(got))
		}
		// The button confirms.
		u, _ := url.Parse(links["alice@example.com"])
		if code, page := e.post(t, e.base+"/confirm", url.Values{"t": {u.Query().Get("t")}}); code != 200 || !strings.Contains(page, "is confirmed") {
			t.Fatalf("confirm: %d\n%s", code, page)
		}
		ub, _ := url.Parse(links["bob@example.com"])
		e.post(t, e.base+"/confirm", url.Values{"t": {ub.Query().Get("t")}})

		// Asking again for a subscribed address answers exactly as for a new one.
		_, again := e.post(t, e.base+"/subscribe", url.Values{"email": {"alice@example.com"}, "component": {e.api}})
		if again != fresh {
			t.Fatal("the answer tells a subscribed address from a new one")
		}
		e.deliver(t) // a new confirm link for Alice, not needed

		// An incident on API reaches Alice only (Bob chose Web, Carol never confirmed).
		inc := e.adminReq(t, "POST", "/api/admin/pages/acme/incidents", `{"name":"Elevated errors","impact":"major","body":"We are investigating.","components":["`+e.api+`"]}`)
		got := e.deliver(t)
		if len(got) != 1 || got[0].to[0] != "alice@example.com" {
			t.Fatalf("notifications: %+v", got)
		}
		n := got[0]
		if subj := n.header.Get("Subject"); !strings.Contains(subj, "Elevated errors") || !strings.Contains(subj, "Investigating") {
			t.Fatalf("subject %q", subj)
		}
		if !strings.Contains(n.text, "We are investigating.") || !strings.Contains(n.text, "Affected: API") {
			t.Fatalf("notification:\n%s", n.text)
		}
		// A maintenance without components reaches everyone confirmed.
		e.adminReq(t, "POST", "/api/admin/pages/acme/incidents", `{"name":"Database upgrade","maintenance":true,"body":"Writes pause.","scheduled_for":"2026-11-25T22:00:00Z","scheduled_until":"2026-11-25T23:00:00Z"}`)
		if got := e.deliver(t); len(got) != 2 || !strings.Contains(got[0].text, "Wed 25 Nov 2026 23:00 CET (+01:00)") {
			t.Fatalf("maintenance notifications: %d %+v", len(got), got)
		}

		// One-click unsubscribe (RFC 8058): a POST to the List-Unsubscribe URL.
		resp, err := http.Post(unsubscribeURL(t, n), "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("one-click unsubscribe: %d", resp.StatusCode)
		}
		e.adminReq(t, "POST", "/api/admin/pages/acme/incidents/"+inc["id"]+"/updates", `{"status":"resolved","body":"Fixed."}`)
		if got := e.deliver(t); len(got) != 0 {
			t.Fatalf("mail after unsubscribing: %+v", got)
		}
		subs, err := e.h.Subscribers(ctx, "acme")
		if err != nil || len(subs) != 2 {
			t.Fatalf("subscribers left: %v %+v", err, subs)
		}
		for _, s := range subs {
			if s.Address == "alice@example.com" {
				t.Fatal("Alice is still subscribed")
			}
		}
	})
}

func TestSubscriptionLinks(t *testing.T) {
	e := newSubEnv(t, sqlstoretest.SQLite(t), 100)
	e.post(t, e.base+"/subscribe", url.Values{"email": {"dave@example.com"}})
	m := e.deliver(t)
	if len(m) != 1 {
		t.Fatalf("%d mails", len(m))
	}
	link := confirmLink.FindString(m[0].text)
	unsub := unsubscribeURL(t, m[0])
	tok, _ := url.Parse(link)
	ctok := tok.Query().Get("t")
	utok, _ := url.Parse(unsub)

	// A GET never unsubscribes: it shows a button.
	if code, page := e.get(t, unsub); code != 200 || !strings.Contains(page, "Unsubscribe</button>") {
		t.Fatalf("unsubscribe page: %d\n%s", code, page)
	}
	for name, tc := range map[string]struct{ path, tok string }{
		"tampered":               {"/confirm", ctok[:len(ctok)-2] + "AA"},
		"confirm as unsubscribe": {"/unsubscribe", ctok},
		"unsubscribe as confirm": {"/confirm", utok.Query().Get("t")},
		"garbage":                {"/confirm", "1c.x.y.z"},
		"longer":                 {"/confirm", ctok + "x"},
	} {
		if code, page := e.post(t, e.base+tc.path, url.Values{"t": {tc.tok}}); code != 400 || !strings.Contains(page, "invalid or has expired") {
			t.Errorf("%s: %d\n%s", name, code, page)
		}
	}
	// The link expires.
	e.clock.add(49 * time.Hour)
	if code, _ := e.post(t, e.base+"/confirm", url.Values{"t": {ctok}}); code != 400 {
		t.Fatalf("expired link accepted: %d", code)
	}
	subs, _ := e.h.Subscribers(context.Background(), "acme")
	if len(subs) != 1 || subs[0].Confirmed {
		t.Fatalf("subscribers: %+v", subs)
	}
	// Not an address.
	if code, _ := e.post(t, e.base+"/subscribe", url.Values{"email": {"Eve <eve@example.com>\r\nBcc: x@y.z"}}); code != 400 {
		t.Fatalf("bad address: %d", code)
	}
	// Without a subscription key, no form.
	h, _ := statuspage.New(context.Background(), sqlstoretest.SQLite(t), statuspage.Config{})
	h.PutPage(context.Background(), "acme", "Acme", "https://acme.example", "")
	if w := get(t, h, "", "/p/acme/subscribe"); w.Code != 404 {
		t.Fatalf("form without a key: %d", w.Code)
	}
}

func TestSubscribeRateLimits(t *testing.T) {
	e := newSubEnv(t, sqlstoretest.SQLite(t), 3)
	send := func(ip, addr string) (int, string) {
		r := httptest.NewRequest("POST", "/p/acme/subscribe", strings.NewReader(url.Values{"email": {addr}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = ip + ":1234"
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	// Per address: the same answer, but only 3 mails an hour.
	var first string
	for i := range 5 {
		code, body := send("192.0.2."+strconv.Itoa(i+1), "victim@example.com")
		if code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
		if i == 0 {
			first = body
		} else if body != first {
			t.Fatal("the answer over the address limit differs")
		}
	}
	if got := e.deliver(t); len(got) != 3 {
		t.Fatalf("%d mails to one address, want 3", len(got))
	}
	// Per IP: 429 after 3.
	for i := range 3 {
		if code, _ := send("198.51.100.7", "user"+strconv.Itoa(i)+"@example.com"); code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
	}
	if code, _ := send("198.51.100.7", "user9@example.com"); code != http.StatusTooManyRequests {
		t.Fatalf("over the IP limit: %d", code)
	}
	// An hour later the window is new.
	e.clock.add(time.Hour)
	if code, _ := send("198.51.100.7", "user9@example.com"); code != 200 {
		t.Fatalf("after an hour: %d", code)
	}
}

// TestWebhooks: Statuspage-style payloads for incidents and component
// changes, retried on 5xx, dropped on 410.
func TestWebhooks(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newSubEnv(t, db, 100)
		ctx := context.Background()
		var mu sync.Mutex
		var got []map[string]any
		status := 200
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var v map[string]any
			json.NewDecoder(r.Body).Decode(&v)
			mu.Lock()
			defer mu.Unlock()
			if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			if status == 200 {
				got = append(got, v)
			}
			w.WriteHeader(status)
		}))
		defer hook.Close()
		setStatus := func(s int) { mu.Lock(); status = s; mu.Unlock() }
		take := func() []map[string]any { mu.Lock(); defer mu.Unlock(); g := got; got = nil; return g }

		id := e.adminReq(t, "POST", "/api/admin/pages/acme/webhooks", `{"url":"`+hook.URL+`/hook","components":["`+e.api+`"]}`)["id"]
		if id == "" {
			t.Fatal("no webhook id")
		}
		if err := e.h.SetComponentStatus(ctx, "acme", e.api, statuspage.MajorOutage, "check api: connection refused"); err != nil {
			t.Fatal(err)
		}
		e.h.SetComponentStatus(ctx, "acme", e.web, statuspage.MajorOutage, "not for this webhook")
		e.h.CreateIncident(ctx, "acme", statuspage.NewIncident{Name: "API down", Impact: "critical", Body: "Investigating.", Components: []string{e.api}})
		if n, err := e.h.Deliver(ctx); err != nil || n != 2 {
			t.Fatalf("deliver: %d %v", n, err)
		}
		g := take()
		if len(g) != 2 {
			t.Fatalf("%d webhooks", len(g))
		}
		if _, ok := g[0]["component_update"]; !ok {
			g[0], g[1] = g[1], g[0]
		}
		cu := g[0]["component_update"].(map[string]any)
		if cu["new_status"] != "major_outage" || cu["old_status"] != "operational" || cu["component_id"] != e.api ||
			g[0]["page"].(map[string]any)["status_indicator"] == "" {
			t.Fatalf("component webhook: %v", g[0])
		}
		inc := g[1]["incident"].(map[string]any)
		if inc["name"] != "API down" || inc["impact"] != "critical" || !strings.Contains(g[1]["meta"].(map[string]any)["unsubscribe"].(string), "/unsubscribe?t=") {
			t.Fatalf("incident webhook: %v", g[1])
		}
		// 5xx: retried a minute later, not before.
		setStatus(503)
		e.h.SetComponentStatus(ctx, "acme", e.api, statuspage.Operational, "check api: ok")
		if n, err := e.h.Deliver(ctx); n != 0 || err == nil {
			t.Fatalf("failed delivery: %d %v", n, err)
		}
		setStatus(200)
		if n, _ := e.h.Deliver(ctx); n != 0 {
			t.Fatal("retried before its time")
		}
		e.clock.add(time.Minute)
		if n, err := e.h.Deliver(ctx); n != 1 || err != nil {
			t.Fatalf("retry: %d %v", n, err)
		}
		take()
		// 410 Gone: dropped for good.
		setStatus(410)
		e.h.SetComponentStatus(ctx, "acme", e.api, statuspage.PartialOutage, "")
		e.h.Deliver(ctx)
		setStatus(200)
		e.clock.add(time.Hour)
		if n, _ := e.h.Deliver(ctx); n != 0 {
			t.Fatal("a message refused with 410 was sent again")
		}
		// Removed by the admin: nothing more.
		e.adminReq(t, "DELETE", "/api/admin/pages/acme/subscribers/"+id, "")
		e.h.SetComponentStatus(ctx, "acme", e.api, statuspage.Operational, "")
		if n, _ := e.h.Deliver(ctx); n != 0 || len(take()) != 0 {
			t.Fatal("webhook called after removal")
		}
	})
}

// FuzzSubscriptionLinks: no token a client makes up confirms or
// unsubscribes anything, and none breaks the handler.
func FuzzSubscriptionLinks(f *testing.F) {
	f.Add("/confirm", "1c.abcdefghijkl.0.AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("/unsubscribe", "1u.abcdefghijkl.zzzzzzzzzzzzz.")
	f.Add("/confirm", "....")
	f.Add("/unsubscribe", "1u.abcdefghijkl.-1.AAAA")
	h, err := statuspage.New(context.Background(), sqlstoretest.SQLite(f), statuspage.Config{SubscriptionKey: subKey})
	if err != nil {
		f.Fatal(err)
	}
	h.PutPage(context.Background(), "acme", "Acme", "https://acme.example", "")
	f.Fuzz(func(t *testing.T, path, tok string) {
		if path != "/confirm" && path != "/unsubscribe" {
			return
		}
		r := httptest.NewRequest("POST", "/p/acme"+path, strings.NewReader(url.Values{"t": {tok}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 400 {
			t.Fatalf("%s %q: %d", path, tok, w.Code)
		}
	})
}
