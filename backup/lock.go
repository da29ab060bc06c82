package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrLocked is returned (wrapped in a *LockedError) when another process
// holds a conflicting lock on the instance.
var ErrLocked = errors.New("backup repository is locked")

// LockedError says who holds the conflicting locks.
type LockedError struct {
	Instance string
	Holders  []LockInfo
}

// Error names the holders of the conflicting locks.
func (e *LockedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "instance %s is locked by", e.Instance)
	for i, h := range e.Holders {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s (%s, pid %d, since %s)", h.Operation, h.Actor, h.PID, h.Created.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Unwrap() error { return ErrLocked }

// LockInfo is the content of a lock object.
type LockInfo struct {
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	Operation string    `json:"operation"` // backup, prune, restore, verify, drill
	Exclusive bool      `json:"exclusive"`
	Actor     string    `json:"actor"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Created   time.Time `json:"created"`
	Refreshed time.Time `json:"refreshed"`
	Name      string    `json:"-"` // object name
	Stale     bool      `json:"-"` // abandoned: see Repository.LockStaleAfter
}

const lockFormat = "opskit-backup-lock"

// Lock is a held lock. Release it with Unlock; while held it is refreshed
// in the background, and if refreshing fails the context returned by
// Repository.Lock is cancelled so the operation stops instead of running
// unprotected.
type Lock struct {
	repo   *Repository
	info   LockInfo
	cancel context.CancelFunc
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

func (r *Repository) staleAfter() time.Duration {
	if r.LockStaleAfter > 0 {
		return r.LockStaleAfter
	}
	return 30 * time.Minute
}

func locksPrefix(instance string) string { return instance + "/locks/" }

// Lock takes a lock on the instance for op. Exclusive locks (backup, prune,
// delete) conflict with every other lock; shared locks (verify, restore,
// drill) only with exclusive ones. Abandoned locks (not refreshed within
// LockStaleAfter, or held by a dead process on this host) are ignored and
// reported as warnings; RemoveStaleLocks deletes them.
//
// The returned context is cancelled if the lock is lost; run the operation
// under it.
func (r *Repository) Lock(ctx context.Context, op string, exclusive bool) (*Lock, context.Context, error) {
	if err := r.check(); err != nil {
		return nil, ctx, err
	}
	host, _ := os.Hostname()
	now := r.now().UTC()
	id, err := newID(now)
	if err != nil {
		return nil, ctx, err
	}
	info := LockInfo{Format: lockFormat, Version: 1, Operation: op, Exclusive: exclusive, Actor: r.actor(),
		Host: host, PID: os.Getpid(), Created: now, Refreshed: now}
	info.Name = locksPrefix(r.Instance) + id + ".json"
	if err := r.writeLock(ctx, info); err != nil {
		return nil, ctx, fmt.Errorf("take lock on %s: %w", r.Instance, err)
	}
	locks, err := r.Locks(ctx)
	if err != nil {
		r.delete(context.WithoutCancel(ctx), info.Name)
		return nil, ctx, fmt.Errorf("take lock on %s: %w", r.Instance, err)
	}
	var conflicts []LockInfo
	for _, l := range locks {
		if l.Name == info.Name {
			continue
		}
		if l.Stale {
			r.log().Warn("backup: ignoring stale lock", "instance", r.Instance, "lock", l.Name, "actor", l.Actor,
				"operation", l.Operation, "refreshed", l.Refreshed)
			continue
		}
		if exclusive || l.Exclusive {
			conflicts = append(conflicts, l)
		}
	}
	if len(conflicts) > 0 {
		r.delete(context.WithoutCancel(ctx), info.Name)
		return nil, ctx, &LockedError{Instance: r.Instance, Holders: conflicts}
	}
	lctx, cancel := context.WithCancel(ctx)
	l := &Lock{repo: r, info: info, cancel: cancel, stop: make(chan struct{})}
	l.wg.Add(1)
	go l.refresh(lctx)
	return l, lctx, nil
}

func (r *Repository) writeLock(ctx context.Context, info LockInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	return r.putBytes(ctx, info.Name, b)
}

func (l *Lock) refresh(ctx context.Context) {
	defer l.wg.Done()
	t := time.NewTicker(l.repo.staleAfter() / 6)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			l.info.Refreshed = l.repo.now().UTC()
			if err := l.repo.writeLock(ctx, l.info); err != nil {
				l.repo.log().Error("backup: lost lock: cannot refresh it; stopping the operation", "instance", l.repo.Instance, "error", err)
				l.cancel()
				return
			}
		}
	}
}

// Unlock releases the lock.
func (l *Lock) Unlock(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		l.wg.Wait()
		l.cancel()
		err = l.repo.delete(context.WithoutCancel(ctx), l.info.Name)
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	})
	return err
}

// Locks lists the locks on the instance, marking abandoned ones Stale.
func (r *Repository) Locks(ctx context.Context) ([]LockInfo, error) {
	objs, err := r.Transport.List(ctx, locksPrefix(r.Instance))
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	var out []LockInfo
	for _, o := range objs {
		b, err := r.readAll(ctx, o.Name, 64<<10)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, err
		}
		var li LockInfo
		if err := json.Unmarshal(b, &li); err != nil || li.Format != lockFormat {
			// An unreadable lock still blocks: better to stop than to interleave.
			li = LockInfo{Operation: "unknown", Exclusive: true, Actor: "unreadable lock object", Created: o.ModTime, Refreshed: o.ModTime}
		}
		li.Name = o.Name
		li.Stale = r.now().Sub(li.Refreshed) > r.staleAfter() || (li.Host == host && li.PID > 0 && !processAlive(li.PID))
		out = append(out, li)
	}
	return out, nil
}

// RemoveStaleLocks deletes abandoned locks and returns them.
func (r *Repository) RemoveStaleLocks(ctx context.Context) ([]LockInfo, error) {
	locks, err := r.Locks(ctx)
	if err != nil {
		return nil, err
	}
	var removed []LockInfo
	for _, l := range locks {
		if !l.Stale {
			continue
		}
		if err := r.delete(ctx, l.Name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, err
		}
		removed = append(removed, l)
	}
	return removed, nil
}

func processAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
