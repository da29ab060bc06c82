package rsync_test

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/opskit/opskit/backup/rsync"
	"github.com/opskit/opskit/internal/sshtest"
)

// BenchmarkTransfer measures Put and Open of 256 MiB of random data over
// loopback sshd:
//
//	go test -run '^$' -bench Transfer -benchtime 3x ./backup/rsync
func BenchmarkTransfer(b *testing.B) {
	const size = 256 << 20
	srv := sshtest.Start(b, sshtest.Options{HostKeys: []string{sshtest.Ed25519}})
	src := filepath.Join(b.TempDir(), "random.bin")
	w, _ := os.Create(src)
	io.Copy(w, io.LimitReader(rand.NewChaCha8([32]byte{7}), size))
	w.Close()
	root := filepath.Join(srv.DataDir, "bench")
	os.Mkdir(root, 0o700)
	tr, err := rsync.New(config(b, srv, root))
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	ctx := context.Background()
	b.Run("Put", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			f, _ := os.Open(src)
			if err := tr.Put(ctx, "obj", struct{ io.Reader }{f}); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("Open", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			rc, err := tr.Open(ctx, "obj")
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, rc); err != nil || n != size {
				b.Fatal(n, err)
			}
			rc.Close()
		}
	})
}
