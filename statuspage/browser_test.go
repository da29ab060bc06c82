package statuspage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opskit/opskit/internal/testenv"
	"github.com/opskit/opskit/sqlstore/sqlstoretest"
	"github.com/opskit/opskit/statuspage"
)

// chromium runs headless Chromium with the flags this closed network needs.
func chromium(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := os.Getenv("OPSKIT_TEST_CHROMIUM")
	if bin == "" {
		bin = testenv.LookPath(t, "chromium")
	}
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append(base, args...)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return out
}

// TestPageInChromium renders the page in real headless Chromium: the
// content is there without any script, hostile incident text stays text,
// and light and dark screenshots differ.
func TestPageInChromium(t *testing.T) {
	c := &clock{t: time.Now()}
	h := newHandler(t, sqlstoretest.SQLite(t), c)
	ctx := context.Background()
	h.PutPage(ctx, "acme", "Acme", "https://acme.status.example.com", "Europe/Paris")
	api, _ := h.AddComponent(ctx, "acme", statuspage.Component{Name: "API"})
	h.SetComponentStatus(ctx, "acme", api, statuspage.PartialOutage, "")
	h.CreateIncident(ctx, "acme", statuspage.NewIncident{Name: "Errors", Impact: "major",
		Body: `Investigating <script>document.title="pwned"</script><img src=x onerror=alert(1)>`})
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := srv.URL + "/p/acme/"

	// The page has no script at all, and its CSP allows none: what Chromium
	// renders is what a browser without JavaScript shows.
	served := get(t, h, "acme.status.example.com", "/")
	if strings.Contains(served.Body.String(), "<script") || strings.Contains(served.Header().Get("Content-Security-Policy"), "script-src") {
		t.Fatal("the page carries or allows scripts")
	}
	dom := string(chromium(t, "--dump-dom", url))
	for _, want := range []string{"Partial System Outage", "Partial outage", "Errors", "&lt;script&gt;document.title"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	if strings.Contains(dom, "<script>document.title") || strings.Contains(dom, "<img src=\"x\"") || strings.Contains(dom, "pwned</title>") {
		t.Fatal("incident text became markup")
	}

	dir := t.TempDir()
	light, dark := filepath.Join(dir, "light.png"), filepath.Join(dir, "dark.png")
	chromium(t, "--window-size=1000,900", "--screenshot="+light, url)
	chromium(t, "--window-size=1000,900", "--force-dark-mode", "--blink-settings=preferredColorScheme=0", "--screenshot="+dark, url)
	l, err1 := os.ReadFile(light)
	d, err2 := os.ReadFile(dark)
	if err1 != nil || err2 != nil || len(l) < 1000 || len(d) < 1000 {
		t.Fatalf("screenshots: %v %v (%d, %d bytes)", err1, err2, len(l), len(d))
	}
	if bytes.Equal(l, d) {
		t.Fatal("the dark screenshot equals the light one: no dark mode")
	}
	if keep := os.Getenv("OPSKIT_TEST_SCREENSHOTS"); keep != "" {
		os.WriteFile(filepath.Join(keep, "statuspage-light.png"), l, 0o644)
		os.WriteFile(filepath.Join(keep, "statuspage-dark.png"), d, 0o644)
	}
}

// axeViolation is what the axe test page reports of each violation.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// runAxe loads html in headless Chromium with axe-core injected, runs the
// WCAG 2.1 A/AA rules and best practices, and returns the violations.
func runAxe(t *testing.T, doc []byte, dark bool) []axeViolation {
	t.Helper()
	axePath := os.Getenv("OPSKIT_TEST_AXE")
	if axePath == "" {
		testenv.Skip(t, "OPSKIT_TEST_AXE (axe.min.js from npm's axe-core) is not set: run scripts/test.sh, which installs it")
	}
	axe, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatalf("axe-core: %v", err)
	}
	const runner = `<script src="/axe.min.js"></script><script>
axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}).then(function (r) {
  var out = r.violations.map(function (v) { return {id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(function (n) { return n.html; })}; });
  var pre = document.createElement("pre"); pre.id = "axe-result"; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
}, function (e) { var pre = document.createElement("pre"); pre.id = "axe-error"; pre.textContent = String(e); document.body.appendChild(pre); });
</script>`
	page := bytes.Replace(doc, []byte("</body>"), []byte(runner+"</body>"), 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/axe.min.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(axe)
	})
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	args := []string{"--window-size=1000,900", "--virtual-time-budget=30000", "--dump-dom"}
	if dark {
		args = append(args, "--force-dark-mode", "--blink-settings=preferredColorScheme=0")
	}
	dom := string(chromium(t, append(args, srv.URL+"/page")...))
	if i := strings.Index(dom, `<pre id="axe-error">`); i >= 0 {
		t.Fatalf("axe failed: %s", dom[i:min(len(dom), i+500)])
	}
	start := strings.Index(dom, `<pre id="axe-result">`)
	if start < 0 {
		t.Fatal("axe did not report (no #axe-result in the DOM)")
	}
	rest := dom[start+len(`<pre id="axe-result">`):]
	end := strings.Index(rest, "</pre>")
	var vs []axeViolation
	if err := json.Unmarshal([]byte(html.UnescapeString(rest[:end])), &vs); err != nil {
		t.Fatalf("axe result: %v\n%s", err, rest[:end])
	}
	return vs
}

