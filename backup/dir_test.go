package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opskit/opskit/internal/testenv"
)

// makeTree builds a directory with the kinds of entries a snapshot must
// keep: nested dirs, empty files, a file larger than several parts,
// symlinks (one dangling), a hard link, odd permissions and old mtimes.
func makeTree(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "a/b/c"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "empty"), 0o700))
	must(os.MkdirAll(filepath.Join(dir, "cache"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "cache/junk.bin"), []byte("excluded"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "a/b/c/small.txt"), []byte("hello\n"), 0o640))
	must(os.WriteFile(filepath.Join(dir, "a/empty.txt"), nil, 0o600))
	must(os.WriteFile(filepath.Join(dir, "a/skip.tmp"), []byte("tmp"), 0o600))
	big := make([]byte, 700<<10)
	rand.Read(big)
	must(os.WriteFile(filepath.Join(dir, "a/big.bin"), big, 0o644))
	log := bytes.Repeat([]byte("127.0.0.1 - - [22/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 612\n"), 5000)
	must(os.WriteFile(filepath.Join(dir, "access.log"), log, 0o644))
	must(os.Symlink("b/c/small.txt", filepath.Join(dir, "a/link")))
	must(os.Symlink("/nonexistent/target", filepath.Join(dir, "dangling")))
	must(os.Link(filepath.Join(dir, "a/b/c/small.txt"), filepath.Join(dir, "hardlink.txt")))
	for i := 0; i < 300; i++ {
		must(os.WriteFile(filepath.Join(dir, "a/b", "f"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+strconv.Itoa(i)), []byte(strconv.Itoa(i*i)), 0o644))
	}
	old := time.Date(2019, 6, 1, 12, 0, 0, 987654321, time.UTC)
	must(os.Chtimes(filepath.Join(dir, "a/b/c/small.txt"), old, old))
	must(os.Chmod(filepath.Join(dir, "a/b"), 0o751))
	return dir
}

func TestDirPartsConcatenateToOneTar(t *testing.T) {
	dir := makeTree(t)
	d := &Dir{Path: dir, Exclude: []string{"*.tmp", "cache"}}
	var whole bytes.Buffer
	if err := d.Snapshot(context.Background(), &whole); err != nil {
		t.Fatal(err)
	}
	// Cut small: the big file spans several parts.
	parts := make(chan Part)
	errc := make(chan error, 1)
	go func() { errc <- d.Split(context.Background(), 1<<16, parts) }()
	var cat bytes.Buffer
	n := 0
	var ranges int
	for p := range parts {
		info, err := p.WriteTo(context.Background(), &cat)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range info.Index {
			if r.Type == "range" && r.Path == "a/big.bin" {
				ranges++
			}
		}
		n++
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if n < 10 || ranges < 10 {
		t.Fatalf("got %d parts and %d ranges of the big file; want the file split", n, ranges)
	}
	if !bytes.Equal(whole.Bytes(), cat.Bytes()) {
		t.Fatalf("parts concatenated (%d bytes) differ from the whole stream (%d bytes)", cat.Len(), whole.Len())
	}

	// GNU tar reads it and restores the same tree.
	tarBin := testenv.LookPath(t, "tar")
	out := t.TempDir()
	cmd := exec.Command(tarBin, "-x", "-C", out)
	cmd.Stdin = bytes.NewReader(cat.Bytes())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar -x: %v: %s", err, b)
	}
	if diff := compareTrees(t, dir, out, []string{"a/skip.tmp", "cache", "cache/junk.bin"}); diff != "" {
		t.Fatal(diff)
	}
}

// compareTrees reports differences between two trees (content, type, mode,
// mtime of files, symlink targets), ignoring the listed paths in want.
func compareTrees(t testing.TB, want, got string, ignore []string) string {
	t.Helper()
	list := func(root string) map[string]string {
		m := map[string]string{}
		filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(root, p)
			desc := fi.Mode().String()
			switch {
			case fi.Mode().IsRegular():
				b, _ := os.ReadFile(p)
				desc += " " + string(b) + " " + fi.ModTime().UTC().Format(time.RFC3339)
			case fi.Mode()&os.ModeSymlink != 0:
				l, _ := os.Readlink(p)
				desc += " -> " + l
			}
			if rel != "." {
				m[rel] = desc
			}
			return nil
		})
		return m
	}
	w, g := list(want), list(got)
	for _, i := range ignore {
		delete(w, i)
	}
	var diffs []string
	for k, v := range w {
		if g[k] != v {
			if len(v) > 80 {
				v = v[:80]
			}
			gv := g[k]
			if len(gv) > 80 {
				gv = gv[:80]
			}
			diffs = append(diffs, k+": want "+v+", got "+gv)
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			diffs = append(diffs, k+": unexpected")
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "\n")
}
