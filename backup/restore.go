package backup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
)

// RestoreStats describes a finished restore.
type RestoreStats struct {
	Backup      string
	StoredBytes int64 // encrypted bytes read
	PlainBytes  int64 // snapshot stream bytes restored
	Duration    time.Duration
}

// Restore restores backup id into to, decrypting with dec. Before any byte
// is trusted the manifest's signature is checked; each volume's size and
// SHA-256 are checked against the manifest and its OpenPGP integrity check
// must pass. A Stager (DirRestorer) restores in one streaming pass and is
// committed only when all checks passed; any other Restorer gets its input
// from a verified local copy (in StageDir, default os.TempDir) only after
// every check passed, so a restorer that cannot roll back (a database load)
// never sees unverified data.
func (r *Repository) Restore(ctx context.Context, id string, dec Decryptor, to Restorer) (RestoreStats, error) {
	return r.restore(ctx, id, dec, to, "")
}

// RestoreVia is Restore with an explicit staging directory for restorers
// that are not Stagers.
func (r *Repository) RestoreVia(ctx context.Context, id string, dec Decryptor, to Restorer, stageDir string) (RestoreStats, error) {
	return r.restore(ctx, id, dec, to, stageDir)
}

func (r *Repository) restore(ctx context.Context, id string, dec Decryptor, to Restorer, stageDir string) (st RestoreStats, err error) {
	if dec == nil || to == nil {
		return st, errors.New("restore: a Decryptor and a Restorer are required")
	}
	lock, ctx, err := r.Lock(ctx, "restore", false)
	if err != nil {
		return st, err
	}
	defer lock.Unlock(ctx)
	m, err := r.Manifest(ctx, id)
	if err != nil {
		return st, err
	}
	start := r.now()
	st.Backup = id
	log := r.log().With("instance", r.Instance, "backup", id)
	log.Info("backup: restore starting", "audit", true, "actor", r.actor())
	defer func() {
		st.Duration = r.now().Sub(start)
		if err != nil {
			log.Warn("backup: restore failed", "audit", true, "error", err)
		} else {
			log.Info("backup: restore done", "audit", true, "seconds", st.Duration.Seconds(), "plain_bytes", st.PlainBytes)
		}
	}()

	if stager, ok := to.(Stager); ok {
		err = r.streamRestore(ctx, m, dec, stager, &st)
		if err != nil {
			if derr := stager.Discard(); derr != nil {
				log.Warn("backup: cannot remove partial restore", "error", derr)
			}
			return st, err
		}
		return st, stager.Commit()
	}

	// Not a Stager: copy the volumes locally, verify them completely, then
	// restore from the local copy, which the backup node can no longer change.
	dir, err := os.MkdirTemp(stageDir, "opskit-restore-")
	if err != nil {
		return st, err
	}
	defer os.RemoveAll(dir)
	local := make([]string, len(m.Volumes))
	for i, v := range m.Volumes {
		local[i] = filepath.Join(dir, fmt.Sprintf("vol-%06d", i+1))
		if err := r.fetchVerified(ctx, v, local[i]); err != nil {
			return st, err
		}
		st.StoredBytes += v.Size
	}
	// A full decryption pass proves the OpenPGP integrity of every volume.
	if _, err := io.Copy(io.Discard, newPlainReader(ctx, m, dec, openLocal(local), nil)); err != nil {
		return st, err
	}
	cr := &countReader{r: newPlainReader(ctx, m, dec, openLocal(local), nil)}
	if err := to.Restore(ctx, cr); err != nil {
		return st, fmt.Errorf("restore into target: %w", err)
	}
	st.PlainBytes = cr.n
	return st, nil
}

func (r *Repository) streamRestore(ctx context.Context, m *Manifest, dec Decryptor, to Stager, st *RestoreStats) error {
	open := func(ctx context.Context, i int) (io.ReadCloser, error) { return r.open(ctx, m.Volumes[i].Name) }
	var stored int64
	pr := newPlainReader(ctx, m, dec, open, &stored)
	cr := &countReader{r: pr}
	if err := to.Restore(ctx, cr); err != nil {
		// A verification error explains a garbled archive better than the
		// archive error it caused.
		if verr := pr.failure(); verr != nil {
			return verr
		}
		return fmt.Errorf("restore into target: %w", err)
	}
	// The restorer may stop at the end of the archive before the last
	// volume's integrity check: read to the very end.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return err
	}
	if err := pr.complete(); err != nil {
		return err
	}
	st.PlainBytes, st.StoredBytes = cr.n, stored
	return nil
}

type opener func(ctx context.Context, i int) (io.ReadCloser, error)

