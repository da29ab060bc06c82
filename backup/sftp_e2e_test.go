package backup_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opskit/opskit/backup"
	"github.com/opskit/opskit/backup/sftp"
	"github.com/opskit/opskit/internal/sshtest"
)

// TestBackupOverSFTPSurvivesCutConnection backs up to a real sshd through a
// proxy that drops the connection mid-upload: without retries the job
// fails and no backup is listed; the next run succeeds and restores.
func TestBackupOverSFTPSurvivesCutConnection(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{HostKeys: []string{sshtest.Ed25519}})
	p := sshtest.NewProxy(t, srv.Addr)
	root := filepath.Join(srv.DataDir, "backups")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	tr, err := sftp.New(sftp.Config{Address: p.Addr, User: srv.User, KeyFile: srv.ClientKeyFile,
		KnownHostsFile: sshtest.WriteKnownHosts(t, filepath.Join(t.TempDir(), "kh"), p.Addr, srv.HostKeys[sshtest.Ed25519]),
		Root:           root, Retry: sftp.RetryPolicy{MinDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	keys := newTestKeys(t)
	repo := &backup.Repository{Transport: tr, Instance: "demo", Verifier: keys.verifier, Signer: keys.signer, Logger: slog.New(slog.DiscardHandler)}
	src := t.TempDir()
	big := make([]byte, 3<<20)
	rand.Read(big)
	os.WriteFile(filepath.Join(src, "random.bin"), big, 0o600)
	os.WriteFile(filepath.Join(src, "small.txt"), []byte("hello"), 0o600)
	job := &backup.Job{Repo: repo, Source: &backup.Dir{Path: src}, Encryptor: keys.encryptor, Signer: keys.signer,
		VolumeSize: 1 << 20, Retries: -1}

	p.CutAfter(2 << 20)
	if _, err := job.Run(context.Background()); err == nil {
		t.Fatal("a backup through a cut connection succeeded without retries")
	}
	if p.Cuts() != 1 {
		t.Fatalf("proxy cut %d times", p.Cuts())
	}
	list, err := repo.List(context.Background())
	if err != nil || len(list) != 0 {
		t.Fatalf("after the cut: List = %v, %v; want no backup", list, err)
	}
	// The next run succeeds (with retries, as by default) and restores.
	job.Retries, job.RetryDelay = 0, time.Millisecond
	m, err := job.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Verify(context.Background(), m.ID, true); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "r")
	if _, err := repo.Restore(context.Background(), m.ID, keys.decryptor, &backup.DirRestorer{Path: out}); err != nil {
		t.Fatal(err)
	}
	if diff := backup.CompareTrees(t, src, out, nil); diff != "" {
		t.Fatal(diff)
	}
	// Leftovers of the failed run are not backups, and prune removes them.
	rep, err := repo.Prune(context.Background(), func(bs []backup.Backup, now time.Time) ([]backup.PruneDecision, error) {
		var out []backup.PruneDecision
		for _, b := range bs {
			out = append(out, backup.PruneDecision{ID: b.ID, Keep: true})
		}
		return out, nil
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	objs, _ := tr.List(context.Background(), "demo/data/")
	for _, o := range objs {
		if len(o.Name) < len("demo/data/")+len(m.ID) || o.Name[len("demo/data/"):len("demo/data/")+len(m.ID)] != m.ID {
			t.Errorf("leftover %s survived prune (orphans removed: %v)", o.Name, rep.Orphans)
		}
	}
}

// TestKeyRotation: backups made after the instance key changed use the new
// key and name it; older backups still restore with the old key.
func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	old := f.backupDir()
	newKeys := newTestKeys(t)
	escrow := newTestKeys(t)
	enc, err := openpgpEncryptor(newKeys, escrow)
	if err != nil {
		t.Fatal(err)
	}
	j := f.job(&backup.Dir{Path: f.src})
	j.Encryptor = enc
	rotated, err := j.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rotated.Recipients[0] == old.Recipients[0] || len(rotated.Recipients) != 2 {
		t.Fatalf("recipients old %v new %v", old.Recipients, rotated.Recipients)
	}
	both, err := openpgpDecryptor(f.keys, newKeys)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{old.ID, rotated.ID} {
		out := filepath.Join(t.TempDir(), "r")
		if _, err := f.repo.Restore(context.Background(), id, both, &backup.DirRestorer{Path: out}); err != nil {
			t.Fatalf("restore %s with both keys: %v", id, err)
		}
	}
	// The escrow key alone reads the new backup, not the old one.
	escrowOnly, _ := openpgpDecryptor(escrow)
	if _, err := f.repo.Restore(context.Background(), rotated.ID, escrowOnly, &backup.DirRestorer{Path: filepath.Join(t.TempDir(), "e")}); err != nil {
		t.Fatalf("escrow restore: %v", err)
	}
	if _, err := f.repo.Restore(context.Background(), old.ID, escrowOnly, &backup.DirRestorer{Path: filepath.Join(t.TempDir(), "e2")}); err == nil {
		t.Fatal("the escrow key read a backup made before it existed")
	}
}
