package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opskit/opskit/internal/estest"
	"github.com/opskit/opskit/internal/sshtest"
	"github.com/opskit/opskit/internal/testenv"
	"github.com/opskit/opskit/sqlstore"
)

func opsd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestInitBackupListVerifyDrillRestore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	code, out, errs := opsd(t, "init", "--dir", dir)
	if code != 0 {
		t.Fatalf("init: %d %s %s", code, out, errs)
	}
	if !strings.Contains(out, "OFF this host") {
		t.Errorf("init does not warn about the private key: %s", out)
	}
	for _, k := range []string{"keys/demo.sec.asc", "keys/opsd-signing.sec.asc"} {
		fi, err := os.Stat(filepath.Join(dir, k))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v mode %v, want 0600", k, err, fi.Mode())
		}
	}
	if code, _, _ := opsd(t, "init", "--dir", dir); code == 0 {
		t.Fatal("a second init overwrote the configuration")
	}
	cfg := filepath.Join(dir, "opsd.yaml")
	code, out, errs = opsd(t, "backup", "run", "demo", "-config", cfg)
	if code != 0 {
		t.Fatalf("backup run: %d %s %s", code, out, errs)
	}
	code, out, errs = opsd(t, "backup", "list", "demo", "-config", cfg, "--json")
	if code != 0 {
		t.Fatalf("backup list: %d %s", code, errs)
	}
	var list []jsonBackup
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		t.Fatalf("list --json = %s (%v)", out, err)
	}
	b := list[0]
	if b.Name == "" || b.Size <= 0 || len(b.SHA256) == 0 || b.Location == "" || time.Since(b.Time) > time.Hour {
		t.Fatalf("list entry %+v", b)
	}
	if code, out, errs = opsd(t, "backup", "verify", "demo", "-config", cfg); code != 0 {
		t.Fatalf("verify: %d %s %s", code, out, errs)
	}
	if code, out, errs = opsd(t, "backup", "drill", "demo", "-config", cfg); code != 0 || !strings.Contains(out, "passed") {
		t.Fatalf("drill: %d %s %s", code, out, errs)
	}
	target := filepath.Join(t.TempDir(), "restored")
	if code, out, errs = opsd(t, "backup", "restore", "demo", b.Name, "--to", target, "-config", cfg); code != 0 {
		t.Fatalf("restore: %d %s %s", code, out, errs)
	}
	got, err := os.ReadFile(filepath.Join(target, "config/app.yaml"))
	want, _ := os.ReadFile(filepath.Join(dir, "demo-source/config/app.yaml"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("restored file differs: %v", err)
	}
	// Exit codes scripts can trust.
	if code, _, _ := opsd(t, "backup", "restore", "demo", b.Name, "--to", target, "-config", cfg); code != exitFailure {
		t.Fatalf("restore into a non-empty directory: exit %d", code)
	}
	if code, _, _ := opsd(t, "backup", "frobnicate", "demo", "-config", cfg); code != exitUsage {
		t.Fatalf("unknown subcommand: exit %d", code)
	}
	if code, _, _ := opsd(t, "backup", "list", "nosuch", "-config", cfg); code != exitUsage {
		t.Fatalf("unknown instance: exit %d", code)
	}
	// Corrupt a volume: verify exits 4.
	vol := filepath.Join(dir, "backups", "demo", "data", b.Name, "vol-000001.zst.pgp")
	data, err := os.ReadFile(vol)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	os.WriteFile(vol, data, 0o600)
	if code, _, errs := opsd(t, "backup", "verify", "demo", "-config", cfg); code != exitCorrupt {
		t.Fatalf("verify of a corrupt backup: exit %d (%s)", code, errs)
	}
	if code, _, _ := opsd(t, "backup", "drill", "demo", "-config", cfg); code != exitDrill {
		t.Fatalf("drill of a corrupt backup: exit %d", code)
	}
	// Prune dry run explains itself.
	code, out, _ = opsd(t, "backup", "prune", "demo", "--dry-run", "-config", cfg)
	if code != 0 || !strings.Contains(out, b.Name) {
		t.Fatalf("prune --dry-run: %d %s", code, out)
	}
}

func TestConfigRejectsUnknownFields(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "opsd.yaml")
	os.WriteFile(p, []byte("version: 1\ndata_dir: x\nbackupz: []\n"), 0o600)
	if _, err := loadConfig(p); err == nil || !strings.Contains(err.Error(), "backupz") {
		t.Fatalf("err = %v", err)
	}
	os.WriteFile(p, []byte("version: 9\n"), 0o600)
	if _, err := loadConfig(p); err == nil || !strings.Contains(err.Error(), "version") {
		t.Fatalf("err = %v", err)
	}
}

