package openpgp

import (
	"bytes"
	"errors"
	"testing"
)

func TestGPGVerifiesOurSignature(t *testing.T) {
	t.Parallel()
	g := newGPG(t)
	k := testKey(t, "daemon")
	importPublic(t, g, k)
	s, err := NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	if s.Fingerprint() != k.Fingerprint() {
		t.Fatalf("Fingerprint = %s", s.Fingerprint())
	}
	msg := []byte(`{"version":1,"id":"20261122T010203Z-a1b2c3"}` + "\n")
	sig, err := s.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sig, []byte("-----BEGIN PGP SIGNATURE-----")) {
		t.Fatalf("signature is not armored:\n%s", sig)
	}
	sigPath, msgPath := g.file("m.sig", sig), g.file("m", msg)
	_, status, err := g.try(nil, "--status-fd", "2", "--verify", sigPath, msgPath)
	if err != nil || !bytes.Contains(status, []byte("GOODSIG")) || !bytes.Contains(status, []byte("VALIDSIG "+k.Fingerprint())) {
		t.Fatalf("gpg --verify: %v\n%s", err, status)
	}
	// SHA-512 (digest algo 10).
	if !bytes.Contains(status, []byte(" 00 "+k.Fingerprint())) && !bytes.Contains(status, []byte(" 10 00 ")) {
		t.Logf("status:\n%s", status)
	}
	// gpg rejects it over an altered message too.
	if _, _, err := g.try(nil, "--verify", sigPath, g.file("m2", append(msg, ' '))); err == nil {
		t.Fatal("gpg accepted our signature over an altered message")
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	g := newGPG(t)
	fpr := g.genKey("gpg daemon <gpg@example.com>", "")
	gpgKeys, err := ReadPublicKeys(bytes.NewReader(g.run(nil, "--export", fpr)))
	if err != nil {
		t.Fatal(err)
	}
	ours := testKey(t, "daemon")
	stranger := testKey(t, "stranger")
	v, err := NewVerifier(ours.Public(), gpgKeys[0])
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("manifest body\n")
	s, _ := NewSigner(ours)
	ourSig, _ := s.Sign(msg)
	st, _ := NewSigner(stranger)
	strangerSig, _ := st.Sign(msg)
	gpgSig := g.run(msg, "--armor", "--detach-sign", "--local-user", fpr)
	gpgBinSig := g.run(msg, "--detach-sign", "--local-user", fpr)
	gpgSHA1Sig := g.run(msg, "--detach-sign", "--digest-algo", "SHA1", "--local-user", fpr)

	for name, c := range map[string]struct {
		msg, sig []byte
		fpr      string
		want     error
	}{
		"ours":           {msg, ourSig, ours.Fingerprint(), nil},
		"gpg-armored":    {msg, gpgSig, fpr, nil},
		"gpg-binary":     {msg, gpgBinSig, fpr, nil},
		"altered":        {append([]byte("x"), msg...), ourSig, "", ErrBadSignature},
		"gpg-altered":    {msg[1:], gpgSig, "", ErrBadSignature},
		"unknown-key":    {msg, strangerSig, "", ErrUnknownSigner},
		"garbage":        {msg, []byte("-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n"), "", ErrBadSignature},
		"binary-garbage": {msg, []byte{0x89, 0x01, 0x02, 0x03}, "", ErrBadSignature},
		"empty":          {msg, nil, "", ErrBadSignature},
		"sha1":           {msg, gpgSHA1Sig, "", ErrBadSignature},
	} {
		got, err := v.Verify(c.msg, c.sig)
		if c.want == nil {
			if err != nil || got != c.fpr {
				t.Errorf("%s: Verify = %q, %v; want %q", name, got, err, c.fpr)
			}
			continue
		}
		if !errors.Is(err, c.want) || got != "" {
			t.Errorf("%s: Verify = %q, %v; want %v", name, got, err, c.want)
		}
	}
}

func TestSignerNeedsUnlockedKey(t *testing.T) {
	k := testKey(t, "daemon")
	var b bytes.Buffer
	if err := k.WriteArmored(&b, []byte("pw")); err != nil {
		t.Fatal(err)
	}
	keys, err := ReadPrivateKeys(&b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSigner(keys[0]); !errors.Is(err, ErrLocked) {
		t.Fatalf("NewSigner(locked) err = %v, want ErrLocked", err)
	}
	if err := keys[0].Unlock([]byte("nope")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("Unlock(wrong) = %v", err)
	}
	if err := keys[0].Unlock([]byte("pw")); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSigner(keys[0]); err != nil {
		t.Fatal(err)
	}
}
