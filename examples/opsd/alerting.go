package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/check"
	"github.com/opskit/opskit/alerting/email"
	"github.com/opskit/opskit/alerting/esrule"
	"github.com/opskit/opskit/alerting/input"
	"github.com/opskit/opskit/alerting/pagerduty"
	"github.com/opskit/opskit/alerting/slack"
	"github.com/opskit/opskit/alerting/webhook"
	"github.com/opskit/opskit/sqlstore"
	"github.com/opskit/opskit/statuspage"
)

// alertSystem is the daemon's alerting: the Manager and what feeds it.
type alertSystem struct {
	cfg        *AlertingConfig
	m          *alerting.Manager
	receivers  map[string]alerting.Notifier
	entries    []check.Entry
	heartbeats *check.Heartbeats
	input      *input.Handler
	rules      *esrule.Runner
	log        *slog.Logger
}

// logNotifier writes notifications to the daemon's log: the receiver for
// trying opsd out, and a record beside real receivers.
type logNotifier struct {
	name string
	log  *slog.Logger
}

func (l logNotifier) Notify(ctx context.Context, alerts ...alerting.Alert) error {
	d, _ := alerting.DeliveryFrom(ctx)
	for _, a := range alerts {
		l.log.Warn("opsd: alert notification", "receiver", l.name, "level", d.Level, "status", a.Status(time.Now()),
			"alertname", a.Name(), "summary", a.Summary, "severity", a.Severity, "key", d.Key, "ack_url", d.AckURL)
	}
	return nil
}

// ackKey reads (creating if missing) the key that signs acknowledge links.
func ackKey(cfg *Config) ([]byte, error) {
	path := cfg.Alerting.AckKeyFile
	if path == "" {
		path = filepath.Join("keys", "ack.key")
	}
	return readOrCreateKey(cfg.abs(path))
}

// readOrCreateKey reads a key file of at least 32 bytes, creating it
// (mode 0600, 32 random bytes) if missing.
func readOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		rand.Read(key)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, key, 0o600); err != nil {
			return nil, err
		}
		return key, nil
	}
	if err != nil {
		return nil, err
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("key file %s: at least 32 bytes needed", path)
	}
	return key, nil
}

func buildReceiver(rc ReceiverConfig, log *slog.Logger) (alerting.Notifier, error) {
	f := "alerting.receivers[" + rc.Name + "]"
	n := 0
	for _, set := range []bool{rc.Log != nil, rc.Email != nil, rc.Webhook != nil, rc.Slack != nil, rc.PagerDuty != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("%s: exactly one of log, email, webhook, slack, pagerduty", f)
	}
	switch {
	case rc.Log != nil:
		return logNotifier{name: rc.Name, log: log}, nil
	case rc.Email != nil:
		e := rc.Email
		c := email.Config{Host: e.Host, Port: e.Port, Username: e.Username, From: e.From, To: e.To, SubjectPrefix: e.Subject, Logger: log}
		switch e.TLS {
		case "", "starttls":
			c.TLS = email.StartTLS
		case "implicit":
			c.TLS = email.ImplicitTLS
		case "starttls_if_offered":
			c.TLS = email.StartTLSIfOffered
		default:
			return nil, fmt.Errorf("%s.email.tls: %q (use starttls, implicit or starttls_if_offered)", f, e.TLS)
		}
		var err error
		if c.Password, err = secretEnv(f+".email.password_env", e.PasswordEnv); err != nil {
			return nil, err
		}
		if c.RootCAs, err = caPool(f+".email.ca_file", e.CAFile); err != nil {
			return nil, err
		}
		if e.TimeZone != "" {
			if c.Location, err = time.LoadLocation(e.TimeZone); err != nil {
				return nil, fmt.Errorf("%s.email.time_zone: %w", f, err)
			}
		}
		return email.New(c)
	case rc.Webhook != nil:
		c := webhook.Config{URL: rc.Webhook.URL, Logger: log}
		var err error
		if c.BearerToken, err = secretEnv(f+".webhook.token_env", rc.Webhook.TokenEnv); err != nil {
			return nil, err
		}
		secret, err := secretEnv(f+".webhook.signing_secret_env", rc.Webhook.SigningSecretEnv)
		if err != nil {
			return nil, err
		}
		if secret != "" {
			c.SigningSecret = []byte(secret)
		}
		return webhook.New(c)
	case rc.Slack != nil:
		c := slack.Config{Channel: rc.Slack.Channel, Logger: log}
		var err error
		if c.URL, err = secretEnv(f+".slack.url_env", rc.Slack.URLEnv); err != nil {
			return nil, err
		}
		if rc.Slack.URLFile != "" {
			b, err := os.ReadFile(rc.Slack.URLFile)
			if err != nil {
				return nil, fmt.Errorf("%s.slack.url_file: %w", f, err)
			}
			c.URL = strings.TrimSpace(string(b))
		}
		return slack.New(c)
	default:
		c := pagerduty.Config{URL: rc.PagerDuty.URL, Logger: log}
		var err error
		if c.RoutingKey, err = secretEnv(f+".pagerduty.routing_key_env", rc.PagerDuty.RoutingKeyEnv); err != nil {
			return nil, err
		}
		return pagerduty.New(c)
	}
}

