package statuspage

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"
)

// Notifications go through an outbox table: they are queued in the same
// transaction as the change that causes them, and sent by Deliver (which
// Run calls), so a crash loses none and a slow SMTP server or webhook
// never slows the admin API. A message is retried with growing delays
// (1 minute, doubling, at most 6 hours) and dropped after maxAttempts.
const maxAttempts = 10

// wake tells Run that something was queued.
func (h *Handler) wake() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// incidentMail is the subject and text of a notification of inc's latest
// update (the unsubscribe footer is added per subscriber).
func (p *Page) incidentMail(inc *Incident, created bool) (string, string) {
	u := inc.Updates[0]
	var subject string
	switch {
	case inc.Maintenance && created:
		subject = fmt.Sprintf("[%s] Scheduled maintenance: %s", p.Name, inc.Name)
	case inc.Maintenance:
		subject = fmt.Sprintf("[%s] Maintenance %s: %s", p.Name, strings.ReplaceAll(u.Status, "_", " "), inc.Name)
	default:
		subject = fmt.Sprintf("[%s] %s: %s", p.Name, statusWord(u.Status), inc.Name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s: %s\n", inc.Name, statusWord(u.Status), u.Body)
	if inc.Maintenance {
		loc := p.location()
		fmt.Fprintf(&b, "\nScheduled from %s to %s.\n", inc.ScheduledFor.In(loc).Format("Mon 2 Jan 2006 15:04 MST (-07:00)"),
			inc.ScheduledUntil.In(loc).Format("Mon 2 Jan 2006 15:04 MST (-07:00)"))
	} else {
		fmt.Fprintf(&b, "\nImpact: %s.\n", inc.Impact)
	}
	var names []string
	for _, id := range inc.Components {
		if c, err := p.component(id); err == nil {
			names = append(names, c.Name)
		}
	}
	if len(names) > 0 {
		fmt.Fprintf(&b, "Affected: %s.\n", strings.Join(names, ", "))
	}
	fmt.Fprintf(&b, "\nStatus page: %s/\n", p.URL)
	return subject, b.String()
}

func statusWord(s string) string {
	if s == "" {
		return s
	}
	s = strings.ReplaceAll(s, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// Webhook payloads: Statuspage's envelope (meta, page, then incident, or
// component_update and component). meta is added per subscriber.
type (
	webhookPage struct {
		ID                string `json:"id"`
		StatusIndicator   string `json:"status_indicator"`
		StatusDescription string `json:"status_description"`
	}
	webhookIncident struct {
		Page     webhookPage  `json:"page"`
		Incident jsonIncident `json:"incident"`
	}
	webhookComponent struct {
		Page            webhookPage `json:"page"`
		ComponentUpdate struct {
			CreatedAt   string `json:"created_at"`
			NewStatus   string `json:"new_status"`
			OldStatus   string `json:"old_status"`
			ID          string `json:"id"`
			ComponentID string `json:"component_id"`
		} `json:"component_update"`
		Component struct {
			CreatedAt string `json:"created_at"`
			ID        string `json:"id"`
			Name      string `json:"name"`
			Status    string `json:"status"`
		} `json:"component"`
	}
)

func (p *Page) webhookPage() webhookPage {
	ind := p.Rollup()
	return webhookPage{ID: p.ID, StatusIndicator: ind.Indicator, StatusDescription: ind.Description}
}

// queueIncident queues the notification of inc's latest update for every
// confirmed subscriber who wants it. It runs inside the change's
// transaction.
func (h *Handler) queueIncident(ctx context.Context, tx *sql.Tx, p *Page, incidentID string, created bool, now time.Time) error {
	if !h.subscriptionsOn() {
		return nil
	}
	inc, err := p.incident(incidentID)
	if err != nil {
		return err
	}
	subs, err := h.store.subscribers(ctx, tx, p.Slug, true)
	if err != nil {
		return err
	}
	subject, text := p.incidentMail(inc, created)
	hook, err := json.Marshal(webhookIncident{Page: p.webhookPage(), Incident: p.jsonIncident(*inc, p.jsonComponents())})
	if err != nil {
		return err
	}
	for _, s := range subs {
		if !wants(s.Components, inc.Components) {
			continue
		}
		body := text
		if s.Kind == KindWebhook {
			body = string(hook)
		} else if !h.emailOn() {
			continue
		}
		if err := h.store.enqueue(ctx, tx, s.ID, outNotice, subject, body, now); err != nil {
			return err
		}
	}
	return nil
}

// queueComponent queues a component_update for webhook subscribers (mail
// subscribers hear of incidents, not of every status flip, as on
// Statuspage).
func (h *Handler) queueComponent(ctx context.Context, tx *sql.Tx, p *Page, c *Component, old ComponentStatus, now time.Time) error {
	if !h.subscriptionsOn() {
		return nil
	}
	subs, err := h.store.subscribers(ctx, tx, p.Slug, true)
	if err != nil {
		return err
	}
	var w webhookComponent
	w.Page = p.webhookPage()
	w.ComponentUpdate.CreatedAt, w.ComponentUpdate.NewStatus, w.ComponentUpdate.OldStatus = ts(now), string(c.Status), string(old)
	w.ComponentUpdate.ID, w.ComponentUpdate.ComponentID = newID(), c.ID
	w.Component.CreatedAt, w.Component.ID, w.Component.Name, w.Component.Status = ts(c.Created), c.ID, c.Name, string(c.Status)
	hook, err := json.Marshal(w)
	if err != nil {
		return err
	}
	for _, s := range subs {
		if s.Kind != KindWebhook || !wants(s.Components, []string{c.ID}) {
			continue
		}
		if err := h.store.enqueue(ctx, tx, s.ID, outNotice, c.Name+" is "+c.Status.Label(), string(hook), now); err != nil {
			return err
		}
	}
	return nil
}

// permanent marks a delivery failure that retrying cannot fix.
type permanent struct{ error }

func (e permanent) Unwrap() error { return e.error }

// Deliver sends the queued notifications that are due and returns how
// many were sent. Failures are retried later; their errors are returned
// together. Call it from Run, or directly (tests, a cron-like caller).
// With several daemons on one PostgreSQL store, one delivers at a time.
func (h *Handler) Deliver(ctx context.Context) (int, error) {
	unlock, ok, err := h.store.db.TryLock(ctx, "statuspage-outbox")
	if err != nil || !ok {
		return 0, err
	}
	defer unlock()
	h.deliverMu.Lock()
	defer h.deliverMu.Unlock()
	now := h.now()
	msgs, err := h.store.due(ctx, now, 100)
	if err != nil {
		return 0, err
	}
	var errs *multierror.Error
	sent := 0
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			return sent, err
		}
		err := h.send(ctx, m, now)
		switch {
		case err == nil:
			sent++
			err = h.store.done(ctx, m.id)
		case m.attempts+1 >= maxAttempts || errors.As(err, new(permanent)):
			h.log().Warn("statuspage: notification dropped", "page", m.sub.Page, "subscriber", m.sub.ID, "kind", m.sub.Kind, "attempts", m.attempts+1, "error", err)
			errs = multierror.Append(errs, fmt.Errorf("statuspage: notify subscriber %s: %w", m.sub.ID, err))
			err = h.store.done(ctx, m.id)
		default:
			errs = multierror.Append(errs, fmt.Errorf("statuspage: notify subscriber %s: %w", m.sub.ID, err))
			err = h.store.retry(ctx, m.id, m.attempts+1, now.Add(min(time.Minute<<m.attempts, 6*time.Hour)))
		}
		if err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	return sent, errs.ErrorOrNil()
}

func (h *Handler) send(ctx context.Context, m outMessage, now time.Time) error {
	if m.kind == outNotice && !m.confirmed {
		return permanent{errors.New("subscriber not confirmed")}
	}
	h.mu.RLock()
	sp := h.pages[m.sub.Page]
	h.mu.RUnlock()
	if sp == nil || sp.page.URL == "" {
		return permanent{fmt.Errorf("page %s is gone or has no URL", m.sub.Page)}
	}
	unsub := sp.page.URL + "/unsubscribe?t=" + token(h.cfg.SubscriptionKey, purposeUnsubscribe, m.sub.Page, m.sub.ID, time.Time{})
	if m.sub.Kind == KindWebhook {
		return h.post(ctx, m.sub.Address, unsub, m.body)
	}
	if h.cfg.Mailer == nil {
		return errors.New("no Mailer configured")
	}
	text := m.body
	if m.kind == outNotice {
		text += "\nTo stop receiving these notifications: " + unsub + "\n"
	}
	return h.cfg.Mailer.Send(ctx, Mail{To: m.sub.Address, Subject: m.subject, Text: text, Unsubscribe: unsub})
}

// post delivers a webhook: the stored payload with meta in front. 2xx is
// success; other 4xx than 408 and 429 are permanent failures.
func (h *Handler) post(ctx context.Context, url, unsub, body string) error {
	meta, _ := json.Marshal(map[string]string{"unsubscribe": unsub, "documentation": "https://support.atlassian.com/statuspage/docs/enable-webhook-notifications/"})
	payload := `{"meta":` + string(meta) + "," + strings.TrimPrefix(body, "{")
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte(payload)))
	if err != nil {
		return permanent{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "opskit-statuspage")
	client := h.cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != 408 && resp.StatusCode != 429:
		return permanent{fmt.Errorf("webhook answered %s", resp.Status)}
	}
	return fmt.Errorf("webhook answered %s", resp.Status)
}

// Run delivers notifications until ctx is done: at once when something is
// queued, and every Config.DeliveryInterval (default 30 s) for retries.
// Delivery errors are logged.
func (h *Handler) Run(ctx context.Context) error {
	every := h.cfg.DeliveryInterval
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := h.Deliver(ctx); err != nil && ctx.Err() == nil {
			h.log().Warn("statuspage: delivering notifications", "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-h.kick:
		}
	}
}
