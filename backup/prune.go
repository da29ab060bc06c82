package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"
)

// PruneDecision says whether to keep a backup, and why.
type PruneDecision struct {
	ID      string
	Keep    bool
	Reasons []string // e.g. "daily 3 of 20", "newest verified backup", "not verified"
}

// PrunePolicy decides which backups to keep. Package retention provides
// calendar-tier policies; adapt one with a small function:
//
//	policy := func(bs []backup.Backup, now time.Time) ([]backup.PruneDecision, error) { ... }
//
// It receives the backups oldest first and returns one decision per backup.
type PrunePolicy func(backups []Backup, now time.Time) ([]PruneDecision, error)

// PruneReport is what Prune did (or, in a dry run, would do).
type PruneReport struct {
	Decisions []PruneDecision // one per backup, oldest first
	Deleted   []string        // backup IDs deleted
	Orphans   []string        // objects of unfinished backups removed
	DryRun    bool
}

// ErrPruneRefused is returned when a policy would delete every backup.
var ErrPruneRefused = errors.New("prune refused")

// Prune applies policy to the instance's backups under an exclusive lock.
// Whatever the policy says, backups that were never verified are kept (and
// should not count toward its rules), the newest verified backup is kept,
// and a policy that would leave no backup at all is refused. Each backup is
// deleted manifest first, so a listing never shows a backup whose data is
// gone; then its data. Objects left by interrupted backups or prunes (data
// without a manifest) are removed too. Deletion errors are collected and do
// not stop the rest.
func (r *Repository) Prune(ctx context.Context, policy PrunePolicy, dryRun bool) (PruneReport, error) {
	rep := PruneReport{DryRun: dryRun}
	lock, ctx, err := r.Lock(ctx, "prune", true)
	if err != nil {
		return rep, err
	}
	defer lock.Unlock(ctx)
	backups, err := r.List(ctx)
	if err != nil {
		return rep, err
	}
	var decisions []PruneDecision
	if len(backups) > 0 {
		decisions, err = policy(backups, r.now())
		if err != nil {
			return rep, fmt.Errorf("retention policy: %w", err)
		}
	}
	byID := make(map[string]*PruneDecision, len(decisions))
	for i := range decisions {
		byID[decisions[i].ID] = &decisions[i]
	}
	newestVerified := ""
	for _, b := range backups {
		if !b.Verified.IsZero() {
			newestVerified = b.ID
		}
	}
	rep.Decisions = make([]PruneDecision, len(backups))
	keep := 0
	for i, b := range backups {
		d, ok := byID[b.ID]
		if !ok {
			return rep, fmt.Errorf("retention policy gave no decision for backup %s", b.ID)
		}
		dec := *d
		switch {
		case b.Verified.IsZero() && !dec.Keep:
			dec.Keep, dec.Reasons = true, append(dec.Reasons, "not verified")
		case b.ID == newestVerified && !dec.Keep:
			dec.Keep, dec.Reasons = true, append(dec.Reasons, "newest verified backup")
		}
		if dec.Keep {
			keep++
		}
		rep.Decisions[i] = dec
	}
	if len(backups) > 0 && keep == 0 {
		return rep, fmt.Errorf("%w: the policy would delete all %d backups of %s", ErrPruneRefused, len(backups), r.Instance)
	}
	var errs *multierror.Error
	for _, d := range rep.Decisions {
		if d.Keep {
			continue
		}
		if !dryRun {
			if err := r.deleteBackup(ctx, d.ID); err != nil {
				errs = multierror.Append(errs, err)
				continue
			}
		}
		rep.Deleted = append(rep.Deleted, d.ID)
	}
	orphans, err := r.orphans(ctx)
	if err != nil {
		errs = multierror.Append(errs, err)
	}
	for _, o := range orphans {
		if !dryRun {
			if err := r.delete(ctx, o); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = multierror.Append(errs, err)
				continue
			}
		}
		rep.Orphans = append(rep.Orphans, o)
	}
	return rep, errs.ErrorOrNil()
}

// Delete removes one backup, under an exclusive lock. It refuses to delete
// the newest verified backup.
func (r *Repository) Delete(ctx context.Context, id string) error {
	lock, ctx, err := r.Lock(ctx, "delete", true)
	if err != nil {
		return err
	}
	defer lock.Unlock(ctx)
	backups, err := r.List(ctx)
	if err != nil {
		return err
	}
	found, newestVerified := false, ""
	for _, b := range backups {
		found = found || b.ID == id
		if !b.Verified.IsZero() {
			newestVerified = b.ID
		}
	}
	if !found {
		return fmt.Errorf("%w: %s/%s", ErrNotFound, r.Instance, id)
	}
	if id == newestVerified {
		return fmt.Errorf("%w: %s is the newest verified backup of %s", ErrPruneRefused, id, r.Instance)
	}
	return r.deleteBackup(ctx, id)
}

func (r *Repository) deleteBackup(ctx context.Context, id string) error {
	m := manifestName(r.Instance, id)
	// The manifest goes first: from then on the backup does not exist.
	if err := r.delete(ctx, m); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete backup %s: %w", id, err)
	}
	var errs *multierror.Error
	for _, name := range []string{m + ".asc", strings.TrimSuffix(m, ".json") + ".verified.json", strings.TrimSuffix(m, ".json") + ".verified.json.asc"} {
		if err := r.delete(ctx, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = multierror.Append(errs, err)
		}
	}
	objs, err := r.Transport.List(ctx, dataPrefix(r.Instance, id))
	if err != nil {
		return multierror.Append(errs, err)
	}
	for _, o := range objs {
		if err := r.delete(ctx, o.Name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = multierror.Append(errs, err)
		}
	}
	if err := errs.ErrorOrNil(); err != nil {
		return fmt.Errorf("delete backup %s (manifest removed; Prune will finish): %w", id, err)
	}
	return nil
}

// orphans lists objects that belong to no backup: data of backups without
// a manifest, signatures and verification records without a manifest.
func (r *Repository) orphans(ctx context.Context) ([]string, error) {
	snaps, err := r.Transport.List(ctx, snapshotsPrefix(r.Instance))
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, o := range snaps {
		base := strings.TrimPrefix(o.Name, snapshotsPrefix(r.Instance))
		if id, ok := strings.CutSuffix(base, ".json"); ok && idPattern.MatchString(id) {
			have[id] = true
		}
	}
	var out []string
	for _, o := range snaps {
		base := strings.TrimPrefix(o.Name, snapshotsPrefix(r.Instance))
		id, _, _ := strings.Cut(base, ".")
		if idPattern.MatchString(id) && !have[id] {
			out = append(out, o.Name)
		}
	}
	data, err := r.Transport.List(ctx, r.Instance+"/data/")
	if err != nil {
		return nil, err
	}
	for _, o := range data {
		rest := strings.TrimPrefix(o.Name, r.Instance+"/data/")
		id, _, _ := strings.Cut(rest, "/")
		if !have[id] {
			out = append(out, o.Name)
		}
	}
	return out, nil
}
