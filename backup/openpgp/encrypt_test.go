package openpgp

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestRoundTripSizes(t *testing.T) {
	k := testKey(t, "alice")
	for _, n := range []int{0, 1, 191, 192, 8383, 8384, chunkSize - 7, chunkSize - 6, chunkSize, chunkSize + 1, 3*chunkSize + 17} {
		for _, step := range []int{1 << 30, 4093} {
			if n > 1<<20 && step < 1<<20 && n != 3*chunkSize+17 {
				continue
			}
			t.Run(fmt.Sprintf("%d/%d", n, step), func(t *testing.T) {
				data := randomBytes(t, n)
				msg := encrypt(t, data, step, k.Public())
				got, err := decrypt(t, msg, k)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("round trip of %d bytes gave %d different bytes", n, len(got))
				}
			})
		}
	}
}

func TestGPGDecryptsOurMessages(t *testing.T) {
	t.Parallel()
	g := newGPG(t)
	k := testKey(t, "alice")
	var sec bytes.Buffer
	if err := k.WriteArmored(&sec, nil); err != nil {
		t.Fatal(err)
	}
	g.run(sec.Bytes(), "--import")
	for _, n := range []int{0, 1, 1000, chunkSize - 6, chunkSize, 2*chunkSize + 12345} {
		data := randomBytes(t, n)
		msg := encrypt(t, data, 65536, k.Public())
		out, errOut, err := g.try(msg, "--status-fd", "2", "--decrypt")
		if err != nil {
			t.Fatalf("%d bytes: gpg --decrypt: %v\n%s", n, err, errOut)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("%d bytes: gpg decrypted %d different bytes", n, len(out))
		}
		for _, want := range []string{"DECRYPTION_OKAY", "GOODMDC", "DECRYPTION_INFO 2 9"} {
			if !bytes.Contains(errOut, []byte(want)) {
				t.Fatalf("%d bytes: gpg status lacks %s (AES-256 with MDC):\n%s", n, want, errOut)
			}
		}
	}
	// gpg's packet dump: no compression packet, one literal data packet.
	dump := g.run(encrypt(t, []byte("hello"), 10, k.Public()), "--list-packets")
	if bytes.Contains(dump, []byte("compressed packet")) || !bytes.Contains(dump, []byte("literal data packet")) {
		t.Fatalf("unexpected packet structure:\n%s", dump)
	}
}

func TestEscrowEachKeyDecrypts(t *testing.T) {
	inst, escrow, other := testKey(t, "instance"), testKey(t, "escrow"), testKey(t, "other")
	enc, err := NewEncryptor(inst.Public(), escrow.Public(), inst.Public())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{inst.Fingerprint(), escrow.Fingerprint()}
	if got := enc.Recipients(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Recipients = %v, want %v", got, want)
	}
	data := randomBytes(t, 100000)
	msg := encrypt(t, data, 1<<20, inst.Public(), escrow.Public())
	for _, k := range []*PrivateKey{inst, escrow} {
		got, err := decrypt(t, msg, k)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("key %s: err %v, equal %v", k.Fingerprint(), err, bytes.Equal(got, data))
		}
	}
	_, err = decrypt(t, msg, other)
	var nk *NoKeyError
	if !errors.As(err, &nk) || !errors.Is(err, ErrNoKey) || len(nk.KeyIDs) != 2 {
		t.Fatalf("other key: err = %v, want a NoKeyError with 2 key IDs", err)
	}
}

func TestEncryptorRefusesUnusableKeys(t *testing.T) {
	expired, err := GenerateKey(KeyOptions{Name: "old", Created: time.Now().Add(-48 * time.Hour), Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := GenerateKey(KeyOptions{Name: "revoked"})
	if err != nil {
		t.Fatal(err)
	}
	if err := revoked.e.RevokeKey(0, "test", nil); err != nil {
		t.Fatal(err)
	}
	noEnc, err := GenerateKey(KeyOptions{Name: "signonly"})
	if err != nil {
		t.Fatal(err)
	}
	noEnc.e.Subkeys = nil
	for name, c := range map[string]struct {
		k    *PrivateKey
		want string
	}{
		"expired": {expired, "expired on"},
		"revoked": {revoked, "is revoked"},
		"no-enc":  {noEnc, "no valid encryption subkey"},
	} {
		_, err := NewEncryptor(c.k.Public())
		var ke *KeyError
		if !errors.Is(err, ErrUnusableKey) || !errors.As(err, &ke) || ke.Fingerprint != c.k.Fingerprint() || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("%s: err = %v, want a KeyError containing %q", name, err, c.want)
		}
	}
	// A key that expires after the Encryptor was made is refused by Encrypt.
	soon, err := GenerateKey(KeyOptions{Name: "soon", Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewEncryptor(soon.Public())
	if err != nil {
		t.Fatal(err)
	}
	enc.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if _, err := enc.Encrypt(&bytes.Buffer{}); !errors.Is(err, ErrUnusableKey) {
		t.Fatalf("Encrypt with an expired key: err = %v", err)
	}
}
