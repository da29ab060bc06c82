package sftp_test

import (
	"context"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/opskit/opskit/backup/sftp"
)

// The transport a daemon uses to ship backups to a backup node. The example
// compiles but does not run: it needs a server.
func Example() {
	tr, err := sftp.New(sftp.Config{
		Address:        "backup1.example.net:22",
		User:           "backup-demo",
		KeyFile:        "/etc/opsd/backup_ed25519",
		KnownHostsFile: "/etc/opsd/backup_known_hosts",
		Root:           "/srv/backups/demo",
		Retry:          sftp.RetryPolicy{Attempts: 5, MaxDelay: time.Minute},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	ctx := context.Background()
	if err := tr.Put(ctx, "demo/snapshots/1.json", strings.NewReader(`{"v":1}`)); err != nil {
		log.Fatal(err)
	}
	rc, err := tr.Open(ctx, "demo/snapshots/1.json")
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	io.Copy(os.Stdout, rc)
}
