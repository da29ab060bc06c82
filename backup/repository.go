package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"sort"
	"strings"
	"time"
)

// Repository is one instance's backups on a Transport: listing, verifying,
// restoring, drilling and deleting them, and locking so that operations from
// several processes never interleave. Every object access is written to the
// audit log (Logger, with the attribute audit=true): who, what, when, how
// many bytes, the outcome; never any content.
type Repository struct {
	Transport Transport
	Instance  string
	// Verifier checks manifest signatures. Anything that trusts a manifest
	// (List, Verify, Restore, Drill, Prune) needs it.
	Verifier Verifier
	// Signer signs verification records (Verify with record=true) and is
	// used by Job for manifests. Optional here.
	Signer Signer
	// Logger receives audit events and warnings; nil means slog.Default().
	Logger *slog.Logger
	// Actor names who acts, for audit events and locks; default user@host.
	Actor string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// LockStaleAfter is how long after its last refresh a lock is
	// considered abandoned (default 30 min); locks are refreshed every
	// LockStaleAfter/6.
	LockStaleAfter time.Duration
}

// Errors callers branch on.
var (
	// ErrNotFound: no such backup (or none at all).
	ErrNotFound = errors.New("backup not found")
	// ErrBadSignature: a manifest's signature is missing or does not verify.
	ErrBadSignature = errors.New("manifest signature does not verify")
	// ErrCorrupt: stored data does not match its manifest (size or hash).
	ErrCorrupt = errors.New("backup data does not match its manifest")
)

// Backup is one backup as listed.
type Backup struct {
	ID       string
	Time     time.Time // Manifest.Created
	Manifest *Manifest
	Verified time.Time // last successful remote verification; zero if none
}

func (r *Repository) log() *slog.Logger { return logger(r.Logger) }

func (r *Repository) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Repository) actor() string {
	if r.Actor != "" {
		return r.Actor
	}
	host, _ := os.Hostname()
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return name + "@" + host
}

func (r *Repository) check() error {
	if r.Transport == nil {
		return errors.New("backup: Repository.Transport is nil")
	}
	return ValidInstance(r.Instance)
}

// audit logs one access to a backup object.
func (r *Repository) audit(ctx context.Context, op, name string, size int64, start time.Time, err error) {
	attrs := []slog.Attr{
		slog.Bool("audit", true), slog.String("op", op), slog.String("instance", r.Instance),
		slog.String("object", name), slog.String("actor", r.actor()),
		slog.Duration("duration", r.now().Sub(start)),
	}
	if size >= 0 {
		attrs = append(attrs, slog.Int64("bytes", size))
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	r.log().LogAttrs(ctx, level, "backup access", attrs...)
}

func (r *Repository) put(ctx context.Context, name string, rd io.Reader) (int64, error) {
	start := r.now()
	cr := &countReader{r: rd}
	err := r.Transport.Put(ctx, name, cr)
	r.audit(ctx, "put", name, cr.n, start, err)
	return cr.n, err
}

func (r *Repository) putBytes(ctx context.Context, name string, b []byte) error {
	_, err := r.put(ctx, name, bytes.NewReader(b))
	return err
}

func (r *Repository) delete(ctx context.Context, name string) error {
	start := r.now()
	err := r.Transport.Delete(ctx, name)
	r.audit(ctx, "delete", name, -1, start, err)
	return err
}

// open opens an object; the audit event is logged when it is closed, with
// the bytes actually read.
func (r *Repository) open(ctx context.Context, name string) (io.ReadCloser, error) {
	start := r.now()
	rc, err := r.Transport.Open(ctx, name)
	if err != nil {
		r.audit(ctx, "open", name, -1, start, err)
		return nil, err
	}
	return &auditReader{r: rc, repo: r, ctx: ctx, name: name, start: start}, nil
}

func (r *Repository) readAll(ctx context.Context, name string, limit int64) ([]byte, error) {
	rc, err := r.open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return b, nil
}

type auditReader struct {
	r     io.ReadCloser
	repo  *Repository
	ctx   context.Context
	name  string
	start time.Time
	n     int64
	err   error
}

func (a *auditReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	a.n += int64(n)
	if err != nil && err != io.EOF && a.err == nil {
		a.err = err
	}
	return n, err
}

func (a *auditReader) Close() error {
	err := a.r.Close()
	a.repo.audit(a.ctx, "open", a.name, a.n, a.start, a.err)
	return err
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Manifest reads and verifies the manifest of backup id.
func (r *Repository) Manifest(ctx context.Context, id string) (*Manifest, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	if !idPattern.MatchString(id) {
		return nil, fmt.Errorf("%w: %q is not a backup name (like 20261122T010203Z-a1b2c3)", ErrNotFound, id)
	}
	if r.Verifier == nil {
		return nil, errors.New("backup: Repository.Verifier is nil: a manifest cannot be trusted without checking its signature")
	}
	name := manifestName(r.Instance, id)
	data, err := r.readAll(ctx, name, maxManifestSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s/%s", ErrNotFound, r.Instance, id)
	}
	if err != nil {
		return nil, err
	}
	sig, err := r.readAll(ctx, name+".asc", 64<<10)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadSignature, name, err)
	}
	signer, err := r.Verifier.Verify(data, sig)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadSignature, name, err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if m.ID != id || m.Instance != r.Instance {
		return nil, fmt.Errorf("%w: %s names backup %s/%s", ErrManifest, name, m.Instance, m.ID)
	}
	if m.Signer != "" && !strings.EqualFold(m.Signer, signer) {
		return nil, fmt.Errorf("%w: %s: signed by %s, manifest names %s", ErrBadSignature, name, signer, m.Signer)
	}
	return m, nil
}

