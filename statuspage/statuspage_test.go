package statuspage_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/opskit/opskit/sqlstore"
	"github.com/opskit/opskit/sqlstore/sqlstoretest"
	"github.com/opskit/opskit/statuspage"
)

const token = "test-admin-token-0123456789"

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newHandler(t *testing.T, db *sqlstore.DB, c *clock) *statuspage.Handler {
	t.Helper()
	h, err := statuspage.New(context.Background(), db, statuspage.Config{HostSuffix: ".status.example.com",
		AdminTokens: []string{token}, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(t *testing.T, h http.Handler, host, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func admin(t *testing.T, h http.Handler, method, path, body string) (int, map[string]string) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var out map[string]string
	json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func schema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	s, err := c.Compile("testdata/statuspage-v2.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPagesEndToEnd(t *testing.T) {
	sch := schema(t)
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		c := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
		h := newHandler(t, db, c)
		if code, out := admin(t, h, "PUT", "/api/admin/pages/acme", `{"name":"Acme","url":"https://acme.status.example.com","time_zone":"Europe/Paris"}`); code != 200 {
			t.Fatalf("put page: %d %v", code, out)
		}
		_, grp := admin(t, h, "POST", "/api/admin/pages/acme/components", `{"name":"Platform","group":true}`)
		_, api := admin(t, h, "POST", "/api/admin/pages/acme/components", `{"name":"API","description":"Public REST API","group_id":"`+grp["id"]+`"}`)
		_, web := admin(t, h, "POST", "/api/admin/pages/acme/components", `{"name":"Web","group_id":"`+grp["id"]+`"}`)
		if api["id"] == "" || web["id"] == "" {
			t.Fatal("components not created")
		}
		st := get(t, h, "acme.status.example.com", "/api/v2/status.json")
		if st.Code != 200 || !strings.Contains(st.Body.String(), `"indicator":"none","description":"All Systems Operational"`) {
			t.Fatalf("status.json: %d %s", st.Code, st.Body)
		}
		c.t = c.t.Add(time.Minute)
		if code, _ := admin(t, h, "PUT", "/api/admin/pages/acme/components/"+api["id"], `{"status":"partial_outage"}`); code != 200 {
			t.Fatal("component status")
		}
		code, inc := admin(t, h, "POST", "/api/admin/pages/acme/incidents", `{"name":"Elevated errors","impact":"major","body":"We are investigating <script>alert(1)</script>.","components":["`+api["id"]+`"]}`)
		if code != 200 {
			t.Fatalf("incident: %d %v", code, inc)
		}
		c.t = c.t.Add(time.Minute)
		admin(t, h, "POST", "/api/admin/pages/acme/incidents/"+inc["id"]+"/updates", `{"status":"identified","body":"A bad deploy; rolling back."}`)
		admin(t, h, "POST", "/api/admin/pages/acme/incidents", `{"name":"Database upgrade","maintenance":true,"body":"Writes pause for 5 minutes.","scheduled_for":"2026-11-25T22:00:00Z","scheduled_until":"2026-11-25T23:00:00Z"}`)

		for _, path := range []string{"summary.json", "status.json", "components.json", "incidents.json", "incidents/unresolved.json",
			"scheduled-maintenances.json", "scheduled-maintenances/upcoming.json", "scheduled-maintenances/active.json"} {
			w := get(t, h, "acme.status.example.com", "/api/v2/"+path)
			if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("%s: %d", path, w.Code)
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(w.Body.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(doc); err != nil {
				t.Errorf("%s does not match the schema: %v\n%s", path, err, w.Body)
			}
		}
		var sum struct {
			Status    struct{ Indicator, Description string }
			Incidents []struct {
				Status          string
				IncidentUpdates []struct{ Status, Body string } `json:"incident_updates"`
			}
			ScheduledMaintenances []struct{ Status string } `json:"scheduled_maintenances"`
		}
		json.Unmarshal(get(t, h, "", "/p/acme/api/v2/summary.json").Body.Bytes(), &sum)
		if sum.Status.Indicator != "major" || len(sum.Incidents) != 1 || sum.Incidents[0].IncidentUpdates[0].Status != "identified" ||
			len(sum.ScheduledMaintenances) != 1 {
			t.Fatalf("summary: %+v", sum)
		}
		// The page survives a restart.
		h2 := newHandler(t, db, c)
		if w := get(t, h2, "acme.status.example.com", "/api/v2/status.json"); !strings.Contains(w.Body.String(), `"indicator":"major"`) {
			t.Fatalf("after reload: %s", w.Body)
		}
		// The HTML page escapes incident text and says status in words.
		w := get(t, h, "acme.status.example.com", "/")
		body := w.Body.String()
		if w.Code != 200 || strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;") ||
			!strings.Contains(body, "Partial outage") || !strings.Contains(body, "Partial System Outage") {
			t.Fatalf("page: %d\n%s", w.Code, body)
		}
		// Maintenance times in the page's zone, with the offset.
		if !strings.Contains(html.UnescapeString(body), "Wed 25 Nov 2026 23:00 CET (+01:00)") || !strings.Contains(body, `datetime="2026-11-25T22:00:00Z"`) {
			t.Fatalf("maintenance time not shown in Europe/Paris:\n%s", body)
		}
		for _, f := range []string{"/history.atom", "/history.rss"} {
			if w := get(t, h, "acme.status.example.com", f); w.Code != 200 || !strings.Contains(w.Body.String(), "Elevated errors") {
				t.Fatalf("%s: %d %s", f, w.Code, w.Body)
			}
		}
	})
}

func TestHTTPBehaviour(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC)}
	h := newHandler(t, sqlstoretest.SQLite(t), c)
	ctx := context.Background()
	if err := h.PutPage(ctx, "globex", "Globex", "https://globex.status.example.com", "Europe/Paris"); err != nil {
		t.Fatal(err)
	}
	// A maintenance across the spring DST change shows both offsets.
	if _, err := h.CreateIncident(ctx, "globex", statuspage.NewIncident{Name: "Network work", Maintenance: true, Body: "Short interruptions.",
		ScheduledFor: time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC), ScheduledUntil: time.Date(2026, 3, 29, 2, 30, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	page := html.UnescapeString(get(t, h, "globex.status.example.com", "/").Body.String())
	if !strings.Contains(page, "Sun 29 Mar 2026 01:30 CET (+01:00)") || !strings.Contains(page, "Sun 29 Mar 2026 04:30 CEST (+02:00)") {
		t.Fatalf("DST not handled:\n%s", page)
	}
	plain := get(t, h, "globex.status.example.com", "/api/v2/summary.json")
	gz := get(t, h, "globex.status.example.com", "/api/v2/summary.json", "Accept-Encoding", "gzip, deflate, br")
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("no gzip: %v", gz.Header())
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	unz, _ := io.ReadAll(zr)
	if !bytes.Equal(unz, plain.Body.Bytes()) {
		t.Fatal("gzip body differs from the plain one")
	}
	if nz := get(t, h, "globex.status.example.com", "/api/v2/summary.json", "Accept-Encoding", "gzip;q=0"); nz.Header().Get("Content-Encoding") != "" {
		t.Fatal("gzip sent although refused with q=0")
	}
	etag := plain.Header().Get("ETag")
	if w := get(t, h, "globex.status.example.com", "/api/v2/summary.json", "If-None-Match", etag); w.Code != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", w.Code)
	}
	for _, hd := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"} {
		if plain.Header().Get(hd) == "" {
			t.Errorf("missing %s", hd)
		}
	}
	if w := get(t, h, "nosuch.status.example.com", "/"); w.Code != 404 {
		t.Fatalf("unknown page: %d", w.Code)
	}
	// Admin API: auth, validation.
	r := httptest.NewRequest("PUT", "/api/admin/pages/globex/components/x", strings.NewReader(`{"status":"major_outage"}`))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 401 {
		t.Fatalf("no token: %d", w.Code)
	}
	r.Header.Set("Authorization", "Bearer wrong")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 401 {
		t.Fatalf("wrong token: %d", w.Code)
	}
	if code, _ := admin(t, h, "POST", "/api/admin/pages/globex/components", `{"name":"API","status":"on_fire"}`); code != 400 {
		t.Fatalf("bad status: %d", code)
	}
	if code, _ := admin(t, h, "POST", "/api/admin/pages/globex/incidents", `{"name":"x"`); code != 400 {
		t.Fatalf("bad JSON: %d", code)
	}
	if code, _ := admin(t, h, "PUT", "/api/admin/pages/globex/components/nosuch", `{"status":"major_outage"}`); code != 404 {
		t.Fatalf("missing component: %d", code)
	}
	if code, _ := admin(t, h, "PUT", "/api/admin/pages/Bad_Slug", `{}`); code != 400 {
		t.Fatalf("bad slug: %d", code)
	}
	// TLS: plain HTTP redirects, TLS responses carry HSTS.
	tlsH, _ := statuspage.New(ctx, sqlstoretest.SQLite(t), statuspage.Config{HostSuffix: ".status.example.com", RedirectHTTP: true})
	if w := get(t, tlsH, "globex.status.example.com", "/"); w.Code != http.StatusMovedPermanently || !strings.HasPrefix(w.Header().Get("Location"), "https://") {
		t.Fatalf("redirect: %d %v", w.Code, w.Header())
	}
}

func TestRollup(t *testing.T) {
	cases := []struct {
		statuses  []statuspage.ComponentStatus
		impact    string
		maint     bool
		indicator string
		desc      string
	}{
		{nil, "", false, "none", "All Systems Operational"},
		{[]statuspage.ComponentStatus{statuspage.MajorOutage}, "", false, "critical", "Major System Outage"},
		{[]statuspage.ComponentStatus{statuspage.DegradedPerformance}, "", false, "minor", "Partially Degraded Service"},
		{[]statuspage.ComponentStatus{statuspage.PartialOutage}, "", false, "major", "Partial System Outage"},
		{[]statuspage.ComponentStatus{statuspage.UnderMaintenance}, "", false, "maintenance", "Service Under Maintenance"},
		{[]statuspage.ComponentStatus{statuspage.MajorOutage, statuspage.MajorOutage}, "", false, "critical", "Major System Outage"},
		{[]statuspage.ComponentStatus{statuspage.MajorOutage, statuspage.Operational}, "", false, "major", "Partial System Outage"},
		{[]statuspage.ComponentStatus{statuspage.PartialOutage, statuspage.PartialOutage}, "", false, "major", "Partial System Outage"},
		{[]statuspage.ComponentStatus{statuspage.PartialOutage, statuspage.Operational}, "", false, "minor", "Minor Service Outage"},
		{[]statuspage.ComponentStatus{statuspage.DegradedPerformance, statuspage.DegradedPerformance}, "", false, "minor", "Degraded System Service"},
		{[]statuspage.ComponentStatus{statuspage.DegradedPerformance, statuspage.Operational}, "", false, "minor", "Partially Degraded Service"},
		{[]statuspage.ComponentStatus{statuspage.Operational}, "critical", false, "critical", "Major System Outage"},
		{[]statuspage.ComponentStatus{statuspage.Operational}, "", true, "maintenance", "Service Under Maintenance"},
		{[]statuspage.ComponentStatus{statuspage.DegradedPerformance}, "", true, "minor", "Partially Degraded Service"},
	}
	for _, c := range cases {
		p := statuspage.Page{Components: []statuspage.Component{{Group: true, Status: statuspage.MajorOutage}}}
		for _, s := range c.statuses {
			p.Components = append(p.Components, statuspage.Component{Status: s})
		}
		if c.impact != "" {
			p.Incidents = append(p.Incidents, statuspage.Incident{Status: statuspage.Investigating, Impact: c.impact})
		}
		if c.maint {
			p.Incidents = append(p.Incidents, statuspage.Incident{Maintenance: true, Status: statuspage.InProgress, Impact: "maintenance"})
		}
		if got := p.Rollup(); got.Indicator != c.indicator || got.Description != c.desc {
			t.Errorf("%v impact %q maint %v: got %+v, want %s %q", c.statuses, c.impact, c.maint, got, c.indicator, c.desc)
		}
	}
}

func TestReloadSeesOtherWriters(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	c := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	h1, h2 := newHandler(t, db, c), newHandler(t, db, c)
	ctx := context.Background()
	if err := h1.PutPage(ctx, "acme", "Acme", "https://acme.status.example.com", ""); err != nil {
		t.Fatal(err)
	}
	if w := get(t, h2, "acme.status.example.com", "/api/v2/status.json"); w.Code != 404 {
		t.Fatalf("h2 served a page it never loaded: %d", w.Code)
	}
	if err := h2.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h1.CreateIncident(ctx, "acme", statuspage.NewIncident{ID: "lb0000000042", Name: "Outage", Impact: "critical", Body: "Down."}); err != nil {
		t.Fatal(err)
	}
	if _, err := h1.CreateIncident(ctx, "acme", statuspage.NewIncident{ID: "lb0000000042", Name: "Again", Body: "x"}); err == nil {
		t.Fatal("a duplicate incident ID was accepted")
	}
	h2.Reload(ctx)
	if w := get(t, h2, "acme.status.example.com", "/api/v2/status.json"); !strings.Contains(w.Body.String(), `"indicator":"critical"`) {
		t.Fatalf("after reload: %s", w.Body)
	}
}

func TestExport(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	h := newHandler(t, sqlstoretest.SQLite(t), c)
	ctx := context.Background()
	h.PutPage(ctx, "acme", "Acme", "https://acme.status.example.com", "")
	h.CreateIncident(ctx, "acme", statuspage.NewIncident{Name: "Slow API", Body: "Investigating."})
	dir := t.TempDir()
	files, err := h.Export(ctx, "acme", dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 11 {
		t.Fatalf("exported %v", files)
	}
	for _, f := range []string{"index.html", "api/v2/summary.json", "api/v2/scheduled-maintenances/upcoming.json", "history.atom"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		served := get(t, h, "acme.status.example.com", "/"+strings.TrimSuffix(f, "index.html"))
		if !bytes.Equal(b, served.Body.Bytes()) {
			t.Fatalf("%s differs from what is served", f)
		}
	}
	if _, err := h.Export(ctx, "nosuch", dir); err == nil {
		t.Fatal("exported a missing page")
	}
}

// FuzzAdminAPI: whatever a client sends, the admin API answers 200, 400
// or 404 and the public JSON stays valid.
func FuzzAdminAPI(f *testing.F) {
	f.Add("POST", "/api/admin/pages/acme/incidents", `{"name":"x","body":"y","impact":"major"}`)
	f.Add("PUT", "/api/admin/pages/acme/components/abc", `{"status":"major_outage"}`)
	f.Add("POST", "/api/admin/pages/acme/incidents", `{"name":"m","body":"b","maintenance":true,"scheduled_for":"2026-01-01T00:00:00Z","scheduled_until":"2025-01-01T00:00:00Z"}`)
	f.Add("PUT", "/api/admin/pages/acme", `{"time_zone":"Mars/Olympus"}`)
	c := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	h, err := statuspage.New(context.Background(), sqlstoretest.SQLite(f), statuspage.Config{HostSuffix: ".s", AdminTokens: []string{token}, Now: c.now})
	if err != nil {
		f.Fatal(err)
	}
	h.PutPage(context.Background(), "acme", "Acme", "https://acme.s", "")
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n?#%") {
			return
		}
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Method, r.URL.Path = method, path
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, w.Code, w.Body)
		}
		var v map[string]any
		if err := json.Unmarshal(get(t, h, "acme.s", "/api/v2/summary.json").Body.Bytes(), &v); err != nil {
			t.Fatalf("summary.json no longer parses: %v", err)
		}
	})
}

