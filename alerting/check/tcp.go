package check

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/opskit/opskit/alerting"
)

// Mode says what a TCP check does once connected.
type Mode string

// The TCP modes.
const (
	// Auto picks SSH on port 22, TLS on 443 and Connect otherwise.
	Auto Mode = ""
	// Connect only checks that the port accepts a connection.
	Connect Mode = "connect"
	// SSH reads the server's identification line and requires
	// "SSH-2.0-" (or "SSH-1.99-", which also speaks 2.0).
	SSH Mode = "ssh"
	// TLS completes a handshake, verifies the certificate chain and its
	// name, and checks how long until the earliest certificate expires.
	TLS Mode = "tls"
)

// Default certificate expiry thresholds of a TLS check.
const (
	DefaultWarnWithin = 21 * 24 * time.Hour
	DefaultFailWithin = 7 * 24 * time.Hour
)

// TCP checks that a port is listening, and depending on Mode that it
// speaks SSH or serves a valid TLS certificate that is not about to expire
// (blackbox_exporter's tcp_connect, ssh_banner and TLS probes).
//
// Results carry Values "connect_ms", and for TLS "cert_days_left" (whole
// days until the earliest expiry in the verified chain, negative once
// expired) and "cert_expiry_unix".
type TCP struct {
	// Addr is host:port. Required.
	Addr string
	// Mode; default Auto.
	Mode Mode
	// Timeout bounds the whole probe on top of ctx; default DefaultTimeout.
	Timeout time.Duration

	// ServerName is the name the certificate must be valid for; default
	// the host part of Addr.
	ServerName string
	// RootCAs verify the chain; nil means the system roots.
	RootCAs *x509.CertPool
	// WarnWithin: a certificate expiring within this fails the check with
	// severity Warning; default DefaultWarnWithin.
	WarnWithin time.Duration
	// FailWithin: expiring within this fails with the Entry's severity;
	// default DefaultFailWithin.
	FailWithin time.Duration
	// Now is the clock for verification and expiry; default time.Now.
	Now func() time.Time
}

// Check dials Addr and runs the Mode's probe.
func (c *TCP) Check(ctx context.Context) Result {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, portStr, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fail(fmt.Sprintf("bad address %q: %v", c.Addr, err), 0, nil)
	}
	mode := c.Mode
	if mode == Auto {
		switch portStr {
		case "22":
			mode = SSH
		case "443":
			mode = TLS
		default:
			mode = Connect
		}
	}
	start := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.Addr)
	latency := time.Since(start)
	values := map[string]float64{"connect_ms": float64(latency.Microseconds()) / 1000}
	if err != nil {
		return fail(fmt.Sprintf("%s not listening: %s", c.Addr, dialReason(err)), latency, values)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	switch mode {
	case Connect:
		return ok(c.Addr+" listening", latency, values)
	case SSH:
		r := readBanner(bufio.NewReaderSize(conn, maxBanner+2))
		r.Latency, r.Values = time.Since(start), values
		return r
	case TLS:
		if c.ServerName != "" {
			host = c.ServerName
		}
		r := c.tls(ctx, conn, host, values)
		r.Latency = time.Since(start)
		return r
	default:
		return fail(fmt.Sprintf("unknown mode %q", mode), latency, values)
	}
}

// dialReason shortens a dial error to what an operator needs.
func dialReason(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// maxBanner is RFC 4253's limit on an identification line (255 with CR LF);
// lines sent before it are limited the same way here.
const maxBanner = 255

// readBanner reads lines until the identification string "SSH-...": RFC
// 4253 §4.2 lets servers send other lines before it. br's buffer bounds a
// line.
func readBanner(br *bufio.Reader) Result {
	for range 20 {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return fail("SSH banner: line too long", 0, nil)
			}
			return fail(fmt.Sprintf("SSH banner: %v", err), 0, nil)
		}
		s := strings.TrimRight(string(line), "\r\n")
		if !strings.HasPrefix(s, "SSH-") {
			continue
		}
		proto, software, _ := strings.Cut(strings.TrimPrefix(s, "SSH-"), "-")
		software, _, _ = strings.Cut(software, " ")
		if proto != "2.0" && proto != "1.99" {
			return fail("SSH banner: protocol "+printable(proto, 16)+", want 2.0", 0, nil)
		}
		if software == "" {
			return fail("SSH banner: no software version", 0, nil)
		}
		return ok("SSH-"+proto+" "+printable(software, 64), 0, nil)
	}
	return fail("SSH banner: no identification line", 0, nil)
}

// printable keeps remote text safe for a one-line message: printable ASCII
// only, at most n bytes.
func printable(s string, n int) string {
	b := make([]byte, 0, min(len(s), n))
	for i := 0; i < len(s) && len(b) < n; i++ {
		if s[i] >= 0x20 && s[i] < 0x7f {
			b = append(b, s[i])
		} else {
			b = append(b, '?')
		}
	}
	return string(b)
}

func (c *TCP) tls(ctx context.Context, conn net.Conn, host string, values map[string]float64) Result {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	tc := tls.Client(conn, &tls.Config{
		ServerName: host,
		RootCAs:    c.RootCAs,
		Time:       now,
		MinVersion: tls.VersionTLS12,
	})
	if err := tc.HandshakeContext(ctx); err != nil {
		return fail(fmt.Sprintf("TLS handshake with %s: %s", c.Addr, tlsReason(err)), 0, values)
	}
	cs := tc.ConnectionState()
	var earliest time.Time
	for _, chain := range cs.VerifiedChains {
		for _, cert := range chain {
			if earliest.IsZero() || cert.NotAfter.Before(earliest) {
				earliest = cert.NotAfter
			}
		}
	}
	left := earliest.Sub(now())
	days := math.Floor(left.Hours() / 24)
	values["cert_days_left"] = days
	values["cert_expiry_unix"] = float64(earliest.Unix())
	warn, crit := c.WarnWithin, c.FailWithin
	if warn <= 0 {
		warn = DefaultWarnWithin
	}
	if crit <= 0 {
		crit = DefaultFailWithin
	}
	msg := "certificate expires in " + strconv.Itoa(int(days)) + " days (" + earliest.UTC().Format(time.DateOnly) + ")"
	switch {
	case left < crit:
		r := fail(msg, 0, values)
		r.Status = Operational
		return r
	case left < warn:
		r := fail(msg, 0, values)
		r.Severity, r.Status = alerting.Warning, Operational
		return r
	}
	return ok(msg, 0, values)
}

// tlsReason names the verification failure without the whole chain dump.
func tlsReason(err error) string {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	switch {
	case errors.As(err, &unknown):
		return "certificate signed by unknown authority"
	case errors.As(err, &invalid):
		if invalid.Reason == x509.Expired {
			return "certificate expired or not yet valid"
		}
		return "certificate invalid: " + invalid.Error()
	case errors.As(err, &host):
		return "certificate not valid for " + host.Host
	}
	return err.Error()
}
