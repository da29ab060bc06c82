package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"
)

// Hook is a command run around a snapshot: before it to make the data
// consistent (flush and freeze a filesystem, dump a database into the
// directory being backed up), after it to undo that (unfreeze). It runs
// without a shell.
type Hook struct {
	Name    string        // for logs and errors; default the program
	Command []string      // program and arguments
	Timeout time.Duration // default 10 minutes
	Dir     string        // working directory
	Env     []string      // extra environment, KEY=value
}

// Hooks are the commands of a Job. Before hooks run in order and the first
// failure stops the backup; After hooks always run, also when the snapshot
// or a Before hook failed (so an unfreeze is never skipped), and all their
// failures are reported.
type Hooks struct {
	Before []Hook
	After  []Hook
}

func (h Hook) name() string {
	if h.Name != "" {
		return h.Name
	}
	if len(h.Command) > 0 {
		return h.Command[0]
	}
	return "(empty hook)"
}

func (h Hook) run(ctx context.Context, log *slog.Logger) error {
	if len(h.Command) == 0 {
		return errors.New("hook with an empty command")
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.Command[0], h.Command[1:]...)
	cmd.Dir = h.Dir
	cmd.Env = append(os.Environ(), h.Env...)
	out := &tailBuffer{max: 2048}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("timed out after %s", timeout)
		}
		return fmt.Errorf("hook %s: %w: %s", h.name(), err, strings.TrimSpace(out.String()))
	}
	log.Info("backup: hook done", "hook", h.name(), "seconds", time.Since(start).Seconds())
	// The output may contain data; it is kept for debugging only.
	log.Debug("backup: hook output", "hook", h.name(), "output", out.String())
	return nil
}

func (hs Hooks) runBefore(ctx context.Context, log *slog.Logger) error {
	for _, h := range hs.Before {
		if err := h.run(ctx, log); err != nil {
			return fmt.Errorf("before snapshot: %w", err)
		}
	}
	return nil
}

func (hs Hooks) runAfter(ctx context.Context, log *slog.Logger) error {
	var errs *multierror.Error
	for _, h := range hs.After {
		if err := h.run(ctx, log); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("after snapshot: %w", err))
		}
	}
	return errs.ErrorOrNil()
}
