package check

import (
	"bufio"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzReadBanner(f *testing.F) {
	for _, s := range []string{
		"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n",
		"hello\r\nSSH-1.99-x\n",
		"SSH-2.0-\r\n",
		"SSH-3.0-x\r\n",
		strings.Repeat("a\n", 30),
		"SSH-2.0-\xff\x00\x1b\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := readBanner(bufio.NewReaderSize(strings.NewReader(in), maxBanner+2))
		if !utf8.ValidString(r.Message) || strings.ContainsAny(r.Message, "\r\n\x00\x1b") {
			t.Fatalf("message not one printable line: %q", r.Message)
		}
		if len(r.Message) > 120 {
			t.Fatalf("message too long: %d", len(r.Message))
		}
		if r.OK && !strings.Contains(in, "SSH-2.0-") && !strings.Contains(in, "SSH-1.99-") {
			t.Fatalf("accepted %q", in)
		}
	})
}
