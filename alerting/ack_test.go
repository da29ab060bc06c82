package alerting

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opskit/opskit/sqlstore/sqlstoretest"
)

func TestAckLink(t *testing.T) {
	rt := simpleRoute()
	rt.GroupWait = time.Second
	key := bytes.Repeat([]byte{7}, 32)
	f := newFixture(t, sqlstoretest.SQLite(t), Config{Default: rt, Ack: AckLinks{URL: "http://ops.invalid/ack", Key: key, TTL: time.Hour}})
	srv := httptest.NewServer(f.m.AckHandler())
	defer srv.Close()
	a := alert("HostDown", "db1")
	a.Summary = `<script>alert(1)</script> down`
	f.notify(a)
	f.step(time.Second)
	got := f.rcv["l1"].take()
	if len(got) != 1 || !strings.HasPrefix(got[0].d.AckURL, "http://ops.invalid/ack?") || !got[0].d.AckExpires.Equal(f.clk.Now().Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("delivery %+v", got)
	}
	link, err := url.Parse(got[0].d.AckURL)
	if err != nil {
		t.Fatal(err)
	}
	q := link.Query()
	get := func(q url.Values) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(q url.Values) (int, string) {
		t.Helper()
		resp, err := http.PostForm(srv.URL, q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// GET only shows the confirmation form; the text is escaped.
	code, body := get(q)
	if code != 200 || !strings.Contains(body, `<form method="post">`) || strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;") {
		t.Fatalf("GET: %d %s", code, body)
	}
	if f.m.Groups()[0].Acked {
		t.Fatal("a GET acknowledged")
	}
	// A tampered link is refused.
	bad := url.Values{"g": {q.Get("g")}, "e": {q.Get("e")}, "s": {strings.Repeat("A", 43)}}
	if code, _ := post(bad); code != http.StatusForbidden {
		t.Fatalf("tampered: %d", code)
	}
	later := url.Values{"g": {q.Get("g")}, "e": {"9999999999"}, "s": {q.Get("s")}}
	if code, _ := post(later); code != http.StatusForbidden {
		t.Fatalf("extended expiry: %d", code)
	}
	// POST acknowledges: escalation stops.
	if code, body := post(q); code != 200 || !strings.Contains(body, "Acknowledged") {
		t.Fatalf("POST: %d %s", code, body)
	}
	g := f.m.Groups()[0]
	if !g.Acked || g.AckedBy != "ack link" {
		t.Fatalf("group %+v", g)
	}
	// Expired.
	f.clk.Add(2 * time.Hour)
	if code, _ := get(q); code != http.StatusGone {
		t.Fatalf("expired: %d", code)
	}
	// Resolved group: 404.
	f.clk.Add(-2 * time.Hour)
	a.EndsAt = f.clk.Now()
	f.notify(a)
	f.step(time.Second)
	if code, _ := get(q); code != http.StatusNotFound {
		t.Fatalf("resolved: %d", code)
	}
	if err := f.m.Ack(context.Background(), q.Get("g"), "x"); err == nil {
		t.Fatal("ack of a resolved group succeeded")
	}
}
