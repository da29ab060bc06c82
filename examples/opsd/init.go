package main

import (
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed demo
var demoFiles embed.FS

// cmdInit writes a working configuration with embedded defaults.
func cmdInit(args []string, stdout io.Writer) error {
	fset := flag.NewFlagSet("init", flag.ContinueOnError)
	dir := fset.String("dir", defaultDir, "directory for the configuration, keys, state and local backups")
	source := fset.String("source", "", "directory the demo instance backs up (default: a bundled demo directory)")
	if err := fset.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	cfgPath := filepath.Join(*dir, configName)
	if _, err := os.Stat(cfgPath); err == nil {
		return fmt.Errorf("%s exists; remove it or choose another --dir", cfgPath)
	}
	for _, sub := range []string{"keys", "backups"} {
		if err := os.MkdirAll(filepath.Join(*dir, sub), 0o700); err != nil {
			return err
		}
	}
	src := *source
	if src == "" {
		src = "demo-source"
		if err := writeDemo(filepath.Join(*dir, src)); err != nil {
			return err
		}
	} else if abs, err := filepath.Abs(src); err == nil {
		src = abs
	}
	if err := generateKey(filepath.Join(*dir, "keys", "opsd-signing"), "opsd signing key", true); err != nil {
		return err
	}
	if err := generateKey(filepath.Join(*dir, "keys", "demo"), "opskit instance demo", false); err != nil {
		return err
	}
	if err := writeToken(filepath.Join(*dir, "keys", "status-admin.token")); err != nil {
		return err
	}
	cfg := &Config{
		Version: configVersion,
		DataDir: "state",
		Listen:  "127.0.0.1:8080",
		Signing: SigningConfig{PrivateKey: "keys/opsd-signing.sec.asc", PublicKey: "keys/opsd-signing.pub.asc"},
		Backups: []BackupConfig{{
			Instance:      "demo",
			Source:        SourceConfig{Dir: src, Exclude: []string{"*.tmp"}},
			Schedule:      "0 3 * * *",
			EncryptTo:     []string{"keys/demo.pub.asc"},
			DecryptWith:   "keys/demo.sec.asc",
			Transport:     TransportConfig{Type: "local", Path: "backups"},
			Retention:     RetentionConfig{Preset: "daily20"},
			DrillSchedule: "0 5 * * 0",
			RunAtStart:    true,
		}},
		Status: &StatusConfig{
			HostSuffix:     ".status.localhost",
			AdminTokenFile: "keys/status-admin.token",
			Pages: []StatusPage{{Slug: "demo", Name: "Demo", URL: "http://127.0.0.1:8080/p/demo",
				TimeZone: "Etc/UTC", Components: []string{"Web application", "API"}}},
		},
		// Alerts go to the daemon's log until real receivers are added;
		// the checks watch the daemon itself and this host.
		Alerting: &AlertingConfig{
			Receivers: []ReceiverConfig{{Name: "log", Log: &struct{}{}}},
			Default:   RouteConfig{Receivers: []string{"log"}},
			Checks: []CheckConfig{
				{Name: "http", Host: "localhost", Instance: "demo", Interval: "1m", Component: "demo/Web application",
					TCP: &TCPCheck{Addr: "127.0.0.1:8080", Mode: "connect"}},
				{Name: "status-api", Instance: "demo", Interval: "1m", Component: "demo/API",
					HTTP: &HTTPCheck{URL: "http://127.0.0.1:8080/p/demo/api/v2/status.json", JSON: []string{"status.indicator"}}},
				{Name: "resources", Host: "localhost", Interval: "1m",
					Resources: &ResourcesCheck{Limits: map[string]float64{"mem_percent": 95, "disk_percent:/": 95}, For: "10m"}},
			},
		},
	}
	if err := writeConfig(cfgPath, cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, `opsd: wrote %s
  instance "demo" backs up %s to %s every day at 03:00 UTC (and once at start),
  encrypted to keys/demo.pub.asc, manifests signed with keys/opsd-signing.sec.asc.
  In production the instance's private key (keys/demo.sec.asc) belongs OFF this host,
  with whoever runs restores and drills: the backed-up host needs only public keys.
  The demo status page will be at http://127.0.0.1:8080/p/demo/ (admin token: keys/status-admin.token).
  Alerts (checks of this daemon and host, failed backups and drills) go to the log until you add
  receivers under alerting: in opsd.yaml; see "opsd alert list".
`, cfgPath, src, filepath.Join(*dir, "backups"))
	return nil
}

func writeDemo(dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	sub, err := fs.Sub(demoFiles, "demo/app")
	if err != nil {
		return err
	}
	return os.CopyFS(dst, sub)
}
