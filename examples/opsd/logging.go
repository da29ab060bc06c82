package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// newLoggers returns the program's logger: human-readable records at level
// (and above) to the console, and every record at Info and above, as JSON,
// appended to DATA_DIR/opsd.log (mode 0600), which keeps the audit trail of
// backup accesses (attribute audit=true) whichever command made them.
func newLoggers(console io.Writer, level slog.Level, dataDir string) (*slog.Logger, func() error, error) {
	con := slog.NewTextHandler(console, &slog.HandlerOptions{Level: level})
	if dataDir == "" {
		return slog.New(con), func() error { return nil }, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(filepath.Join(dataDir, "opsd.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, err
	}
	file := slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo})
	return slog.New(fanout{con, file}), f.Close, nil
}

// fanout sends each record to every handler that wants it.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}

// setup loads the configuration and opens the loggers every command uses.
func setup(cfgPath string, stderr io.Writer, level slog.Level) (*Config, *slog.Logger, func() error, error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, nil, nil, usageError{err.Error()}
	}
	log, closeLog, err := newLoggers(stderr, level, cfg.abs(cfg.DataDir))
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, log, closeLog, nil
}
