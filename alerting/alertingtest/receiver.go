package alertingtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mode tells a receiver how to answer deliveries.
type Mode int

// The modes. Each maps to what a real receiver does: HTTP status codes for
// HTTPReceiver, SMTP reply codes for SMTPReceiver.
const (
	Accept        Mode = iota // HTTP 200 (202 for PagerDuty-style receivers), SMTP 250
	FailTemporary             // HTTP 503, SMTP 451 4.3.0
	FailPermanent             // HTTP 400, SMTP 550 5.1.1
	Hang                      // hold the delivery until the client gives up or the receiver closes
)

// Message is one delivery a receiver accepted.
type Message struct {
	// Header holds the HTTP request headers, or for SMTP the envelope:
	// "Mail-From", "Rcpt-To" and "Auth-User" (the authenticated user).
	Header map[string][]string
	// Body is the HTTP request body, or the SMTP DATA (the whole message).
	Body []byte
}

// Receiver is the receiving side of a notifier under test.
type Receiver interface {
	// SetMode sets how the following deliveries are answered.
	SetMode(Mode)
	// Messages returns the accepted deliveries, oldest first.
	Messages() []Message
	// Held receives a value each time a delivery is being held in Hang mode.
	Held() <-chan struct{}
	// Close stops the receiver: further deliveries fail at the network level.
	Close()
}

type state struct {
	mu       sync.Mutex
	mode     Mode
	messages []Message
	arrived  chan struct{} // closed and replaced on each message
	held     chan struct{}
	done     chan struct{}
	doneOnce sync.Once
}

func newState() *state {
	return &state{held: make(chan struct{}, 64), done: make(chan struct{}), arrived: make(chan struct{})}
}

func (s *state) SetMode(m Mode) { s.mu.Lock(); s.mode = m; s.mu.Unlock() }
func (s *state) getMode() Mode  { s.mu.Lock(); defer s.mu.Unlock(); return s.mode }
func (s *state) Held() <-chan struct{} {
	return s.held
}
func (s *state) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}
func (s *state) add(m Message) {
	s.mu.Lock()
	s.messages = append(s.messages, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()
}

// Wait blocks until at least n messages have arrived (or ctx ends) and
// returns them all.
func (s *state) Wait(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		if len(s.messages) >= n {
			out := append([]Message(nil), s.messages...)
			s.mu.Unlock()
			return out, nil
		}
		ch := s.arrived
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("alertingtest: %d of %d messages arrived: %w", len(s.Messages()), n, ctx.Err())
		}
	}
}
func (s *state) release() { s.doneOnce.Do(func() { close(s.done) }) }

// HTTPReceiver is a real local HTTP server receiving webhook deliveries.
type HTTPReceiver struct {
	*state
	srv *httptest.Server
	// AcceptStatus is the status sent in Accept mode (default 200); set it
	// before the first delivery.
	AcceptStatus int
	closeOnce    sync.Once
}

// NewHTTPReceiver starts an HTTPReceiver on loopback, closed at the end of t.
func NewHTTPReceiver(t testing.TB) *HTTPReceiver {
	r := &HTTPReceiver{state: newState(), AcceptStatus: http.StatusOK}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

// URL returns the receiver's base URL (any path is accepted).
func (r *HTTPReceiver) URL() string { return r.srv.URL }

// Close releases held requests and stops the server.
func (r *HTTPReceiver) Close() {
	r.closeOnce.Do(func() {
		r.release()
		r.srv.Close()
	})
}

func (r *HTTPReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 10<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	switch r.getMode() {
	case FailTemporary:
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "receiver unavailable")
	case FailPermanent:
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"invalid payload"}`)
	case Hang:
		r.held <- struct{}{}
		select {
		case <-req.Context().Done():
		case <-r.done:
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		r.add(Message{Header: req.Header.Clone(), Body: body})
		w.WriteHeader(r.AcceptStatus)
		io.WriteString(w, `{"status":"success","message":"Event processed"}`)
	}
}

// SMTPConfig configures an SMTPReceiver.
type SMTPConfig struct {
	// Username and Password are the only credentials AUTH PLAIN accepts;
	// when Username is set, MAIL FROM requires authentication.
	Username, Password string
	// NoTLS makes the server offer no STARTTLS, like a misconfigured or
	// downgraded server.
	NoTLS bool
}

// SMTPReceiver is a real SMTP server (github.com/emersion/go-smtp) on
// loopback offering STARTTLS with a generated certificate (trust it with
// RootCAs) and AUTH PLAIN only over TLS.
type SMTPReceiver struct {
	*state
	cfg       SMTPConfig
	srv       *smtp.Server
	addr      *net.TCPAddr
	ln        net.Listener
	pool      *x509.CertPool
	closeOnce sync.Once
}

// NewSMTPReceiver starts an SMTPReceiver, closed at the end of t.
func NewSMTPReceiver(t testing.TB, cfg SMTPConfig) *SMTPReceiver {
	t.Helper()
	cert, pool, err := selfSigned()
	if err != nil {
		t.Fatalf("alertingtest: certificate: %v", err)
	}
	r := &SMTPReceiver{state: newState(), cfg: cfg, pool: pool}
	r.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{r: r}, nil
	}))
	r.srv.Domain = "localhost"
	r.srv.ErrorLog = log.New(io.Discard, "", 0) // clients that hang up are part of the tests
	if !cfg.NoTLS {
		r.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	} else {
		r.srv.AllowInsecureAuth = true // offer AUTH anyway: the client must refuse it
	}
	r.srv.MaxMessageBytes = 10 << 20
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("alertingtest: listen: %v", err)
	}
	r.addr = l.Addr().(*net.TCPAddr)
	r.ln = l
	go r.srv.Serve(l)
	t.Cleanup(r.Close)
	return r
}

// Host returns the server's host (127.0.0.1, named in its certificate).
func (r *SMTPReceiver) Host() string { return r.addr.IP.String() }

// Port returns the server's port.
func (r *SMTPReceiver) Port() int { return r.addr.Port }

// RootCAs returns a pool trusting the server's certificate.
func (r *SMTPReceiver) RootCAs() *x509.CertPool { return r.pool }

// Close releases held sessions and stops the server.
func (r *SMTPReceiver) Close() {
	r.closeOnce.Do(func() {
		r.release()
		r.ln.Close() // Serve may not have registered it with srv yet
		r.srv.Close()
	})
}

type session struct {
	r    *SMTPReceiver
	user string
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.r.cfg.Username || password != s.r.cfg.Password || username == "" {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.r.cfg.Username != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	switch s.r.getMode() {
	case FailTemporary:
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	case Hang:
		s.r.held <- struct{}{}
		<-s.r.done
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "shutting down"}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.r.getMode() == FailPermanent {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.from == "" || len(s.to) == 0 {
		return errors.New("no envelope")
	}
	s.r.add(Message{
		Header: map[string][]string{"Mail-From": {s.from}, "Rcpt-To": append([]string(nil), s.to...), "Auth-User": {s.user}},
		Body:   b,
	})
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost, valid for a
// day around now.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "alertingtest"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