// managerConfig builds the Manager's configuration from opsd.yaml.
func managerConfig(cfg *Config, log *slog.Logger) (alerting.Config, map[string]alerting.Notifier, error) {
	ac := cfg.Alerting
	out := alerting.Config{Receivers: map[string]alerting.Receiver{}}
	notifiers := map[string]alerting.Notifier{}
	for _, rc := range ac.Receivers {
		if _, dup := notifiers[rc.Name]; dup {
			return out, nil, fmt.Errorf("alerting.receivers: %q twice", rc.Name)
		}
		n, err := buildReceiver(rc, log)
		if err != nil {
			return out, nil, err
		}
		notifiers[rc.Name] = n
		out.Receivers[rc.Name] = alerting.Receiver{Notifier: n, NoResolved: rc.NoResolved}
	}
	for i, r := range ac.Routes {
		rt, err := r.route(fmt.Sprintf("alerting.routes[%d]", i))
		if err != nil {
			return out, nil, err
		}
		out.Routes = append(out.Routes, rt)
	}
	var err error
	if out.Default, err = ac.Default.route("alerting.default"); err != nil {
		return out, nil, err
	}
	for i, ic := range ac.Inhibit {
		f := fmt.Sprintf("alerting.inhibit[%d]", i)
		var rule alerting.InhibitRule
		if rule.Source, err = matchers(f+".source", ic.Source); err != nil {
			return out, nil, err
		}
		if rule.Target, err = matchers(f+".target", ic.Target); err != nil {
			return out, nil, err
		}
		rule.Equal = ic.Equal
		out.Inhibit = append(out.Inhibit, rule)
	}
	if out.AckTimeout, err = parseDur("alerting.ack_timeout", ac.AckTimeout, 0); err != nil {
		return out, nil, err
	}
	if out.ResolveTimeout, err = parseDur("alerting.resolve_timeout", ac.ResolveTimeout, 0); err != nil {
		return out, nil, err
	}
	if ac.Watchdog != nil {
		out.Watchdog.Receiver = ac.Watchdog.Receiver
		if out.Watchdog.Interval, err = parseDur("alerting.watchdog.interval", ac.Watchdog.Interval, 0); err != nil {
			return out, nil, err
		}
	}
	key, err := ackKey(cfg)
	if err != nil {
		return out, nil, err
	}
	ext := strings.TrimSuffix(ac.ExternalURL, "/")
	if ext == "" {
		ext = "http://" + cfg.Listen
	}
	out.Ack = alerting.AckLinks{URL: ext + "/alerts/ack", Key: key}
	return out, notifiers, nil
}

