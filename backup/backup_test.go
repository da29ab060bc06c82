package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opskit/opskit/backup"
)

// faultyTransport wraps a Transport and fails chosen operations.
type faultyTransport struct {
	backup.Transport
	mu      sync.Mutex
	failPut func(name string) error // called for each Put; a non-nil error fails it after some bytes
	deletes []string
}

func (f *faultyTransport) Put(ctx context.Context, name string, r io.Reader) error {
	f.mu.Lock()
	fail := f.failPut
	f.mu.Unlock()
	if fail != nil {
		if err := fail(name); err != nil {
			// Consume part of the stream, as a dropped connection would.
			io.CopyN(io.Discard, r, 1000)
			return err
		}
	}
	return f.Transport.Put(ctx, name, r)
}

func (f *faultyTransport) Delete(ctx context.Context, name string) error {
	f.mu.Lock()
	f.deletes = append(f.deletes, name)
	f.mu.Unlock()
	return f.Transport.Delete(ctx, name)
}

type fixture struct {
	t     *testing.T
	tr    *faultyTransport
	repo  *backup.Repository
	keys  testKeys
	src   string
	logs  *bytes.Buffer
	logMu *sync.Mutex
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	keys := newTestKeys(t)
	tr := &faultyTransport{Transport: newTransport(t)}
	logs := &bytes.Buffer{}
	mu := &sync.Mutex{}
	h := slog.NewJSONHandler(lockedWriter{w: logs, mu: mu}, &slog.HandlerOptions{Level: slog.LevelDebug})
	repo := &backup.Repository{Transport: tr, Instance: "demo", Verifier: keys.verifier, Signer: keys.signer, Logger: slog.New(h)}
	return &fixture{t: t, tr: tr, repo: repo, keys: keys, src: backup.MakeTree(t), logs: logs, logMu: mu}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (f *fixture) job(src backup.Snapshotter) *backup.Job {
	return &backup.Job{Repo: f.repo, Source: src, Encryptor: f.keys.encryptor, Signer: f.keys.signer,
		VolumeSize: 256 << 10, Workers: 2, RetryDelay: time.Millisecond}
}

func (f *fixture) backupDir() *backup.Manifest {
	f.t.Helper()
	m, err := f.job(&backup.Dir{Path: f.src}).Run(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

func TestDirBackupRestoresIdenticalTree(t *testing.T) {
	f := newFixture(t)
	var progress []backup.Progress
	var pmu sync.Mutex
	j := f.job(&backup.Dir{Path: f.src})
	j.Progress = func(p backup.Progress) { pmu.Lock(); progress = append(progress, p); pmu.Unlock() }
	m, err := j.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Volumes) < 4 {
		t.Fatalf("%d volumes; the tree should need several at 256 KiB", len(m.Volumes))
	}
	if m.Index == nil || m.Files < 300 {
		t.Fatalf("manifest index %v, files %d", m.Index, m.Files)
	}
	if last := progress[len(progress)-1]; !last.Done || last.PlainBytes != m.PlainSize || last.Volumes != int64(len(m.Volumes)) {
		t.Fatalf("final progress %+v, manifest plain %d volumes %d", last, m.PlainSize, len(m.Volumes))
	}
	list, err := f.repo.List(context.Background())
	if err != nil || len(list) != 1 || list[0].ID != m.ID || !list[0].Verified.IsZero() {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if _, err := f.repo.Verify(context.Background(), m.ID, true); err != nil {
		t.Fatal(err)
	}
	list, _ = f.repo.List(context.Background())
	if list[0].Verified.IsZero() {
		t.Fatal("verification was not recorded")
	}
	out := filepath.Join(t.TempDir(), "restored")
	st, err := f.repo.Restore(context.Background(), m.ID, f.keys.decryptor, &backup.DirRestorer{Path: out})
	if err != nil {
		t.Fatal(err)
	}
	if st.PlainBytes != m.PlainSize || st.StoredBytes != m.StoredSize-m.Index.Size {
		t.Fatalf("restore stats %+v, manifest plain %d stored %d", st, m.PlainSize, m.StoredSize)
	}
	if diff := backup.CompareTrees(t, f.src, out, nil); diff != "" {
		t.Fatal(diff)
	}
	rep, err := f.repo.Drill(context.Background(), f.keys.decryptor, backup.DrillOptions{Scratch: t.TempDir()})
	if err != nil {
		t.Fatalf("drill: %v (%v)", err, rep.Problems)
	}
	if rep.Backup != m.ID || rep.Files != m.Files || rep.TimeToRestore <= 0 {
		t.Fatalf("drill report %+v", rep)
	}
}

func TestCommandBackupRoundTrip(t *testing.T) {
	f := newFixture(t)
	// A deterministic stream of about 1.5 MiB, like a database dump.
	src := &backup.Command{Path: "sh", Args: []string{"-c", "seq 1 200000"}}
	m, err := f.job(src).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m.Source != "command" || m.Index != nil || len(m.Volumes) < 3 {
		t.Fatalf("manifest source %s index %v volumes %d", m.Source, m.Index, len(m.Volumes))
	}
	want, _ := exec.Command("seq", "1", "200000").Output()
	out := filepath.Join(t.TempDir(), "dump")
	if _, err := f.repo.Restore(context.Background(), m.ID, f.keys.decryptor, &backup.FileRestorer{Path: out}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, want) {
		t.Fatalf("restored %d bytes, want %d", len(got), len(want))
	}
	// A restorer that cannot roll back gets the same bytes.
	out2 := filepath.Join(t.TempDir(), "dump2")
	cr := &backup.CommandRestorer{Path: "sh", Args: []string{"-c", "cat > " + out2}}
	if _, err := f.repo.RestoreVia(context.Background(), m.ID, f.keys.decryptor, cr, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out2); !bytes.Equal(got, want) {
		t.Fatalf("command restorer got %d bytes, want %d", len(got), len(want))
	}
	// A failing snapshot command fails the backup and commits nothing.
	_, err = f.job(&backup.Command{Path: "sh", Args: []string{"-c", "seq 1 100000; echo dump failed >&2; exit 3"}}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "dump failed") {
		t.Fatalf("err = %v, want the command's failure", err)
	}
	if list, _ := f.repo.List(context.Background()); len(list) != 1 {
		t.Fatalf("%d backups listed after a failed one, want 1", len(list))
	}
}

func TestFailedUploadLeavesNoBackup(t *testing.T) {
	f := newFixture(t)
	f.tr.failPut = func(name string) error {
		if strings.HasSuffix(name, "vol-000003.zst.pgp") {
			return errors.New("connection reset by peer")
		}
		return nil
	}
	_, err := f.job(&backup.Dir{Path: f.src}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v, want the upload failure", err)
	}
	list, err := f.repo.List(context.Background())
	if err != nil || len(list) != 0 {
		t.Fatalf("after a failed upload List = %v, %v; want no backup", list, err)
	}
	objs, _ := f.tr.List(context.Background(), "demo/")
	for _, o := range objs {
		if !strings.HasPrefix(o.Name, "demo/locks/") {
			t.Errorf("left behind: %s", o.Name)
		}
	}
	// The next run succeeds.
	f.tr.failPut = nil
	m := f.backupDir()
	if list, _ := f.repo.List(context.Background()); len(list) != 1 || list[0].ID != m.ID {
		t.Fatalf("List = %v", list)
	}
}

func TestVolumeIsRetriedAfterTransientFailure(t *testing.T) {
	f := newFixture(t)
	var failures atomic.Int32
	f.tr.failPut = func(name string) error {
		if strings.HasSuffix(name, "vol-000002.zst.pgp") && failures.Add(1) == 1 {
			return errors.New("broken pipe")
		}
		return nil
	}
	m := f.backupDir()
	if failures.Load() < 2 {
		t.Fatalf("volume 2 stored after %d attempts; want a retry", failures.Load())
	}
	if _, err := f.repo.Verify(context.Background(), m.ID, false); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "r")
	if _, err := f.repo.Restore(context.Background(), m.ID, f.keys.decryptor, &backup.DirRestorer{Path: out}); err != nil {
		t.Fatal(err)
	}
	if diff := backup.CompareTrees(t, f.src, out, nil); diff != "" {
		t.Fatal(diff)
	}
}

func TestCancelledBackupCommitsNothing(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	f.tr.failPut = func(name string) error {
		if strings.HasSuffix(name, "vol-000002.zst.pgp") {
			cancel()
		}
		return nil
	}
	_, err := f.job(&backup.Dir{Path: f.src}).Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if list, _ := f.repo.List(context.Background()); len(list) != 0 {
		t.Fatalf("a cancelled backup is listed: %v", list)
	}
}

// tamper rewrites an object through the transport.
func tamper(t *testing.T, tr backup.Transport, name string, f func([]byte) []byte) {
	t.Helper()
	rc, err := tr.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if err := tr.Put(context.Background(), name, bytes.NewReader(f(b))); err != nil {
		t.Fatal(err)
	}
}

func TestTamperedBackupsAreRefused(t *testing.T) {
	flip := func(at func(n int) int) func([]byte) []byte {
		return func(b []byte) []byte { b[at(len(b))] ^= 0x40; return b }
	}
	cases := []struct {
		name    string
		object  func(m *backup.Manifest) string
		change  func([]byte) []byte
		wantErr error
	}{
		{"flipped byte mid volume", func(m *backup.Manifest) string { return m.Volumes[1].Name }, flip(func(n int) int { return n / 2 }), backup.ErrCorrupt},
		{"flipped last byte", func(m *backup.Manifest) string { return m.Volumes[len(m.Volumes)-1].Name }, flip(func(n int) int { return n - 1 }), backup.ErrCorrupt},
		{"truncated volume", func(m *backup.Manifest) string { return m.Volumes[0].Name }, func(b []byte) []byte { return b[:len(b)/3] }, backup.ErrCorrupt},
		{"altered manifest", func(m *backup.Manifest) string { return "demo/snapshots/" + m.ID + ".json" },
			func(b []byte) []byte { return bytes.Replace(b, []byte(`"plain_size": `), []byte(`"plain_size": 1`), 1) }, backup.ErrBadSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			m := f.backupDir()
			tamper(t, f.tr, c.object(m), c.change)
			if c.wantErr == backup.ErrCorrupt {
				if _, err := f.repo.Verify(context.Background(), m.ID, false); !errors.Is(err, c.wantErr) {
					t.Fatalf("Verify: err = %v, want %v", err, c.wantErr)
				}
			}
			parent := t.TempDir()
			out := filepath.Join(parent, "restored")
			_, err := f.repo.Restore(context.Background(), m.ID, f.keys.decryptor, &backup.DirRestorer{Path: out})
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("Restore: err = %v, want %v", err, c.wantErr)
			}
			if ents, _ := os.ReadDir(parent); len(ents) != 0 {
				t.Fatalf("restore left %v behind", ents)
			}
			cmdOut := filepath.Join(parent, "never")
			cr := &backup.CommandRestorer{Path: "sh", Args: []string{"-c", "cat > " + cmdOut}}
			if _, err := f.repo.RestoreVia(context.Background(), m.ID, f.keys.decryptor, cr, t.TempDir()); !errors.Is(err, c.wantErr) {
				t.Fatalf("RestoreVia: err = %v, want %v", err, c.wantErr)
			}
			if _, err := os.Stat(cmdOut); err == nil {
				t.Fatal("a restorer that cannot roll back was run on unverified data")
			}
		})
	}
}

