package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"

	"github.com/opskit/opskit/backup"
	"github.com/opskit/opskit/retention"
)

// wiring builds the library objects the configuration describes.
type wiring struct {
	cfg       *Config
	log       *slog.Logger
	signer    backup.Signer
	verifier  backup.Verifier
	instances map[string]*instance
	closers   []func() error
}

// instance is one backup instance, ready to use.
type instance struct {
	name   string
	cfg    BackupConfig
	w      *wiring
	repo   *backup.Repository
	enc    backup.Encryptor
	policy retention.Policy
}

func newWiring(cfg *Config, log *slog.Logger) (*wiring, error) {
	w := &wiring{cfg: cfg, log: log, instances: map[string]*instance{}}
	if err := os.MkdirAll(cfg.abs(cfg.DataDir), 0o700); err != nil {
		return nil, err
	}
	var err error
	if w.verifier, err = loadVerifier(cfg.abs(cfg.Signing.PublicKey)); err != nil {
		return nil, err
	}
	if w.signer, err = loadSigner(cfg.abs(cfg.Signing.PrivateKey), cfg.Signing.PassphraseEnv); err != nil {
		return nil, err
	}
	for _, bc := range cfg.Backups {
		inst := &instance{name: bc.Instance, cfg: bc, w: w}
		var keys []string
		for _, k := range bc.EncryptTo {
			keys = append(keys, cfg.abs(k))
		}
		if inst.enc, err = loadEncryptor(keys); err != nil {
			return nil, fmt.Errorf("backup %s: %w", bc.Instance, err)
		}
		t, closer, err := newTransport(cfg, bc.Transport)
		if err != nil {
			return nil, fmt.Errorf("backup %s: transport: %w", bc.Instance, err)
		}
		if closer != nil {
			w.closers = append(w.closers, closer)
		}
		if inst.policy, err = bc.Retention.policy(); err != nil {
			return nil, fmt.Errorf("backup %s: %w", bc.Instance, err)
		}
		inst.repo = &backup.Repository{Transport: t, Instance: bc.Instance, Verifier: w.verifier, Signer: w.signer, Logger: log}
		w.instances[bc.Instance] = inst
	}
	return w, nil
}

// Close releases connections.
func (w *wiring) Close() error {
	for _, c := range w.closers {
		c()
	}
	return nil
}

func (w *wiring) instanceNames() []string {
	names := make([]string, 0, len(w.instances))
	for n := range w.instances {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (w *wiring) instance(name string) (*instance, error) {
	inst, ok := w.instances[name]
	if !ok {
		return nil, fmt.Errorf("no backup instance %q in %s (have %v)", name, w.cfg.path, w.instanceNames())
	}
	return inst, nil
}

func (w *wiring) scratch() string {
	dir := filepath.Join(w.cfg.abs(w.cfg.DataDir), "scratch")
	os.MkdirAll(dir, 0o700)
	return dir
}

func (inst *instance) source() backup.Snapshotter {
	src := inst.cfg.Source
	if src.Dir != "" {
		return &backup.Dir{Path: inst.w.cfg.abs(src.Dir), Exclude: src.Exclude, Logger: inst.w.log}
	}
	return &backup.Command{Path: src.Command[0], Args: src.Command[1:]}
}

func (inst *instance) hooks() backup.Hooks {
	var h backup.Hooks
	for _, c := range inst.cfg.Hooks.Before {
		h.Before = append(h.Before, backup.Hook{Command: c})
	}
	for _, c := range inst.cfg.Hooks.After {
		h.After = append(h.After, backup.Hook{Command: c})
	}
	return h
}

func (inst *instance) backup(ctx context.Context, progress func(backup.Progress)) (*backup.Manifest, error) {
	job := &backup.Job{Repo: inst.repo, Source: inst.source(), Encryptor: inst.enc, Signer: inst.w.signer,
		Hooks: inst.hooks(), VolumeSize: inst.cfg.VolumeSizeMiB << 20, Progress: progress}
	return job.Run(ctx)
}

func (inst *instance) prune(ctx context.Context, dryRun bool) (backup.PruneReport, error) {
	return inst.repo.Prune(ctx, prunePolicy(inst.policy), dryRun)
}

func (inst *instance) decryptor() (backup.Decryptor, error) {
	if inst.cfg.DecryptWith == "" {
		return nil, fmt.Errorf("backup %s: decrypt_with (the instance's private key) is not configured on this host", inst.name)
	}
	return loadDecryptor(inst.w.cfg.abs(inst.cfg.DecryptWith), inst.cfg.PassphraseEnv)
}

func (inst *instance) location() string {
	t := inst.cfg.Transport
	switch t.Type {
	case "local":
		return inst.w.cfg.abs(t.Path)
	default:
		return t.Type + "://" + t.User + "@" + t.Address + "/" + t.Path
	}
}
