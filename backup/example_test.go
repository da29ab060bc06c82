package backup_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/opskit/opskit/backup"
	"github.com/opskit/opskit/backup/local"
	"github.com/opskit/opskit/backup/openpgp"
)

// Back up a directory to a local backup directory, verify it, and restore it.
// In production the transport is backup/sftp or backup/rsync, the instance's
// public key comes from a file (openpgp.ReadPublicKeyFile), and its private
// key lives off the backed-up host.
func Example() {
	tmp, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "app")
	os.MkdirAll(filepath.Join(src, "config"), 0o755)
	os.WriteFile(filepath.Join(src, "config", "app.yaml"), []byte("workers: 4\n"), 0o644)

	instanceKey, _ := openpgp.GenerateKey(openpgp.KeyOptions{Name: "instance demo"})
	daemonKey, _ := openpgp.GenerateKey(openpgp.KeyOptions{Name: "opsd"})
	enc, _ := openpgp.NewEncryptor(instanceKey.Public())
	signer, _ := openpgp.NewSigner(daemonKey)
	verifier, _ := openpgp.NewVerifier(daemonKey.Public())

	os.Mkdir(filepath.Join(tmp, "backups"), 0o700)
	tr, err := local.New(filepath.Join(tmp, "backups"))
	if err != nil {
		log.Fatal(err)
	}
	repo := &backup.Repository{Transport: tr, Instance: "demo", Verifier: verifier, Signer: signer,
		Logger: slog.New(slog.DiscardHandler)}

	ctx := context.Background()
	job := &backup.Job{Repo: repo, Source: &backup.Dir{Path: src}, Encryptor: enc, Signer: signer}
	m, err := job.Run(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := repo.Verify(ctx, m.ID, true); err != nil {
		log.Fatal(err)
	}

	dec, _ := openpgp.NewDecryptor(instanceKey)
	out := filepath.Join(tmp, "restored")
	if _, err := repo.Restore(ctx, m.ID, dec, &backup.DirRestorer{Path: out}); err != nil {
		log.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(out, "config", "app.yaml"))
	list, _ := repo.List(ctx)
	fmt.Printf("%d backup, verified: %v, restored: %s", len(list), !list[0].Verified.IsZero(), b)
	// Output: 1 backup, verified: true, restored: workers: 4
}