func TestManifestFromAnotherSignerIsRefused(t *testing.T) {
	f := newFixture(t)
	other := newTestKeys(t)
	j := f.job(&backup.Dir{Path: f.src})
	j.Signer = other.signer
	m, err := j.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.repo.Manifest(context.Background(), m.ID); !errors.Is(err, backup.ErrBadSignature) {
		t.Fatalf("err = %v, want ErrBadSignature", err)
	}
	if _, err := f.repo.List(context.Background()); !errors.Is(err, backup.ErrBadSignature) {
		t.Fatalf("List hid a forged manifest: err = %v", err)
	}
}

func TestWrongKeyRestoresNothing(t *testing.T) {
	f := newFixture(t)
	m := f.backupDir()
	other := newTestKeys(t)
	parent := t.TempDir()
	_, err := f.repo.Restore(context.Background(), m.ID, other.decryptor, &backup.DirRestorer{Path: filepath.Join(parent, "x")})
	if err == nil {
		t.Fatal("restore with the wrong key succeeded")
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Fatalf("restore left %v behind", ents)
	}
}

func TestLocksSerialiseOperations(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	lock, _, err := f.repo.Lock(ctx, "prune", true)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.job(&backup.Dir{Path: f.src}).Run(ctx)
	var le *backup.LockedError
	if !errors.As(err, &le) || !errors.Is(err, backup.ErrLocked) || le.Holders[0].Operation != "prune" {
		t.Fatalf("backup under a prune lock: err = %v", err)
	}
	if err := lock.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	m := f.backupDir()
	// Shared locks coexist; an exclusive one waits for them.
	r1, _, err := f.repo.Lock(ctx, "drill", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.repo.Verify(ctx, m.ID, false); err != nil {
		t.Fatalf("verify during a drill: %v", err)
	}
	if err := f.repo.Delete(ctx, m.ID); !errors.Is(err, backup.ErrLocked) {
		t.Fatalf("delete during a drill: err = %v", err)
	}
	r1.Unlock(ctx)

	// A lock abandoned long ago does not block, and unlock removes it.
	old := &backup.Repository{Transport: f.tr, Instance: "demo", Verifier: f.keys.verifier, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }}
	if _, _, err := old.Lock(ctx, "backup", true); err != nil {
		t.Fatal(err)
	}
	locks, err := f.repo.Locks(ctx)
	if err != nil || len(locks) != 1 || !locks[0].Stale {
		t.Fatalf("locks = %+v, %v; want one stale lock", locks, err)
	}
	if _, err := f.repo.Verify(ctx, m.ID, false); err != nil {
		t.Fatalf("a stale lock blocked: %v", err)
	}
	removed, err := f.repo.RemoveStaleLocks(ctx)
	if err != nil || len(removed) != 1 {
		t.Fatalf("RemoveStaleLocks = %v, %v", removed, err)
	}
}

