package main

import (
	"html/template"
	"net/http"
	"time"
)

// extraRoutes mounts the feature packages' handlers; until the status page
// package is wired, "/" shows the daemon's own jobs.
func (d *daemon) extraRoutes() error {
	d.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		jobsPage.Execute(w, struct {
			Jobs []jobState
			Now  time.Time
		}{d.snapshot(), time.Now().UTC()})
	})
	return nil
}

var jobsPage = template.Must(template.New("jobs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>opsd</title>
<style>
body{font:16px system-ui,sans-serif;margin:2rem auto;max-width:52rem;padding:0 1rem;color:#1a1a1a;background:#fff}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #ccc}
.ok{color:#0a6b2a}.fail{color:#a4000f}
@media (prefers-color-scheme:dark){body{color:#eee;background:#121212}.ok{color:#6fdc8c}.fail{color:#ff8389}th,td{border-color:#444}}
</style></head><body><main>
<h1>opsd</h1>
<p>Scheduled jobs as of {{.Now.Format "2006-01-02 15:04:05 UTC"}}. Machine-readable: <a href="/healthz">/healthz</a>, <a href="/metrics">/metrics</a>.</p>
<table><thead><tr><th scope="col">Job</th><th scope="col">Instance</th><th scope="col">Last success</th><th scope="col">State</th></tr></thead><tbody>
{{range .Jobs}}<tr><td>{{.Kind}}</td><td>{{.Instance}}</td>
<td>{{if .LastSuccess.IsZero}}never{{else}}<time datetime="{{.LastSuccess.UTC.Format "2006-01-02T15:04:05Z"}}">{{.LastSuccess.UTC.Format "2006-01-02 15:04 UTC"}}</time>{{end}}</td>
<td>{{if .Running}}running{{else if .LastError}}<span class="fail">failed: {{.LastError}}</span>{{else if .LastSuccess.IsZero}}not run yet{{else}}<span class="ok">OK</span>{{end}}</td></tr>
{{end}}</tbody></table></main></body></html>
`))
