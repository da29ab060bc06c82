package email

import (
	"bytes"
	"context"
	htmltemplate "html/template"
	"sort"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/opskit/opskit/alerting"
)

// view is what the templates show.
type view struct {
	Status     string // "FIRING" or "RESOLVED"
	Firing     int
	Resolved   int
	Level      int
	Receiver   string
	AckURL     string
	AckExpires string
	Key        string
	GroupKey   string
	Alerts     []alertView
}

type alertView struct {
	Name, Status, Severity, Summary, Description, Runbook string
	StartsAt, EndsAt                                      string
	Labels                                                []pair
}

type pair struct{ Name, Value string }

const timeLayout = "2006-01-02 15:04:05 MST"

func newView(ctx context.Context, now time.Time, loc *time.Location, alerts []alerting.Alert) view {
	d, ok := alerting.DeliveryFrom(ctx)
	v := view{Level: d.Level, Receiver: d.Receiver, AckURL: d.AckURL, Key: d.Key, GroupKey: d.GroupKey}
	if !d.AckExpires.IsZero() {
		v.AckExpires = d.AckExpires.In(loc).Format(timeLayout)
	}
	for _, a := range alerts {
		av := alertView{
			Name: a.Name(), Status: a.Status(now), Severity: string(a.Severity), Summary: a.Summary,
			Description: a.Annotations["description"], Runbook: a.Annotations["runbook_url"],
			StartsAt: a.StartsAt.In(loc).Format(timeLayout),
		}
		if av.Name == "" {
			av.Name = "alert"
		}
		if av.Summary == "" {
			av.Summary = a.Annotations["summary"]
		}
		if !a.EndsAt.IsZero() && av.Status == "resolved" {
			av.EndsAt = a.EndsAt.In(loc).Format(timeLayout)
		}
		names := make([]string, 0, len(a.Labels))
		for k := range a.Labels {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			av.Labels = append(av.Labels, pair{k, a.Labels[k]})
		}
		if av.Status == "firing" {
			v.Firing++
		} else {
			v.Resolved++
		}
		v.Alerts = append(v.Alerts, av)
	}
	// Firing first, most urgent first, so a phone shows what matters.
	sort.SliceStable(v.Alerts, func(i, j int) bool {
		a, b := v.Alerts[i], v.Alerts[j]
		if a.Status != b.Status {
			return a.Status == "firing"
		}
		return alerting.Severity(a.Severity).Rank() > alerting.Severity(b.Severity).Rank()
	})
	v.Status = "FIRING"
	if v.Firing == 0 || d.Resolved {
		v.Status = "RESOLVED"
	}
	if !ok || v.Key == "" {
		v.Key = keyOf(now, alerts)
	}
	if v.GroupKey == "" {
		v.GroupKey = groupOf(alerts)
	}
	return v
}

// Subject is "[FIRING:2] DiskFull, HighCPU" or, for one alert,
// "[FIRING:1] DiskFull: disk almost full on web1"; "L2 " is prepended at
// escalation level 2.
func (v view) Subject() string {
	var b strings.Builder
	if v.Level > 0 {
		b.WriteString("L" + strconv.Itoa(v.Level) + " ")
	}
	b.WriteString("[" + v.Status)
	if v.Status == "FIRING" {
		b.WriteString(":" + strconv.Itoa(v.Firing))
	}
	b.WriteString("] ")
	if len(v.Alerts) == 1 {
		b.WriteString(v.Alerts[0].Name)
		if v.Alerts[0].Summary != "" {
			b.WriteString(": " + v.Alerts[0].Summary)
		}
		return b.String()
	}
	seen := map[string]bool{}
	var names []string
	for _, a := range v.Alerts {
		if !seen[a.Name] {
			seen[a.Name] = true
			names = append(names, a.Name)
		}
	}
	b.WriteString(strings.Join(names, ", "))
	return b.String()
}

