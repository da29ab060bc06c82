package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type tarEntry struct {
	hdr  tar.Header
	body string
}

func makeTar(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if e.body != "" {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return b.Bytes()
}

func reg(name, body string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg}, body: body}
}

func TestUnpackRefusesEscapes(t *testing.T) {
	cases := []struct {
		name    string
		entries []tarEntry
	}{
		{"dotdot", []tarEntry{reg("../escaped", "x")}},
		{"nested dotdot", []tarEntry{reg("a/../../escaped", "x")}},
		{"absolute", []tarEntry{reg("/tmp/escaped", "x")}},
		{"through symlink", []tarEntry{
			{hdr: tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: ".."}},
			reg("link/escaped", "x"),
		}},
		{"through absolute symlink", []tarEntry{
			{hdr: tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/tmp"}},
			reg("link/escaped", "x"),
		}},
		{"hard link out", []tarEntry{{hdr: tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../outside-file"}}}},
		{"hard link to missing", []tarEntry{{hdr: tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "nothing"}}}},
		{"backslash", []tarEntry{reg(`..\escaped`, "x")}},
		{"long name", []tarEntry{reg(strings.Repeat("a/", 2100)+"f", "x")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			os.WriteFile(filepath.Join(parent, "outside-file"), []byte("secret"), 0o600)
			dir := filepath.Join(parent, "target")
			os.Mkdir(dir, 0o700)
			_, err := Unpack(context.Background(), bytes.NewReader(makeTar(t, c.entries...)), dir)
			if err == nil {
				t.Fatal("unsafe archive accepted")
			}
			if _, serr := os.Lstat(filepath.Join(parent, "escaped")); serr == nil {
				t.Fatal("a file was written outside the target")
			}
			if _, serr := os.Lstat("/tmp/escaped"); serr == nil {
				t.Fatal("a file was written to /tmp")
			}
		})
	}
}

func TestUnpackRestoresEntries(t *testing.T) {
	mtime := time.Date(2026, 3, 29, 1, 30, 0, 123456789, time.UTC)
	data := makeTar(t,
		tarEntry{hdr: tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o750, ModTime: mtime, Format: tar.FormatPAX}},
		tarEntry{hdr: tar.Header{Name: "d/f", Typeflag: tar.TypeReg, Mode: 0o640, ModTime: mtime, Format: tar.FormatPAX}, body: "hello"},
		tarEntry{hdr: tar.Header{Name: "d/l", Typeflag: tar.TypeSymlink, Linkname: "f"}},
		tarEntry{hdr: tar.Header{Name: "d/h", Typeflag: tar.TypeLink, Linkname: "d/f"}},
		reg("d/f2", "first"), reg("d/f2", "second"), // later entries replace earlier ones
	)
	dir := t.TempDir()
	st, err := Unpack(context.Background(), bytes.NewReader(data), dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 3 || st.Dirs != 1 || st.Links != 2 {
		t.Fatalf("stats = %+v", st)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "d/h"))
	if string(b) != "hello" {
		t.Fatalf("hard link content %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "d/f2")); string(b) != "second" {
		t.Fatalf("replaced file content %q", b)
	}
	if l, _ := os.Readlink(filepath.Join(dir, "d/l")); l != "f" {
		t.Fatalf("symlink = %q", l)
	}
	for name, mode := range map[string]os.FileMode{"d": 0o750, "d/f": 0o640} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode || !fi.ModTime().Equal(mtime) {
			t.Errorf("%s: mode %v mtime %v; want %v %v", name, fi.Mode().Perm(), fi.ModTime(), mode, mtime)
		}
	}
}

func TestDirRestorerRefusesNonEmptyTarget(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o600)
	d := &DirRestorer{Path: dir}
	err := d.Restore(context.Background(), bytes.NewReader(makeTar(t, reg("a", "b"))))
	if !errors.Is(err, ErrTargetNotEmpty) {
		t.Fatalf("err = %v, want ErrTargetNotEmpty", err)
	}
}

func FuzzUnpack(f *testing.F) {
	f.Add(makeTar(f, reg("a", "b")))
	f.Add(makeTar(f, tarEntry{hdr: tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../.."}}, reg("l/x", "y")))
	f.Add(makeTar(f, tarEntry{hdr: tar.Header{Name: "d/", Typeflag: tar.TypeDir}}, tarEntry{hdr: tar.Header{Name: "d/h", Typeflag: tar.TypeLink, Linkname: "../x"}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "t")
		os.Mkdir(dir, 0o700)
		Unpack(context.Background(), bytes.NewReader(data), dir)
		ents, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 1 {
			t.Fatalf("unpack wrote outside its target: %v", ents)
		}
	})
}