func TestUptimeBars(t *testing.T) {
	c := &clock{t: time.Date(2026, 8, 1, 10, 0, 0, 0, time.UTC)}
	h := newHandler(t, sqlstoretest.SQLite(t), c)
	ctx := context.Background()
	h.PutPage(ctx, "acme", "Acme", "https://acme.status.example.com", "Europe/Paris")
	api, _ := h.AddComponent(ctx, "acme", statuspage.Component{Name: "API"})
	set := func(s statuspage.ComponentStatus) {
		if err := h.SetComponentStatus(ctx, "acme", api, s, "test"); err != nil {
			t.Fatal(err)
		}
	}
	set(statuspage.PartialOutage) // 2026-08-01: 92 days before the page below, outside its window
	set(statuspage.Operational)
	c.t = time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC)
	set(statuspage.DegradedPerformance)
	set(statuspage.MajorOutage) // the worst of the day wins
	set(statuspage.Operational)
	c.t = time.Date(2026, 10, 31, 23, 30, 0, 0, time.UTC) // already Nov 1 in Paris
	set(statuspage.UnderMaintenance)
	set(statuspage.Operational)
	page := html.UnescapeString(get(t, h, "acme.status.example.com", "/").Body.String())
	if !strings.Contains(page, `title="2026-10-20: Major outage"`) || !strings.Contains(page, `title="2026-11-01: Under maintenance"`) ||
		!strings.Contains(page, "Last 90 days: 2 with problems") || strings.Contains(page, "2026-08-01") {
		t.Fatalf("bars:\n%s", page)
	}
	if n := strings.Count(page, "<li"); n < 90 {
		t.Fatalf("%d bars, want 90", n)
	}
	// 90 days later the old days have left the window.
	c.t = c.t.AddDate(0, 0, 91)
	set(statuspage.DegradedPerformance)
	set(statuspage.Operational)
	p, _ := h.Page("acme")
	if len(p.Components[0].History) != 1 {
		t.Fatalf("history kept %v", p.Components[0].History)
	}
}

