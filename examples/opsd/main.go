// Command opsd is opskit's reference daemon: it wires every opskit package
// into one program driven by one configuration file.
//
// Quick start (embedded defaults: a local backup directory, generated keys,
// SQLite, the status page on 127.0.0.1:8080):
//
//	go run ./examples/opsd
//
// That runs `opsd init` into ./opsd-data if there is no configuration yet,
// then the daemon. Commands:
//
//	opsd init [--dir DIR] [--source PATH]     write DIR/opsd.yaml and keys
//	opsd run                                  the daemon (the default)
//	opsd backup run INSTANCE                  make a backup now
//	opsd backup list INSTANCE [--json]        list backups
//	opsd backup verify INSTANCE [BACKUP]      check stored hashes (no private key needed)
//	opsd backup restore INSTANCE BACKUP --to DIR
//	opsd backup drill INSTANCE [BACKUP]       restore into scratch space and compare
//	opsd backup prune INSTANCE [--dry-run] [--json]
//	opsd backup unlock INSTANCE               remove stale locks
//	opsd logs prune [--dry-run] [--json]      delete log files and Elasticsearch indices past their age
//	opsd logbook new --title T [--severity SEV2] [--instance I]... [--public] [--what TEXT]
//	opsd logbook note ID --kind KIND --text TEXT [--public]
//	opsd logbook close ID [--root-cause T] [--what-we-did T] [--impact T] [--prevention T] [--status closed]
//	opsd logbook postmortem ID [--customer] [--html]
//	opsd logbook list [--status S] [--for INSTANCE] [--json]
//	opsd status serve [-listen ADDR]          the status pages alone (e.g. on another host sharing PostgreSQL)
//	opsd status export SLUG DIR               a page as static files (HTML, JSON, feeds)
//	opsd alert list [--json]                  alert groups, undelivered notifications, silences
//	opsd alert ack ID                         acknowledge a group (stops escalation)
//	opsd alert silence -comment WHY [-for 2h] [-maintenance] MATCHER...
//	opsd alert expire SILENCE_ID
//	opsd alert test RECEIVER                  send a test notification
//	opsd alert dryrun RULE.yaml [-from T] [-to T]   evaluate an ElastAlert rule over past logs, sending nothing
//
// Every command takes -config FILE (default ./opsd-data/opsd.yaml).
//
// Alerting in opsd.yaml pages an on-call team by levels, office hours to the
// team's chat, nights and weekends to the pager (secrets come from the
// environment, never from the file):
//
//	alerting:
//	  external_url: https://ops.example.com   # acknowledge links point here
//	  receivers:
//	    - {name: chat, slack: {url_env: SLACK_WEBHOOK_URL}}
//	    - {name: oncall1, pagerduty: {routing_key_env: PD_KEY_L1}}
//	    - {name: oncall2, email: {host: smtp.example.com, username: opsd, password_env: SMTP_PASSWORD,
//	                              from: opsd@example.com, to: [oncall2@example.com]}}
//	    - {name: deadman, webhook: {url: "https://heartbeat.example.com/ping/opsd"}}
//	  default:
//	    group_by: [alertname, instance]
//	    levels:
//	      - receivers: [chat]
//	        when: {time_zone: Europe/Paris, windows: [{days: [mon, tue, wed, thu, fri], from: "08:00", to: "19:00"}]}
//	      - receivers: [oncall1]
//	        when: {time_zone: Europe/Paris, windows: [{days: [mon, tue, wed, thu, fri], from: "19:00", to: "08:00"}, {days: [sat, sun]}]}
//	      - {after: 15m, receivers: [oncall2]}
//	    repeat: 2
//	  ack_timeout: 1h
//	  inhibit:
//	    - {source: ['alertname="HostUnresponsive"'], target: ['alertname=~"PortDown|HostResources"'], equal: [host]}
//	  checks:
//	    - {name: https, host: web1, tcp: {addr: "web1.example.com:443"}, component: acme/Web application}
//	    - {name: status, instance: acme, http: {url: "https://acme.example.com/health", json: ['status == "ok"']}}
//	  heartbeats: [{host: db1, token_env: HEARTBEAT_DB1, grace: 5m}]
//	  inputs: {token_file: keys/inputs.token}     # /api/alerts/{alertmanager,falco,ossec}
//	  rules: {dir: rules, urls: ["http://127.0.0.1:9200"]}   # ElastAlert rule files
//	  watchdog: {receiver: deadman, interval: 1m}
//
// The daemon serves the acknowledge links at /alerts/ack, heartbeats at
// /heartbeat/HOST and the inputs at /api/alerts/.
//
// opsd sets a soft memory limit of 48 MiB (debug.SetMemoryLimit) unless
// GOMEMLIMIT is set.
//
// Exit codes: 0 success; 1 failure; 2 usage or configuration error;
// 3 the repository is locked by another process; 4 a backup failed
// verification (hash, signature or integrity); 5 a restore drill failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	"github.com/opskit/opskit/backup"
)

