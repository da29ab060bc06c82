package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/webhook"
)

// Config configures a Notifier. URL is required.
type Config struct {
	// URL is the incoming-webhook URL. It embeds the credential (Slack:
	// https://hooks.slack.com/services/T…/B…/SECRET), so it never appears
	// in errors or logs.
	URL string
	// Channel, Username and IconEmoji override the webhook's defaults
	// where the service allows it (Mattermost does; newer Slack apps
	// ignore them). Empty means the webhook's own.
	Channel, Username, IconEmoji string
	// Client sends the requests; nil means webhook.NewClient().
	Client *http.Client
	// Logger receives debug records of deliveries; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Notifier posts alerts to a Slack or Mattermost incoming webhook. It is
// safe for concurrent use.
type Notifier struct {
	cfg Config
}

var _ alerting.Notifier = (*Notifier)(nil)

// New validates cfg and returns a Notifier.
func New(cfg Config) (*Notifier, error) {
	if err := webhook.ValidateURL("slack: URL", cfg.URL); err != nil {
		return nil, err
	}
	if cfg.Client == nil {
		cfg.Client = webhook.NewClient()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Notifier{cfg: cfg}, nil
}

// Payload is the incoming-webhook body: the subset of Slack's message
// format that Mattermost also accepts (text and legacy attachments).
type Payload struct {
	Text        string       `json:"text"`
	Channel     string       `json:"channel,omitempty"`
	Username    string       `json:"username,omitempty"`
	IconEmoji   string       `json:"icon_emoji,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Attachment is one alert, with a colour bar by severity.
type Attachment struct {
	Fallback   string   `json:"fallback"`
	Color      string   `json:"color"`
	Title      string   `json:"title"`
	TitleLink  string   `json:"title_link,omitempty"`
	Text       string   `json:"text,omitempty"`
	Fields     []Field  `json:"fields,omitempty"`
	Footer     string   `json:"footer,omitempty"`
	Timestamp  int64    `json:"ts,omitempty"`
	MarkdownIn []string `json:"mrkdwn_in,omitempty"`
}

// Field is a short name/value pair of an Attachment.
type Field struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

// Colours of the attachment bar.
const (
	ColorCritical = "#d00000"
	ColorWarning  = "#daa038"
	ColorInfo     = "#439fe0"
	ColorResolved = "#2eb886"
)

// NewPayload builds the message for alerts as delivered in ctx at now.
// Text from alerts is escaped (&, <, >), so an alert cannot forge a link
// or mention.
func NewPayload(ctx context.Context, now time.Time, alerts []alerting.Alert) Payload {
	d, _ := alerting.DeliveryFrom(ctx)
	firing := 0
	for _, a := range alerts {
		if !a.Resolved(now) {
			firing++
		}
	}
	var text strings.Builder
	if firing > 0 && !d.Resolved {
		fmt.Fprintf(&text, ":rotating_light: *FIRING: %d alert(s)*", firing)
	} else {
		text.WriteString(":white_check_mark: *RESOLVED*")
	}
	if r := len(alerts) - firing; r > 0 && firing > 0 {
		fmt.Fprintf(&text, ", %d resolved", r)
	}
	if d.Level > 0 {
		fmt.Fprintf(&text, " (escalation level %d)", d.Level)
	}
	if d.AckURL != "" {
		fmt.Fprintf(&text, "\n<%s|Acknowledge> (stops escalation)", linkURL(d.AckURL))
	}
	p := Payload{Text: text.String()}
	for _, a := range alerts {
		p.Attachments = append(p.Attachments, attachment(a, now))
	}
	return p
}

func attachment(a alerting.Alert, now time.Time) Attachment {
	name := a.Name()
	if name == "" {
		name = "alert"
	}
	summary := a.Summary
	if summary == "" {
		summary = a.Annotations["summary"]
	}
	status := a.Status(now)
	at := Attachment{
		Fallback:   fmt.Sprintf("[%s] %s: %s", status, name, summary),
		Color:      color(a, now),
		Title:      fmt.Sprintf("[%s] %s", status, escape(name)),
		Text:       escape(summary),
		Footer:     "opskit",
		Timestamp:  a.StartsAt.Unix(),
		MarkdownIn: []string{"text"},
	}
	if d := a.Annotations["description"]; d != "" {
		at.Text += "\n" + escape(d)
	}
	if rb := a.Annotations["runbook_url"]; strings.HasPrefix(rb, "https://") || strings.HasPrefix(rb, "http://") {
		at.TitleLink = rb
		at.Text += fmt.Sprintf("\n<%s|Runbook>", linkURL(rb))
	}
	if a.Severity != "" {
		at.Fields = append(at.Fields, Field{Title: "severity", Value: escape(string(a.Severity)), Short: true})
	}
	names := make([]string, 0, len(a.Labels))
	for k := range a.Labels {
		if k != "alertname" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		at.Fields = append(at.Fields, Field{Title: escape(k), Value: escape(a.Labels[k]), Short: true})
	}
	return at
}

func color(a alerting.Alert, now time.Time) string {
	if a.Resolved(now) {
		return ColorResolved
	}
	switch a.Severity {
	case alerting.Critical:
		return ColorCritical
	case alerting.Warning:
		return ColorWarning
	}
	return ColorInfo
}

// escape applies Slack's (and Mattermost's) three mandatory escapes.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// linkURL makes a URL safe inside <URL|text>.
func linkURL(u string) string {
	return strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C", " ", "%20").Replace(u)
}

// Notify posts one message holding alerts. 2xx means delivered; 408, 429,
// 5xx and network failures are retryable; other answers wrap
// alerting.ErrPermanent. Notify with no alerts sends nothing.
func (n *Notifier) Notify(ctx context.Context, alerts ...alerting.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	p := NewPayload(ctx, n.cfg.Now(), alerts)
	p.Channel, p.Username, p.IconEmoji = n.cfg.Channel, n.cfg.Username, n.cfg.IconEmoji
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("slack: encode: %w", errors.Join(err, alerting.ErrPermanent))
	}
	req, err := webhook.NewRequest(ctx, n.cfg.URL, body)
	if err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	if err := webhook.Post(n.cfg.Client, req, n.cfg.URL, secretPart(n.cfg.URL)); err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	n.cfg.Logger.DebugContext(ctx, "slack message posted", "alerts", len(alerts))
	return nil
}

// secretPart is the last path element of the webhook URL, Slack's token.
func secretPart(u string) string {
	u = strings.TrimRight(u, "/")
	if i := strings.LastIndexByte(u, '/'); i >= 0 && len(u)-i > 8 {
		return u[i+1:]
	}
	return ""
}