// TestSetComponentStatusFromChecks: what the daemon calls with every check
// result. A change is stored with its reason and re-renders the page; a
// repeated result changes nothing.
func TestSetComponentStatusFromChecks(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		c := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
		h := newHandler(t, db, c)
		ctx := context.Background()
		h.PutPage(ctx, "acme", "Acme", "https://acme.status.example.com", "")
		api, _ := h.AddComponent(ctx, "acme", statuspage.Component{Name: "API"})
		results := []struct {
			s      statuspage.ComponentStatus
			reason string
		}{
			{statuspage.Operational, "check api: 200 OK"}, // no change
			{statuspage.MajorOutage, "check api: connection refused"},
			{statuspage.MajorOutage, "check api: connection refused"}, // no change
			{statuspage.DegradedPerformance, "check api: p99 2.1 s"},
			{statuspage.Operational, "check api: 200 OK"},
		}
		for _, r := range results {
			c.t = c.t.Add(time.Minute)
			if err := h.SetComponentStatus(ctx, "acme", api, r.s, r.reason); err != nil {
				t.Fatal(err)
			}
		}
		etag := get(t, h, "acme.status.example.com", "/api/v2/components.json").Header().Get("ETag")
		c.t = c.t.Add(time.Minute)
		h.SetComponentStatus(ctx, "acme", api, statuspage.Operational, "check api: 200 OK")
		if get(t, h, "acme.status.example.com", "/api/v2/components.json").Header().Get("ETag") != etag {
			t.Fatal("an unchanged status re-rendered the page")
		}
		changes, err := h.StatusChanges(ctx, "acme", api, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []statuspage.StatusChange{
			{Component: api, At: time.Date(2026, 11, 22, 10, 5, 0, 0, time.UTC), Old: statuspage.DegradedPerformance, New: statuspage.Operational, Reason: "check api: 200 OK"},
			{Component: api, At: time.Date(2026, 11, 22, 10, 4, 0, 0, time.UTC), Old: statuspage.MajorOutage, New: statuspage.DegradedPerformance, Reason: "check api: p99 2.1 s"},
			{Component: api, At: time.Date(2026, 11, 22, 10, 2, 0, 0, time.UTC), Old: statuspage.Operational, New: statuspage.MajorOutage, Reason: "check api: connection refused"},
		}
		if len(changes) != len(want) {
			t.Fatalf("changes: %+v", changes)
		}
		for i := range want {
			if changes[i] != want[i] {
				t.Errorf("change %d: %+v, want %+v", i, changes[i], want[i])
			}
		}
		// The reason stays internal; the day's worst status is in the history.
		page := get(t, h, "acme.status.example.com", "/").Body.String()
		if strings.Contains(page, "connection refused") || !strings.Contains(page, `title="2026-11-22: Major outage"`) {
			t.Fatalf("page:\n%s", page)
		}
		if err := h.SetComponentStatus(ctx, "acme", "nosuch", statuspage.MajorOutage, ""); !errors.Is(err, statuspage.ErrNotFound) {
			t.Fatalf("unknown component: %v", err)
		}
		if err := h.SetComponentStatus(ctx, "acme", api, "on_fire", ""); !errors.Is(err, statuspage.ErrInvalid) {
			t.Fatalf("bad status: %v", err)
		}
	})
}

