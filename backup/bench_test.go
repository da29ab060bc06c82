package backup_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/opskit/opskit/backup"
	"github.com/opskit/opskit/backup/local"
)

// benchData returns the data set to back up: $OPSKIT_BENCH_DATA, or a
// 128 MiB set made by bench/gendata.
func benchData(b *testing.B) string {
	if d := os.Getenv("OPSKIT_BENCH_DATA"); d != "" {
		return d
	}
	dir := filepath.Join(b.TempDir(), "data")
	cmd := exec.Command("go", "run", "../bench/gendata", "-size", "128", "-out", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("gendata: %v: %s", err, out)
	}
	return dir
}

func dirSize(b *testing.B, dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// BenchmarkBackupDir backs a directory up to a local transport (the page
// cache holds both ends), to measure the pipeline without the network:
//
//	OPSKIT_BENCH_DATA=/tmp/opskit-bench/data-512 go test -run '^$' -bench BackupDir -benchtime 3x ./backup/
func BenchmarkBackupDir(b *testing.B) {
	data := benchData(b)
	keys := newTestKeys(b)
	b.SetBytes(dirSize(b, data))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dst := b.TempDir()
		tr, _ := local.New(dst)
		repo := &backup.Repository{Transport: tr, Instance: "bench", Verifier: keys.verifier, Logger: slog.New(slog.DiscardHandler)}
		b.StartTimer()
		job := &backup.Job{Repo: repo, Source: &backup.Dir{Path: data}, Encryptor: keys.encryptor, Signer: keys.signer}
		if w, err := strconv.Atoi(os.Getenv("OPSKIT_BENCH_WORKERS")); err == nil {
			job.Workers = w
		}
		if v, err := strconv.Atoi(os.Getenv("OPSKIT_BENCH_VOLUME_MIB")); err == nil {
			job.VolumeSize = int64(v) << 20
		}
		if _, err := job.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRestoreDir restores what BenchmarkBackupDir makes.
func BenchmarkRestoreDir(b *testing.B) {
	data := benchData(b)
	keys := newTestKeys(b)
	tr, _ := local.New(b.TempDir())
	repo := &backup.Repository{Transport: tr, Instance: "bench", Verifier: keys.verifier, Logger: slog.New(slog.DiscardHandler)}
	job := &backup.Job{Repo: repo, Source: &backup.Dir{Path: data}, Encryptor: keys.encryptor, Signer: keys.signer}
	m, err := job.Run(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(dirSize(b, data))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := filepath.Join(b.TempDir(), "r")
		if _, err := repo.Restore(context.Background(), m.ID, keys.decryptor, &backup.DirRestorer{Path: out}); err != nil {
			b.Fatal(err)
		}
	}
}
