package smtpmail_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/opskit/opskit/statuspage"
	"github.com/opskit/opskit/statuspage/smtpmail"
)

type session struct{ got chan []byte }

func (s *session) Reset()                               {}
func (s *session) Logout() error                        { return nil }
func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *session) Data(r io.Reader) error               { b, err := io.ReadAll(r); s.got <- b; return err }

// server is a real SMTP server (go-smtp) on loopback, without STARTTLS.
func server(t *testing.T) (string, int, chan []byte) {
	got := make(chan []byte, 10)
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{got: got}, nil }))
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	return host, p, got
}

func TestSendRefusesCleartextUnlessAsked(t *testing.T) {
	host, port, got := server(t)
	m, err := smtpmail.New(smtpmail.Config{Host: host, Port: port, From: "status@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	mail := statuspage.Mail{To: "a@example.com", Subject: "s", Text: "t", Unsubscribe: "https://x.example/unsubscribe?t=1"}
	if err := m.Send(context.Background(), mail); err == nil {
		t.Fatal("sent without STARTTLS although TLS is required")
	}
	m, _ = smtpmail.New(smtpmail.Config{Host: host, Port: port, From: "status@example.com", TLS: smtpmail.NoTLS})
	mail.Unsubscribe = "https://x.example/u>\r\nBcc: evil@example.com"
	if err := m.Send(context.Background(), mail); err == nil {
		t.Fatal("a header was injected through the unsubscribe URL")
	}
	if len(got) != 0 {
		t.Fatal("a refused mail reached the server")
	}
}

func ExampleNew() {
	_, err := smtpmail.New(smtpmail.Config{Host: "smtp.example.com"}) // no From
	fmt.Println(errors.Is(err, smtpmail.ErrConfig))
	// Output: true
}
