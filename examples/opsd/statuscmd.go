package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// cmdStatus is `opsd status serve|export`: the status pages alone, for a
// host that does not share the fate of the infrastructure it reports on
// (with a shared PostgreSQL store), or as static files.
func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("status needs a subcommand: serve, export")
	}
	sub := args[0]
	fs := flag.NewFlagSet("status "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	listen := fs.String("listen", "", "serve: address (default: listen from opsd.yaml)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err.Error()}
	}
	cfg, log, closeLog, err := setup(*cfgPath, stderr, slog.LevelInfo)
	if err != nil {
		return err
	}
	defer closeLog()
	if cfg.Status == nil {
		return usageError{"status pages are not configured in opsd.yaml (status:)"}
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	h, err := openStatus(ctx, cfg, db)
	if err != nil {
		return err
	}
	switch sub {
	case "export":
		if fs.NArg() != 2 {
			return usagef("status export SLUG DIR")
		}
		files, err := h.Export(ctx, fs.Arg(0), fs.Arg(1))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %d files to %s\n", len(files), fs.Arg(1))
		return nil
	case "serve":
		addr := *listen
		if addr == "" {
			addr = cfg.Listen
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		d := &daemon{cfg: cfg, log: log, mux: http.NewServeMux()}
		d.mux.Handle("/", http.NotFoundHandler())
		srv := &http.Server{Handler: d.mountStatus(ctx, h), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := h.Run(ctx); err != nil && ctx.Err() == nil {
				log.Error("opsd: status page notifications stopped", "error", err)
			}
		}()
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		fmt.Fprintf(stdout, "opsd: serving status pages on http://%s/p/SLUG/ (and SLUG%s); Ctrl-C stops\n", ln.Addr(), cfg.Status.HostSuffix)
		select {
		case <-ctx.Done():
		case err = <-errc:
		}
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		return err
	}
	return usagef("unknown status subcommand %q", sub)
}
