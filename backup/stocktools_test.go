package backup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opskit/opskit/backup"
	"github.com/opskit/opskit/backup/local"
	"github.com/opskit/opskit/internal/testenv"
)

// TestStockToolsRestore restores a backup with GnuPG, zstd, sha256sum and
// tar only, as the package documentation says one can.
func TestStockToolsRestore(t *testing.T) {
	gpg := testenv.LookPath(t, "gpg")
	zstd := testenv.LookPath(t, "zstd")
	tarBin := testenv.LookPath(t, "tar")
	sha := testenv.LookPath(t, "sha256sum")
	keys := newTestKeys(t)
	root := t.TempDir()
	tr, err := local.New(root)
	if err != nil {
		t.Fatal(err)
	}
	repo := &backup.Repository{Transport: tr, Instance: "demo", Verifier: keys.verifier, Logger: slog.New(slog.DiscardHandler)}
	src := backup.MakeTree(t)
	job := &backup.Job{Repo: repo, Source: &backup.Dir{Path: src}, Encryptor: keys.encryptor, Signer: keys.signer, VolumeSize: 200 << 10}
	m, err := job.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Volumes) < 3 {
		t.Fatalf("%d volumes; want several", len(m.Volumes))
	}

	home := t.TempDir()
	run := func(stdin []byte, dir, name string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
		cmd.Dir = dir
		cmd.Stdin = bytes.NewReader(stdin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %v: %v: %s", name, args, err, stderr.String())
		}
		return out
	}
	os.Chmod(home, 0o700)
	var sec, pub bytes.Buffer
	if err := keys.instance.WriteArmored(&sec, nil); err != nil {
		t.Fatal(err)
	}
	if err := keys.daemon.Public().WriteArmored(&pub); err != nil {
		t.Fatal(err)
	}
	run(sec.Bytes(), root, gpg, "--batch", "--import")
	run(pub.Bytes(), root, gpg, "--batch", "--import")

	inst := filepath.Join(root, "demo")
	manifest := "snapshots/" + m.ID + ".json"
	// The daemon's signature verifies with gpg.
	run(nil, inst, gpg, "--batch", "--verify", manifest+".asc", manifest)
	// The volumes' hashes check with sha256sum, from the manifest.
	var parsed backup.Manifest
	data, _ := os.ReadFile(filepath.Join(inst, manifest))
	if err := json.Unmarshal(data, &parsed); err != nil {
		t.Fatal(err)
	}
	var sums strings.Builder
	for _, v := range parsed.Volumes {
		sums.WriteString(v.SHA256 + "  " + strings.TrimPrefix(v.Name, "demo/") + "\n")
	}
	run([]byte(sums.String()), inst, sha, "-c", "--quiet", "-")
	// gpg --decrypt each volume in order | zstd -d | tar -x.
	var stream bytes.Buffer
	for _, v := range parsed.Volumes {
		stream.Write(run(nil, inst, gpg, "--batch", "--quiet", "--decrypt", strings.TrimPrefix(v.Name, "demo/")))
	}
	plain := run(stream.Bytes(), root, zstd, "-d", "-c")
	out := t.TempDir()
	run(plain, out, tarBin, "-x")
	if diff := backup.CompareTrees(t, src, out, nil); diff != "" {
		t.Fatal(diff)
	}
}
