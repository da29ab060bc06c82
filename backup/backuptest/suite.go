package backuptest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opskit/opskit/backup"
)

// LargeSize is the size of the object the suite streams through Put and
// Open: several MiB, more than any sensible buffer, and not a multiple of
// common block sizes.
const LargeSize = 5<<20 + 12345

// TestTransport runs the conformance suite. newTransport must return a
// Transport over a fresh, empty store each time it is called (a new
// temporary directory, a new remote directory); it may register cleanups
// on the t it is given. It is called from parallel subtests.
func TestTransport(t *testing.T, newTransport func(t *testing.T) backup.Transport) {
	t.Helper()
	tests := []struct {
		name string
		f    func(*testing.T, backup.Transport)
	}{
		{"RoundTrip", testRoundTrip},
		{"Replace", testReplace},
		{"Large", testLarge},
		{"ListPrefix", testListPrefix},
		{"ListEmpty", testListEmpty},
		{"InvalidNames", testInvalidNames},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"FailedPut", testFailedPut},
		{"CancelledPut", testCancelledPut},
		{"CancelledContext", testCancelledContext},
		{"CancelledOpenReader", testCancelledOpenReader},
		{"Concurrent", testConcurrent},
		{"DirectoryConflict", testDirectoryConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each subtest has its own store: run them side by side, which
			// also exercises a remote transport's concurrent use.
			t.Parallel()
			tt.f(t, newTransport(t))
		})
	}
}

// weirdName exercises quoting in shells, rsync filters and command lines:
// every character in it is allowed by backup.ValidName.
const weirdName = "we ird/-e x/a*b?[c]'q\"$x;`y` ~ #%&(ü名).bin"

func put(t *testing.T, tr backup.Transport, name string, data []byte) {
	t.Helper()
	if err := tr.Put(t.Context(), name, onlyReader{bytes.NewReader(data)}); err != nil {
		t.Fatalf("Put(%q): %v", name, err)
	}
}

func get(t *testing.T, tr backup.Transport, name string) []byte {
	t.Helper()
	rc, err := tr.Open(t.Context(), name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Open(%q): read: %v", name, err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("Open(%q): Close: %v", name, err)
	}
	return data
}