func openLocal(paths []string) opener {
	return func(_ context.Context, i int) (io.ReadCloser, error) { return os.Open(paths[i]) }
}

// fetchVerified downloads a volume to a local file and checks it.
func (r *Repository) fetchVerified(ctx context.Context, v Volume, dst string) error {
	rc, err := r.open(ctx, v.Name)
	if err != nil {
		return fmt.Errorf("open %s: %w", v.Name, err)
	}
	defer rc.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download %s: %w", v.Name, err)
	}
	return checkVolume(v, n, h)
}

func checkVolume(v Volume, n int64, h hash.Hash) error {
	if n != v.Size {
		return fmt.Errorf("%w: %s is %d bytes, manifest says %d", ErrCorrupt, v.Name, n, v.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != v.SHA256 {
		return fmt.Errorf("%w: %s has SHA-256 %s, manifest says %s", ErrCorrupt, v.Name, got, v.SHA256)
	}
	return nil
}

// plainReader yields the snapshot stream: volumes in order, each hashed,
// decrypted and checked, through one zstd decoder.
type plainReader struct {
	vr  *volumesReader
	dec *zstd.Decoder
	err error
}

func newPlainReader(ctx context.Context, m *Manifest, d Decryptor, open opener, stored *int64) *plainReader {
	vr := &volumesReader{ctx: ctx, m: m, d: d, open: open, stored: stored}
	zd, err := zstd.NewReader(vr, zstd.WithDecoderConcurrency(2), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(1<<27))
	return &plainReader{vr: vr, dec: zd, err: err}
}

func (p *plainReader) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	if p.dec == nil {
		return 0, io.EOF
	}
	n, err := p.dec.Read(b)
	if err != nil && err != io.EOF {
		if verr := p.vr.err; verr != nil {
			err = verr
		} else {
			err = fmt.Errorf("decompress: %w", err)
		}
		p.err = err
		p.close()
	}
	if err == io.EOF {
		p.close()
	}
	return n, err
}

func (p *plainReader) close() {
	if p.dec != nil {
		p.dec.Close()
		p.dec = nil
	}
	p.vr.closeCurrent()
}

// failure returns a verification error seen so far, if any.
func (p *plainReader) failure() error { return p.vr.err }

// complete reports whether every volume was read to its end and checked.
func (p *plainReader) complete() error {
	if p.vr.err != nil {
		return p.vr.err
	}
	if p.vr.i != len(p.vr.m.Volumes) {
		return fmt.Errorf("%w: restore stopped at volume %d of %d", ErrCorrupt, p.vr.i+1, len(p.vr.m.Volumes))
	}
	return nil
}

type volumesReader struct {
	ctx    context.Context
	m      *Manifest
	d      Decryptor
	open   opener
	stored *int64

	i     int // current volume
	rc    io.ReadCloser
	h     hash.Hash
	cnt   *countReader
	plain io.Reader
	err   error
}

func (v *volumesReader) closeCurrent() {
	if v.rc != nil {
		v.rc.Close()
		v.rc = nil
	}
}

func (v *volumesReader) Read(b []byte) (int, error) {
	for {
		if v.err != nil {
			return 0, v.err
		}
		if v.i >= len(v.m.Volumes) {
			return 0, io.EOF
		}
		if v.plain == nil {
			if err := v.ctx.Err(); err != nil {
				v.err = err
				return 0, err
			}
			vol := v.m.Volumes[v.i]
			rc, err := v.open(v.ctx, v.i)
			if err != nil {
				v.err = fmt.Errorf("open %s: %w", vol.Name, err)
				return 0, v.err
			}
			rc = prefetch(rc)
			v.rc, v.h = rc, sha256.New()
			v.cnt = &countReader{r: io.TeeReader(rc, v.h)}
			p, err := v.d.Decrypt(v.cnt)
			if err != nil {
				v.err = v.volumeError(vol, err)
				return 0, v.err
			}
			v.plain = p
		}
		n, err := v.plain.Read(b)
		if err == io.EOF {
			// The OpenPGP message is complete and its MDC checked; anything
			// after it would be garbage, which the hash check catches.
			if _, err := io.Copy(io.Discard, v.cnt); err != nil {
				v.err = fmt.Errorf("read %s: %w", v.m.Volumes[v.i].Name, err)
				return n, v.err
			}
			vol := v.m.Volumes[v.i]
			if cerr := checkVolume(vol, v.cnt.n, v.h); cerr != nil {
				v.err = cerr
				return n, cerr
			}
			if v.stored != nil {
				*v.stored += v.cnt.n
			}
			v.closeCurrent()
			v.plain = nil
			v.i++
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			v.err = v.volumeError(v.m.Volumes[v.i], err)
			return n, v.err
		}
		return n, nil
	}
}

// volumeError explains a decryption failure: if the stored bytes do not
// match the manifest, that is the real cause.
func (v *volumesReader) volumeError(vol Volume, err error) error {
	if v.ctx.Err() != nil {
		return v.ctx.Err()
	}
	// Hash what is left so a truncated or altered object is reported as such.
	io.Copy(io.Discard, v.cnt)
	if cerr := checkVolume(vol, v.cnt.n, v.h); cerr != nil {
		return fmt.Errorf("%w (decryption said: %v)", cerr, err)
	}
	return fmt.Errorf("decrypt %s: %w", vol.Name, err)
}

// CommandRestorer feeds the restored stream to a program's standard input,
// for example `pg_restore -d mydb` or `mongorestore --archive`. It cannot
// roll back, so Repository.Restore gives it only fully verified input.
type CommandRestorer struct {
	Path string
	Args []string
	Dir  string
	Env  []string
}

// Restore runs the command with r as its standard input.
func (c *CommandRestorer) Restore(ctx context.Context, r io.Reader) error {
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdin = r
	out := &tailBuffer{max: 4096}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("restore command %s: %w: %s", c.Path, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Backup  string
	Volumes int
	Bytes   int64
	Time    time.Time
}

// Verify checks, without any private key, that backup id is intact on the
// transport: the manifest's signature, then every volume's size and SHA-256
// (and the file index's). With record set, a signed verification record is
// stored (Repository.Signer is required), which List reports and retention
// relies on: only verified backups count toward retention rules.
func (r *Repository) Verify(ctx context.Context, id string, record bool) (VerifyReport, error) {
	rep := VerifyReport{Backup: id}
	if record && r.Signer == nil {
		return rep, errors.New("verify: recording a verification needs Repository.Signer")
	}
	lock, ctx, err := r.Lock(ctx, "verify", false)
	if err != nil {
		return rep, err
	}
	defer lock.Unlock(ctx)
	m, err := r.Manifest(ctx, id)
	if err != nil {
		return rep, err
	}
	vols := m.Volumes
	if m.Index != nil {
		vols = append(append([]Volume{}, vols...), *m.Index)
	}
	for _, v := range vols {
		if err := r.hashRemote(ctx, v); err != nil {
			return rep, err
		}
		rep.Volumes++
		rep.Bytes += v.Size
	}
	rep.Time = r.now().UTC()
	if record {
		data, err := m.Marshal()
		if err != nil {
			return rep, err
		}
		sum := sha256.Sum256(data)
		rec, err := json.Marshal(verification{Format: verificationFormat, Version: 1, Backup: id,
			Manifest: hex.EncodeToString(sum[:]), Verified: rep.Time, By: r.actor()})
		if err != nil {
			return rep, err
		}
		sig, err := r.Signer.Sign(rec)
		if err != nil {
			return rep, fmt.Errorf("sign verification record: %w", err)
		}
		name := snapshotsPrefix(r.Instance) + id + ".verified.json"
		if err := r.putBytes(ctx, name+".asc", sig); err != nil {
			return rep, err
		}
		if err := r.putBytes(ctx, name, rec); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (r *Repository) hashRemote(ctx context.Context, v Volume) error {
	rc, err := r.open(ctx, v.Name)
	if err != nil {
		return fmt.Errorf("%w: open %s: %v", ErrCorrupt, v.Name, err)
	}
	defer rc.Close()
	h := sha256.New()
	buf := getBuf()
	defer putBuf(buf)
	n, err := io.CopyBuffer(h, rc, *buf)
	if err != nil {
		return fmt.Errorf("read %s: %w", v.Name, err)
	}
	return checkVolume(v, n, h)
}

// prefetch reads rc in its own goroutine, through io.Copy so that a
// transport's WriteTo (concurrent requests, on SFTP) is used, into a
// buffer of a few MiB: downloading overlaps decrypting and unpacking.
func prefetch(rc io.ReadCloser) io.ReadCloser {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		bw := bufio.NewWriterSize(pw, 4<<20)
		_, err := io.Copy(bw, rc)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	return &prefetched{pr: pr, rc: rc, done: done}
}

type prefetched struct {
	pr   *io.PipeReader
	rc   io.ReadCloser
	done chan struct{}
}

func (p *prefetched) Read(b []byte) (int, error) { return p.pr.Read(b) }

func (p *prefetched) Close() error {
	p.pr.CloseWithError(errors.New("closed"))
	<-p.done
	return p.rc.Close()
}
