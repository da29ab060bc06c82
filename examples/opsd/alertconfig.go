package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/opskit/opskit/alerting"
)

// AlertingConfig is the alerting section of opsd.yaml: receivers, routes
// with on-call escalation, inhibitions, checks, log rules and inputs. The
// Manager's state lives in the daemon's store. Durations are Go durations
// ("30s", "10m", "4h").
type AlertingConfig struct {
	// ExternalURL is where people reach this daemon, for the acknowledge
	// links in notifications (default http://LISTEN).
	ExternalURL string `yaml:"external_url,omitempty"`
	// AckKeyFile holds the key that signs acknowledge links (default
	// keys/ack.key; created with mode 0600 when missing).
	AckKeyFile     string           `yaml:"ack_key_file,omitempty"`
	AckTimeout     string           `yaml:"ack_timeout,omitempty"`
	ResolveTimeout string           `yaml:"resolve_timeout,omitempty"`
	Receivers      []ReceiverConfig `yaml:"receivers"`
	Routes         []RouteConfig    `yaml:"routes,omitempty"`
	Default        RouteConfig      `yaml:"default"`
	Inhibit        []InhibitConfig  `yaml:"inhibit,omitempty"`
	// Watchdog sends an always-firing heartbeat alert to a receiver (a
	// dead-man's-switch service) every interval.
	Watchdog *WatchdogConfig `yaml:"watchdog,omitempty"`
	Checks   []CheckConfig   `yaml:"checks,omitempty"`
	// Heartbeats: hosts that POST /heartbeat/HOST with their token; a host
	// silent for longer than its grace is "unresponsive".
	Heartbeats []HeartbeatConfig `yaml:"heartbeats,omitempty"`
	// Inputs accepts alerts over HTTP at /api/alerts/{alertmanager,falco,ossec}.
	Inputs *InputsConfig `yaml:"inputs,omitempty"`
	// Rules runs ElastAlert rule files over Elasticsearch.
	Rules *RulesConfig `yaml:"rules,omitempty"`
	// JobAlerts turns failed backups, drills and log pruning into alerts
	// (default true).
	JobAlerts *bool `yaml:"job_alerts,omitempty"`
}

// RulesConfig is a directory of ElastAlert rule files (*.yaml) and the
// Elasticsearch cluster they query.
type RulesConfig struct {
	Dir  string   `yaml:"dir"`
	URLs []string `yaml:"urls"`
}

// ReceiverConfig is one destination. Secrets come from environment
// variables (*_env) or files (*_file), never from opsd.yaml itself.
type ReceiverConfig struct {
	Name       string             `yaml:"name"`
	NoResolved bool               `yaml:"no_resolved,omitempty"`
	Log        *struct{}          `yaml:"log,omitempty"` // the daemon's log (audit.log), for trying things out
	Email      *EmailReceiver     `yaml:"email,omitempty"`
	Webhook    *WebhookReceiver   `yaml:"webhook,omitempty"`
	Slack      *SlackReceiver     `yaml:"slack,omitempty"`
	PagerDuty  *PagerDutyReceiver `yaml:"pagerduty,omitempty"`
}

// EmailReceiver sends mail over SMTP; STARTTLS is required unless tls says
// otherwise ("starttls", "implicit", "starttls_if_offered").
type EmailReceiver struct {
	Host        string   `yaml:"host"`
	Port        int      `yaml:"port,omitempty"`
	TLS         string   `yaml:"tls,omitempty"`
	CAFile      string   `yaml:"ca_file,omitempty"`
	Username    string   `yaml:"username,omitempty"`
	PasswordEnv string   `yaml:"password_env,omitempty"`
	From        string   `yaml:"from"`
	To          []string `yaml:"to"`
	Subject     string   `yaml:"subject_prefix,omitempty"`
	TimeZone    string   `yaml:"time_zone,omitempty"`
}

// WebhookReceiver posts Alertmanager webhook v4 JSON.
type WebhookReceiver struct {
	URL              string `yaml:"url"`
	TokenEnv         string `yaml:"token_env,omitempty"`
	SigningSecretEnv string `yaml:"signing_secret_env,omitempty"`
}

// SlackReceiver posts to a Slack or Mattermost incoming webhook, whose URL
// is a credential: give it in an environment variable or a file.
type SlackReceiver struct {
	URLEnv  string `yaml:"url_env,omitempty"`
	URLFile string `yaml:"url_file,omitempty"`
	Channel string `yaml:"channel,omitempty"`
}

// PagerDutyReceiver sends PagerDuty Events API v2 events.
type PagerDutyReceiver struct {
	RoutingKeyEnv string `yaml:"routing_key_env"`
	URL           string `yaml:"url,omitempty"`
}