// TestAccessibility runs axe-core in real headless Chromium on the status
// page (light and dark) and on the subscription form: no serious or
// critical violation is allowed.
func TestAccessibility(t *testing.T) {
	c := &clock{t: time.Now()}
	h, err := statuspage.New(context.Background(), sqlstoretest.SQLite(t), statuspage.Config{HostSuffix: ".status.example.com",
		Now: c.now, SubscriptionKey: []byte("0123456789abcdef0123456789abcdef"), Mailer: nopMailer{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h.PutPage(ctx, "acme", "Acme", "https://acme.status.example.com", "Europe/Paris")
	grp, _ := h.AddComponent(ctx, "acme", statuspage.Component{Name: "Platform", Group: true})
	api, _ := h.AddComponent(ctx, "acme", statuspage.Component{Name: "API", Description: "Public REST API", GroupID: grp})
	web, _ := h.AddComponent(ctx, "acme", statuspage.Component{Name: "Web", GroupID: grp})
	h.AddComponent(ctx, "acme", statuspage.Component{Name: "Mail"})
	for _, s := range []statuspage.ComponentStatus{statuspage.MajorOutage, statuspage.DegradedPerformance} {
		h.SetComponentStatus(ctx, "acme", api, s, "")
	}
	h.SetComponentStatus(ctx, "acme", web, statuspage.UnderMaintenance, "")
	id, _ := h.CreateIncident(ctx, "acme", statuspage.NewIncident{Name: "Elevated errors", Impact: "major", Body: "Investigating.", Components: []string{api}})
	h.AddUpdate(ctx, "acme", id, statuspage.Monitoring, "A fix is deployed.")
	old, _ := h.CreateIncident(ctx, "acme", statuspage.NewIncident{Name: "Slow logins", Body: "Investigating."})
	h.AddUpdate(ctx, "acme", old, statuspage.Resolved, "Resolved.")
	h.CreateIncident(ctx, "acme", statuspage.NewIncident{Name: "Database upgrade", Maintenance: true, Body: "Writes pause.",
		ScheduledFor: c.t.Add(48 * time.Hour), ScheduledUntil: c.t.Add(49 * time.Hour)})

	// The checker works: a bad page has serious violations.
	bad := runAxe(t, []byte(`<!doctype html><html><head><title>x</title></head><body><main><img src="x.png">`+
		`<p style="color:#777;background:#888">low contrast</p></main></body></html>`), false)
	found := map[string]string{}
	for _, v := range bad {
		found[v.ID] = v.Impact
	}
	if found["image-alt"] != "critical" || found["color-contrast"] != "serious" {
		t.Fatalf("axe missed known violations: %+v", bad)
	}

	pages := map[string][]byte{
		"page":           get(t, h, "acme.status.example.com", "/").Body.Bytes(),
		"subscribe form": get(t, h, "acme.status.example.com", "/subscribe").Body.Bytes(),
	}
	for name, doc := range pages {
		for _, dark := range []bool{false, true} {
			vs := runAxe(t, doc, dark)
			for _, v := range vs {
				msg := fmt.Sprintf("%s (dark %v): axe %s [%s]: %s %v", name, dark, v.ID, v.Impact, v.Help, v.Nodes)
				if v.Impact == "serious" || v.Impact == "critical" {
					t.Error(msg)
				} else {
					t.Log(msg)
				}
			}
		}
	}
}

type nopMailer struct{}

func (nopMailer) Send(context.Context, statuspage.Mail) error { return nil }