func keyOf(now time.Time, alerts []alerting.Alert) string {
	parts := make([]string, len(alerts))
	for i, a := range alerts {
		parts[i] = a.Fingerprint() + "/" + a.Status(now) + "/" + a.StartsAt.UTC().Format(time.RFC3339Nano)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func groupOf(alerts []alerting.Alert) string {
	fps := make([]string, len(alerts))
	for i, a := range alerts {
		fps[i] = a.Fingerprint()
	}
	sort.Strings(fps)
	return strings.Join(fps, ",")
}

var textTmpl = texttemplate.Must(texttemplate.New("text").Parse(`{{.Status}}{{if eq .Status "FIRING"}}: {{.Firing}} alert(s) firing{{end}}{{if .Resolved}}, {{.Resolved}} resolved{{end}}{{if .Level}} (escalation level {{.Level}}){{end}}
{{if .AckURL}}
Acknowledge (stops escalation): {{.AckURL}}{{if .AckExpires}}
The link works until {{.AckExpires}}.{{end}}
{{end}}{{range .Alerts}}
[{{.Status}}]{{if .Severity}} {{.Severity}}{{end}} {{.Name}}{{if .Summary}}: {{.Summary}}{{end}}
{{if .Description}}  {{.Description}}
{{end}}  Started: {{.StartsAt}}{{if .EndsAt}}  Ended: {{.EndsAt}}{{end}}
{{if .Runbook}}  Runbook: {{.Runbook}}
{{end}}  Labels:{{range .Labels}} {{.Name}}={{.Value}}{{end}}
{{end}}
-- 
Sent by opskit alerting{{if .Receiver}} to {{.Receiver}}{{end}}.
`))

var htmlTmpl = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Status}}</title></head>
<body style="font-family:sans-serif">
<h2 style="color:{{if eq .Status "FIRING"}}#b00020{{else}}#1b7f3b{{end}}">{{.Status}}{{if eq .Status "FIRING"}}: {{.Firing}} alert(s) firing{{end}}{{if .Resolved}}, {{.Resolved}} resolved{{end}}{{if .Level}} (escalation level {{.Level}}){{end}}</h2>
{{if .AckURL}}<p><a href="{{.AckURL}}" style="display:inline-block;padding:10px 18px;background:#1a56db;color:#fff;text-decoration:none;border-radius:4px">Acknowledge</a>{{if .AckExpires}} <small>works until {{.AckExpires}}</small>{{end}}</p>{{end}}
{{range .Alerts}}<div style="border-left:4px solid {{if eq .Status "resolved"}}#1b7f3b{{else if eq .Severity "critical"}}#b00020{{else if eq .Severity "warning"}}#d97706{{else}}#2563eb{{end}};padding:4px 10px;margin:12px 0">
<p><b>[{{.Status}}]{{if .Severity}} {{.Severity}}{{end}} {{.Name}}</b>{{if .Summary}}: {{.Summary}}{{end}}</p>
{{if .Description}}<p>{{.Description}}</p>{{end}}
<p>Started: {{.StartsAt}}{{if .EndsAt}} &middot; Ended: {{.EndsAt}}{{end}}</p>
{{if .Runbook}}<p><a href="{{.Runbook}}">Runbook</a></p>{{end}}
<table>{{range .Labels}}<tr><td>{{.Name}}</td><td>{{.Value}}</td></tr>{{end}}</table>
</div>
{{end}}<p style="color:#666"><small>Sent by opskit alerting{{if .Receiver}} to {{.Receiver}}{{end}}.</small></p>
</body></html>
`))

func render(v view) (text, html string, err error) {
	var tb, hb bytes.Buffer
	if err := textTmpl.Execute(&tb, v); err != nil {
		return "", "", err
	}
	if err := htmlTmpl.Execute(&hb, v); err != nil {
		return "", "", err
	}
	return tb.String(), hb.String(), nil
}