const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitLocked   = 3
	exitCorrupt  = 4
	exitDrill    = 5
	defaultDir   = "opsd-data"
	configName   = "opsd.yaml"
	usageSummary = `usage: opsd [-config FILE] COMMAND
commands: init, run, backup run|list|verify|restore|drill|prune|unlock, logs prune,
  logbook new|note|close|postmortem|list, alert list|ack|silence|expire|test|dryrun,
  status serve|export
run "opsd help" or "go doc github.com/opskit/opskit/examples/opsd" for details`
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if path := os.Getenv("OPSD_CPUPROFILE"); path != "" {
		// For benchmarks (bench/backup.sh): a CPU profile of this run.
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer f.Close()
		}
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// Backups stream through fixed buffers (a live heap near 30 MiB);
		// a soft limit keeps the collector from letting garbage double that.
		debug.SetMemoryLimit(48 << 20)
	}
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	pprof.StopCPUProfile()
	stop()
	os.Exit(code)
}

// usageError marks errors that deserve exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "opsd:", err)
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, usageSummary)
		return exitUsage
	case errors.Is(err, backup.ErrLocked):
		return exitLocked
	case errors.Is(err, backup.ErrDrillFailed):
		return exitDrill
	case errors.Is(err, backup.ErrCorrupt), errors.Is(err, backup.ErrBadSignature), errors.Is(err, backup.ErrManifest):
		return exitCorrupt
	}
	return exitFailure
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return runDefault(ctx, stdout, stderr)
	}
	switch args[0] {
	case "init":
		return cmdInit(args[1:], stdout)
	case "run":
		fs := flag.NewFlagSet("run", flag.ContinueOnError)
		fs.SetOutput(stderr)
		cfgPath := configFlag(fs)
		if err := fs.Parse(args[1:]); err != nil {
			return usageError{err.Error()}
		}
		return runDaemon(ctx, *cfgPath, stdout, stderr)
	case "backup":
		return cmdBackup(ctx, args[1:], stdout, stderr)
	case "logs":
		return cmdLogs(ctx, args[1:], stdout, stderr)
	case "logbook":
		return cmdLogbook(ctx, args[1:], stdout, stderr)
	case "alert":
		return cmdAlert(ctx, args[1:], stdout, stderr)
	case "status":
		return cmdStatus(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usageSummary)
		return nil
	}
	return usagef("unknown command %q", args[0])
}

func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", defaultDir+"/"+configName, "configuration file")
}

// runDefault is what `go run ./examples/opsd` does: init if needed, then run.
func runDefault(ctx context.Context, stdout, stderr io.Writer) error {
	path := defaultDir + "/" + configName
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := cmdInit(nil, stdout); err != nil {
			return err
		}
	}
	return runDaemon(ctx, path, stdout, stderr)
}