func list(t *testing.T, tr backup.Transport, prefix string) []backup.Object {
	t.Helper()
	objs, err := tr.List(t.Context(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return objs
}

func names(objs []backup.Object) []string {
	n := []string{}
	for _, o := range objs {
		n = append(n, o.Name)
	}
	return n
}

func wantNames(t *testing.T, tr backup.Transport, prefix string, want ...string) []backup.Object {
	t.Helper()
	objs := list(t, tr, prefix)
	if want == nil {
		want = []string{}
	}
	if got := names(objs); !slices.Equal(got, want) {
		t.Fatalf("List(%q) = %q, want %q", prefix, got, want)
	}
	return objs
}

func wantContent(t *testing.T, tr backup.Transport, name string, want []byte) {
	t.Helper()
	if got := get(t, tr, name); !bytes.Equal(got, want) {
		t.Fatalf("Open(%q) = %d bytes %.40q, want %d bytes %.40q", name, len(got), got, len(want), want)
	}
}

// onlyReader hides optional interfaces (WriterTo, Seeker, Len) so that
// transports are tested with a plain stream.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func randomReader(seed uint64, n int64) io.Reader {
	var key [32]byte
	key[0] = byte(seed)
	key[1] = byte(seed >> 8)
	return io.LimitReader(rand.NewChaCha8(key), n)
}

func testRoundTrip(t *testing.T, tr backup.Transport) {
	objects := map[string][]byte{
		"top":   []byte("top level"),
		"empty": {},
		"demo/data/20261122T010203Z-1a2b/vol-000001.zst.pgp": bytes.Repeat([]byte{0, 1, 2, 255}, 1000),
		"demo/snapshots/x.json":                              []byte(`{"v":1}`),
		weirdName:                                            []byte("quoting is hard"),
		"a/b/c/d/e/f/g/deep":                                 []byte("deep"),
		"binary-é":                                           {0, '\n', '\r', 0},
	}
	for n, d := range objects {
		put(t, tr, n, d)
	}
	var want []string
	for n := range objects {
		want = append(want, n)
	}
	slices.Sort(want)
	objs := wantNames(t, tr, "", want...)
	for _, o := range objs {
		if o.Size != int64(len(objects[o.Name])) {
			t.Errorf("List: %q has size %d, want %d", o.Name, o.Size, len(objects[o.Name]))
		}
		if o.ModTime.IsZero() {
			t.Errorf("List: %q has no ModTime", o.Name)
		}
	}
	for n, d := range objects {
		wantContent(t, tr, n, d)
	}
}

func testReplace(t *testing.T, tr backup.Transport) {
	put(t, tr, "r/obj", bytes.Repeat([]byte("first version "), 1000))
	before := wantNames(t, tr, "r/", "r/obj")
	second := []byte("second, shorter")
	put(t, tr, "r/obj", second)
	wantContent(t, tr, "r/obj", second)
	objs := wantNames(t, tr, "r/", "r/obj")
	if objs[0].Size != int64(len(second)) {
		t.Fatalf("size after replace %d, want %d", objs[0].Size, len(second))
	}
	if objs[0].ModTime.Before(before[0].ModTime) {
		t.Fatalf("ModTime went backwards on replace: %v, then %v", before[0].ModTime, objs[0].ModTime)
	}
	put(t, tr, "r/obj", nil)
	wantContent(t, tr, "r/obj", []byte{})
}

func testLarge(t *testing.T, tr backup.Transport) {
	h := sha256.New()
	if err := tr.Put(t.Context(), "large/obj", io.TeeReader(randomReader(1, LargeSize), h)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	want := h.Sum(nil)
	objs := wantNames(t, tr, "large/", "large/obj")
	if objs[0].Size != LargeSize {
		t.Fatalf("size %d, want %d", objs[0].Size, LargeSize)
	}
	rc, err := tr.Open(t.Context(), "large/obj")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h.Reset()
	n, err := io.Copy(h, rc)
	if err != nil {
		t.Fatalf("read after %d bytes: %v", n, err)
	}
	if n != LargeSize || !bytes.Equal(h.Sum(nil), want) {
		t.Fatalf("read %d bytes, hash %x; want %d bytes, hash %x", n, h.Sum(nil), LargeSize, want)
	}
}

func testListPrefix(t *testing.T, tr backup.Transport) {
	// Byte order differs from a per-directory walk: "-" < "." < "/" < "0".
	all := []string{"a-b", "a.b", "a/b", "a/b-c/x", "a/b.c", "a/b0", "a/bc/d/e", "a0", "ab", "b/a"}
	for i, n := range slices.Backward(all) {
		put(t, tr, n, []byte(strings.Repeat("x", i)))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", all},
		{"a", all[:9]},
		{"a/", all[2:7]},
		{"a/b", all[2:7]},
		{"a/b/", nil},
		{"a/bc", all[6:7]},
		{"a/bc/", all[6:7]},
		{"a/bc/d", all[6:7]},
		{"a/bc/d/e", all[6:7]},
		{"a/bc/d/e/", nil},
		{"a/b-c", all[3:4]},
		{"a/b-c/x", all[3:4]},
		{"a/b-", all[3:4]},
		{"a-", all[:1]},
		{"b", all[9:]},
		{"b/", all[9:]},
		{"c", nil},
		{"c/", nil},
		{"c/d/e/", nil},
	}
	for _, tt := range tests {
		wantNames(t, tr, tt.prefix, tt.want...)
	}
	for i, o := range list(t, tr, "") {
		if o.Size != int64(i) {
			t.Errorf("%s: size %d, want %d", o.Name, o.Size, i)
		}
	}
}

func testListEmpty(t *testing.T, tr backup.Transport) {
	wantNames(t, tr, "")
	wantNames(t, tr, "x/")
	wantNames(t, tr, "x")
}

// failingReader fails the test if the transport reads it.
type failingReader struct{ t *testing.T }

func (f failingReader) Read([]byte) (int, error) {
	f.t.Error("Put read its input before rejecting the name")
	return 0, errors.New("must not be read")
}

var invalidNames = []string{
	"", "/", "/abs", "a/", "a//b", ".", "..", "../x", "a/../b", "a/./b", "./a",
	".hidden", "a/.b", "a/b/.partial", `a\b`, "a\x00b", "a\nb", "a\tb", "\x7f", "a\xffb",
	strings.Repeat("x", 1025),
}

func testInvalidNames(t *testing.T, tr backup.Transport) {
	put(t, tr, "keep", []byte("k"))
	ctx := t.Context()
	for _, n := range invalidNames {
		if err := tr.Put(ctx, n, failingReader{t}); !errors.Is(err, backup.ErrInvalidName) {
			t.Errorf("Put(%q) = %v, want ErrInvalidName", n, err)
		}
		if rc, err := tr.Open(ctx, n); !errors.Is(err, backup.ErrInvalidName) {
			t.Errorf("Open(%q) = %v, want ErrInvalidName", n, err)
			if err == nil {
				rc.Close()
			}
		}
		if err := tr.Delete(ctx, n); !errors.Is(err, backup.ErrInvalidName) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidName", n, err)
		}
	}
	for _, p := range []string{"/", "//", "/abs", "a//", "../", "..", ".x/", "a/./", `a\`, "a\n"} {
		if _, err := tr.List(ctx, p); !errors.Is(err, backup.ErrInvalidName) {
			t.Errorf("List(%q) = %v, want ErrInvalidName", p, err)
		}
	}
	wantNames(t, tr, "", "keep")
	wantContent(t, tr, "keep", []byte("k"))
}

func testMissing(t *testing.T, tr backup.Transport) {
	put(t, tr, "dir/sub/obj", []byte("x"))
	ctx := t.Context()
	for _, n := range []string{"nope", "dir/nope", "nope/deeper/still", "dir", "dir/sub", "dir/sub/obj/below"} {
		rc, err := tr.Open(ctx, n)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%q) = %v, want an error matching fs.ErrNotExist", n, err)
		}
		if err == nil {
			rc.Close()
		}
		if err := tr.Delete(ctx, n); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Delete(%q) = %v, want an error matching fs.ErrNotExist", n, err)
		}
	}
	wantNames(t, tr, "", "dir/sub/obj")
	wantContent(t, tr, "dir/sub/obj", []byte("x"))
}

func testDelete(t *testing.T, tr backup.Transport) {
	put(t, tr, "d/a", []byte("a"))
	put(t, tr, "d/b/c", []byte("c"))
	put(t, tr, weirdName, []byte("w"))
	put(t, tr, "d/a-x", []byte("a-x"))
	ctx := t.Context()
	if err := tr.Delete(ctx, "d/a"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantNames(t, tr, "", "d/a-x", "d/b/c", weirdName)
	if _, err := tr.Open(ctx, "d/a"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open after Delete = %v, want fs.ErrNotExist", err)
	}
	if err := tr.Delete(ctx, "d/a"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("second Delete = %v, want fs.ErrNotExist", err)
	}
	if err := tr.Delete(ctx, weirdName); err != nil {
		t.Fatalf("Delete(%q): %v", weirdName, err)
	}
	if err := tr.Delete(ctx, "d/b/c"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantNames(t, tr, "", "d/a-x")
	put(t, tr, "d/a", []byte("again"))
	put(t, tr, "d/b/c", []byte("again"))
	wantContent(t, tr, "d/a", []byte("again"))
	wantNames(t, tr, "d/", "d/a", "d/a-x", "d/b/c")
}

var errBoom = errors.New("backuptest: reader failed on purpose")

// breakingReader returns random data, then after n bytes calls fail and
// returns what it returns.
type breakingReader struct {
	r    io.Reader
	n    int64
	fail func() error
}

func (b *breakingReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, b.fail()
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	return n, err
}

// interruptedPut checks the behaviour of a Put that fails midway, with
// and without a previous object of that name.
func interruptedPut(t *testing.T, tr backup.Transport, doPut func(name string) error, wantErr error) {
	old := []byte("the previous version must survive")
	put(t, tr, "i/old", old)
	for _, name := range []string{"i/old", "i/new", "i/fresh/dir/obj"} {
		err := doPut(name)
		if err == nil {
			t.Fatalf("Put(%q) with an interrupted input succeeded", name)
		}
		if !errors.Is(err, wantErr) {
			t.Fatalf("Put(%q) = %v, want an error matching %v", name, err, wantErr)
		}
	}
	wantNames(t, tr, "", "i/old")
	wantNames(t, tr, "i/new")
	wantNames(t, tr, "i/fresh/")
	objs := wantNames(t, tr, "i/", "i/old")
	if objs[0].Size != int64(len(old)) {
		t.Fatalf("size of the previous object %d, want %d", objs[0].Size, len(old))
	}
	wantContent(t, tr, "i/old", old)
	if _, err := tr.Open(t.Context(), "i/new"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open of a failed Put's name = %v, want fs.ErrNotExist", err)
	}
	// The next Put of each name succeeds and stores exactly its content.
	for i, name := range []string{"i/old", "i/new", "i/fresh/dir/obj"} {
		data := bytes.Repeat([]byte{byte('a' + i)}, 1000+i)
		put(t, tr, name, data)
		wantContent(t, tr, name, data)
	}
	wantNames(t, tr, "", "i/fresh/dir/obj", "i/new", "i/old")
}

func testFailedPut(t *testing.T, tr backup.Transport) {
	interruptedPut(t, tr, func(name string) error {
		r := &breakingReader{r: randomReader(2, 1<<30), n: 3 << 20, fail: func() error { return errBoom }}
		return tr.Put(t.Context(), name, r)
	}, errBoom)
}

func testCancelledPut(t *testing.T, tr backup.Transport) {
	interruptedPut(t, tr, func(name string) error {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		// After cancelling, the reader goes on giving data: the transport
		// must notice the context, not the end of the input.
		r := &breakingReader{r: randomReader(3, 1<<30), n: 3 << 20, fail: func() error { return nil }}
		var once sync.Once
		r.fail = func() error {
			once.Do(cancel)
			r.n = 1 << 20
			return nil
		}
		return tr.Put(ctx, name, r)
	}, context.Canceled)
}

func testCancelledContext(t *testing.T, tr backup.Transport) {
	put(t, tr, "c/obj", []byte("x"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := tr.Put(ctx, "c/new", bytes.NewReader([]byte("y"))); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context = %v, want context.Canceled", err)
	}
	if err := tr.Put(ctx, "c/obj", bytes.NewReader([]byte("y"))); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context = %v, want context.Canceled", err)
	}
	if rc, err := tr.Open(ctx, "c/obj"); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context = %v, want context.Canceled", err)
		if err == nil {
			rc.Close()
		}
	}
	if _, err := tr.List(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a cancelled context = %v, want context.Canceled", err)
	}
	if err := tr.Delete(ctx, "c/obj"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with a cancelled context = %v, want context.Canceled", err)
	}
	wantNames(t, tr, "", "c/obj")
	wantContent(t, tr, "c/obj", []byte("x"))
}

func testCancelledOpenReader(t *testing.T, tr backup.Transport) {
	if err := tr.Put(t.Context(), "o/large", randomReader(4, LargeSize)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rc, err := tr.Open(ctx, "o/large")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	cancel()
	n, err := io.Copy(io.Discard, rc)
	if err == nil {
		t.Fatalf("reading on after the context was cancelled gave %d more bytes and no error", n)
	}
}

func testConcurrent(t *testing.T, tr backup.Transport) {
	const workers = 8
	var wg sync.WaitGroup
	errs := make([]error, workers)
	var want []string
	for i := range workers {
		name := fmt.Sprintf("conc/new/dir/obj-%d", i)
		want = append(want, name)
		wg.Go(func() {
			errs[i] = tr.Put(t.Context(), name, randomReader(uint64(10+i), 100<<10+int64(i)))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Put %d: %v", i, err)
		}
	}
	for i, o := range wantNames(t, tr, "conc/", want...) {
		if o.Size != 100<<10+int64(i) {
			t.Errorf("%s: size %d", o.Name, o.Size)
		}
	}
}

func testDirectoryConflict(t *testing.T, tr backup.Transport) {
	put(t, tr, "p/q", []byte("q"))
	for _, n := range []string{"p", "p/q/r"} {
		if err := tr.Put(t.Context(), n, bytes.NewReader([]byte("conflict"))); err == nil {
			t.Errorf("Put(%q) succeeded while %q exists", n, "p/q")
		}
	}
	wantNames(t, tr, "", "p/q")
	wantContent(t, tr, "p/q", []byte("q"))
}
