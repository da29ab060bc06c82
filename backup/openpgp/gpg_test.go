package openpgp

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opskit/opskit/internal/testenv"
)

// gpg runs the real GnuPG in a throwaway home directory.
type gpg struct {
	t    *testing.T
	bin  string
	home string
}

func newGPG(t *testing.T) *gpg {
	t.Helper()
	bin := testenv.LookPath(t, "gpg")
	// A short path: gpg-agent's socket path must fit in sun_path.
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	g := &gpg{t: t, bin: bin, home: home}
	t.Cleanup(func() {
		g.killAgent()
		os.RemoveAll(home)
	})
	return g
}

// killAgent stops the gpg-agent of this home (it also forgets cached
// passphrases).
func (g *gpg) killAgent() {
	if cf, err := exec.LookPath("gpgconf"); err == nil {
		c := exec.Command(cf, "--kill", "all")
		c.Env = append(os.Environ(), "GNUPGHOME="+g.home)
		c.Run()
	}
}

// run runs gpg with args and stdin, failing the test on error.
func (g *gpg) run(stdin []byte, args ...string) []byte {
	g.t.Helper()
	out, errOut, err := g.try(stdin, args...)
	if err != nil {
		g.t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func (g *gpg) try(stdin []byte, args ...string) (stdout, stderr []byte, err error) {
	all := append([]string{"--batch", "--no-tty", "--pinentry-mode", "loopback", "--trust-model", "always", "--no-auto-key-locate"}, args...)
	c := exec.Command(g.bin, all...)
	c.Env = append(os.Environ(), "GNUPGHOME="+g.home)
	c.Stdin = bytes.NewReader(stdin)
	var o, e bytes.Buffer
	c.Stdout, c.Stderr = &o, &e
	err = c.Run()
	return o.Bytes(), e.Bytes(), err
}

// genKey makes an ed25519 key with a cv25519 encryption subkey and returns
// its fingerprint. An empty passphrase leaves the secret key unprotected.
func (g *gpg) genKey(uid, passphrase string) string {
	g.t.Helper()
	g.run(nil, "--passphrase", passphrase, "--quick-gen-key", uid, "future-default", "default", "never")
	out := g.run(nil, "--with-colons", "--list-keys", uid)
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Split(l, ":"); len(f) > 9 && f[0] == "fpr" {
			return f[9]
		}
	}
	g.t.Fatalf("no fingerprint for %s in\n%s", uid, out)
	return ""
}

func (g *gpg) file(name string, data []byte) string {
	g.t.Helper()
	p := filepath.Join(g.t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		g.t.Fatal(err)
	}
	return p
}