// TestRenderInterval: with RenderInterval, a change right after a render
// is stored and seen by Page at once, shown on the page later (here,
// forced by Export, which renders what is pending), never lost.
func TestRenderInterval(t *testing.T) {
	db := sqlstoretest.SQLite(t)
	c := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	h, err := statuspage.New(context.Background(), db, statuspage.Config{Now: c.now, RenderInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := h.PutPage(ctx, "acme", "Acme", "https://acme.status.example.com", ""); err != nil {
		t.Fatal(err)
	}
	api, err := h.AddComponent(ctx, "acme", statuspage.Component{Name: "API"})
	if err != nil {
		t.Fatal(err)
	}
	status := func() string {
		var out struct{ Components []struct{ Status string } }
		json.Unmarshal(get(t, h, "", "/p/acme/api/v2/components.json").Body.Bytes(), &out)
		if len(out.Components) == 0 {
			return "none"
		}
		return out.Components[0].Status
	}
	// Admin changes show at once; the first check result too (nothing
	// rendered for a check yet), the next within the hour waits.
	if got := status(); got != "operational" {
		t.Fatalf("new component served as %q", got)
	}
	if err := h.SetComponentStatus(ctx, "acme", api, statuspage.DegradedPerformance, "slow"); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != "degraded_performance" {
		t.Fatalf("first check result served as %q", got)
	}
	if err := h.SetComponentStatus(ctx, "acme", api, statuspage.MajorOutage, "down"); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != "degraded_performance" {
		t.Fatalf("served %q before the interval was over", got)
	}
	if p, _ := h.Page("acme"); len(p.Components) != 1 || p.Components[0].Status != statuspage.MajorOutage {
		t.Fatalf("Page does not show the stored change: %+v", p.Components)
	}
	files, err := h.Export(ctx, "acme", t.TempDir())
	if err != nil || len(files) == 0 {
		t.Fatalf("export: %v %v", files, err)
	}
	if got := status(); got != "major_outage" {
		t.Fatalf("after the pending render: %q", got)
	}
}
