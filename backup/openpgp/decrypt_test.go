package openpgp

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// importInto gives gpg the public key of k.
func importPublic(t *testing.T, g *gpg, k *PrivateKey) {
	t.Helper()
	var pub bytes.Buffer
	if err := k.Public().WriteArmored(&pub); err != nil {
		t.Fatal(err)
	}
	g.run(pub.Bytes(), "--import")
}

func TestDecryptGPGDefaultMessages(t *testing.T) {
	t.Parallel()
	g := newGPG(t)
	k := testKey(t, "alice")
	importPublic(t, g, k)
	text := bytes.Repeat([]byte("compressible backup data, "), 50000)
	cases := map[string]struct {
		data []byte
		args []string
	}{
		"default":      {text, nil}, // gpg compresses with ZIP by default
		"binary":       {randomBytes(t, 300000), nil},
		"zlib":         {text, []string{"--compress-algo", "zlib"}},
		"uncompressed": {text, []string{"--compress-algo", "none"}},
		"armored":      {text, []string{"--armor"}},
		"empty":        {nil, nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			args := append(append([]string{"--recipient", k.Fingerprint()}, c.args...), "--encrypt")
			msg := g.run(c.data, args...)
			if name == "armored" {
				// Armor is the caller's business: the Decryptor reads binary
				// messages, as backups are; unarmor here as a caller would.
				msg = g.run(msg, "--dearmor")
			}
			got, err := decrypt(t, msg, k)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.data) {
				t.Fatalf("decrypted %d bytes, want the %d gpg encrypted", len(got), len(c.data))
			}
		})
	}
}

func TestDecryptGPGSignedAndEncrypted(t *testing.T) {
	t.Parallel()
	g := newGPG(t)
	k := testKey(t, "alice")
	importPublic(t, g, k)
	g.genKey("signer <signer@example.com>", "")
	data := []byte("signed and encrypted")
	msg := g.run(data, "--recipient", k.Fingerprint(), "--local-user", "signer@example.com", "--sign", "--encrypt")
	got, err := decrypt(t, msg, k)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestDecryptErrors(t *testing.T) {
	k := testKey(t, "alice")
	data := randomBytes(t, 3*chunkSize/2)
	msg := encrypt(t, data, 1<<20, k.Public())
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), msg...)) }
	cases := map[string]struct {
		msg  []byte
		want error
	}{
		"flip-middle":     {mutate(func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b }), ErrIntegrity},
		"flip-last":       {mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrIntegrity},
		"flip-mdc-header": {mutate(func(b []byte) []byte { b[len(b)-22] ^= 1; return b }), ErrIntegrity},
		"truncated-end":   {msg[:len(msg)-1], ErrIntegrity},
		"truncated-mid":   {msg[:len(msg)/2], ErrIntegrity},
		"truncated-chunk": {msg[:len(msg)-chunkSize/2-23], ErrIntegrity},
		"header-only":     {msg[:200], ErrIntegrity},
		"empty":           {nil, ErrMalformed},
		"garbage":         {[]byte("this is not an OpenPGP message at all"), ErrMalformed},
		"a-key":           {mustArmorless(t, k), ErrMalformed},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := decrypt(t, c.msg, k)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v (read %d bytes)", err, c.want, len(got))
			}
			if errors.Is(err, io.EOF) {
				t.Fatal("an integrity failure must not look like io.EOF")
			}
		})
	}
}

