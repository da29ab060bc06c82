package email

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/opskit/opskit/alerting"
)

// TLSMode says how the connection to the SMTP server is encrypted.
type TLSMode int

const (
	// StartTLS (the default) upgrades the connection with STARTTLS and
	// fails if the server does not offer it.
	StartTLS TLSMode = iota
	// ImplicitTLS speaks TLS from the first byte ("SMTPS", port 465).
	ImplicitTLS
	// StartTLSIfOffered is the opt-out: it uses STARTTLS when the server
	// offers it and otherwise sends the message in clear text, readable
	// and alterable on the way. Use it only for a relay on the same host
	// or a trusted network. Credentials are never sent in clear text: with
	// Username set and no TLS, Notify fails.
	StartTLSIfOffered
)

// Config configures a Notifier. Host, From and To are required.
type Config struct {
	// Host and Port address the SMTP server; Port defaults to 587 (465
	// with ImplicitTLS).
	Host string
	Port int
	// TLS selects the encryption; the zero value requires STARTTLS.
	TLS TLSMode
	// RootCAs verifies the server certificate; nil means the system pool.
	RootCAs *x509.CertPool
	// ServerName is the name verified in the certificate; default Host.
	ServerName string
	// Username and Password, when Username is set, authenticate with AUTH
	// PLAIN, only ever over TLS.
	Username, Password string
	// From is the sender address ("opsd <opsd@example.com>" or a bare address).
	From string
	// To are the recipient addresses.
	To []string
	// SubjectPrefix starts every subject, e.g. "[prod]"; default none.
	SubjectPrefix string
	// HelloName is sent in EHLO; default "localhost".
	HelloName string
	// Location is the time zone times are shown in; nil means UTC.
	Location *time.Location
	// Timeout bounds each SMTP conversation; default 30 s.
	Timeout time.Duration
	// Logger receives debug records of deliveries; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Notifier sends alerts by email. It is safe for concurrent use; each
// Notify opens its own SMTP connection.
type Notifier struct {
	cfg    Config
	from   *mail.Address
	to     []string
	domain string
}

var _ alerting.Notifier = (*Notifier)(nil)

// New validates cfg and returns a Notifier.
func New(cfg Config) (*Notifier, error) {
	if cfg.Host == "" {
		return nil, errors.New("email: Host is required")
	}
	if cfg.TLS < StartTLS || cfg.TLS > StartTLSIfOffered {
		return nil, fmt.Errorf("email: unknown TLS mode %d", cfg.TLS)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS == ImplicitTLS {
			cfg.Port = 465
		}
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("email: bad Port %d", cfg.Port)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("email: From: %w", err)
	}
	if len(cfg.To) == 0 {
		return nil, errors.New("email: To needs at least one address")
	}
	n := &Notifier{from: from}
	for _, t := range cfg.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("email: To: %w", err)
		}
		n.to = append(n.to, a.String())
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("email: Password without Username")
	}
	if cfg.ServerName == "" {
		cfg.ServerName = cfg.Host
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "localhost"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	n.cfg = cfg
	n.domain = "opskit.invalid"
	if i := strings.LastIndexByte(from.Address, '@'); i >= 0 && i+1 < len(from.Address) {
		n.domain = from.Address[i+1:]
	}
	return n, nil
}

// Notify sends one email listing alerts. Its Message-ID is derived from
// Delivery.Key, so a resent notification carries the same Message-ID and
// mail clients and servers can recognise the duplicate; all emails of a
// group share a References header (from Delivery.GroupKey), so clients
// thread them. Notify with no alerts sends nothing.
//
// SMTP 4xx replies and network failures are retryable; 5xx replies,
// certificate failures and a server without STARTTLS (when required) wrap
// alerting.ErrPermanent.
func (n *Notifier) Notify(ctx context.Context, alerts ...alerting.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("email: %w", err)
	}
	now := n.cfg.Now()
	v := newView(ctx, now, n.cfg.Location, alerts)
	msg, err := n.message(ctx, now, v)
	if err != nil {
		return err
	}
	client, stop, err := n.client(ctx)
	if err != nil {
		return err
	}
	defer stop()
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return n.classify(ctx, err)
	}
	n.cfg.Logger.DebugContext(ctx, "email sent", "status", v.Status, "alerts", len(alerts), "recipients", len(n.to))
	return nil
}

