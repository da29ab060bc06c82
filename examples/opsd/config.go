package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/opskit/opskit/backup"
)

// configVersion is the version of opsd.yaml this program reads and writes.
const configVersion = 1

// Config is opsd.yaml. Relative paths are relative to the file's directory.
type Config struct {
	Version int    `yaml:"version"`
	DataDir string `yaml:"data_dir"` // state: SQLite store, scratch space
	Listen  string `yaml:"listen"`   // HTTP: status page, health, metrics
	// Store is a SQLite file path or a postgres:// URL; default DATA_DIR/opsd.db.
	Store   string         `yaml:"store,omitempty"`
	Signing SigningConfig  `yaml:"signing"`
	Backups []BackupConfig `yaml:"backups"`
	Logs    *LogsConfig    `yaml:"logs,omitempty"`
	Status  *StatusConfig  `yaml:"status,omitempty"`
	// Alerting: receivers, on-call escalation, checks, inputs (see AlertingConfig).
	Alerting *AlertingConfig `yaml:"alerting,omitempty"`
	path     string          // where it was loaded from
	dir      string          // its directory
}

// SigningConfig names the daemon's own OpenPGP key, which signs manifests.
type SigningConfig struct {
	PrivateKey    string `yaml:"private_key"`
	PublicKey     string `yaml:"public_key"`
	PassphraseEnv string `yaml:"passphrase_env,omitempty"`
}

// BackupConfig is one instance's backups.
type BackupConfig struct {
	Instance string       `yaml:"instance"`
	Source   SourceConfig `yaml:"source"`
	Hooks    HooksConfig  `yaml:"hooks,omitempty"`
	Schedule string       `yaml:"schedule"` // cron, e.g. "0 3 * * *"
	// EncryptTo lists public key files: the instance's key, and optionally an escrow key.
	EncryptTo []string `yaml:"encrypt_to"`
	// DecryptWith is the instance's private key file, for restores and drills.
	// In production it belongs off the backed-up host.
	DecryptWith   string          `yaml:"decrypt_with,omitempty"`
	PassphraseEnv string          `yaml:"passphrase_env,omitempty"`
	Transport     TransportConfig `yaml:"transport"`
	Retention     RetentionConfig `yaml:"retention"`
	// VerifyAfterBackup re-reads every stored volume after each backup and
	// records the verification (default true).
	VerifyAfterBackup *bool  `yaml:"verify_after_backup,omitempty"`
	DrillSchedule     string `yaml:"drill_schedule,omitempty"` // cron; empty: no drills
	VolumeSizeMiB     int64  `yaml:"volume_size_mib,omitempty"`
	RunAtStart        bool   `yaml:"run_at_start,omitempty"`
}

// SourceConfig says what to snapshot: a directory or a command's output.
type SourceConfig struct {
	Dir     string   `yaml:"dir,omitempty"`
	Exclude []string `yaml:"exclude,omitempty"`
	Command []string `yaml:"command,omitempty"`
}

// HooksConfig are commands before and after the snapshot.
type HooksConfig struct {
	Before [][]string `yaml:"before,omitempty"`
	After  [][]string `yaml:"after,omitempty"`
}

// TransportConfig says where backups go.
type TransportConfig struct {
	Type       string `yaml:"type"` // local, sftp, rsync
	Path       string `yaml:"path"` // directory (local) or remote directory
	Address    string `yaml:"address,omitempty"`
	User       string `yaml:"user,omitempty"`
	Identity   string `yaml:"identity,omitempty"`
	KnownHosts string `yaml:"known_hosts,omitempty"`
	// Concurrency is the number of SFTP requests in flight per transfer
	// (sftp only; default 16, enough to fill a fast link at 255 KiB each).
	Concurrency int `yaml:"concurrency,omitempty"`
}

// RetentionConfig selects a retention policy: a preset ("daily20", the
// default: 20 daily backups; "tiered": 6-hourly for 2 days, daily for 7 days,
// weekly for 4 weeks, monthly for 13 months), or explicit rules, which
// follow restic's forget semantics (see package retention). Spans are
// written like "48h", "7d", "4w", "13m", "2y".
type RetentionConfig struct {
	Preset          string `yaml:"preset,omitempty"`
	Last            int    `yaml:"last,omitempty"`
	Hourly          int    `yaml:"hourly,omitempty"`
	SixHourly       int    `yaml:"six_hourly,omitempty"`
	Daily           int    `yaml:"daily,omitempty"`
	Weekly          int    `yaml:"weekly,omitempty"`
	Monthly         int    `yaml:"monthly,omitempty"`
	Yearly          int    `yaml:"yearly,omitempty"`
	Within          string `yaml:"within,omitempty"`
	WithinSixHourly string `yaml:"within_six_hourly,omitempty"`
	WithinDaily     string `yaml:"within_daily,omitempty"`
	WithinWeekly    string `yaml:"within_weekly,omitempty"`
	WithinMonthly   string `yaml:"within_monthly,omitempty"`
	WithinYearly    string `yaml:"within_yearly,omitempty"`
	TimeZone        string `yaml:"time_zone,omitempty"`
}

