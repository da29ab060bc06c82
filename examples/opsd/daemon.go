package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/backup"
	"github.com/opskit/opskit/sqlstore"
	"github.com/opskit/opskit/statuspage"
)

// daemon runs the scheduled work and serves HTTP.
type daemon struct {
	cfg   *Config
	w     *wiring
	log   *slog.Logger
	store *sqlstore.DB // SQLite by default; with PostgreSQL, daemons share jobs
	mu    sync.Mutex
	state map[string]*jobState // by "kind/instance"
	mux   *http.ServeMux
	// alerts receives job failures as alerts; nil without alerting.
	alerts alerting.Notifier
	// alertMetrics writes the alerting metrics; nil without alerting.
	alertMetrics func(io.Writer)
}

// jobState is what /healthz and /metrics report about one scheduled job.
type jobState struct {
	Kind        string    `json:"kind"` // backup, drill
	Instance    string    `json:"instance"`
	LastStart   time.Time `json:"last_start,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	Duration    float64   `json:"last_duration_seconds"`
	Failures    int64     `json:"failures_total"`
	Running     bool      `json:"running"`
	Skipped     int64     `json:"skipped_total"` // runs left to another daemon
	alerted     bool      // a failure alert was sent and not yet resolved
}

func runDaemon(ctx context.Context, cfgPath string, stdout, stderr io.Writer) error {
	cfg, log, closeLog, err := setup(cfgPath, stderr, slog.LevelInfo)
	if err != nil {
		return err
	}
	defer closeLog()
	w, err := newWiring(cfg, log)
	if err != nil {
		return err
	}
	defer w.Close()
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	d := &daemon{cfg: cfg, w: w, log: log, store: store, state: map[string]*jobState{}, mux: http.NewServeMux()}
	c := cron.New(cron.WithLocation(time.UTC), cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	var atStart []func()
	for _, name := range w.instanceNames() {
		inst, _ := w.instance(name)
		bf := func() { d.track("backup", inst.name, func() error { return d.backupCycle(ctx, inst) }) }
		if _, err := c.AddFunc(inst.cfg.Schedule, bf); err != nil {
			return usagef("backup %s: schedule %q: %v", inst.name, inst.cfg.Schedule, err)
		}
		d.setState("backup", inst.name, func(s *jobState) {})
		if inst.cfg.RunAtStart {
			atStart = append(atStart, bf)
		}
		if inst.cfg.DrillSchedule != "" {
			df := func() { d.track("drill", inst.name, func() error { return d.drill(ctx, inst) }) }
			if _, err := c.AddFunc(inst.cfg.DrillSchedule, df); err != nil {
				return usagef("backup %s: drill_schedule %q: %v", inst.name, inst.cfg.DrillSchedule, err)
			}
			d.setState("drill", inst.name, func(s *jobState) {})
		}
	}
	if cfg.Logs != nil {
		sched := cfg.Logs.Schedule
		if sched == "" {
			sched = "30 4 * * *"
		}
		lf := func() {
			d.track("logs", "all", func() error { _, err := pruneLogs(ctx, cfg, log, false); return err })
		}
		if _, err := c.AddFunc(sched, lf); err != nil {
			return usagef("logs: schedule %q: %v", sched, err)
		}
		d.setState("logs", "all", func(s *jobState) {})
	}
	if err := d.routes(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	var root http.Handler = d.mux
	var sp *statuspage.Handler
	if cfg.Status != nil {
		if sp, err = openStatus(ctx, cfg, store); err != nil {
			return err
		}
		root = d.mountStatus(ctx, sp)
		go func() {
			if err := sp.Run(ctx); err != nil && ctx.Err() == nil {
				log.Error("opsd: status page notifications stopped", "error", err)
			}
		}()
	}
	alertsDone := make(chan error, 1)
	if cfg.Alerting != nil {
		as, err := openAlerting(ctx, cfg, store, log)
		if err != nil {
			return err
		}
		as.mount(d.mux)
		d.alertMetrics = as.writeMetrics
		if cfg.Alerting.JobAlerts == nil || *cfg.Alerting.JobAlerts {
			d.alerts = as.m
		}
		go func() { alertsDone <- as.run(ctx, store, sp) }()
	} else {
		alertsDone <- nil
	}
	srv := &http.Server{Handler: root, ReadHeaderTimeout: 10 * time.Second}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "opsd: serving http://%s/ (jobs page, /healthz, /metrics, status pages under /p/); %d backup instances scheduled; Ctrl-C stops\n", ln.Addr(), len(w.instanceNames()))
	c.Start()
	var startWG sync.WaitGroup
	for _, f := range atStart {
		startWG.Add(1)
		go func() { defer startWG.Done(); f() }()
	}
	select {
	case <-ctx.Done():
	case err = <-srvErr:
	}
	log.Info("opsd: stopping")
	stopCtx := c.Stop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(shutdownCtx)
	<-stopCtx.Done()
	startWG.Wait()
	if aerr := <-alertsDone; aerr != nil {
		log.Error("opsd: alerting stopped", "error", aerr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// backupCycle is one scheduled backup: back up, verify, prune.
func (d *daemon) backupCycle(ctx context.Context, inst *instance) error {
	m, err := inst.backup(ctx, nil)
	if err != nil {
		return err
	}
	if inst.cfg.VerifyAfterBackup == nil || *inst.cfg.VerifyAfterBackup {
		if _, err := inst.repo.Verify(ctx, m.ID, true); err != nil {
			return fmt.Errorf("verify new backup %s: %w", m.ID, err)
		}
	}
	rep, err := inst.prune(ctx, false)
	if err != nil {
		return fmt.Errorf("prune after backup: %w", err)
	}
	if len(rep.Deleted) > 0 || len(rep.Orphans) > 0 {
		d.log.Info("opsd: pruned", "instance", inst.name, "deleted", len(rep.Deleted), "orphans", len(rep.Orphans))
	}
	return nil
}

func (d *daemon) drill(ctx context.Context, inst *instance) error {
	dec, err := inst.decryptor()
	if err != nil {
		return err
	}
	_, err = inst.repo.Drill(ctx, dec, backup.DrillOptions{Scratch: d.w.scratch()})
	return err
}

func (d *daemon) setState(kind, instance string, f func(*jobState)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := kind + "/" + instance
	s, ok := d.state[key]
	if !ok {
		s = &jobState{Kind: kind, Instance: instance}
		d.state[key] = s
	}
	f(s)
}

// track runs a job and records its outcome; failures are logged at error
// level (and reach alerting when the daemon wires it). With a shared
// PostgreSQL store, a job that another daemon is running is skipped.
func (d *daemon) track(kind, instance string, f func() error) {
	if d.store != nil {
		unlock, ok, err := d.store.TryLock(context.Background(), "opsd/"+kind+"/"+instance)
		if err != nil {
			d.log.Error("opsd: cannot take the job lock; skipping this run", "job", kind, "instance", instance, "error", err)
			return
		}
		if !ok {
			d.log.Info("opsd: another daemon runs this job; skipping", "job", kind, "instance", instance)
			d.setState(kind, instance, func(s *jobState) { s.Skipped++ })
			return
		}
		defer unlock()
	}
	start := time.Now()
	d.setState(kind, instance, func(s *jobState) { s.Running, s.LastStart = true, start })
	err := f()
	d.setState(kind, instance, func(s *jobState) {
		s.Running = false
		s.Duration = time.Since(start).Seconds()
		if err != nil {
			s.Failures++
			s.LastError = err.Error()
		} else {
			s.LastSuccess, s.LastError = time.Now(), ""
		}
	})
	if err != nil {
		d.log.Error("opsd: "+kind+" failed", "instance", instance, "error", err)
	}
	d.jobAlert(kind, instance, err)
}

// jobAlert turns a failed job into a firing JobFailed alert, and the next
// success into its resolution.
func (d *daemon) jobAlert(kind, instance string, err error) {
	if d.alerts == nil {
		return
	}
	var send bool
	d.setState(kind, instance, func(s *jobState) {
		send = err != nil || s.alerted
		s.alerted = err != nil
	})
	if !send {
		return
	}
	now := time.Now()
	a := alerting.Alert{
		Labels:   alerting.Labels{"alertname": "JobFailed", "job": kind, "instance": instance},
		Severity: alerting.Critical, Source: "opsd", StartsAt: now,
		Summary: fmt.Sprintf("%s of %s failed", kind, instance),
	}
	if err != nil {
		a.Annotations = map[string]string{"description": err.Error()}
	} else {
		a.EndsAt = now
		a.Summary = fmt.Sprintf("%s of %s succeeded again", kind, instance)
	}
	if nerr := d.alerts.Notify(context.Background(), a); nerr != nil {
		d.log.Error("opsd: cannot raise the job alert", "job", kind, "instance", instance, "error", nerr)
	}
}

func (d *daemon) snapshot() []jobState {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]jobState, 0, len(d.state))
	for _, s := range d.state {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+out[i].Instance < out[j].Kind+out[j].Instance })
	return out
}

func (d *daemon) routes() error {
	d.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		states := d.snapshot()
		healthy := true
		for _, s := range states {
			if s.LastError != "" {
				healthy = false
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if !healthy {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(map[string]any{"healthy": healthy, "jobs": states})
	})
	d.mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		writeMetrics(w, d.snapshot())
		if d.alertMetrics != nil {
			d.alertMetrics(w)
		}
	})
	return d.extraRoutes()
}

func writeMetrics(w io.Writer, states []jobState) {
	type metric struct{ name, help, typ string }
	ms := []metric{
		{"opsd_job_last_success_timestamp_seconds", "Unix time of the job's last success.", "gauge"},
		{"opsd_job_last_duration_seconds", "Duration of the job's last run.", "gauge"},
		{"opsd_job_failures_total", "Failed runs of the job.", "counter"},
		{"opsd_job_running", "1 while the job runs.", "gauge"},
	}
	for i, m := range ms {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.typ)
		for _, s := range states {
			var v float64
			switch i {
			case 0:
				if !s.LastSuccess.IsZero() {
					v = float64(s.LastSuccess.Unix())
				}
			case 1:
				v = s.Duration
			case 2:
				v = float64(s.Failures)
			case 3:
				if s.Running {
					v = 1
				}
			}
			fmt.Fprintf(w, "%s{kind=%q,instance=%q} %g\n", m.name, s.Kind, s.Instance, v)
		}
	}
}
