package alerting

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AckLinks configures the signed acknowledge links that notifications
// carry, so that whoever is paged can stop the escalation from a phone.
// The link opens a confirmation page served by Manager.AckHandler; the
// acknowledgement itself is a POST from that page, so mail scanners that
// fetch links do not acknowledge anything.
type AckLinks struct {
	// URL is the absolute address where AckHandler is served, e.g.
	// "https://ops.example.com/alerts/ack".
	URL string
	// Key signs the links (HMAC-SHA256); at least 32 bytes. Keep it secret:
	// anyone with the key can acknowledge any alert.
	Key []byte
	// TTL is how long a link works. Default 24h.
	TTL time.Duration
}

func (l AckLinks) enabled() bool { return l.URL != "" && len(l.Key) > 0 }

func (l AckLinks) sign(groupID string, exp int64) string {
	mac := hmac.New(sha256.New, l.Key)
	fmt.Fprintf(mac, "opskit-ack-v1\x00%s\x00%d", groupID, exp)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// link returns a link acknowledging groupID, valid until now+TTL.
func (l AckLinks) link(groupID string, now time.Time) (string, time.Time) {
	if !l.enabled() {
		return "", time.Time{}
	}
	ttl := l.TTL
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	exp := now.Add(ttl).Truncate(time.Second)
	q := url.Values{"g": {groupID}, "e": {strconv.FormatInt(exp.Unix(), 10)}, "s": {l.sign(groupID, exp.Unix())}}
	return l.URL + "?" + q.Encode(), exp
}

// Errors an acknowledge link can give.
var (
	ErrAckSignature = errors.New("alerting: acknowledge link signature is not valid")
	ErrAckExpired   = errors.New("alerting: acknowledge link has expired")
)

func (l AckLinks) verify(q url.Values, now time.Time) (string, error) {
	g, e, s := q.Get("g"), q.Get("e"), q.Get("s")
	exp, err := strconv.ParseInt(e, 10, 64)
	if err != nil || g == "" || !l.enabled() {
		return "", ErrAckSignature
	}
	if !hmac.Equal([]byte(s), []byte(l.sign(g, exp))) {
		return "", ErrAckSignature
	}
	if now.Unix() > exp {
		return "", ErrAckExpired
	}
	return g, nil
}

var ackPage = template.Must(template.New("ack").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:2em auto;padding:0 1em}
button{font-size:1.2em;padding:.6em 1.2em}@media (prefers-color-scheme:dark){body{background:#111;color:#eee}}</style>
</head><body><h1>{{.Title}}</h1>
{{with .Group}}<p><strong>{{.Key}}</strong></p><ul>{{range .Alerts}}<li>{{.Summary}}{{if not .Summary}}{{.Name}}{{end}}</li>{{end}}</ul>
<p>Escalation level {{.Level}}{{if .AckedBy}}, acknowledged by {{.AckedBy}}{{end}}.</p>{{end}}
{{if .Form}}<form method="post"><input type="hidden" name="g" value="{{.Q.g}}"><input type="hidden" name="e" value="{{.Q.e}}"><input type="hidden" name="s" value="{{.Q.s}}">
<button type="submit">Acknowledge</button></form>{{end}}
<p>{{.Message}}</p></body></html>
`))

// AckHandler serves the acknowledge links: GET shows the group and a
// button, POST acknowledges it (by "ack link"). Invalid links get 403,
// expired ones 410, groups that no longer exist 404. Mount it at the path
// of Config.Ack.URL; it needs no other authentication, the signature is the
// authority.
func (m *Manager) AckHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		q := r.Form
		data := struct {
			Title, Message string
			Form           bool
			Q              map[string]string
			Group          *GroupStatus
		}{Q: map[string]string{"g": q.Get("g"), "e": q.Get("e"), "s": q.Get("s")}}
		id, err := m.cfg.Ack.verify(q, m.now())
		switch {
		case errors.Is(err, ErrAckExpired):
			w.WriteHeader(http.StatusGone)
			data.Title, data.Message = "Link expired", "This acknowledge link has expired; use opsd alert ack or a newer notification."
			ackPage.Execute(w, data)
			return
		case err != nil:
			w.WriteHeader(http.StatusForbidden)
			data.Title, data.Message = "Invalid link", "This acknowledge link is not valid."
			ackPage.Execute(w, data)
			return
		}
		g, ok := m.Group(id)
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			data.Title, data.Message = "Nothing to acknowledge", "These alerts have resolved."
			ackPage.Execute(w, data)
			return
		}
		data.Group = &g
		if r.Method == http.MethodGet {
			data.Title, data.Form = "Acknowledge alerts?", !g.Acked
			if g.Acked {
				data.Message = "Already acknowledged."
			}
			ackPage.Execute(w, data)
			return
		}
		if err := m.Ack(r.Context(), id, "ack link"); err != nil {
			m.log().Error("alerting: acknowledge by link failed", "group", id, "err", err)
			w.WriteHeader(http.StatusInternalServerError)
			data.Title, data.Message = "Not acknowledged", "The acknowledgement could not be saved; try again."
			ackPage.Execute(w, data)
			return
		}
		if g2, ok := m.Group(id); ok {
			data.Group = &g2
		}
		data.Title, data.Message = "Acknowledged", "Escalation stopped. Thank you."
		ackPage.Execute(w, data)
	})
}