// RouteConfig routes matching alerts to an escalation policy. Receivers
// is a shorthand for a single level.
type RouteConfig struct {
	Name           string        `yaml:"name,omitempty"`
	Match          []string      `yaml:"match,omitempty"` // matchers: severity="critical", host=~"db.*"
	Continue       bool          `yaml:"continue,omitempty"`
	GroupBy        []string      `yaml:"group_by,omitempty"`
	GroupWait      string        `yaml:"group_wait,omitempty"`
	GroupInterval  string        `yaml:"group_interval,omitempty"`
	RepeatInterval string        `yaml:"repeat_interval,omitempty"`
	Receivers      []string      `yaml:"receivers,omitempty"`
	Levels         []LevelConfig `yaml:"levels,omitempty"`
	Repeat         int           `yaml:"repeat,omitempty"`
	RepeatAfter    string        `yaml:"repeat_after,omitempty"`
}

// LevelConfig is one escalation level.
type LevelConfig struct {
	After     string          `yaml:"after,omitempty"`
	Receivers []string        `yaml:"receivers"`
	When      *ScheduleConfig `yaml:"when,omitempty"`
}

// ScheduleConfig is a weekly schedule in a time zone, e.g. nights and
// weekends: windows [{days: [mon,tue,wed,thu,fri], from: "19:00", to: "08:00"}, {days: [sat,sun]}].
type ScheduleConfig struct {
	TimeZone string         `yaml:"time_zone,omitempty"`
	Windows  []WindowConfig `yaml:"windows"`
}

// WindowConfig is a daily time range on some days (all days if none).
type WindowConfig struct {
	Days []string `yaml:"days,omitempty"`
	From string   `yaml:"from,omitempty"` // "19:00"; empty with To empty: the whole day
	To   string   `yaml:"to,omitempty"`
}

// InhibitConfig mutes target alerts while a source alert fires with the
// same values of the equal labels.
type InhibitConfig struct {
	Source []string `yaml:"source"`
	Target []string `yaml:"target"`
	Equal  []string `yaml:"equal,omitempty"`
}

// WatchdogConfig is the dead-man's-switch heartbeat.
type WatchdogConfig struct {
	Receiver string `yaml:"receiver"`
	Interval string `yaml:"interval,omitempty"`
}

// CheckConfig is one scheduled check; exactly one of tcp, http and
// resources is set. Component, as "PAGE/COMPONENT", makes the check set
// that status page component's status.
type CheckConfig struct {
	Name               string            `yaml:"name"`
	Host               string            `yaml:"host,omitempty"`
	Instance           string            `yaml:"instance,omitempty"`
	Alertname          string            `yaml:"alertname,omitempty"`
	Severity           string            `yaml:"severity,omitempty"`
	Interval           string            `yaml:"interval,omitempty"`
	FailuresToFire     int               `yaml:"failures_to_fire,omitempty"`
	SuccessesToResolve int               `yaml:"successes_to_resolve,omitempty"`
	Labels             map[string]string `yaml:"labels,omitempty"`
	Component          string            `yaml:"component,omitempty"`
	TCP                *TCPCheck         `yaml:"tcp,omitempty"`
	HTTP               *HTTPCheck        `yaml:"http,omitempty"`
	Resources          *ResourcesCheck   `yaml:"resources,omitempty"`
}

// TCPCheck: a port listening; mode auto (SSH banner on 22, TLS on 443),
// plain, ssh or tls.
type TCPCheck struct {
	Addr       string `yaml:"addr"`
	Mode       string `yaml:"mode,omitempty"`
	CAFile     string `yaml:"ca_file,omitempty"`
	WarnWithin string `yaml:"cert_warn_within,omitempty"`
	FailWithin string `yaml:"cert_fail_within,omitempty"`
}

// HTTPCheck: a URL answers as expected.
type HTTPCheck struct {
	URL          string   `yaml:"url"`
	Status       []int    `yaml:"status,omitempty"`
	BodyContains string   `yaml:"body_contains,omitempty"`
	JSON         []string `yaml:"json,omitempty"` // conditions: status.indicator == "none"
	MaxLatency   string   `yaml:"max_latency,omitempty"`
	CAFile       string   `yaml:"ca_file,omitempty"`
}

// ResourcesCheck: this host's CPU, memory, disk and load against limits
// held for a while, and against its own baseline.
type ResourcesCheck struct {
	Limits  map[string]float64 `yaml:"limits,omitempty"` // metric → max, e.g. cpu_percent: 90
	For     string             `yaml:"for,omitempty"`    // hold-down, default 5m
	Unusual []string           `yaml:"unusual,omitempty"`
}