// openAlerting builds the daemon's alerting from opsd.yaml.
func openAlerting(ctx context.Context, cfg *Config, db *sqlstore.DB, log *slog.Logger) (*alertSystem, error) {
	if cfg.Alerting == nil {
		return nil, errNoAlerting
	}
	mc, notifiers, err := managerConfig(cfg, log)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	m, err := alerting.NewManager(ctx, db, mc)
	if err != nil {
		var ue error = err
		if errors.Is(err, alerting.ErrConfig) {
			ue = usageError{err.Error()}
		}
		return nil, ue
	}
	m.Logger = log
	as := &alertSystem{cfg: cfg.Alerting, m: m, receivers: notifiers, log: log}
	if err := as.buildChecks(cfg); err != nil {
		return nil, usageError{err.Error()}
	}
	if in := cfg.Alerting.Inputs; in != nil {
		tok, err := os.ReadFile(cfg.abs(in.TokenFile))
		if err != nil {
			return nil, fmt.Errorf("alerting.inputs.token_file: %w", err)
		}
		ic := input.Config{Sink: m, Tokens: []string{strings.TrimSpace(string(tok))}, FalcoLabelFields: in.FalcoLabelFields, Logger: log}
		for _, a := range in.Allow {
			ic.Allow = append(ic.Allow, input.Allow{Source: a.Source, Rule: a.Rule, MinSeverity: alerting.Severity(a.MinSeverity),
				MinFalcoPriority: a.MinFalcoPriority, MinOSSECLevel: a.MinOSSECLevel})
		}
		if as.input, err = input.New(ic); err != nil {
			return nil, usageError{"alerting.inputs: " + err.Error()}
		}
	}
	if rc := cfg.Alerting.Rules; rc != nil {
		if as.rules, err = newRuleRunner(ctx, cfg, db, log); err != nil {
			return nil, err
		}
		as.rules.Notifier = m
	}
	return as, nil
}

// newRuleRunner loads the rule files and connects to Elasticsearch.
func newRuleRunner(ctx context.Context, cfg *Config, db *sqlstore.DB, log *slog.Logger) (*esrule.Runner, error) {
	rc := cfg.Alerting.Rules
	if len(rc.URLs) == 0 || rc.Dir == "" {
		return nil, usageError{"alerting.rules: dir and urls are required"}
	}
	rules, err := esrule.LoadDir(cfg.abs(rc.Dir))
	if err != nil {
		return nil, usageError{"alerting.rules: " + err.Error()}
	}
	client, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: rc.URLs})
	if err != nil {
		return nil, fmt.Errorf("alerting.rules.urls: %w", err)
	}
	store, err := esrule.OpenStore(ctx, db)
	if err != nil {
		return nil, err
	}
	return &esrule.Runner{Client: client, Store: store, Rules: rules, Logger: log}, nil
}

