package logbook

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"sort"
	"strings"
	texttemplate "text/template"
	"time"
)

// Audience chooses what a post-mortem shows.
type Audience int

// The audiences. A customer post-mortem is blameless and discreet: no
// names (authors, owners, roles), only public timeline entries.
const (
	Internal Audience = iota
	Customer
)

// Postmortem is the report a closed incident yields, "mainly extracted from
// the logbook": what happened, impact, timeline, root cause (how we
// understood it), resolution (what we did), prevention and follow-ups, and
// the durations.
type Postmortem struct {
	Incident *Incident
	Audience Audience
	Location *time.Location // zone of the times shown; nil means UTC
}

type pmView struct {
	Title, Severity, Status                            string
	Summary, Impact, RootCause, Resolution, Prevention string
	Instances, Components                              string
	Started, Resolved                                  string
	TTD, TTA, TTM, TTR                                 string
	Roles                                              []string
	Timeline                                           []pmEntry
	Actions                                            []pmAction
	Internal                                           bool
}

type pmEntry struct{ At, Kind, Author, Text string }
type pmAction struct{ Title, Owner, Due, Status string }

func (p Postmortem) view() pmView {
	inc := p.Incident
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	tf := func(t time.Time) string {
		if t.IsZero() {
			return "unknown"
		}
		return t.In(loc).Format("2006-01-02 15:04 MST")
	}
	df := func(d time.Duration) string {
		if d <= 0 {
			return "unknown"
		}
		return d.Round(time.Minute).String()
	}
	v := pmView{
		Title: inc.Title, Severity: inc.Severity.String(), Status: string(inc.Status),
		Summary: inc.WhatsGoingOn, Impact: inc.Impact, RootCause: inc.HowUnderstood,
		Resolution: inc.WhatWeDid, Prevention: inc.Prevention,
		Instances: strings.Join(inc.Instances, ", "), Components: strings.Join(inc.Components, ", "),
		Started: tf(inc.Milestones.Started), Resolved: tf(inc.Milestones.Resolved),
		TTD: df(inc.Milestones.TimeToDetect()), TTA: df(inc.Milestones.TimeToAcknowledge()),
		TTM: df(inc.Milestones.TimeToMitigate()), TTR: df(inc.Milestones.TimeToResolve()),
		Internal: p.Audience == Internal,
	}
	if v.Internal {
		for role, who := range inc.Roles {
			v.Roles = append(v.Roles, role+": "+who)
		}
	}
	for _, e := range inc.Timeline {
		if !v.Internal && !e.Public {
			continue
		}
		pe := pmEntry{At: tf(e.At), Kind: string(e.Kind), Text: e.Text}
		if v.Internal {
			pe.Author = e.Author
		}
		v.Timeline = append(v.Timeline, pe)
	}
	for _, a := range inc.Actions {
		pa := pmAction{Title: a.Title, Status: string(a.Status)}
		if !a.Due.IsZero() {
			pa.Due = a.Due.In(loc).Format("2006-01-02")
		}
		if v.Internal {
			pa.Owner = a.Owner
		}
		v.Actions = append(v.Actions, pa)
	}
	return v
}

const mdTemplate = `# Post-mortem: {{.Title}}

{{.Severity}}, {{.Status}}. Started {{.Started}}, resolved {{.Resolved}}.
{{- if .Instances}} Affected: {{.Instances}}{{if .Components}} ({{.Components}}){{end}}.{{end}}

## Summary

{{or .Summary "Not written yet."}}

## Impact

{{or .Impact "Not written yet."}}

## Timeline
{{range .Timeline}}
- {{.At}} — {{.Kind}}{{if .Author}} ({{.Author}}){{end}}: {{.Text}}
{{- else}}
No entries.
{{- end}}

## Root cause

{{or .RootCause "Not written yet."}}

## Resolution

{{or .Resolution "Not written yet."}}

## Prevention

{{or .Prevention "Not written yet."}}
{{range .Actions}}
- [{{if eq .Status "done"}}x{{else}} {{end}}] {{.Title}}{{if .Owner}} — {{.Owner}}{{end}}{{if .Due}}, due {{.Due}}{{end}}{{if eq .Status "wont-do"}} (won't do){{end}}
{{- end}}

## Durations

Time to detect {{.TTD}}, to acknowledge {{.TTA}}, to mitigate {{.TTM}}, to resolve {{.TTR}}.
{{- if .Internal}}{{if .Roles}}

## Roles

{{range .Roles}}- {{.}}
{{end}}{{end}}{{end}}
`

const htmlTemplate = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Post-mortem: {{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;background:#fff}
@media (prefers-color-scheme:dark){body{color:#eee;background:#121212}}</style></head>
<body><main><article>
<h1>Post-mortem: {{.Title}}</h1>
<p>{{.Severity}}, {{.Status}}. Started {{.Started}}, resolved {{.Resolved}}.{{if .Instances}} Affected: {{.Instances}}{{if .Components}} ({{.Components}}){{end}}.{{end}}</p>
<h2>Summary</h2><p>{{or .Summary "Not written yet."}}</p>
<h2>Impact</h2><p>{{or .Impact "Not written yet."}}</p>
<h2>Timeline</h2>{{if .Timeline}}<ul>{{range .Timeline}}<li>{{.At}} — {{.Kind}}{{if .Author}} ({{.Author}}){{end}}: {{.Text}}</li>{{end}}</ul>{{else}}<p>No entries.</p>{{end}}
<h2>Root cause</h2><p>{{or .RootCause "Not written yet."}}</p>
<h2>Resolution</h2><p>{{or .Resolution "Not written yet."}}</p>
<h2>Prevention</h2><p>{{or .Prevention "Not written yet."}}</p>
{{if .Actions}}<ul>{{range .Actions}}<li>{{if eq .Status "done"}}Done: {{else if eq .Status "wont-do"}}Won't do: {{else}}Open: {{end}}{{.Title}}{{if .Owner}} — {{.Owner}}{{end}}{{if .Due}}, due {{.Due}}{{end}}</li>{{end}}</ul>{{end}}
<h2>Durations</h2><p>Time to detect {{.TTD}}, to acknowledge {{.TTA}}, to mitigate {{.TTM}}, to resolve {{.TTR}}.</p>
{{if .Internal}}{{if .Roles}}<h2>Roles</h2><ul>{{range .Roles}}<li>{{.}}</li>{{end}}</ul>{{end}}{{end}}
</article></main></body></html>
`

var (
	mdTmpl   = texttemplate.Must(texttemplate.New("md").Parse(mdTemplate))
	htmlTmpl = htmltemplate.Must(htmltemplate.New("html").Parse(htmlTemplate))
)

// Markdown renders the post-mortem as Markdown.
func (p Postmortem) Markdown() (string, error) {
	if p.Incident == nil {
		return "", fmt.Errorf("%w: no incident", ErrInvalid)
	}
	v := p.view()
	sort.Strings(v.Roles)
	var b bytes.Buffer
	if err := mdTmpl.Execute(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

// HTML renders the post-mortem as a standalone, escaped HTML page.
func (p Postmortem) HTML() (string, error) {
	if p.Incident == nil {
		return "", fmt.Errorf("%w: no incident", ErrInvalid)
	}
	v := p.view()
	sort.Strings(v.Roles)
	var b bytes.Buffer
	if err := htmlTmpl.Execute(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}
