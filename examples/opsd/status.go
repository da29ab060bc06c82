package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/opskit/opskit/logbook"
	"github.com/opskit/opskit/sqlstore"
	"github.com/opskit/opskit/statuspage"
	"github.com/opskit/opskit/statuspage/smtpmail"
)

// writeToken writes a new random admin token to path (0600, never
// overwriting).
func writeToken(path string) error {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(hex.EncodeToString(b[:]) + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// openStatus opens the status pages on the store and makes sure the
// configured pages and components exist.
func openStatus(ctx context.Context, cfg *Config, db *sqlstore.DB) (*statuspage.Handler, error) {
	sc := cfg.Status
	spc := statuspage.Config{HostSuffix: sc.HostSuffix, RedirectHTTP: sc.TLS}
	var err error
	if spc.RenderInterval, err = parseDur("status.render_interval", sc.RenderInterval, time.Second); err != nil {
		return nil, usageError{err.Error()}
	}
	if sc.AdminTokenFile != "" {
		b, err := os.ReadFile(cfg.abs(sc.AdminTokenFile))
		if err != nil {
			return nil, fmt.Errorf("status admin token: %w", err)
		}
		if tok := strings.TrimSpace(string(b)); len(tok) >= 16 {
			spc.AdminTokens = []string{tok}
		} else {
			return nil, fmt.Errorf("status admin token in %s is shorter than 16 characters", sc.AdminTokenFile)
		}
	}
	if sub := sc.Subscriptions; sub != nil {
		if err := subscriptions(cfg, sub, &spc); err != nil {
			return nil, err
		}
	}
	h, err := statuspage.New(ctx, db, spc)
	if err != nil {
		return nil, err
	}
	for _, pc := range sc.Pages {
		p, err := h.Page(pc.Slug)
		if errors.Is(err, statuspage.ErrNotFound) || (err == nil && (p.Name != pc.Name || p.URL != pc.URL || p.TimeZone != pc.TimeZone)) {
			if err := h.PutPage(ctx, pc.Slug, pc.Name, pc.URL, pc.TimeZone); err != nil {
				return nil, fmt.Errorf("status page %s: %w", pc.Slug, err)
			}
			p, err = h.Page(pc.Slug)
		}
		if err != nil {
			return nil, err
		}
		for _, name := range pc.Components {
			found := false
			for _, c := range p.Components {
				found = found || c.Name == name
			}
			if !found {
				if _, err := h.AddComponent(ctx, pc.Slug, statuspage.Component{Name: name}); err != nil {
					return nil, err
				}
			}
		}
	}
	return h, nil
}

// subscriptions configures email and webhook subscriptions.
func subscriptions(cfg *Config, sub *SubscriptionsConfig, spc *statuspage.Config) error {
	if sub.KeyFile == "" {
		return usageError{"status.subscriptions.key_file is required"}
	}
	key, err := readOrCreateKey(cfg.abs(sub.KeyFile))
	if err != nil {
		return fmt.Errorf("status.subscriptions.key_file: %w", err)
	}
	spc.SubscriptionKey = key
	if s := sub.SMTP; s != nil {
		mc := smtpmail.Config{Host: s.Host, Port: s.Port, Username: s.Username, From: s.From}
		switch s.TLS {
		case "", "starttls":
			mc.TLS = smtpmail.StartTLS
		case "implicit":
			mc.TLS = smtpmail.ImplicitTLS
		case "none":
			mc.TLS = smtpmail.NoTLS
		default:
			return usagef("status.subscriptions.smtp.tls: %q (use starttls, implicit or none)", s.TLS)
		}
		if mc.Password, err = secretEnv("status.subscriptions.smtp.password_env", s.PasswordEnv); err != nil {
			return usageError{err.Error()}
		}
		pool, err := caPool("status.subscriptions.smtp.ca_file", cfg.abs(s.CAFile))
		if err != nil {
			return usageError{err.Error()}
		}
		if pool != nil {
			mc.TLSConfig = &tls.Config{RootCAs: pool, ServerName: s.Host, MinVersion: tls.VersionTLS12}
		}
		m, err := smtpmail.New(mc)
		if err != nil {
			return usageError{"status.subscriptions.smtp: " + err.Error()}
		}
		spc.Mailer = m
	}
	return nil
}

// mountStatus serves the status pages beside the daemon's own routes and
// picks up changes made by the command line every 15 seconds.
func (d *daemon) mountStatus(ctx context.Context, h *statuspage.Handler) http.Handler {
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := h.Reload(ctx); err != nil && ctx.Err() == nil {
					d.log.Warn("opsd: reloading status pages", "error", err)
				}
			}
		}
	}()
	suffix := ""
	if d.cfg.Status != nil {
		suffix = d.cfg.Status.HostSuffix
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := strings.Cut(r.Host, ":")
		if strings.HasPrefix(r.URL.Path, "/p/") || strings.HasPrefix(r.URL.Path, "/api/admin/") ||
			(suffix != "" && strings.HasSuffix(strings.ToLower(host), suffix)) {
			h.ServeHTTP(w, r)
			return
		}
		d.mux.ServeHTTP(w, r)
	})
}

// statusIncidentID maps a logbook incident to its status page incident.
func statusIncidentID(id int64) string { return fmt.Sprintf("lb%010d", id) }

func impactOf(s logbook.Severity) string {
	switch s {
	case logbook.SEV1:
		return statuspage.ImpactCritical
	case logbook.SEV2:
		return statuspage.ImpactMajor
	case logbook.SEV3:
		return statuspage.ImpactMinor
	}
	return statuspage.ImpactNone
}

func publicStatus(s logbook.Status) string {
	switch s {
	case logbook.Resolved, logbook.Closed:
		return statuspage.Resolved
	}
	return string(s)
}

// publish posts a public logbook change to the status page of every
// affected instance that has one: the incident on its first public
// entry, then each public update; status "postmortem" when a post-mortem
// is published. Internal entries never leave the logbook.
func publish(ctx context.Context, h *statuspage.Handler, inc *logbook.Incident, status, text string) ([]string, error) {
	if !inc.Public || h == nil {
		return nil, nil
	}
	var pages []string
	for _, slug := range inc.Instances {
		p, err := h.Page(slug)
		if errors.Is(err, statuspage.ErrNotFound) {
			continue
		}
		if err != nil {
			return pages, err
		}
		id := statusIncidentID(inc.ID)
		exists := false
		for _, i := range p.Incidents {
			exists = exists || i.ID == id
		}
		if !exists {
			st := status
			if st == statuspage.Postmortem || st == statuspage.Resolved {
				st = statuspage.Investigating
			}
			if _, err := h.CreateIncident(ctx, slug, statuspage.NewIncident{ID: id, Name: inc.Title, Status: st,
				Impact: impactOf(inc.Severity), Body: text}); err != nil {
				return pages, err
			}
			if st == status {
				pages = append(pages, slug)
				continue
			}
		}
		if err := h.AddUpdate(ctx, slug, id, status, text); err != nil {
			return pages, err
		}
		pages = append(pages, slug)
	}
	return pages, nil
}
