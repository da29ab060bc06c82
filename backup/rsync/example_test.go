package rsync_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/opskit/opskit/backup/rsync"
)

// Shipping an object to a backup node with rsync over ssh. The example
// compiles but does not run: it needs a server.
func Example() {
	tr, err := rsync.New(rsync.Config{
		Address:        "backup1.example.net",
		User:           "backup-demo",
		KeyFile:        "/etc/opsd/backup_ed25519",
		KnownHostsFile: "/etc/opsd/backup_known_hosts",
		Root:           "/srv/backups/demo",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	ctx := context.Background()
	if err := tr.Put(ctx, "demo/snapshots/1.json", strings.NewReader(`{"v":1}`)); err != nil {
		log.Fatal(err)
	}
	objs, err := tr.List(ctx, "demo/snapshots/")
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range objs {
		fmt.Println(o.Name, o.Size)
	}
}
