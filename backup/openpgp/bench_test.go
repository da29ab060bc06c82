package openpgp

import (
	"bytes"
	"crypto/rand"
	"io"
	"testing"

	pgp "github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

const benchSize = 64 << 20

func benchData(b *testing.B) []byte {
	b.Helper()
	data := make([]byte, benchSize) // incompressible, like zstd output
	if _, err := rand.Read(data); err != nil {
		b.Fatal(err)
	}
	return data
}

// encryptBench writes data in 1 MiB pieces (a zstd encoder's output size
// class) to io.Discard.
func encryptBench(b *testing.B, sequential bool) {
	k := testKey(b, "bench")
	enc, err := NewEncryptor(k.Public())
	if err != nil {
		b.Fatal(err)
	}
	enc.Sequential = sequential
	data := benchData(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w, err := enc.Encrypt(io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		for p := data; len(p) > 0; p = p[1<<20:] {
			w.Write(p[:1<<20])
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncrypt is the default writer: hashing overlapped with
// encryption on a second goroutine.
func BenchmarkEncrypt(b *testing.B) { encryptBench(b, false) }

// BenchmarkEncryptSequential hashes and encrypts on one goroutine: the
// per-core cost when every core already encrypts its own volume.
func BenchmarkEncryptSequential(b *testing.B) { encryptBench(b, true) }

// BenchmarkEncryptParallel runs one message per GOMAXPROCS goroutine, as the
// backup job does with several volumes.
func BenchmarkEncryptParallel(b *testing.B) {
	k := testKey(b, "bench")
	enc, _ := NewEncryptor(k.Public())
	enc.Sequential = true
	data := benchData(b)[:16<<20]
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w, _ := enc.Encrypt(io.Discard)
			for p := data; len(p) > 0; p = p[1<<20:] {
				w.Write(p[:1<<20])
			}
			w.Close()
		}
	})
}

// BenchmarkEncryptGoCrypto is go-crypto's own writer with the same
// settings, for comparison.
func BenchmarkEncryptGoCrypto(b *testing.B) {
	k := testKey(b, "bench")
	cfg := &packet.Config{DefaultCipher: packet.CipherAES256, DefaultCompressionAlgo: packet.CompressionNone}
	data := benchData(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w, err := pgp.Encrypt(io.Discard, []*pgp.Entity{k.Public().e}, nil, &pgp.FileHints{IsBinary: true}, cfg)
		if err != nil {
			b.Fatal(err)
		}
		for p := data; len(p) > 0; p = p[1<<20:] {
			w.Write(p[:1<<20])
		}
		w.Close()
	}
}

// BenchmarkDecrypt is the default reader: the MDC hash runs on a second
// goroutine.
func BenchmarkDecrypt(b *testing.B) { decryptBench(b, false) }

// BenchmarkDecryptSequential hashes on the reading goroutine.
func BenchmarkDecryptSequential(b *testing.B) { decryptBench(b, true) }

func decryptBench(b *testing.B, sequential bool) {
	k := testKey(b, "bench")
	data := benchData(b)
	msg := encrypt(b, data, 1<<20, k.Public())
	d, err := NewDecryptor(k)
	if err != nil {
		b.Fatal(err)
	}
	d.Sequential = sequential
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := d.Decrypt(bytes.NewReader(msg))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, r, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecryptGoCrypto(b *testing.B) {
	k := testKey(b, "bench")
	data := benchData(b)
	msg := encrypt(b, data, 1<<20, k.Public())
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		md, err := pgp.ReadMessage(bytes.NewReader(msg), pgp.EntityList{k.e}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, md.UnverifiedBody); err != nil {
			b.Fatal(err)
		}
	}
}
