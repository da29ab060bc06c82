package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/opskit/opskit/alerting"
)

// Config configures a Notifier. URL is required; the rest is optional.
type Config struct {
	// URL receives the POST.
	URL string
	// ExternalURL is sent as the payload's externalURL: where a person
	// finds opsd (its dashboard or API).
	ExternalURL string
	// BearerToken, when set, is sent as "Authorization: Bearer TOKEN".
	BearerToken string
	// Username and Password, when Username is set, are sent as HTTP basic
	// authentication. Use BearerToken or basic authentication, not both.
	Username, Password string
	// SigningSecret, when set, signs each body (see SignatureHeader, Verify).
	SigningSecret []byte
	// Header holds extra request headers.
	Header http.Header
	// Client sends the requests; nil means NewClient().
	Client *http.Client
	// Logger receives debug records of deliveries; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Notifier posts alerts as Alertmanager webhook v4 JSON. It is safe for
// concurrent use.
type Notifier struct {
	cfg Config
}

var _ alerting.Notifier = (*Notifier)(nil)

// New validates cfg and returns a Notifier.
func New(cfg Config) (*Notifier, error) {
	if err := ValidateURL("webhook: URL", cfg.URL); err != nil {
		return nil, err
	}
	if cfg.BearerToken != "" && cfg.Username != "" {
		return nil, errors.New("webhook: set BearerToken or Username/Password, not both")
	}
	if cfg.Client == nil {
		cfg.Client = NewClient()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Notifier{cfg: cfg}, nil
}

// Notify posts one Message holding alerts. The request carries the header
// Idempotency-Key (Delivery.Key, or a key derived from the alerts), so a
// receiver can drop the duplicates that at-least-once delivery produces.
// Notify with no alerts sends nothing.
func (n *Notifier) Notify(ctx context.Context, alerts ...alerting.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	now := n.cfg.Now()
	msg := NewMessage(ctx, now, n.cfg.ExternalURL, alerts)
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("webhook: encode: %w", errors.Join(err, alerting.ErrPermanent))
	}
	req, err := NewRequest(ctx, n.cfg.URL, body)
	if err != nil {
		return err
	}
	req.Header.Set("Idempotency-Key", Key(ctx, now, alerts))
	for k, vs := range n.cfg.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	switch {
	case n.cfg.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+n.cfg.BearerToken)
	case n.cfg.Username != "":
		req.SetBasicAuth(n.cfg.Username, n.cfg.Password)
	}
	if len(n.cfg.SigningSecret) > 0 {
		req.Header.Set(SignatureHeader, Sign(n.cfg.SigningSecret, now, body))
	}
	if err := Post(n.cfg.Client, req, n.cfg.BearerToken, n.cfg.Password, string(n.cfg.SigningSecret)); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	n.cfg.Logger.DebugContext(ctx, "webhook delivered", "group_key", msg.GroupKey, "alerts", len(alerts), "status", msg.Status)
	return nil
}