func mustArmorless(t *testing.T, k *PrivateKey) []byte {
	var b bytes.Buffer
	if err := k.Public().e.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A flipped byte in the middle changes the data read before the end; the
// reader must still end with ErrIntegrity, never io.EOF.
func TestIntegrityFailureIsReportedByRead(t *testing.T) {
	k := testKey(t, "alice")
	data := randomBytes(t, 5*chunkSize)
	msg := encrypt(t, data, 1<<20, k.Public())
	msg[len(msg)/2] ^= 0x01
	d, err := NewDecryptor(k)
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Decrypt(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r)
	if !errors.Is(err, ErrIntegrity) {
		t.Fatalf("io.Copy: n=%d err=%v, want ErrIntegrity", n, err)
	}
	if _, err2 := r.Read(make([]byte, 10)); !errors.Is(err2, ErrIntegrity) {
		t.Fatalf("a Read after the failure returned %v", err2)
	}
}

func TestWrongKeyNamesRecipients(t *testing.T) {
	a, b := testKey(t, "alice"), testKey(t, "bob")
	msg := encrypt(t, []byte("x"), 1, a.Public())
	_, err := decrypt(t, msg, b)
	var nk *NoKeyError
	if !errors.As(err, &nk) || !errors.Is(err, ErrNoKey) {
		t.Fatalf("err = %v, want NoKeyError", err)
	}
	sub, _ := a.e.EncryptionKey(a.e.PrimaryKey.CreationTime)
	if len(nk.KeyIDs) != 1 || nk.KeyIDs[0] != formatKeyID(sub.PublicKey.KeyId) {
		t.Fatalf("KeyIDs = %v, want alice's encryption subkey %s", nk.KeyIDs, formatKeyID(sub.PublicKey.KeyId))
	}
}

func TestKeyRotation(t *testing.T) {
	oldKey, newKey := testKey(t, "rot-old"), testKey(t, "rot-new")
	oldMsg := encrypt(t, []byte("old backup"), 100, oldKey.Public())
	newMsg := encrypt(t, []byte("new backup"), 100, newKey.Public())
	d, err := NewDecryptor(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	for want, msg := range map[string][]byte{"old backup": oldMsg, "new backup": newMsg} {
		r, err := d.Decrypt(bytes.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || string(got) != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	// Without the old key, the old backup names the key it needs.
	if _, err := decrypt(t, oldMsg, newKey); !errors.Is(err, ErrNoKey) {
		t.Fatalf("err = %v, want ErrNoKey", err)
	}
}

func TestPassphraseProtectedKeys(t *testing.T) {
	k := testKey(t, "alice")
	var armored bytes.Buffer
	if err := k.WriteArmored(&armored, []byte("correct horse")); err != nil {
		t.Fatal(err)
	}
	keys, err := ReadPrivateKeys(&armored)
	if err != nil {
		t.Fatal(err)
	}
	locked := keys[0]
	if !locked.Locked() {
		t.Fatal("key written with a passphrase reads back unlocked")
	}
	msg := encrypt(t, []byte("secret"), 10, k.Public())

	d, _ := NewDecryptor(locked)
	if _, err := d.Decrypt(bytes.NewReader(msg)); !errors.Is(err, ErrLocked) {
		t.Fatalf("no Passphrase func: err = %v, want ErrLocked", err)
	}

	d, _ = NewDecryptor(locked)
	d.Passphrase = func(fpr string) ([]byte, error) { return []byte("wrong"), nil }
	if _, err := d.Decrypt(bytes.NewReader(msg)); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: err = %v, want ErrWrongPassphrase", err)
	}

	d, _ = NewDecryptor(locked)
	asked := 0
	d.Passphrase = func(fpr string) ([]byte, error) {
		asked++
		if fpr != k.Fingerprint() {
			t.Errorf("asked for the passphrase of %s", fpr)
		}
		return []byte("correct horse"), nil
	}
	for i := 0; i < 2; i++ {
		r, err := d.Decrypt(bytes.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(r); err != nil || string(got) != "secret" {
			t.Fatalf("got %q, %v", got, err)
		}
	}
	if asked != 1 {
		t.Fatalf("passphrase asked %d times, want once (the unlocked key is kept)", asked)
	}
	if !locked.Locked() {
		t.Fatal("the Decryptor unlocked the caller's key")
	}
}

func FuzzDecrypt(f *testing.F) {
	k, err := GenerateKey(KeyOptions{Name: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	enc, _ := NewEncryptor(k.Public())
	for _, data := range [][]byte{nil, []byte("hello"), bytes.Repeat([]byte{7}, 3000)} {
		var b bytes.Buffer
		w, _ := enc.Encrypt(&b)
		w.Write(data)
		w.Close()
		f.Add(b.Bytes())
		f.Add(b.Bytes()[:b.Len()/2])
	}
	f.Add([]byte{})
	f.Add([]byte{0xC1, 0x01, 0x03})
	d, err := NewDecryptor(k)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, err := d.Decrypt(bytes.NewReader(msg))
		if err != nil {
			if r != nil {
				t.Fatal("a reader and an error")
			}
			return
		}
		n, err := io.Copy(io.Discard, io.LimitReader(r, 64<<20))
		if err == nil && n > 64<<20-1 {
			t.Fatal("unbounded output")
		}
	})
}
