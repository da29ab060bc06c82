package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/klauspost/compress/zstd"
)

// Job makes one backup of an instance: snapshot → zstd → OpenPGP encrypt to
// the instance's key(s) → SHA-256 → Transport.Put of each volume under a
// temporary name made visible when complete → signed manifest, written last
// as the commit marker. A Job that fails leaves no manifest, so a failed
// backup never looks like a good one; the volumes it uploaded are deleted
// (or, if that fails too, removed later by Prune).
//
// Memory stays bounded whatever the snapshot size: data streams through
// fixed buffers. Volumes are produced by Workers goroutines at once when the
// Source is a Splitter (Dir is), so every core compresses and encrypts.
type Job struct {
	Repo      *Repository // where the backup goes; its Instance names it
	Source    Snapshotter
	Encryptor Encryptor // public keys only
	Signer    Signer    // the daemon's signing key, for the manifest
	Hooks     Hooks     // commands around the snapshot (freeze, flush, dump)
	// VolumeSize is the amount of snapshot stream (before compression) per
	// volume; default 64 MiB. Each volume is one OpenPGP message, stored and
	// retried on its own.
	VolumeSize int64
	// Workers is how many volumes are made at once; default GOMAXPROCS.
	Workers int
	// Level is the zstd level (zstd.SpeedFastest .. SpeedBestCompression);
	// zero means SpeedFastest, like `zstd -1`.
	Level zstd.EncoderLevel
	// Progress, if set, is called about every ProgressInterval (default 1 s)
	// and once at the end, from a separate goroutine.
	Progress         func(Progress)
	ProgressInterval time.Duration
	// Tool is recorded in the manifest; default "opskit".
	Tool string
	// Retries is how many times a volume whose upload failed is made and
	// stored again (default 2; -1 for none). Only volumes of a Splitter
	// (Dir) can be made again; a command's output cannot be replayed.
	Retries int
	// RetryDelay is the wait before the first retry, doubled for each
	// further one (default 2 s).
	RetryDelay time.Duration
}

// Progress reports how far a backup has got.
type Progress struct {
	Files       int64 // entries read
	PlainBytes  int64 // snapshot bytes read
	StoredBytes int64 // encrypted bytes uploaded
	Volumes     int64 // volumes stored
	Elapsed     time.Duration
	Done        bool
}

func (j *Job) volumeSize() int64 {
	if j.VolumeSize > 0 {
		return j.VolumeSize
	}
	return 64 << 20
}

