package main

import (
	"fmt"

	"github.com/opskit/opskit/backup"
	"github.com/opskit/opskit/backup/local"
	"github.com/opskit/opskit/backup/rsync"
	"github.com/opskit/opskit/backup/sftp"
)

// newTransport builds the configured transport; the daemon's explicit
// scheme → constructor table.
func newTransport(cfg *Config, tc TransportConfig) (backup.Transport, func() error, error) {
	switch tc.Type {
	case "local":
		t, err := local.New(cfg.abs(tc.Path))
		return t, nil, err
	case "sftp":
		conc := tc.Concurrency
		if conc <= 0 {
			conc = 16
		}
		t, err := sftp.New(sftp.Config{Address: tc.Address, User: tc.User, KeyFile: cfg.abs(tc.Identity),
			KnownHostsFile: cfg.abs(tc.KnownHosts), Root: tc.Path, Concurrency: conc})
		if err != nil {
			return nil, nil, err
		}
		return t, t.Close, nil
	case "rsync":
		t, err := rsync.New(rsync.Config{Address: tc.Address, User: tc.User, KeyFile: cfg.abs(tc.Identity),
			KnownHostsFile: cfg.abs(tc.KnownHosts), Root: tc.Path, SpoolDir: cfg.abs(cfg.DataDir)})
		if err != nil {
			return nil, nil, err
		}
		return t, t.Close, nil
	}
	return nil, nil, fmt.Errorf("unknown transport type %q", tc.Type)
}