// HeartbeatConfig is a host that checks in.
type HeartbeatConfig struct {
	Host     string `yaml:"host"`
	TokenEnv string `yaml:"token_env"`
	Grace    string `yaml:"grace,omitempty"` // default 5m
}

// InputsConfig enables the HTTP alert inputs.
type InputsConfig struct {
	TokenFile        string        `yaml:"token_file"`
	Allow            []AllowConfig `yaml:"allow,omitempty"`
	FalcoLabelFields []string      `yaml:"falco_label_fields,omitempty"`
}

// AllowConfig is an allow-list entry for inputs.
type AllowConfig struct {
	Source           string `yaml:"source,omitempty"` // alertmanager, falco, ossec
	Rule             string `yaml:"rule,omitempty"`
	MinSeverity      string `yaml:"min_severity,omitempty"`
	MinFalcoPriority string `yaml:"min_falco_priority,omitempty"`
	MinOSSECLevel    int    `yaml:"min_ossec_level,omitempty"`
}

func parseDur(field, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: %q is not a duration (e.g. 30s, 10m, 4h)", field, s)
	}
	return d, nil
}

func parseClock(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a clock time like 19:00", field, s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func (s *ScheduleConfig) schedule(field string) (*alerting.Schedule, error) {
	if s == nil {
		return nil, nil
	}
	out := &alerting.Schedule{Location: time.UTC}
	if s.TimeZone != "" {
		loc, err := time.LoadLocation(s.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("%s.time_zone: %w", field, err)
		}
		out.Location = loc
	}
	if len(s.Windows) == 0 {
		return nil, fmt.Errorf("%s: a schedule needs windows", field)
	}
	for i, w := range s.Windows {
		f := fmt.Sprintf("%s.windows[%d]", field, i)
		var win alerting.Window
		for _, d := range w.Days {
			wd, ok := weekdays[strings.ToLower(d)[:min(3, len(d))]]
			if !ok {
				return nil, fmt.Errorf("%s: day %q (use mon, tue, ...)", f, d)
			}
			win.Days = append(win.Days, wd)
		}
		var err error
		if win.From, err = parseClock(f+".from", w.From); err != nil {
			return nil, err
		}
		if win.To, err = parseClock(f+".to", w.To); err != nil {
			return nil, err
		}
		out.Windows = append(out.Windows, win)
	}
	return out, nil
}

func (r *RouteConfig) route(field string) (alerting.Route, error) {
	out := alerting.Route{Name: r.Name, Continue: r.Continue, GroupBy: r.GroupBy}
	for _, s := range r.Match {
		m, err := alerting.ParseMatcher(s)
		if err != nil {
			return out, fmt.Errorf("%s.match: %w", field, err)
		}
		out.Matchers = append(out.Matchers, m)
	}
	var err error
	if out.GroupWait, err = parseDur(field+".group_wait", r.GroupWait, 0); err != nil {
		return out, err
	}
	if out.GroupInterval, err = parseDur(field+".group_interval", r.GroupInterval, 0); err != nil {
		return out, err
	}
	if out.RepeatInterval, err = parseDur(field+".repeat_interval", r.RepeatInterval, 0); err != nil {
		return out, err
	}
	if out.Escalation.RepeatAfter, err = parseDur(field+".repeat_after", r.RepeatAfter, 0); err != nil {
		return out, err
	}
	out.Escalation.Repeat = r.Repeat
	if len(r.Receivers) > 0 && len(r.Levels) > 0 {
		return out, fmt.Errorf("%s: give receivers or levels, not both", field)
	}
	if len(r.Receivers) > 0 {
		out.Escalation.Levels = []alerting.Level{{Receivers: r.Receivers}}
	}
	for i, l := range r.Levels {
		f := fmt.Sprintf("%s.levels[%d]", field, i)
		lv := alerting.Level{Receivers: l.Receivers}
		if lv.After, err = parseDur(f+".after", l.After, 0); err != nil {
			return out, err
		}
		if lv.When, err = l.When.schedule(f + ".when"); err != nil {
			return out, err
		}
		out.Escalation.Levels = append(out.Escalation.Levels, lv)
	}
	return out, nil
}

func matchers(field string, ss []string) (alerting.Matchers, error) {
	var out alerting.Matchers
	for _, s := range ss {
		m, err := alerting.ParseMatcher(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// secretEnv reads a secret from the environment variable named by field.
func secretEnv(field, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("%s: environment variable %s is not set", field, name)
	}
	return v, nil
}

func caPool(field, path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate in %s", field, path)
	}
	return pool, nil
}

var errNoAlerting = errors.New("alerting is not configured in opsd.yaml")