// StatusConfig serves per-instance status pages: SLUG+host_suffix, or
// /p/SLUG/ on the daemon's address. The admin API (/api/admin/) takes the
// bearer token stored in admin_token_file.
type StatusConfig struct {
	HostSuffix     string `yaml:"host_suffix,omitempty"`
	AdminTokenFile string `yaml:"admin_token_file,omitempty"`
	TLS            bool   `yaml:"tls,omitempty"` // served behind TLS: redirect HTTP, send HSTS
	// RenderInterval: a page is re-rendered at most this often however
	// fast checks change it (default 1s; 0s renders on every change).
	RenderInterval string       `yaml:"render_interval,omitempty"`
	Pages          []StatusPage `yaml:"pages"`
	// Subscriptions lets readers subscribe by email (double opt-in) and
	// registers webhook subscribers (admin API).
	Subscriptions *SubscriptionsConfig `yaml:"subscriptions,omitempty"`
}

// SubscriptionsConfig: the key signing confirm and unsubscribe links
// (created 0600 if missing) and the SMTP server mail goes through.
type SubscriptionsConfig struct {
	KeyFile string      `yaml:"key_file"`
	SMTP    *SMTPConfig `yaml:"smtp,omitempty"`
}

// SMTPConfig is an SMTP submission server; tls is "starttls" (default),
// "implicit", or "none" (only for a relay on loopback).
type SMTPConfig struct {
	Host        string `yaml:"host"`
	Port        int    `yaml:"port,omitempty"`
	TLS         string `yaml:"tls,omitempty"`
	CAFile      string `yaml:"ca_file,omitempty"`
	Username    string `yaml:"username,omitempty"`
	PasswordEnv string `yaml:"password_env,omitempty"`
	From        string `yaml:"from"`
}

// StatusPage is one instance's page and its components.
type StatusPage struct {
	Slug       string   `yaml:"slug"`
	Name       string   `yaml:"name"`
	URL        string   `yaml:"url,omitempty"`
	TimeZone   string   `yaml:"time_zone,omitempty"`
	Components []string `yaml:"components,omitempty"`
}

// LogsConfig prunes log files and Elasticsearch indices past their age,
// on Schedule (cron, default "30 4 * * *") and with `opsd logs prune`.
type LogsConfig struct {
	Schedule      string         `yaml:"schedule,omitempty"`
	Files         []LogFileClass `yaml:"files,omitempty"`
	Elasticsearch *ESConfig      `yaml:"elasticsearch,omitempty"`
}

// LogFileClass is a set of log files with a maximum age.
type LogFileClass struct {
	Name       string   `yaml:"name"`
	Globs      []string `yaml:"globs"`
	MaxAge     string   `yaml:"max_age"`               // e.g. 14w, 52w, 30d, 36h
	DateLayout string   `yaml:"date_layout,omitempty"` // Go layout of a date in names, e.g. 20060102
}

// ESConfig is an Elasticsearch cluster whose time-based indices expire.
type ESConfig struct {
	URLs    []string       `yaml:"urls"`
	Indices []ESIndexClass `yaml:"indices"`
}

// ESIndexClass is a family of indices with a maximum age.
type ESIndexClass struct {
	Name       string   `yaml:"name"`
	Patterns   []string `yaml:"patterns"` // e.g. "logs-nginx-*"
	MaxAge     string   `yaml:"max_age"`
	DateLayout string   `yaml:"date_layout,omitempty"` // e.g. 2006.01.02
}

func (c *Config) abs(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// loadConfig reads and validates opsd.yaml.
func loadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.Version != configVersion {
		return nil, fmt.Errorf("%s: version %d, this opsd reads version %d", path, c.Version, configVersion)
	}
	c.path, _ = filepath.Abs(path)
	c.dir = filepath.Dir(c.path)
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

func (c *Config) validate() error {
	if c.DataDir == "" {
		return errors.New("data_dir is required")
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.Signing.PrivateKey == "" || c.Signing.PublicKey == "" {
		return errors.New("signing.private_key and signing.public_key are required")
	}
	seen := map[string]bool{}
	for i := range c.Backups {
		b := &c.Backups[i]
		if err := backup.ValidInstance(b.Instance); err != nil {
			return fmt.Errorf("backups[%d]: %w", i, err)
		}
		if seen[b.Instance] {
			return fmt.Errorf("backups: instance %s twice", b.Instance)
		}
		seen[b.Instance] = true
		if (b.Source.Dir == "") == (len(b.Source.Command) == 0) {
			return fmt.Errorf("backup %s: source needs exactly one of dir and command", b.Instance)
		}
		if len(b.EncryptTo) == 0 {
			return fmt.Errorf("backup %s: encrypt_to needs the instance's public key", b.Instance)
		}
		switch b.Transport.Type {
		case "local", "sftp", "rsync":
		default:
			return fmt.Errorf("backup %s: transport type %q (use local, sftp or rsync)", b.Instance, b.Transport.Type)
		}
	}
	return nil
}

// writeConfig writes c as YAML to path, refusing to overwrite.
func writeConfig(path string, c *Config) error {
	var buf bytes.Buffer
	buf.WriteString("# opsd configuration; see `go doc github.com/opskit/opskit/examples/opsd`.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
