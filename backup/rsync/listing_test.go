package rsync

import (
	"strings"
	"testing"
	"time"
)

func TestParseListing(t *testing.T) {
	out := `drwx------          4096 2026/11/22 14:26:52 .
drwx------          4096 2026/11/22 14:26:52 a
-rw-------             3 2026/11/22 14:26:52 a/b/obj
-rw-------    1234567890 2026/01/02 03:04:05 we ird/-e x/a*b?[c]'q"$x;` + "`y`" + ` ~ #%&(ü名).bin
lrwxrwxrwx            11 2026/11/22 14:26:52 link -> /etc/passwd

-rw-r--r--         4,096 2026/11/22 14:26:52 with comma
`
	es, err := parseListing([]byte(out), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 6 {
		t.Fatalf("%d entries: %+v", len(es), es)
	}
	if !es[0].dir() || es[0].name != "." || es[2].name != "a/b/obj" || es[2].size != 3 || !es[2].regular() {
		t.Fatalf("entries %+v", es[:3])
	}
	want := "we ird/-e x/a*b?[c]'q\"$x;`y` ~ #%&(ü名).bin"
	if es[3].name != want || es[3].size != 1234567890 || !es[3].modTime.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("entry %+v", es[3])
	}
	if es[4].name != "link" || es[4].regular() || es[5].size != 4096 {
		t.Fatalf("entries %+v", es[4:])
	}
	for _, bad := range []string{
		"rsync: connection unexpectedly closed",
		"-rw------- x 2026/11/22 14:26:52 a",
		"-rw------- 3 2026-11-22 14:26:52 a",
		"-rw------- 3 2026/11/22 14:26:52",
		"-rw------- -3 2026/11/22 14:26:52 a",
	} {
		if _, err := parseListing([]byte(bad+"\n"), time.UTC); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseListing(f *testing.F) {
	f.Add("-rw-------             3 2026/11/22 14:26:52 a/b/obj\n")
	f.Add("drwx------          4,096 2026/11/22 14:26:52 .\nlrwxrwxrwx 1 2026/11/22 14:26:52 l -> x\n")
	f.Add("-rw------- 3 2026/11/22 14:26:52  two  spaces \n\n")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		es, err := parseListing([]byte(s), time.UTC)
		if err != nil {
			return
		}
		for _, e := range es {
			if e.size < 0 || e.name == "" || strings.Contains(e.name, "\n") {
				t.Fatalf("bad entry %+v from %q", e, s)
			}
		}
	})
}