func TestLogsPrune(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if code, out, errs := opsd(t, "init", "--dir", dir); code != 0 {
		t.Fatalf("init: %s %s", out, errs)
	}
	logs := filepath.Join(t.TempDir(), "nginx")
	os.MkdirAll(logs, 0o755)
	old := time.Now().Add(-20 * 7 * 24 * time.Hour)
	for _, name := range []string{"access.log", "access.log.1", "access.log.2.gz", "error.log.3.gz"} {
		p := filepath.Join(logs, name)
		os.WriteFile(p, []byte("GET /\n"), 0o644)
		os.Chtimes(p, old, old)
	}
	fresh := filepath.Join(logs, "access.log.4.gz")
	os.WriteFile(fresh, []byte("new"), 0o644)
	cfg := filepath.Join(dir, "opsd.yaml")
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("logs:\n  files:\n    - name: web\n      globs: ['" + logs + "/*.log*']\n      max_age: 14w\n")
	f.Close()
	code, out, errs := opsd(t, "logs", "prune", "--dry-run", "-config", cfg)
	if code != 0 || strings.Count(out, "would delete") != 3 {
		t.Fatalf("dry run: %d\n%s\n%s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(logs, "access.log.1")); err != nil {
		t.Fatal("a dry run deleted a file")
	}
	code, out, errs = opsd(t, "logs", "prune", "--json", "-config", cfg)
	if code != 0 {
		t.Fatalf("prune: %d %s %s", code, out, errs)
	}
	var rep logsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.DryRun || len(rep.Files) != 5 {
		t.Fatalf("json report %s (%v)", out, err)
	}
	for name, want := range map[string]bool{"access.log": true, "access.log.1": false, "access.log.2.gz": false, "error.log.3.gz": false, "access.log.4.gz": true} {
		_, err := os.Stat(filepath.Join(logs, name))
		if (err == nil) != want {
			t.Errorf("%s: exists=%v, want %v", name, err == nil, want)
		}
	}
}

func TestLogsPruneElasticsearch(t *testing.T) {
	es := estest.Client(t)
	prefix := estest.Prefix(t, es)
	now := time.Now().UTC()
	var old, recent []string
	for _, age := range []int{70, 63, 3, 0} {
		name := prefix + "logs-nginx-" + now.AddDate(0, 0, -age).Format("2006.01.02")
		estest.CreateIndex(t, es, name, "")
		if age > 56 {
			old = append(old, name)
		} else {
			recent = append(recent, name)
		}
	}
	dir := filepath.Join(t.TempDir(), "data")
	if code, out, errs := opsd(t, "init", "--dir", dir); code != 0 {
		t.Fatalf("init: %s %s", out, errs)
	}
	cfg := filepath.Join(dir, "opsd.yaml")
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("logs:\n  elasticsearch:\n    urls: ['" + testenv.ElasticsearchURL(t) + "']\n    indices:\n      - name: nginx\n        patterns: ['" +
		prefix + "logs-nginx-*']\n        max_age: 8w\n        date_layout: '2006.01.02'\n")
	f.Close()
	code, out, errs := opsd(t, "logs", "prune", "--dry-run", "-config", cfg)
	if code != 0 || strings.Count(out, "would delete index") != 2 {
		t.Fatalf("dry run: %d\n%s\n%s", code, out, errs)
	}
	if got := estest.Indices(t, es, prefix+"*"); len(got) != 4 {
		t.Fatalf("a dry run deleted indices: %v", got)
	}
	if code, out, errs = opsd(t, "logs", "prune", "-config", cfg); code != 0 {
		t.Fatalf("prune: %d %s %s", code, out, errs)
	}
	got := estest.Indices(t, es, prefix+"*")
	sort.Strings(got)
	sort.Strings(recent)
	if strings.Join(got, ",") != strings.Join(recent, ",") {
		t.Fatalf("indices left %v, want %v (old: %v)", got, recent, old)
	}
}

func TestDaemonServesHealthMetricsAndPage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if code, out, errs := opsd(t, "init", "--dir", dir); code != 0 {
		t.Fatalf("init: %s %s", out, errs)
	}
	cfg, err := loadConfig(filepath.Join(dir, "opsd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := newWiring(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{cfg: cfg, w: w, log: slog.New(slog.DiscardHandler), state: map[string]*jobState{}, mux: http.NewServeMux()}
	if err := d.routes(); err != nil {
		t.Fatal(err)
	}
	inst, _ := w.instance("demo")
	d.track("backup", "demo", func() error { return d.backupCycle(context.Background(), inst) })
	d.track("drill", "demo", func() error { return errors.New("restore drill failed: <script>x</script>") })
	srv := httptest.NewServer(d.mux)
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"healthy":false`) {
		t.Fatalf("healthz with a failed drill: %d %s", code, body)
	}
	code, body = get("/metrics")
	if code != 200 || !strings.Contains(body, `opsd_job_failures_total{kind="drill",instance="demo"} 1`) ||
		!strings.Contains(body, `opsd_job_failures_total{kind="backup",instance="demo"} 0`) {
		t.Fatalf("metrics: %d %s", code, body)
	}
	code, body = get("/")
	if code != 200 || strings.Contains(body, "<script>x") || !strings.Contains(body, "&lt;script&gt;") {
		t.Fatalf("page not escaped: %d %s", code, body)
	}
	// Status pages are served beside the daemon's routes, by path and by host.
	db, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sp, err := openStatus(context.Background(), cfg, db)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := httptest.NewServer(d.mountStatus(ctx, sp))
	defer root.Close()
	for _, host := range []string{"", "demo.status.localhost"} {
		req, _ := http.NewRequest("GET", root.URL+"/", nil)
		if host == "" {
			req, _ = http.NewRequest("GET", root.URL+"/p/demo/api/v2/summary.json", nil)
		} else {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "Web application") {
			t.Fatalf("status page via %q: %d %s", host, resp.StatusCode, b)
		}
	}
	if resp, err := http.Get(root.URL + "/healthz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("healthz behind the status mount: %v %v", resp, err)
	}
	// The scheduled cycle verified the backup it made.
	list, err := inst.repo.List(context.Background())
	if err != nil || len(list) != 1 || list[0].Verified.IsZero() {
		t.Fatalf("after a backup cycle: %+v, %v", list, err)
	}
}

// TestRemoteTransports runs a backup, a verify and a drill through a real
// sshd with each remote transport the configuration offers.
func TestRemoteTransports(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{HostKeys: []string{sshtest.Ed25519}})
	for _, typ := range []string{"sftp", "rsync"} {
		t.Run(typ, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if code, out, errs := opsd(t, "init", "--dir", dir); code != 0 {
				t.Fatalf("init: %s %s", out, errs)
			}
			remote := filepath.Join(srv.DataDir, typ)
			if err := os.Mkdir(remote, 0o700); err != nil {
				t.Fatal(err)
			}
			cfgPath := filepath.Join(dir, "opsd.yaml")
			data, _ := os.ReadFile(cfgPath)
			block := "type: " + typ + "\n      path: " + remote + "\n      address: " + srv.Addr + "\n      user: " + srv.User +
				"\n      identity: " + srv.ClientKeyFile + "\n      known_hosts: " + srv.KnownHostsFile + "\n"
			patched := strings.Replace(string(data), "type: local\n      path: backups\n", block, 1)
			if patched == string(data) {
				t.Fatal("could not patch the transport")
			}
			os.WriteFile(cfgPath, []byte(patched), 0o600)
			for _, args := range [][]string{{"backup", "run", "demo"}, {"backup", "verify", "demo"}, {"backup", "drill", "demo"}} {
				if code, out, errs := opsd(t, append(args, "-config", cfgPath)...); code != 0 {
					t.Fatalf("%v: %d %s %s", args, code, out, errs)
				}
			}
			ents, err := os.ReadDir(filepath.Join(remote, "demo", "snapshots"))
			if err != nil || len(ents) != 4 { // manifest, signature, verification record and its signature
				t.Fatalf("remote snapshots: %v %v", ents, err)
			}
		})
	}
}

// TestDaemonsShareJobsThroughPostgres: with a shared PostgreSQL store, a
// scheduled job runs on one daemon at a time; the others skip it.
func TestDaemonsShareJobsThroughPostgres(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	ctx := context.Background()
	open := func() *daemon {
		store, err := sqlstore.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		return &daemon{log: slog.New(slog.DiscardHandler), store: store, state: map[string]*jobState{}}
	}
	d1, d2 := open(), open()
	name := "lock-test-" + strings.ReplaceAll(t.Name(), "/", "-")
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		d1.track("backup", name, func() error { close(started); <-release; return nil })
	}()
	<-started
	ran := false
	d2.track("backup", name, func() error { ran = true; return nil })
	if ran {
		t.Fatal("the second daemon ran a job the first one was running")
	}
	if s := d2.snapshot(); len(s) != 1 || s[0].Skipped != 1 {
		t.Fatalf("second daemon state %+v, want one skipped run", s)
	}
	close(release)
	<-done
	d2.track("backup", name, func() error { ran = true; return nil })
	if !ran {
		t.Fatal("the job did not run once the lock was free")
	}
}

func TestLogbookCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if code, out, errs := opsd(t, "init", "--dir", dir); code != 0 {
		t.Fatalf("init: %s %s", out, errs)
	}
	cfg := filepath.Join(dir, "opsd.yaml")
	run := func(args ...string) string {
		t.Helper()
		code, out, errs := opsd(t, append(args, "-config", cfg)...)
		if code != 0 {
			t.Fatalf("%v: %d %s %s", args, code, out, errs)
		}
		return out
	}
	out := run("logbook", "new", "--title", "API errors for demo", "--severity", "SEV2", "--instance", "demo", "--public", "--what", "5xx on /items")
	if !strings.Contains(out, "published to the status page of demo") {
		t.Fatalf("new --public did not reach the status page: %s", out)
	}
	if !strings.HasPrefix(out, "incident 1 opened") {
		t.Fatalf("new: %s", out)
	}
	run("logbook", "note", "1", "--kind", "hypothesis", "--text", "pool too small", "--author", "alice")
	run("logbook", "note", "1", "--kind", "communication", "--text", "We are on it.", "--public")
	run("logbook", "close", "1", "--root-cause", "A connection pool was too small.", "--impact", "Errors for 20 minutes.")
	out = run("logbook", "postmortem", "1", "--customer")
	if !strings.Contains(out, "A connection pool was too small.") || !strings.Contains(out, "We are on it.") || strings.Contains(out, "pool too small") {
		t.Fatalf("customer post-mortem:\n%s", out)
	}
	out = run("logbook", "postmortem", "1", "--customer", "--publish")
	if !strings.Contains(out, "published to the status page of demo") {
		t.Fatalf("postmortem --publish: %s", out)
	}
	// The status page shows the public story only, and the post-mortem.
	c, err := loadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openStore(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sp, err := openStatus(context.Background(), c, db)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := sp.Page("demo")
	if len(page.Incidents) != 1 {
		t.Fatalf("status page incidents: %+v", page.Incidents)
	}
	si := page.Incidents[0]
	var bodies []string
	for _, u := range si.Updates {
		bodies = append(bodies, u.Status+": "+u.Body)
	}
	joined := strings.Join(bodies, "\n")
	if si.Status != "postmortem" || si.Impact != "major" || !strings.Contains(joined, "We are on it.") ||
		strings.Contains(joined, "pool too small") || !strings.Contains(joined, "resolved: This incident has been resolved.") {
		t.Fatalf("status page incident %s %s:\n%s", si.Status, si.Impact, joined)
	}
	out = run("logbook", "list", "--status", "resolved", "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		t.Fatalf("list: %s %v", out, err)
	}
	if code, _, _ := opsd(t, "logbook", "new", "--severity", "SEV9", "--title", "x", "-config", cfg); code != exitUsage {
		t.Fatalf("bad severity: exit %d", code)
	}
	if code, _, _ := opsd(t, "logbook", "note", "99", "--kind", "action", "--text", "x", "-config", cfg); code != exitFailure {
		t.Fatalf("note on a missing incident: exit %d", code)
	}
}

// FuzzLoadConfig: any opsd.yaml is either accepted as valid or refused
// with an error; it never crashes the daemon.
func FuzzLoadConfig(f *testing.F) {
	f.Add("version: 1\ndata_dir: s\nsigning: {private_key: a, public_key: b}\nbackups:\n  - instance: demo\n    source: {dir: x}\n    encrypt_to: [k]\n    transport: {type: local, path: b}\n")
	f.Add("version: 1\nbackups: [{instance: '../x'}]\n")
	f.Add("version: 1\ndata_dir: s\nsigning: {private_key: a, public_key: b}\nlogs: {files: [{name: w, globs: ['*'], max_age: 3w}]}\n")
	f.Add("{")
	f.Fuzz(func(t *testing.T, text string) {
		p := filepath.Join(t.TempDir(), "opsd.yaml")
		os.WriteFile(p, []byte(text), 0o600)
		cfg, err := loadConfig(p)
		if err != nil {
			return
		}
		for _, b := range cfg.Backups {
			if strings.Contains(b.Instance, "/") || strings.Contains(b.Instance, "..") {
				t.Fatalf("instance name %q accepted", b.Instance)
			}
		}
	})
}
