package smtpmail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/opskit/opskit/statuspage"
)

// TLSMode is how the connection to the server is protected.
type TLSMode int

// The TLS modes.
const (
	// StartTLS requires STARTTLS on the submission port (default 587).
	StartTLS TLSMode = iota
	// ImplicitTLS speaks TLS from the start (default port 465).
	ImplicitTLS
	// NoTLS sends in clear text: only for a relay on loopback.
	NoTLS
)

// Config says how to reach the SMTP server.
type Config struct {
	Host string // required
	Port int    // default 587, or 465 with ImplicitTLS
	// Username and Password authenticate (the best mechanism the server
	// offers); none means no authentication.
	Username, Password string
	From               string // required: the sender address
	TLS                TLSMode
	TLSConfig          *tls.Config   // nil: system roots, ServerName Host
	Timeout            time.Duration // per connection; default 30 s
}

// Mailer sends mail through one SMTP server.
type Mailer struct {
	cfg    Config
	mu     sync.Mutex
	client *mail.Client
}

var _ statuspage.Mailer = (*Mailer)(nil)

// ErrConfig is returned by New for an incomplete Config.
var ErrConfig = errors.New("smtpmail: invalid configuration")

// New checks cfg and returns a Mailer.
func New(cfg Config) (*Mailer, error) {
	if cfg.Host == "" || cfg.From == "" || strings.ContainsAny(cfg.From, "\r\n") {
		return nil, fmt.Errorf("%w: Host and From are required", ErrConfig)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	opts := []mail.Option{mail.WithTimeout(cfg.Timeout)}
	switch cfg.TLS {
	case StartTLS:
		opts = append(opts, mail.WithTLSPortPolicy(mail.TLSMandatory))
	case ImplicitTLS:
		opts = append(opts, mail.WithSSLPort(false))
	case NoTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		return nil, fmt.Errorf("%w: TLS mode %d", ErrConfig, cfg.TLS)
	}
	if cfg.Port != 0 {
		opts = append(opts, mail.WithPort(cfg.Port))
	}
	if cfg.TLSConfig != nil {
		opts = append(opts, mail.WithTLSConfig(cfg.TLSConfig))
	}
	if cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	c, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return &Mailer{cfg: cfg, client: c}, nil
}

// Send delivers m to the server.
func (s *Mailer) Send(ctx context.Context, m statuspage.Mail) error {
	msg := mail.NewMsg(mail.WithEncoding(mail.EncodingQP), mail.WithCharset(mail.CharsetUTF8))
	if err := msg.From(s.cfg.From); err != nil {
		return fmt.Errorf("smtpmail: sender: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("smtpmail: recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	if m.Unsubscribe != "" {
		if strings.ContainsAny(m.Unsubscribe, "\r\n<>") {
			return fmt.Errorf("smtpmail: unsubscribe URL contains forbidden characters")
		}
		msg.SetGenHeader("List-Unsubscribe", "<"+m.Unsubscribe+">")
		msg.SetGenHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtpmail: send via %s: %w", s.cfg.Host, err)
	}
	return nil
}
