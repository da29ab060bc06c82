package sftp_test

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/opskit/opskit/backup/sftp"
	"github.com/opskit/opskit/internal/sshtest"
	"github.com/opskit/opskit/internal/testenv"
)

const benchSize = 256 << 20

// benchFile writes benchSize random bytes to a local file.
func benchFile(b *testing.B) string {
	f := filepath.Join(b.TempDir(), "random.bin")
	w, err := os.Create(f)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(w, io.LimitReader(rand.NewChaCha8([32]byte{7}), benchSize)); err != nil {
		b.Fatal(err)
	}
	w.Close()
	return f
}

// BenchmarkTransfer measures Put and Open of 256 MiB of random data over
// loopback sshd, and scp / ssh cat of the same file for comparison:
//
//	go test -run '^$' -bench Transfer -benchtime 3x ./backup/sftp
func BenchmarkTransfer(b *testing.B) {
	srv := sshtest.Start(b, sshtest.Options{HostKeys: []string{sshtest.Ed25519}})
	src := benchFile(b)
	root := filepath.Join(srv.DataDir, "bench")
	os.Mkdir(root, 0o700)
	ctx := context.Background()
	for _, packet := range []int{0, 32 << 10} {
		name := "sftp"
		if packet != 0 {
			name = "sftp-32KiB-packets"
		}
		tr, err := sftp.New(sftp.Config{Address: srv.Addr, User: srv.User, KeyFile: srv.ClientKeyFile,
			KnownHostsFile: srv.KnownHostsFile, Root: root, MaxPacket: packet})
		if err != nil {
			b.Fatal(err)
		}
		defer tr.Close()
		b.Run("Put/"+name, func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				f, _ := os.Open(src)
				if err := tr.Put(ctx, "obj", struct{ io.Reader }{f}); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
		b.Run("Open/"+name, func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				rc, err := tr.Open(ctx, "obj")
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, rc); err != nil || n != benchSize {
					b.Fatal(n, err)
				}
				rc.Close()
			}
		})
	}
	ssh := testenv.LookPath(b, "ssh")
	scp := testenv.LookPath(b, "scp")
	args := srv.SSHArgs("")
	b.Run("Put/scp", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			// scp takes -P for the port.
			a := append([]string{"-q", "-P", args[len(args)-3]}, args[:len(args)-4]...)
			a = append(a, "-o", "User="+srv.User, src, "127.0.0.1:"+root+"/scp.bin")
			if out, err := exec.Command(scp, a...).CombinedOutput(); err != nil {
				b.Fatal(err, string(out))
			}
		}
	})
	b.Run("Put/ssh-cat", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			f, _ := os.Open(src)
			cmd := exec.Command(ssh, append(args, "127.0.0.1", "cat > "+root+"/cat.bin")...)
			cmd.Stdin = f
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatal(err, string(out))
			}
			f.Close()
		}
	})
	b.Run("Open/ssh-cat", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			cmd := exec.Command(ssh, append(args, "127.0.0.1", "cat "+root+"/obj")...)
			cmd.Stdout = io.Discard
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