func TestPruneKeepsWhatMustSurvive(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var ids []string
	for i := 0; i < 4; i++ {
		ids = append(ids, f.backupDir().ID)
	}
	// Verify the two oldest only.
	for _, id := range ids[:2] {
		if _, err := f.repo.Verify(ctx, id, true); err != nil {
			t.Fatal(err)
		}
	}
	dropAll := func(bs []backup.Backup, now time.Time) ([]backup.PruneDecision, error) {
		var out []backup.PruneDecision
		for _, b := range bs {
			out = append(out, backup.PruneDecision{ID: b.ID, Reasons: []string{"policy says go"}})
		}
		return out, nil
	}
	rep, err := f.repo.Prune(ctx, dropAll, true)
	if err != nil {
		t.Fatal(err)
	}
	// Unverified (2, 3) and the newest verified (1) survive; only 0 goes.
	if len(rep.Deleted) != 1 || rep.Deleted[0] != ids[0] {
		t.Fatalf("dry run would delete %v, want [%s]", rep.Deleted, ids[0])
	}
	if list, _ := f.repo.List(ctx); len(list) != 4 {
		t.Fatal("dry run deleted something")
	}
	// Leave an orphan, as an interrupted job would.
	f.tr.Put(ctx, "demo/data/20200101T000000Z-abcdef/vol-000001.zst.pgp", strings.NewReader("partial"))
	f.tr.deletes = nil
	rep, err = f.repo.Prune(ctx, dropAll, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Deleted) != 1 || len(rep.Orphans) != 1 {
		t.Fatalf("prune deleted %v, orphans %v", rep.Deleted, rep.Orphans)
	}
	var sawManifest bool
	for _, d := range f.tr.deletes {
		if d == "demo/snapshots/"+ids[0]+".json" {
			sawManifest = true
		}
		if strings.HasPrefix(d, "demo/data/"+ids[0]) && !sawManifest {
			t.Fatalf("data %s deleted before the manifest", d)
		}
	}
	list, _ := f.repo.List(ctx)
	if len(list) != 3 {
		t.Fatalf("%d backups left, want 3", len(list))
	}
	if objs, _ := f.tr.List(ctx, "demo/data/"+ids[0]); len(objs) != 0 {
		t.Fatalf("data of a pruned backup left: %v", objs)
	}
	// Deleting the newest verified backup by hand is refused.
	if err := f.repo.Delete(ctx, ids[1]); !errors.Is(err, backup.ErrPruneRefused) {
		t.Fatalf("Delete(newest verified) = %v", err)
	}
}

