package backuptest_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/opskit/opskit/backup"
	"github.com/opskit/opskit/backup/backuptest"
)

func TestMemTransport(t *testing.T) {
	backuptest.TestTransport(t, func(t *testing.T) backup.Transport {
		return &backuptest.MemTransport{}
	})
}

func ExampleMemTransport() {
	ctx := context.Background()
	var tr backuptest.MemTransport
	tr.Put(ctx, "demo/snapshots/1.json", strings.NewReader(`{"v":1}`))
	tr.Put(ctx, "demo/data/1/vol-000001", strings.NewReader("volume"))
	objs, _ := tr.List(ctx, "demo/")
	for _, o := range objs {
		fmt.Println(o.Name, o.Size)
	}
	rc, _ := tr.Open(ctx, "demo/snapshots/1.json")
	b, _ := io.ReadAll(rc)
	fmt.Println(string(b))
	// Output:
	// demo/data/1/vol-000001 6
	// demo/snapshots/1.json 7
	// {"v":1}
}
