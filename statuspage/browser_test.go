package statuspage_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opskit/opskit/internal/sqlstore/sqlstoretest"
	"github.com/opskit/opskit/internal/testenv"
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