func (j *Job) workers() int {
	if j.Workers > 0 {
		return j.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// Run makes the backup and returns its manifest.
func (j *Job) Run(ctx context.Context) (m *Manifest, err error) {
	if j.Repo == nil || j.Source == nil || j.Encryptor == nil || j.Signer == nil {
		return nil, errors.New("backup job: Repo, Source, Encryptor and Signer are required")
	}
	r := j.Repo
	if err := r.check(); err != nil {
		return nil, err
	}
	lock, ctx, err := r.Lock(ctx, "backup", true)
	if err != nil {
		return nil, err
	}
	defer func() {
		if uerr := lock.Unlock(ctx); uerr != nil && err == nil {
			err = fmt.Errorf("release lock: %w", uerr)
		}
	}()

	start := r.now()
	id, err := newID(start)
	if err != nil {
		return nil, err
	}
	log := r.log().With("instance", r.Instance, "backup", id)
	log.Info("backup: starting")

	if err := j.Hooks.runBefore(ctx, log); err != nil {
		if aerr := j.Hooks.runAfter(context.WithoutCancel(ctx), log); aerr != nil {
			err = multierror.Append(err, aerr)
		}
		return nil, err
	}
	m, err = j.run(ctx, id, start)
	if aerr := j.Hooks.runAfter(context.WithoutCancel(ctx), log); aerr != nil {
		// The snapshot is stored, but a failing after-hook (unfreeze) is
		// something an operator must hear about.
		err = multierror.Append(err, aerr).ErrorOrNil()
	}
	if m != nil && err == nil {
		log.Info("backup: stored", "volumes", len(m.Volumes), "plain_bytes", m.PlainSize, "stored_bytes", m.StoredSize,
			"seconds", m.Completed.Sub(m.Created).Seconds())
	}
	return m, err
}

func (j *Job) run(ctx context.Context, id string, start time.Time) (*Manifest, error) {
	r := j.Repo
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var prog progressCounters
	stopProgress := j.startProgress(&prog, start)

	parts := make(chan Part)
	source := "command"
	srcErr := make(chan error, 1)
	if sp, ok := j.Source.(Splitter); ok {
		source = "dir"
		go func() { srcErr <- sp.Split(ctx, j.volumeSize(), parts) }()
	} else {
		go func() { srcErr <- streamParts(ctx, j.Source, j.volumeSize(), parts) }()
	}

	var idx *indexWriter
	if source == "dir" {
		var err error
		if idx, err = j.startIndex(ctx, id); err != nil {
			cancel(err)
			for range parts {
			}
			<-srcErr
			stopProgress()
			return nil, err
		}
	}

	type result struct {
		seq int
		vol Volume
		err error
	}
	var (
		mu      sync.Mutex
		vols    []Volume
		files   int64
		plain   int64
		errs    *multierror.Error
		wg      sync.WaitGroup
		seqc    = make(chan seqPart)
		workers = j.workers()
	)
	go func() {
		defer close(seqc)
		seq := 0
		for p := range parts {
			seq++
			select {
			case seqc <- seqPart{seq, p}:
			case <-ctx.Done():
				for range parts {
				}
				return
			}
		}
	}()
	// Workers make volumes; once a volume's bytes are all handed to its
	// Put, the worker moves on and the completer waits for the upload to
	// finish (flush, rename), retrying it if it failed, so that no core
	// idles while a backup node syncs to disk.
	type pendingVolume struct {
		sp   seqPart
		name string
		vol  Volume
		info PartInfo
		wait func() error
	}
	pending := make(chan pendingVolume, workers)
	record := func(seq int, vol Volume, info PartInfo, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if ctx.Err() == nil || !errors.Is(err, context.Cause(ctx)) {
				errs = multierror.Append(errs, fmt.Errorf("volume %d: %w", seq, err))
			}
			cancel(err)
			return
		}
		for len(vols) < seq {
			vols = append(vols, Volume{})
		}
		vols[seq-1] = vol
		files += info.Files
		plain += info.Bytes
	}
	var cwg sync.WaitGroup
	cwg.Add(1)
	go func() {
		defer cwg.Done()
		var enc *volumeEncoder // for retries, made when first needed
		defer func() {
			if enc != nil {
				enc.close()
			}
		}()
		for p := range pending {
			err := p.wait()
			if err != nil && ctx.Err() == nil {
				if enc == nil {
					enc = newVolumeEncoder(j.Level, source == "command")
				}
				p.vol, p.info, err = j.retryVolume(ctx, enc, p.name, p.sp.part, &prog, p.info, err)
			}
			if err == nil && idx != nil {
				err = idx.add(ctx, p.sp.seq, p.info.Index)
			}
			record(p.sp.seq, p.vol, p.info, err)
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := newVolumeEncoder(j.Level, source == "command")
			defer enc.close()
			for sp := range seqc {
				if ctx.Err() != nil {
					continue
				}
				name := volumeName(r.Instance, id, sp.seq)
				vol, info, wait, err := j.startVolume(ctx, enc, name, sp.part, &prog)
				if err != nil {
					wait = func() error { return err }
				}
				pending <- pendingVolume{sp: sp, name: name, vol: vol, info: info, wait: wait}
			}
		}()
	}
	wg.Wait()
	close(pending)
	cwg.Wait()
	if err := <-srcErr; err != nil && !errors.Is(err, context.Cause(ctx)) && !errors.Is(err, context.Canceled) {
		errs = multierror.Append(errs, fmt.Errorf("snapshot: %w", err))
		cancel(err)
	}
	var index *Volume
	if idx != nil {
		v, err := idx.close(ctx, len(vols))
		if err != nil && errs.ErrorOrNil() == nil {
			errs = multierror.Append(errs, fmt.Errorf("file index: %w", err))
		}
		index = &v
	}
	if err := ctx.Err(); err != nil && errs.ErrorOrNil() == nil {
		errs = multierror.Append(errs, context.Cause(ctx))
	}
	stopProgress()
	if err := errs.ErrorOrNil(); err != nil {
		j.cleanup(id)
		return nil, fmt.Errorf("backup of %s failed, nothing was committed: %w", r.Instance, err)
	}

	m := &Manifest{
		Format: ManifestFormat, Version: ManifestVersion, ID: id, Instance: r.Instance,
		Created: start.UTC(), Completed: r.now().UTC(), Tool: j.tool(), Source: source,
		Compression: "zstd", Encryption: "openpgp", Recipients: j.Encryptor.Recipients(),
		Signer: j.Signer.Fingerprint(), Hash: "sha256", PlainSize: plain, Files: files,
		Volumes: vols, Index: index,
	}
	for _, v := range vols {
		m.StoredSize += v.Size
	}
	if index != nil {
		m.StoredSize += index.Size
		// The index is not a volume of the stream; keep StoredSize = volumes + index consistent with validate.
	}
	if err := j.commit(ctx, m); err != nil {
		j.cleanup(id)
		return nil, fmt.Errorf("backup of %s failed, nothing was committed: %w", r.Instance, err)
	}
	return m, nil
}

type seqPart struct {
	seq  int
	part Part
}

func (j *Job) tool() string {
	if j.Tool != "" {
		return j.Tool
	}
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	return "opskit " + v + " (" + runtime.Version() + ")"
}

// commit signs and writes the manifest: signature first, manifest last.
func (j *Job) commit(ctx context.Context, m *Manifest) error {
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	sig, err := j.Signer.Sign(data)
	if err != nil {
		return fmt.Errorf("sign manifest: %w", err)
	}
	name := manifestName(m.Instance, m.ID)
	if err := j.Repo.putBytes(ctx, name+".asc", sig); err != nil {
		return fmt.Errorf("store manifest signature: %w", err)
	}
	if err := j.Repo.putBytes(ctx, name, data); err != nil {
		return fmt.Errorf("store manifest: %w", err)
	}
	return nil
}

// cleanup removes what a failed job uploaded. Errors are only logged: the
// objects are unreachable without a manifest, and Prune removes leftovers.
func (j *Job) cleanup(id string) {
	r := j.Repo
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r.delete(ctx, manifestName(r.Instance, id)+".asc")
	objs, err := r.Transport.List(ctx, dataPrefix(r.Instance, id))
	if err != nil {
		r.log().Warn("backup: cannot list leftovers of failed backup; Prune will remove them", "backup", id, "error", err)
		return
	}
	for _, o := range objs {
		if err := r.delete(ctx, o.Name); err != nil {
			r.log().Warn("backup: cannot remove leftover of failed backup; Prune will", "object", o.Name, "error", err)
		}
	}
}

// retryVolume makes and stores a part again after its first attempt failed
// with firstErr, when the part can be replayed (a Dir's can; a command's
// stream cannot), waiting RetryDelay (doubled each time) between attempts.
func (j *Job) retryVolume(ctx context.Context, enc *volumeEncoder, name string, p Part, prog *progressCounters, failed PartInfo, firstErr error) (Volume, PartInfo, error) {
	retries := j.Retries
	if retries == 0 {
		retries = 2
	}
	if _, ok := p.(*dirPart); !ok || retries < 0 || errors.Is(firstErr, ErrInvalidName) {
		return Volume{}, failed, firstErr
	}
	delay := j.RetryDelay
	if delay <= 0 {
		delay = 2 * time.Second
	}
	err, info := firstErr, failed
	for attempt := 1; attempt <= retries; attempt++ {
		j.Repo.log().Warn("backup: storing volume failed; making it again", "object", name, "attempt", attempt, "error", err)
		prog.plain.Add(-info.Bytes)
		prog.files.Add(-info.Files)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return Volume{}, info, err
		case <-t.C:
		}
		delay *= 2
		var vol Volume
		var wait func() error
		vol, info, wait, err = j.startVolume(ctx, enc, name, p, prog)
		if err == nil {
			err = wait()
		}
		if err == nil {
			return vol, info, nil
		}
		if ctx.Err() != nil {
			return Volume{}, info, err
		}
	}
	return Volume{}, info, err
}

