package openpgp

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGeneratedKeyImportsIntoGPG(t *testing.T) {
	t.Parallel()
	g := newGPG(t)
	k, err := GenerateKey(KeyOptions{Name: "opskit instance demo", Email: "demo@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pubPath, secPath := filepath.Join(dir, "demo.pub.asc"), filepath.Join(dir, "demo.sec.asc")
	if err := WritePublicKeyFile(pubPath, k.Public()); err != nil {
		t.Fatal(err)
	}
	if err := WritePrivateKeyFile(secPath, k, []byte("s3cret")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(secPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file mode %v, %v; want 0600", fi.Mode(), err)
	}
	// Never overwrite.
	if err := WritePrivateKeyFile(secPath, k, nil); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second write: err = %v, want fs.ErrExist", err)
	}
	pubData, _ := os.ReadFile(pubPath)
	secData, _ := os.ReadFile(secPath)
	g.run(pubData, "--import")
	out := string(g.run(nil, "--with-colons", "--list-keys", k.Fingerprint()))
	if !strings.Contains(out, "fpr:::::::::"+k.Fingerprint()+":") || !strings.Contains(out, "opskit instance demo <demo@example.com>") {
		t.Fatalf("gpg lists:\n%s", out)
	}
	// Algorithms: ed25519 primary (22) and cv25519 encryption subkey (18).
	if !strings.Contains(out, ":22:") || !strings.Contains(out, ":18:") {
		t.Fatalf("unexpected algorithms:\n%s", out)
	}
	// The passphrase-protected secret key imports and decrypts with the
	// passphrase.
	g.run(secData, "--passphrase", "s3cret", "--import")
	msg := encrypt(t, []byte("restorable with stock gpg"), 5, k.Public())
	got := g.run(msg, "--passphrase", "s3cret", "--decrypt")
	if string(got) != "restorable with stock gpg" {
		t.Fatalf("gpg decrypted %q", got)
	}
	g.killAgent() // it caches the passphrase
	if _, _, err := g.try(msg, "--passphrase", "wrong", "--decrypt"); err == nil {
		t.Fatal("gpg decrypted with a wrong passphrase: the key is not protected")
	}
	// And our reader reads back what we wrote.
	keys, err := ReadPrivateKeyFile(secPath)
	if err != nil || len(keys) != 1 || keys[0].Fingerprint() != k.Fingerprint() || !keys[0].Locked() {
		t.Fatalf("ReadPrivateKeyFile = %v, %v", keys, err)
	}
	pubs, err := ReadPublicKeyFile(pubPath)
	if err != nil || len(pubs) != 1 || pubs[0].Fingerprint() != k.Fingerprint() || pubs[0].UserIDs()[0] != "opskit instance demo <demo@example.com>" {
		t.Fatalf("ReadPublicKeyFile = %v, %v", pubs, err)
	}
}

func TestGPGKeyWorksHere(t *testing.T) {
	t.Parallel()
	g := newGPG(t)
	fpr := g.genKey("gpg made <made@example.com>", "gpg-pass")
	dir := t.TempDir()
	secPath := filepath.Join(dir, "sec.gpg") // binary
	pubPath := filepath.Join(dir, "pub.asc") // armored
	os.WriteFile(secPath, g.run(nil, "--passphrase", "gpg-pass", "--export-secret-keys", fpr), 0o600)
	os.WriteFile(pubPath, g.run(nil, "--armor", "--export", fpr), 0o600)

	pubs, err := ReadPublicKeyFile(pubPath)
	if err != nil || pubs[0].Fingerprint() != fpr {
		t.Fatalf("public key: %v, %v", pubs, err)
	}
	secs, err := ReadPrivateKeyFile(secPath)
	if err != nil || secs[0].Fingerprint() != fpr || !secs[0].Locked() {
		t.Fatalf("private key: %v, %v", secs, err)
	}
	d, err := NewDecryptor(secs...)
	if err != nil {
		t.Fatal(err)
	}
	d.Passphrase = func(string) ([]byte, error) { return []byte("gpg-pass"), nil }
	for name, msg := range map[string][]byte{
		"gpg's":  g.run([]byte("from gpg"), "--recipient", fpr, "--encrypt"),
		"ours":   encrypt(t, []byte("from gpg"), 3, pubs[0]),
		"hidden": g.run([]byte("from gpg"), "--hidden-recipient", fpr, "--encrypt"),
	} {
		r, err := d.Decrypt(bytes.NewReader(msg))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var out bytes.Buffer
		if _, err := out.ReadFrom(r); err != nil || out.String() != "from gpg" {
			t.Fatalf("%s: got %q, %v", name, out.String(), err)
		}
	}
	// gpg's key, unlocked, signs manifests gpg verifies.
	if err := secs[0].Unlock([]byte("gpg-pass")); err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(secs[0])
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := s.Sign([]byte("m"))
	if _, st, err := g.try(nil, "--verify", g.file("s", sig), g.file("m", []byte("m"))); err != nil {
		t.Fatalf("gpg --verify: %v\n%s", err, st)
	}
}

func TestKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	k := testKey(t, "alice")
	pubOnly := filepath.Join(dir, "pub.asc")
	if err := WritePublicKeyFile(pubOnly, k.Public()); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nnot base64 !!!\n-----END PGP PRIVATE KEY BLOCK-----\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)

	if _, err := ReadPrivateKeyFile(pubOnly); !errors.Is(err, ErrNoKeys) || !strings.Contains(err.Error(), pubOnly) {
		t.Errorf("private keys from a public key file: %v", err)
	}
	for _, p := range []string{junk, empty} {
		_, err := ReadPrivateKeyFile(p)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %v, want an error naming the file", p, err)
		}
	}
	if _, err := ReadPublicKeyFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	// Errors never carry key material.
	var sec bytes.Buffer
	k.WriteArmored(&sec, nil)
	broken := sec.Bytes()[:sec.Len()-200]
	_, err := ReadPrivateKeys(bytes.NewReader(broken))
	if err == nil {
		t.Fatal("truncated key accepted")
	}
	lines := strings.Split(sec.String(), "\n")
	for _, l := range lines[2 : len(lines)-3] {
		if len(l) > 8 && strings.Contains(err.Error(), l) {
			t.Fatalf("error quotes key material: %v", err)
		}
	}
}