// buildChecks turns the checks and heartbeats of opsd.yaml into Runner
// entries.
func (as *alertSystem) buildChecks(cfg *Config) error {
	ac := cfg.Alerting
	if len(ac.Heartbeats) > 0 {
		tokens := map[string]string{}
		for i, h := range ac.Heartbeats {
			t, err := secretEnv(fmt.Sprintf("alerting.heartbeats[%d].token_env", i), h.TokenEnv)
			if err != nil {
				return err
			}
			tokens[h.Host] = t
		}
		hb, err := check.NewHeartbeats(tokens)
		if err != nil {
			return fmt.Errorf("alerting.heartbeats: %w", err)
		}
		hb.Logger = as.log
		as.heartbeats = hb
		for i, h := range ac.Heartbeats {
			grace, err := parseDur(fmt.Sprintf("alerting.heartbeats[%d].grace", i), h.Grace, 5*time.Minute)
			if err != nil {
				return err
			}
			as.entries = append(as.entries, check.Entry{Name: "heartbeat", Host: h.Host, Alertname: "HostUnresponsive",
				Check: hb.Check(h.Host, grace), FailuresToFire: 1, Interval: min(grace/4, time.Minute)})
		}
	}
	for i, c := range ac.Checks {
		f := fmt.Sprintf("alerting.checks[%d] (%s)", i, c.Name)
		e := check.Entry{Name: c.Name, Host: c.Host, Instance: c.Instance, Alertname: c.Alertname, Labels: alerting.Labels(c.Labels),
			Severity: alerting.Severity(c.Severity), FailuresToFire: c.FailuresToFire, SuccessesToResolve: c.SuccessesToResolve}
		var err error
		if e.Interval, err = parseDur(f+".interval", c.Interval, 0); err != nil {
			return err
		}
		if c.Component != "" {
			if e.Labels == nil {
				e.Labels = alerting.Labels{}
			}
			e.Labels["component"] = c.Component
		}
		n := 0
		if c.TCP != nil {
			n++
			t := &check.TCP{Addr: c.TCP.Addr, Mode: check.Mode(c.TCP.Mode)}
			switch t.Mode {
			case check.Auto, check.Connect, check.SSH, check.TLS:
			default:
				return fmt.Errorf("%s.tcp.mode: %q (use connect, ssh or tls; empty: by port)", f, c.TCP.Mode)
			}
			if t.RootCAs, err = caPool(f+".tcp.ca_file", c.TCP.CAFile); err != nil {
				return err
			}
			if t.WarnWithin, err = parseDur(f+".tcp.cert_warn_within", c.TCP.WarnWithin, 0); err != nil {
				return err
			}
			if t.FailWithin, err = parseDur(f+".tcp.cert_fail_within", c.TCP.FailWithin, 0); err != nil {
				return err
			}
			if e.Alertname == "" {
				e.Alertname = "PortDown"
			}
			e.Check = t
		}
		if c.HTTP != nil {
			n++
			h := &check.HTTP{URL: c.HTTP.URL, Status: c.HTTP.Status, BodyContains: c.HTTP.BodyContains}
			for _, s := range c.HTTP.JSON {
				cond, err := check.ParseCondition(s)
				if err != nil {
					return fmt.Errorf("%s.http.json: %w", f, err)
				}
				h.JSON = append(h.JSON, cond)
			}
			if h.MaxLatency, err = parseDur(f+".http.max_latency", c.HTTP.MaxLatency, 0); err != nil {
				return err
			}
			if h.RootCAs, err = caPool(f+".http.ca_file", c.HTTP.CAFile); err != nil {
				return err
			}
			if e.Alertname == "" {
				e.Alertname = "StatusNotOK"
			}
			e.Check = h
		}
		if c.Resources != nil {
			n++
			hold, err := parseDur(f+".resources.for", c.Resources.For, 5*time.Minute)
			if err != nil {
				return err
			}
			r := &check.Resources{}
			for metric, max := range c.Resources.Limits {
				r.Limits = append(r.Limits, check.Limit{Metric: metric, Max: max, For: hold})
			}
			for _, metric := range c.Resources.Unusual {
				r.Unusual = append(r.Unusual, check.Unusual{Metric: metric})
			}
			if e.Alertname == "" {
				e.Alertname = "HostResources"
			}
			e.Status = check.DegradedPerformance
			e.Check = r
		}
		if n != 1 {
			return fmt.Errorf("%s: exactly one of tcp, http and resources", f)
		}
		as.entries = append(as.entries, e)
	}
	return nil
}

var componentRef = regexp.MustCompile(`^([a-z0-9][a-z0-9-]*)/(.+)$`)

// statusObserver sets status page components from check results.
type statusObserver struct {
	h    *statuspage.Handler
	log  *slog.Logger
	last map[string]check.ComponentStatus
}

func (o *statusObserver) Observe(ctx context.Context, ev check.Event) {
	ref := ev.Labels["component"]
	m := componentRef.FindStringSubmatch(ref)
	if m == nil || o.h == nil {
		return
	}
	if o.last[ref] == ev.Status {
		return
	}
	page, err := o.h.Page(m[1])
	if err != nil {
		o.log.Warn("opsd: check names an unknown status page", "component", ref, "error", err)
		return
	}
	id := ""
	for _, c := range page.Components {
		if c.ID == m[2] || c.Name == m[2] {
			id = c.ID
		}
	}
	if id == "" {
		o.log.Warn("opsd: check names an unknown status page component", "component", ref)
		return
	}
	if err := o.h.SetComponentStatus(ctx, m[1], id, statuspage.ComponentStatus(ev.Status), ev.Result.Message); err != nil {
		o.log.Warn("opsd: setting status page component from a check", "component", ref, "error", err)
		return
	}
	o.last[ref] = ev.Status
}