// startVolume compresses, encrypts and hashes one part into its Put, and
// returns once every byte is handed over; wait reports the Put's outcome.
func (j *Job) startVolume(ctx context.Context, enc *volumeEncoder, name string, p Part, prog *progressCounters) (Volume, PartInfo, func() error, error) {
	pr, pw := io.Pipe()
	putErr := make(chan error, 1)
	go func() {
		_, err := j.Repo.put(ctx, name, pr)
		pr.CloseWithError(err)
		putErr <- err
	}()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(pw, h, prog.storedWriter())}
	info, err := enc.encode(ctx, j.Encryptor, cw, p, prog)
	if err != nil {
		pw.CloseWithError(err)
		if perr := <-putErr; perr != nil && !errors.Is(perr, err) {
			err = perr // the upload's failure is the cause
		}
		return Volume{}, info, nil, err
	}
	pw.Close()
	vol := Volume{Name: name, Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))}
	return vol, info, func() error {
		if err := <-putErr; err != nil {
			return err
		}
		prog.volumes.Add(1)
		return nil
	}, nil
}

// volumeEncoder holds a reusable zstd encoder.
type volumeEncoder struct{ z *zstd.Encoder }

func newVolumeEncoder(level zstd.EncoderLevel, concurrent bool) *volumeEncoder {
	if level == 0 {
		level = zstd.SpeedFastest
	}
	c := 1
	if concurrent {
		c = runtime.GOMAXPROCS(0)
	}
	// WithLowerEncoderMem would cost 20% of throughput (history copies);
	// a 2 MiB window keeps memory small anyway.
	z, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(c), zstd.WithWindowSize(1<<21))
	return &volumeEncoder{z: z}
}