// List returns the instance's complete backups, oldest first. A manifest
// that fails its signature check or does not parse is an error: listing
// never hides tampering. Upload leftovers (volumes without a manifest) are
// not backups and are not listed.
func (r *Repository) List(ctx context.Context) ([]Backup, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	objs, err := r.Transport.List(ctx, snapshotsPrefix(r.Instance))
	if err != nil {
		return nil, fmt.Errorf("list backups of %s: %w", r.Instance, err)
	}
	verified := map[string]bool{}
	var ids []string
	for _, o := range objs {
		base := strings.TrimPrefix(o.Name, snapshotsPrefix(r.Instance))
		switch {
		case strings.HasSuffix(base, ".verified.json"):
			verified[strings.TrimSuffix(base, ".verified.json")] = true
		case strings.HasSuffix(base, ".json") && idPattern.MatchString(strings.TrimSuffix(base, ".json")):
			ids = append(ids, strings.TrimSuffix(base, ".json"))
		}
	}
	sort.Strings(ids)
	out := make([]Backup, 0, len(ids))
	for _, id := range ids {
		m, err := r.Manifest(ctx, id)
		if err != nil {
			return nil, err
		}
		b := Backup{ID: id, Time: m.Created, Manifest: m}
		if verified[id] {
			if t, err := r.verifiedAt(ctx, m); err == nil {
				b.Verified = t
			} else {
				r.log().Warn("backup: ignoring verification record", "instance", r.Instance, "backup", id, "error", err)
			}
		}
		out = append(out, b)
	}
	// IDs sort by their second; the manifests know the exact order.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

// Latest returns the newest backup.
func (r *Repository) Latest(ctx context.Context) (Backup, error) {
	all, err := r.List(ctx)
	if err != nil {
		return Backup{}, err
	}
	if len(all) == 0 {
		return Backup{}, fmt.Errorf("%w: instance %s has no backups", ErrNotFound, r.Instance)
	}
	return all[len(all)-1], nil
}

// verification is the signed record Verify writes.
type verification struct {
	Format   string    `json:"format"`
	Version  int       `json:"version"`
	Backup   string    `json:"backup"`
	Manifest string    `json:"manifest_sha256"`
	Verified time.Time `json:"verified"`
	By       string    `json:"by"`
}

const verificationFormat = "opskit-backup-verification"

func (r *Repository) verifiedAt(ctx context.Context, m *Manifest) (time.Time, error) {
	name := snapshotsPrefix(r.Instance) + m.ID + ".verified.json"
	data, err := r.readAll(ctx, name, 64<<10)
	if err != nil {
		return time.Time{}, err
	}
	sig, err := r.readAll(ctx, name+".asc", 64<<10)
	if err != nil {
		return time.Time{}, err
	}
	if _, err := r.Verifier.Verify(data, sig); err != nil {
		return time.Time{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	var v verification
	if err := json.Unmarshal(data, &v); err != nil {
		return time.Time{}, err
	}
	if v.Format != verificationFormat || v.Version != 1 || v.Backup != m.ID {
		return time.Time{}, fmt.Errorf("verification record %s: unexpected content", name)
	}
	return v.Verified, nil
}

func newID(t time.Time) (string, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]), nil
}