func TestGenerateKeyValidates(t *testing.T) {
	for _, o := range []KeyOptions{{}, {Name: "a <b>"}, {Name: "x", Email: "a(b"}, {Name: "x", Lifetime: -1}} {
		if _, err := GenerateKey(o); err == nil {
			t.Errorf("GenerateKey(%+v) accepted", o)
		}
	}
}

func FuzzReadKeys(f *testing.F) {
	k, err := GenerateKey(KeyOptions{Name: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	var pub, sec, prot bytes.Buffer
	k.Public().WriteArmored(&pub)
	k.WriteArmored(&sec, nil)
	k.WriteArmored(&prot, []byte("pw"))
	var bin bytes.Buffer
	k.e.SerializePrivateWithoutSigning(&bin, nil)
	for _, s := range [][]byte{pub.Bytes(), sec.Bytes(), prot.Bytes(), bin.Bytes(), bin.Bytes()[:40], nil, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pubs, err := ReadPublicKeys(bytes.NewReader(data))
		if err == nil {
			for _, p := range pubs {
				_ = p.Fingerprint()
				var b bytes.Buffer
				_ = p.WriteArmored(&b)
				_, _ = NewEncryptor(p)
			}
		}
		secs, err := ReadPrivateKeys(bytes.NewReader(data))
		if err == nil {
			for _, s := range secs {
				_ = s.Locked() // Unlock is left out: S2K is slow by design
				_, _ = NewSigner(s)
				_, _ = NewDecryptor(s)
			}
		}
	})
}