func (e *volumeEncoder) close() { e.z.Close() }

func (e *volumeEncoder) encode(ctx context.Context, encr Encryptor, dst io.Writer, p Part, prog *progressCounters) (PartInfo, error) {
	ew, err := encr.Encrypt(dst)
	if err != nil {
		return PartInfo{}, fmt.Errorf("encrypt: %w", err)
	}
	e.z.Reset(ew)
	info, err := p.WriteTo(ctx, e.z)
	prog.plain.Add(info.Bytes)
	prog.files.Add(info.Files)
	if err != nil {
		return info, err
	}
	if err := e.z.Close(); err != nil {
		return info, fmt.Errorf("compress: %w", err)
	}
	if err := ew.Close(); err != nil {
		return info, fmt.Errorf("encrypt: %w", err)
	}
	return info, nil
}

// indexWriter streams the file index into its own encrypted object while
// the volumes are made, putting the workers' records back in stream order.
type indexWriter struct {
	mu      sync.Mutex
	next    int
	pending map[int][]IndexRecord
	enc     *json.Encoder
	z       *zstd.Encoder
	ew      io.WriteCloser
	pw      *io.PipeWriter
	h       hash.Hash
	cw      *countWriter
	putErr  chan error
	name    string
	err     error
}

func (j *Job) startIndex(ctx context.Context, id string) (*indexWriter, error) {
	pr, pw := io.Pipe()
	w := &indexWriter{next: 1, pending: map[int][]IndexRecord{}, pw: pw, h: sha256.New(),
		putErr: make(chan error, 1), name: indexName(j.Repo.Instance, id)}
	w.cw = &countWriter{w: io.MultiWriter(pw, w.h)}
	go func() {
		_, err := j.Repo.put(ctx, w.name, pr)
		pr.CloseWithError(err)
		w.putErr <- err
	}()
	ew, err := j.Encryptor.Encrypt(w.cw)
	if err != nil {
		pw.CloseWithError(err)
		<-w.putErr
		return nil, fmt.Errorf("encrypt index: %w", err)
	}
	w.ew = ew
	w.z, _ = zstd.NewWriter(ew, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
	w.enc = json.NewEncoder(w.z)
	return w, nil
}

// add writes part seq's records once every earlier part's are written.
func (w *indexWriter) add(ctx context.Context, seq int, recs []IndexRecord) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.pending[seq] = recs
	for {
		recs, ok := w.pending[w.next]
		if !ok {
			return nil
		}
		delete(w.pending, w.next)
		w.next++
		for i := range recs {
			if err := w.enc.Encode(&recs[i]); err != nil {
				w.err = err
				w.pw.CloseWithError(err)
				return err
			}
		}
	}
}

func (w *indexWriter) close(ctx context.Context, parts int) (Volume, error) {
	w.mu.Lock()
	err := w.err
	if err == nil && w.next != parts+1 {
		err = fmt.Errorf("index has %d parts of %d", w.next-1, parts)
	}
	w.mu.Unlock()
	if err == nil {
		if err = w.z.Close(); err == nil {
			err = w.ew.Close()
		}
	}
	if err != nil {
		w.pw.CloseWithError(err)
		<-w.putErr
		return Volume{}, err
	}
	w.pw.Close()
	if err := <-w.putErr; err != nil {
		return Volume{}, err
	}
	return Volume{Name: w.name, Size: w.cw.n, SHA256: hex.EncodeToString(w.h.Sum(nil))}, nil
}

type progressCounters struct {
	files, plain, stored, volumes atomic.Int64
}

func (p *progressCounters) storedWriter() io.Writer { return storedCounter{p} }

type storedCounter struct{ p *progressCounters }

func (s storedCounter) Write(b []byte) (int, error) {
	s.p.stored.Add(int64(len(b)))
	return len(b), nil
}

func (p *progressCounters) snapshot(elapsed time.Duration, done bool) Progress {
	return Progress{Files: p.files.Load(), PlainBytes: p.plain.Load(), StoredBytes: p.stored.Load(),
		Volumes: p.volumes.Load(), Elapsed: elapsed, Done: done}
}

func (j *Job) startProgress(p *progressCounters, start time.Time) (stop func()) {
	if j.Progress == nil {
		return func() {}
	}
	every := j.ProgressInterval
	if every <= 0 {
		every = time.Second
	}
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				j.Progress(p.snapshot(j.Repo.now().Sub(start), true))
				return
			case <-t.C:
				j.Progress(p.snapshot(j.Repo.now().Sub(start), false))
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit); <-done }) }
}
