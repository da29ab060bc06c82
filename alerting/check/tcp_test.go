package check_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/check"
	"github.com/opskit/opskit/internal/sshtest"
)

// listen returns a loopback listener that accepts connections, hands each
// to serve (if any) and closes it.
func listen(t *testing.T, serve func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if serve != nil {
					serve(c)
				}
			}()
		}
	}()
	return ln
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestTCPConnect(t *testing.T) {
	ln := listen(t, nil)
	r := (&check.TCP{Addr: ln.Addr().String()}).Check(context.Background())
	if !r.OK || r.Values["connect_ms"] < 0 {
		t.Fatalf("listening port: %+v", r)
	}
	r = (&check.TCP{Addr: closedAddr(t)}).Check(context.Background())
	if r.OK || !strings.Contains(r.Message, "not listening") || !strings.Contains(r.Message, "refused") {
		t.Fatalf("closed port: %+v", r)
	}
	r = (&check.TCP{Addr: "no-port"}).Check(context.Background())
	if r.OK || !strings.Contains(r.Message, "bad address") {
		t.Fatalf("bad address: %+v", r)
	}
}

func TestTCPSSHRealSSHD(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{HostKeys: []string{sshtest.Ed25519}})
	r := (&check.TCP{Addr: srv.Addr, Mode: check.SSH}).Check(context.Background())
	if !r.OK || !strings.HasPrefix(r.Message, "SSH-2.0 OpenSSH_") {
		t.Fatalf("real sshd: %+v", r)
	}
}

func TestTCPSSHBanners(t *testing.T) {
	for _, tc := range []struct {
		banner string
		ok     bool
		msg    string
	}{
		{"SSH-2.0-dropbear_2022.83\r\n", true, "SSH-2.0 dropbear_2022.83"},
		{"Welcome\r\nto the host\r\nSSH-2.0-Foo_1.0 comment\r\n", true, "SSH-2.0 Foo_1.0"},
		{"SSH-1.99-Legacy\r\n", true, "SSH-1.99 Legacy"},
		{"SSH-1.5-Old\r\n", false, "protocol 1.5"},
		{"SSH-2.0-\r\n", false, "no software version"},
		{"HTTP/1.1 400 Bad Request\r\n\r\n", false, "SSH banner"},
		{"SSH-2.0-" + strings.Repeat("x", 300) + "\r\n", false, "too long"},
		{"SSH-2.0-\x1b[31mevil\r\n", true, "SSH-2.0 ?[31mevil"},
		{"", false, "EOF"},
	} {
		ln := listen(t, func(c net.Conn) { c.Write([]byte(tc.banner)) })
		r := (&check.TCP{Addr: ln.Addr().String(), Mode: check.SSH}).Check(context.Background())
		if r.OK != tc.ok || !strings.Contains(r.Message, tc.msg) {
			t.Errorf("banner %q: %+v, want ok=%v and %q", tc.banner, r, tc.ok, tc.msg)
		}
	}
}

func TestTCPSSHSilentServerTimesOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	ln := listen(t, func(c net.Conn) { <-release })
	r := (&check.TCP{Addr: ln.Addr().String(), Mode: check.SSH, Timeout: 100 * time.Millisecond}).Check(context.Background())
	if r.OK || !strings.Contains(r.Message, "timeout") {
		t.Fatalf("silent server: %+v", r)
	}
}

// pki is a test CA that issues certificates for 127.0.0.1.
type pki struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T, now time.Time) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &pki{cert: cert, key: key, pool: pool}
}

func (ca *pki) leaf(t *testing.T, notAfter time.Time, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "leaf"},
		NotBefore:    notAfter.Add(-90 * 24 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     names,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}
}

// tlsServer serves TLS with cert on loopback and returns its address.
func tlsServer(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln := listen(t, func(c net.Conn) {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		_ = tc.Handshake()
		buf := make([]byte, 1)
		_, _ = tc.Read(buf) // until the client hangs up
	})
	return ln.Addr().String()
}

func TestTCPTLSExpiry(t *testing.T) {
	now := time.Now()
	ca := newCA(t, now)
	day := 24 * time.Hour
	for _, tc := range []struct {
		name     string
		notAfter time.Time
		ok       bool
		severity alerting.Severity
		days     float64
	}{
		{"healthy", now.Add(60*day + time.Hour), true, "", 60},
		{"warn", now.Add(10*day + time.Hour), false, alerting.Warning, 10},
		{"fail", now.Add(3*day + time.Hour), false, "", 3},
	} {
		addr := tlsServer(t, ca.leaf(t, tc.notAfter))
		c := &check.TCP{Addr: addr, Mode: check.TLS, RootCAs: ca.pool,
			WarnWithin: 30 * day, FailWithin: 7 * day, Now: func() time.Time { return now }}
		r := c.Check(context.Background())
		if r.OK != tc.ok || r.Severity != tc.severity || r.Values["cert_days_left"] != tc.days {
			t.Errorf("%s: %+v, want ok=%v severity=%q days=%v", tc.name, r, tc.ok, tc.severity, tc.days)
		}
		if !strings.Contains(r.Message, "expires in") {
			t.Errorf("%s: message %q", tc.name, r.Message)
		}
		if !tc.ok && r.Status != check.Operational {
			t.Errorf("%s: status %q, an expiring certificate still serves", tc.name, r.Status)
		}
	}
}

func TestTCPTLSVerification(t *testing.T) {
	now := time.Now()
	ca, other := newCA(t, now), newCA(t, now)
	good := tlsServer(t, ca.leaf(t, now.Add(90*24*time.Hour), "example.test"))

	r := (&check.TCP{Addr: good, Mode: check.TLS, RootCAs: other.pool}).Check(context.Background())
	if r.OK || !strings.Contains(r.Message, "unknown authority") {
		t.Errorf("wrong CA: %+v", r)
	}
	r = (&check.TCP{Addr: good, Mode: check.TLS, RootCAs: ca.pool, ServerName: "other.test"}).Check(context.Background())
	if r.OK || !strings.Contains(r.Message, "not valid for other.test") {
		t.Errorf("wrong name: %+v", r)
	}
	r = (&check.TCP{Addr: good, Mode: check.TLS, RootCAs: ca.pool, ServerName: "example.test"}).Check(context.Background())
	if !r.OK {
		t.Errorf("right name: %+v", r)
	}
	expired := tlsServer(t, ca.leaf(t, now.Add(-time.Hour)))
	r = (&check.TCP{Addr: expired, Mode: check.TLS, RootCAs: ca.pool}).Check(context.Background())
	if r.OK || !strings.Contains(r.Message, "expired") || r.Status != "" {
		t.Errorf("expired: %+v", r)
	}
	plain := listen(t, func(c net.Conn) { c.Write([]byte("SSH-2.0-x\r\n")) })
	r = (&check.TCP{Addr: plain.Addr().String(), Mode: check.TLS, RootCAs: ca.pool}).Check(context.Background())
	if r.OK || !strings.Contains(r.Message, "TLS handshake") {
		t.Errorf("not TLS: %+v", r)
	}
}
