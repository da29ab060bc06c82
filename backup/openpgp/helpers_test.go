package openpgp

import (
	"bytes"
	"crypto/rand"
	"io"
	"sync"
	"testing"
)

// testKey generates a key once per name per test binary (generation is
// cheap, but a shared key keeps the tests short to read).
var (
	keyMu    sync.Mutex
	keyCache = map[string]*PrivateKey{}
)

func testKey(t testing.TB, name string) *PrivateKey {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	if k, ok := keyCache[name]; ok {
		return k
	}
	k, err := GenerateKey(KeyOptions{Name: name, Email: name + "@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	keyCache[name] = k
	return k
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// encrypt encrypts data to keys, writing in pieces of size step.
func encrypt(t testing.TB, data []byte, step int, keys ...*PublicKey) []byte {
	t.Helper()
	enc, err := NewEncryptor(keys...)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := enc.Encrypt(&out)
	if err != nil {
		t.Fatal(err)
	}
	for p := data; len(p) > 0; {
		n := min(step, len(p))
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// decrypt decrypts msg with keys and reads it all.
func decrypt(t testing.TB, msg []byte, keys ...*PrivateKey) ([]byte, error) {
	t.Helper()
	d, err := NewDecryptor(keys...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Decrypt(bytes.NewReader(msg))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}