func TestHooksRunAroundTheSnapshot(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "after-ran")
	j := f.job(&backup.Dir{Path: f.src})
	j.Hooks = backup.Hooks{
		Before: []backup.Hook{{Name: "freeze", Command: []string{"sh", "-c", "echo frozen >&2; exit 7"}}},
		After:  []backup.Hook{{Name: "unfreeze", Command: []string{"touch", marker}}},
	}
	_, err := j.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "freeze") || !strings.Contains(err.Error(), "frozen") {
		t.Fatalf("err = %v, want the before hook's failure", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("the after hook did not run after a failed before hook")
	}
	os.Remove(marker)
	j.Hooks.Before = []backup.Hook{{Command: []string{"sh", "-c", "echo dumped > " + filepath.Join(f.src, "dump.sql")}}}
	m, err := j.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("the after hook did not run")
	}
	out := filepath.Join(t.TempDir(), "r")
	if _, err := f.repo.Restore(context.Background(), m.ID, f.keys.decryptor, &backup.DirRestorer{Path: out}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "dump.sql")); string(b) != "dumped\n" {
		t.Fatalf("the before hook's dump is not in the backup: %q", b)
	}
}

func TestAuditLogNamesAccessesButNoData(t *testing.T) {
	f := newFixture(t)
	secret := "s3cr3t-customer-data-" + fmt.Sprint(time.Now().UnixNano())
	os.WriteFile(filepath.Join(f.src, "customer.txt"), []byte(secret), 0o600)
	m := f.backupDir()
	out := filepath.Join(t.TempDir(), "r")
	if _, err := f.repo.Restore(context.Background(), m.ID, f.keys.decryptor, &backup.DirRestorer{Path: out}); err != nil {
		t.Fatal(err)
	}
	f.logMu.Lock()
	logs := f.logs.String()
	f.logMu.Unlock()
	for _, want := range []string{`"op":"put"`, `"op":"open"`, `"op":"delete"`, `"audit":true`, `"actor":`, m.Volumes[0].Name} {
		if !strings.Contains(logs, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	if strings.Contains(logs, secret) || strings.Contains(logs, "customer.txt") {
		t.Fatal("the log contains user data")
	}
}

func TestRestoreRefusesNonEmptyTarget(t *testing.T) {
	f := newFixture(t)
	m := f.backupDir()
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, "precious"), []byte("keep me"), 0o600)
	_, err := f.repo.Restore(context.Background(), m.ID, f.keys.decryptor, &backup.DirRestorer{Path: out})
	if !errors.Is(err, backup.ErrTargetNotEmpty) {
		t.Fatalf("err = %v, want ErrTargetNotEmpty", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "precious")); string(b) != "keep me" {
		t.Fatal("an existing file was touched")
	}
}

func TestManifestNotFound(t *testing.T) {
	f := newFixture(t)
	_, err := f.repo.Manifest(context.Background(), "20261122T000000Z-000000")
	if !errors.Is(err, backup.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	if _, err := f.repo.Latest(context.Background()); !errors.Is(err, backup.ErrNotFound) {
		t.Fatalf("Latest on empty: %v", err)
	}
	_, err = f.repo.Manifest(context.Background(), "../../etc/passwd")
	if !errors.Is(err, backup.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}