func (n *Notifier) message(ctx context.Context, now time.Time, v view) (*gomail.Msg, error) {
	text, html, err := render(v)
	if err != nil {
		return nil, fmt.Errorf("email: render: %w", errors.Join(err, alerting.ErrPermanent))
	}
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	m.FromMailAddress(n.from)
	if err := m.To(n.to...); err != nil {
		return nil, fmt.Errorf("email: To: %w", errors.Join(err, alerting.ErrPermanent))
	}
	subject := v.Subject()
	if n.cfg.SubjectPrefix != "" {
		subject = n.cfg.SubjectPrefix + " " + subject
	}
	m.Subject(oneLine(subject))
	m.SetDateWithValue(now)
	m.SetMessageIDWithValue("opskit." + hash(v.Key) + "@" + n.domain)
	if v.GroupKey != "" {
		ref := "<opskit.group." + hash(v.GroupKey) + "@" + n.domain + ">"
		m.SetGenHeaderPreformatted(gomail.HeaderReferences, ref)
		m.SetGenHeaderPreformatted(gomail.HeaderInReplyTo, ref)
	}
	m.SetGenHeader("Auto-Submitted", "auto-generated") // RFC 3834: no vacation replies
	m.SetGenHeader("X-Auto-Response-Suppress", "All")
	m.SetUserAgent("opskit-alerting")
	m.SetBodyString(gomail.TypeTextPlain, text)
	m.AddAlternativeString(gomail.TypeTextHTML, html)
	return m, nil
}

// client builds a go-mail client for one Notify. Its dialer ties the
// connection to ctx: cancelling ctx closes the connection, whatever SMTP
// command is waiting. stop releases that tie.
func (n *Notifier) client(ctx context.Context) (*gomail.Client, func(), error) {
	var conn net.Conn
	var stopClose func() bool
	tlsCfg := &tls.Config{ServerName: n.cfg.ServerName, RootCAs: n.cfg.RootCAs, MinVersion: tls.VersionTLS12}
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{}
		c, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		if n.cfg.TLS == ImplicitTLS {
			tc := tls.Client(c, tlsCfg)
			if err := tc.HandshakeContext(dctx); err != nil {
				c.Close()
				return nil, err
			}
			c = tc
		}
		conn = c
		stopClose = context.AfterFunc(ctx, func() { c.Close() })
		return c, nil
	}
	policy := gomail.TLSMandatory
	switch n.cfg.TLS {
	case ImplicitTLS:
		policy = gomail.NoTLS // the dialer did TLS already
	case StartTLSIfOffered:
		policy = gomail.TLSOpportunistic
	}
	opts := []gomail.Option{
		gomail.WithPort(n.cfg.Port),
		gomail.WithTimeout(n.cfg.Timeout),
		gomail.WithTLSPolicy(policy),
		gomail.WithTLSConfig(tlsCfg),
		gomail.WithHELO(n.cfg.HelloName),
		gomail.WithDialContextFunc(dial),
		gomail.WithoutNoop(),
	}
	if n.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(&plainAuth{user: n.cfg.Username, pass: n.cfg.Password}))
	} else {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthNoAuth))
	}
	c, err := gomail.NewClient(n.cfg.Host, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("email: client: %w", errors.Join(err, alerting.ErrPermanent))
	}
	stop := func() {
		if stopClose != nil {
			stopClose()
		}
		if conn != nil {
			conn.Close()
		}
	}
	return c, stop, nil
}

// errUnencrypted is returned instead of sending credentials in clear text.
var errUnencrypted = errors.New("refusing to send credentials over an unencrypted connection")

// plainAuth is AUTH PLAIN that insists on TLS even towards localhost
// (go-mail's exempts localhost).
type plainAuth struct{ user, pass string }

func (a *plainAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS {
		return "", nil, errUnencrypted
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a *plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected AUTH PLAIN challenge")
	}
	return nil, nil
}

// classify turns a go-mail error into the Manager's terms.
func (n *Notifier) classify(ctx context.Context, err error) error {
	where := fmt.Sprintf("email: %s:%d", n.cfg.Host, n.cfg.Port)
	msg := err.Error()
	if n.cfg.Password != "" {
		msg = strings.ReplaceAll(msg, n.cfg.Password, "[redacted]")
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", where, ctxErr)
	}
	var se *gomail.SendError
	var te *textproto.Error
	var ne net.Error
	var cve *tls.CertificateVerificationError
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var cie x509.CertificateInvalidError
	switch {
	case errors.As(err, &te):
		if te.Code >= 500 {
			return fmt.Errorf("%s: %s: %w", where, msg, alerting.ErrPermanent)
		}
		return fmt.Errorf("%s: %s", where, msg)
	case errors.As(err, &se):
		if !se.IsTemp() && se.ErrorCode() >= 500 {
			return fmt.Errorf("%s: %s: %w", where, msg, alerting.ErrPermanent)
		}
		return fmt.Errorf("%s: %s", where, msg)
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &hne), errors.As(err, &cie),
		errors.Is(err, errUnencrypted):
		return fmt.Errorf("%s: %s: %w", where, msg, alerting.ErrPermanent)
	case errors.As(err, &ne), strings.Contains(msg, "EOF"), strings.Contains(msg, "connection reset"),
		strings.Contains(msg, "broken pipe"):
		return fmt.Errorf("%s: %s", where, msg)
	}
	// What remains is the server's or our configuration: no STARTTLS
	// offered, no AUTH offered, an address refused before sending.
	return fmt.Errorf("%s: %s: %w", where, msg, alerting.ErrPermanent)
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}