// mount serves the acknowledge links, the inputs and the heartbeats.
func (as *alertSystem) mount(mux *http.ServeMux) {
	mux.Handle("/alerts/ack", as.m.AckHandler())
	if as.input != nil {
		mux.Handle("/api/alerts/", http.StripPrefix("/api/alerts", as.input))
	}
	if as.heartbeats != nil {
		mux.Handle("/heartbeat/", http.StripPrefix("/heartbeat", as.heartbeats))
	}
}

// run drives the Manager and the checks while this daemon holds the
// alerting lock (always, on SQLite; one daemon of several on PostgreSQL).
func (as *alertSystem) run(ctx context.Context, db *sqlstore.DB, status *statuspage.Handler) error {
	for waited := false; ; waited = true {
		unlock, ok, err := db.TryLock(ctx, "opsd/alerting")
		if err != nil {
			as.log.Error("opsd: alerting lock", "error", err)
		}
		if ok {
			defer unlock()
			if waited {
				// Another daemon ran the Manager meanwhile: start from
				// the state it stored.
				if err := as.m.Reload(ctx); err != nil {
					return err
				}
			}
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(30 * time.Second):
		}
	}
	errc := make(chan error, 2)
	go func() { errc <- as.m.Run(ctx) }()
	n := 1
	if len(as.entries) > 0 {
		r, err := check.NewRunner(check.RunnerConfig{Entries: as.entries, Notifier: as.m, Logger: as.log,
			Observer: &statusObserver{h: status, log: as.log, last: map[string]check.ComponentStatus{}}})
		if err != nil {
			return err
		}
		n++
		go func() { errc <- r.Run(ctx) }()
	}
	if as.rules != nil {
		n++
		go func() {
			err := as.rules.Run(ctx)
			if ctx.Err() != nil {
				err = nil // stopped, as asked
			}
			errc <- err
		}()
	}
	var errs error
	for range n {
		errs = errors.Join(errs, <-errc)
	}
	return errs
}

// writeMetrics writes the Manager's state for /metrics: watch the watcher
// (a growing outbox means a receiver is down).
func (as *alertSystem) writeMetrics(w io.Writer) {
	groups := as.m.Groups()
	var firing, acked, muted int
	for _, g := range groups {
		firing += len(g.Alerts) - g.Muted
		muted += g.Muted
		if g.Acked {
			acked++
		}
	}
	pending, failed := map[string]int{}, map[string]int{}
	for _, p := range as.m.Outbox() {
		if p.Failed {
			failed[p.Receiver]++
		} else {
			pending[p.Receiver]++
		}
	}
	fmt.Fprintf(w, "# HELP opsd_alert_groups Alert groups open.\n# TYPE opsd_alert_groups gauge\nopsd_alert_groups %d\n", len(groups))
	fmt.Fprintf(w, "# HELP opsd_alert_groups_acknowledged Alert groups acknowledged.\n# TYPE opsd_alert_groups_acknowledged gauge\nopsd_alert_groups_acknowledged %d\n", acked)
	fmt.Fprintf(w, "# HELP opsd_alerts Alerts in open groups, by state.\n# TYPE opsd_alerts gauge\nopsd_alerts{state=\"active\"} %d\nopsd_alerts{state=\"muted\"} %d\n", firing, muted)
	fmt.Fprintf(w, "# HELP opsd_alert_notifications_undelivered Notifications waiting in the outbox, by receiver and state.\n# TYPE opsd_alert_notifications_undelivered gauge\n")
	for _, rc := range as.cfg.Receivers {
		fmt.Fprintf(w, "opsd_alert_notifications_undelivered{receiver=%q,state=\"retrying\"} %d\n", rc.Name, pending[rc.Name])
		fmt.Fprintf(w, "opsd_alert_notifications_undelivered{receiver=%q,state=\"failed\"} %d\n", rc.Name, failed[rc.Name])
	}
}
