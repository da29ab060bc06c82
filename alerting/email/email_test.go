package email_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/alertingtest"
	"github.com/opskit/opskit/alerting/email"
)

const password = "smtp-pass-Zq9!"

var now = time.Date(2026, 1, 2, 3, 10, 0, 0, time.UTC)

func newNotifier(t *testing.T, rcv *alertingtest.SMTPReceiver, mod func(*email.Config)) *email.Notifier {
	t.Helper()
	cfg := email.Config{
		Host: rcv.Host(), Port: rcv.Port(), RootCAs: rcv.RootCAs(),
		Username: "opsd", Password: password,
		From: "opsd <opsd@example.com>", To: []string{"oncall@example.com", "Team <team@example.com>"},
		Now: func() time.Time { return now },
	}
	if mod != nil {
		mod(&cfg)
	}
	n, err := email.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConformance(t *testing.T) {
	alertingtest.TestNotifier(t, func(t *testing.T) alertingtest.Target {
		rcv := alertingtest.NewSMTPReceiver(t, alertingtest.SMTPConfig{Username: "opsd", Password: password})
		return alertingtest.Target{Notifier: newNotifier(t, rcv, nil), Receiver: rcv, Secrets: []string{password}}
	})
}

// parsed is a received email split into its parts.
type parsed struct {
	header     mail.Header
	text, html string
	raw        []byte
}

func parse(t *testing.T, raw []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	p := parsed{header: m.Header, raw: raw}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = part
		if part.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			r = quotedprintable.NewReader(part)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			p.text = string(b)
		case "text/html":
			p.html = string(b)
		}
	}
	if p.text == "" || p.html == "" {
		t.Fatalf("want text and HTML parts:\n%s", raw)
	}
	return p
}

func TestMessageContent(t *testing.T) {
	rcv := alertingtest.NewSMTPReceiver(t, alertingtest.SMTPConfig{Username: "opsd", Password: password})
	n := newNotifier(t, rcv, func(c *email.Config) { c.SubjectPrefix = "[prod]" })
	crit := alertingtest.FiringAlert()
	crit.Summary = `disk <script>alert("x")</script> & full`
	crit.Annotations = map[string]string{"runbook_url": "javascript:alert(1)", "description": "/var at 97%"}
	warn := alerting.Alert{Labels: alerting.Labels{"alertname": "HighCPU", "host": "db1"}, Severity: alerting.Warning, Summary: "cpu 93%", StartsAt: now.Add(-time.Hour)}
	old := alerting.Alert{Labels: alerting.Labels{"alertname": "PortClosed", "host": "db1"}, Severity: alerting.Critical, Summary: "port 22 closed", StartsAt: now.Add(-2 * time.Hour), EndsAt: now.Add(-time.Minute)}
	d := alerting.Delivery{Key: "notif-42", GroupKey: "grp-7", Receiver: "ops-l2", Level: 2, AckURL: "https://opsd.example/ack/tok", AckExpires: now.Add(time.Hour)}
	ctx := alerting.WithDelivery(context.Background(), d)
	if err := n.Notify(ctx, warn, old, crit); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(ctx, warn, old, crit); err != nil { // a resend of the same notification
		t.Fatal(err)
	}
	d.Key = "notif-43"
	if err := n.Notify(alerting.WithDelivery(context.Background(), d), warn); err != nil {
		t.Fatal(err)
	}
	msgs := rcv.Messages()
	if len(msgs) != 3 {
		t.Fatalf("got %d messages", len(msgs))
	}
	env := msgs[0].Header
	if env["Auth-User"][0] != "opsd" || env["Mail-From"][0] != "opsd@example.com" || strings.Join(env["Rcpt-To"], ",") != "oncall@example.com,team@example.com" {
		t.Errorf("envelope %v", env)
	}
	for _, m := range msgs {
		if bytes.Contains(m.Body, []byte(password)) {
			t.Fatal("password in message")
		}
	}
	p := parse(t, msgs[0].Body)
	subj, err := new(mime.WordDecoder).DecodeHeader(p.header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if subj != "[prod] L2 [FIRING:2] DiskFull, HighCPU, PortClosed" {
		t.Errorf("Subject = %q", subj)
	}
	id0, id1, id2 := p.header.Get("Message-Id"), parse(t, msgs[1].Body).header.Get("Message-Id"), parse(t, msgs[2].Body).header.Get("Message-Id")
	if !strings.HasPrefix(id0, "<opskit.") || !strings.HasSuffix(id0, "@example.com>") {
		t.Errorf("Message-ID = %q", id0)
	}
	if id0 != id1 {
		t.Errorf("resend changed Message-ID: %q then %q", id0, id1)
	}
	if id2 == id0 {
		t.Errorf("a new notification reused Message-ID %q", id0)
	}
	if ref := p.header.Get("References"); ref == "" || ref != parse(t, msgs[2].Body).header.Get("References") {
		t.Errorf("References %q not shared by the group", ref)
	}
	if got := p.header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", got)
	}
	if got := p.header.Get("Date"); !strings.Contains(got, "2 Jan 2026 03:10:00") {
		t.Errorf("Date = %q", got)
	}
	for _, want := range []string{
		"FIRING: 2 alert(s) firing, 1 resolved (escalation level 2)",
		"Acknowledge (stops escalation): https://opsd.example/ack/tok",
		"The link works until 2026-01-02 04:10:00 UTC.",
		`[firing] critical DiskFull: disk <script>alert("x")</script> & full`,
		"/var at 97%",
		"Runbook: javascript:alert(1)",
		"Labels: alertname=DiskFull host=web1",
		"[firing] warning HighCPU: cpu 93%",
		"[resolved] critical PortClosed: port 22 closed",
		"Ended: 2026-01-02 03:09:00 UTC",
	} {
		if !strings.Contains(p.text, want) {
			t.Errorf("text lacks %q:\n%s", want, p.text)
		}
	}
	if strings.Index(p.text, "DiskFull") > strings.Index(p.text, "HighCPU") || strings.Index(p.text, "HighCPU") > strings.Index(p.text, "PortClosed") {
		t.Errorf("want firing critical, firing warning, then resolved:\n%s", p.text)
	}
	for _, want := range []string{
		`<a href="https://opsd.example/ack/tok"`,
		`disk &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; full`,
		`<a href="#ZgotmplZ">Runbook</a>`,
		`<td>host</td><td>web1</td>`,
	} {
		if !strings.Contains(p.html, want) {
			t.Errorf("HTML lacks %q:\n%s", want, p.html)
		}
	}
	if strings.Contains(p.html, "<script>") || strings.Contains(p.html, "javascript:") {
		t.Errorf("HTML not escaped:\n%s", p.html)
	}
}

