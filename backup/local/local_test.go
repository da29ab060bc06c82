package local_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opskit/opskit/backup"
	"github.com/opskit/opskit/backup/backuptest"
	"github.com/opskit/opskit/backup/local"
)

func TestConformance(t *testing.T) {
	backuptest.TestTransport(t, func(t *testing.T) backup.Transport {
		tr, err := local.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return tr
	})
}

func TestNewRejectsMissingOrFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := local.New(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("New(missing) = %v, want fs.ErrNotExist", err)
	}
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o600)
	if _, err := local.New(file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("New(file) = %v", err)
	}
	if _, err := local.New(""); err == nil {
		t.Error("New(\"\") succeeded")
	}
}

func TestPermissionsAndNoLeftovers(t *testing.T) {
	dir := t.TempDir()
	tr, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := tr.Put(ctx, "a/b/obj", strings.NewReader("data")); err != nil {
		t.Fatal(err)
	}
	// A failed Put removes its temporary file.
	if err := tr.Put(ctx, "a/b/obj2", io.MultiReader(strings.NewReader("part"), errReader{})); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	for _, p := range []string{"a", "a/b"} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, mode %v, want 0700", p, err, fi.Mode())
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "a/b/obj"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("object mode %v (%v), want 0600", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "a/b"))
	if len(entries) != 1 {
		t.Errorf("directory holds %v, want only obj", entries)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("broken") }

func TestTemporaryAndForeignFilesNotListed(t *testing.T) {
	dir := t.TempDir()
	tr, _ := local.New(dir)
	os.MkdirAll(filepath.Join(dir, "x/.hidden"), 0o700)
	os.WriteFile(filepath.Join(dir, "x/.obj.123.tmp"), []byte("partial"), 0o600)
	os.WriteFile(filepath.Join(dir, "x/.hidden/y"), []byte("y"), 0o600)
	os.WriteFile(filepath.Join(dir, "x/real"), []byte("r"), 0o600)
	os.Symlink("/etc/passwd", filepath.Join(dir, "x/link"))
	objs, err := tr.List(context.Background(), "")
	if err != nil || len(objs) != 1 || objs[0].Name != "x/real" {
		t.Fatalf("List = %v, %v; want only x/real", objs, err)
	}
	if _, err := tr.Open(context.Background(), "x/link"); err == nil {
		t.Fatal("Open followed a symbolic link out of the directory")
	}
}

func Example() {
	dir, _ := os.MkdirTemp("", "backups")
	defer os.RemoveAll(dir)
	tr, err := local.New(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if err := tr.Put(ctx, "demo/snapshots/1.json", strings.NewReader(`{"v":1}`)); err != nil {
		fmt.Println(err)
		return
	}
	objs, _ := tr.List(ctx, "demo/")
	for _, o := range objs {
		fmt.Println(o.Name, o.Size)
	}
	_, err = tr.Open(ctx, "demo/snapshots/2.json")
	fmt.Println(errors.Is(err, fs.ErrNotExist))
	// Output:
	// demo/snapshots/1.json 7
	// true
}