func TestStartTLSRequired(t *testing.T) {
	rcv := alertingtest.NewSMTPReceiver(t, alertingtest.SMTPConfig{NoTLS: true})
	n := newNotifier(t, rcv, func(c *email.Config) { c.Username, c.Password = "", "" })
	err := n.Notify(context.Background(), alertingtest.FiringAlert())
	if !errors.Is(err, alerting.ErrPermanent) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Notify to a server without STARTTLS = %v, want a permanent STARTTLS error", err)
	}
	if len(rcv.Messages()) != 0 {
		t.Fatal("message sent in clear text")
	}
}

func TestStartTLSIfOffered(t *testing.T) {
	rcv := alertingtest.NewSMTPReceiver(t, alertingtest.SMTPConfig{NoTLS: true})
	n := newNotifier(t, rcv, func(c *email.Config) { c.Username, c.Password, c.TLS = "", "", email.StartTLSIfOffered })
	if err := n.Notify(context.Background(), alertingtest.FiringAlert()); err != nil {
		t.Fatalf("opt-out: %v", err)
	}
	if len(rcv.Messages()) != 1 {
		t.Fatal("opt-out did not send")
	}
	// Credentials still never travel in clear text, even to localhost.
	rcv2 := alertingtest.NewSMTPReceiver(t, alertingtest.SMTPConfig{NoTLS: true, Username: "opsd", Password: password})
	n2 := newNotifier(t, rcv2, func(c *email.Config) { c.TLS = email.StartTLSIfOffered })
	err := n2.Notify(context.Background(), alertingtest.FiringAlert())
	if !errors.Is(err, alerting.ErrPermanent) || strings.Contains(err.Error(), password) {
		t.Fatalf("AUTH without TLS = %v, want a permanent error without the password", err)
	}
	if len(rcv2.Messages()) != 0 {
		t.Fatal("sent after refusing AUTH")
	}
}

func TestUntrustedCertificate(t *testing.T) {
	rcv := alertingtest.NewSMTPReceiver(t, alertingtest.SMTPConfig{})
	n := newNotifier(t, rcv, func(c *email.Config) { c.RootCAs, c.Username, c.Password = nil, "", "" })
	err := n.Notify(context.Background(), alertingtest.FiringAlert())
	if !errors.Is(err, alerting.ErrPermanent) {
		t.Fatalf("untrusted certificate = %v, want permanent", err)
	}
}

func TestWrongPassword(t *testing.T) {
	rcv := alertingtest.NewSMTPReceiver(t, alertingtest.SMTPConfig{Username: "opsd", Password: "right"})
	n := newNotifier(t, rcv, nil)
	err := n.Notify(context.Background(), alertingtest.FiringAlert())
	if !errors.Is(err, alerting.ErrPermanent) || !strings.Contains(err.Error(), "535") || strings.Contains(err.Error(), password) {
		t.Fatalf("wrong password = %v, want a permanent 535 without the password", err)
	}
}

func TestNewValidates(t *testing.T) {
	ok := email.Config{Host: "smtp.example.com", From: "a@example.com", To: []string{"b@example.com"}}
	if _, err := email.New(ok); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*email.Config){
		"no host":    func(c *email.Config) { c.Host = "" },
		"bad from":   func(c *email.Config) { c.From = "not an address" },
		"no to":      func(c *email.Config) { c.To = nil },
		"bad to":     func(c *email.Config) { c.To = []string{"x"} },
		"bad port":   func(c *email.Config) { c.Port = 70000 },
		"bad tls":    func(c *email.Config) { c.TLS = 9 },
		"pass alone": func(c *email.Config) { c.Password = "p" },
	} {
		c := ok
		mod(&c)
		if _, err := email.New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
