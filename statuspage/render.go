package statuspage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"time"

	"github.com/klauspost/compress/gzip"
)

// The Statuspage v2 public JSON shapes, field for field.
type (
	jsonPage struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		URL       string `json:"url"`
		TimeZone  string `json:"time_zone"`
		UpdatedAt string `json:"updated_at"`
	}
	jsonStatus struct {
		Indicator   string `json:"indicator"`
		Description string `json:"description"`
	}
	jsonComponent struct {
		ID                 string   `json:"id"`
		Name               string   `json:"name"`
		Status             string   `json:"status"`
		CreatedAt          string   `json:"created_at"`
		UpdatedAt          string   `json:"updated_at"`
		Position           int      `json:"position"`
		Description        *string  `json:"description"`
		Showcase           bool     `json:"showcase"`
		StartDate          *string  `json:"start_date"`
		GroupID            *string  `json:"group_id"`
		PageID             string   `json:"page_id"`
		Group              bool     `json:"group"`
		OnlyShowIfDegraded bool     `json:"only_show_if_degraded"`
		Components         []string `json:"components,omitempty"`
	}
	jsonUpdate struct {
		ID                   string  `json:"id"`
		Status               string  `json:"status"`
		Body                 string  `json:"body"`
		IncidentID           string  `json:"incident_id"`
		CreatedAt            string  `json:"created_at"`
		UpdatedAt            string  `json:"updated_at"`
		DisplayAt            string  `json:"display_at"`
		AffectedComponents   any     `json:"affected_components"`
		DeliverNotifications bool    `json:"deliver_notifications"`
		CustomTweet          *string `json:"custom_tweet"`
		TweetID              *string `json:"tweet_id"`
	}
	jsonIncident struct {
		ID                string          `json:"id"`
		Name              string          `json:"name"`
		Status            string          `json:"status"`
		CreatedAt         string          `json:"created_at"`
		UpdatedAt         string          `json:"updated_at"`
		MonitoringAt      *string         `json:"monitoring_at"`
		ResolvedAt        *string         `json:"resolved_at"`
		Impact            string          `json:"impact"`
		Shortlink         string          `json:"shortlink"`
		StartedAt         string          `json:"started_at"`
		PageID            string          `json:"page_id"`
		IncidentUpdates   []jsonUpdate    `json:"incident_updates"`
		Components        []jsonComponent `json:"components"`
		ReminderIntervals *string         `json:"reminder_intervals"`
		ScheduledFor      *string         `json:"scheduled_for,omitempty"`
		ScheduledUntil    *string         `json:"scheduled_until,omitempty"`
	}
)

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

func optTS(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ts(t)
	return &s
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (p *Page) jsonPage() jsonPage {
	tz := p.TimeZone
	if tz == "" {
		tz = "Etc/UTC"
	}
	return jsonPage{ID: p.ID, Name: p.Name, URL: p.URL, TimeZone: tz, UpdatedAt: ts(p.Updated)}
}

func (p *Page) jsonComponents() []jsonComponent {
	out := make([]jsonComponent, 0, len(p.Components))
	for _, c := range p.sortedComponents() {
		jc := jsonComponent{ID: c.ID, Name: c.Name, Status: string(c.Status), CreatedAt: ts(c.Created), UpdatedAt: ts(c.Updated),
			Position: c.Position, Description: optStr(c.Description), Showcase: !c.Group, GroupID: optStr(c.GroupID),
			PageID: p.ID, Group: c.Group}
		if c.Group {
			jc.Components = []string{}
			for _, k := range p.Components {
				if k.GroupID == c.ID {
					jc.Components = append(jc.Components, k.ID)
				}
			}
		}
		out = append(out, jc)
	}
	return out
}

func (p *Page) sortedComponents() []Component {
	cs := append([]Component(nil), p.Components...)
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Position < cs[j].Position })
	return cs
}

func (p *Page) jsonIncident(inc Incident, all []jsonComponent) jsonIncident {
	j := jsonIncident{ID: inc.ID, Name: inc.Name, Status: inc.Status, CreatedAt: ts(inc.Created), UpdatedAt: ts(inc.Updated),
		MonitoringAt: optTS(inc.MonitoringAt), ResolvedAt: optTS(inc.ResolvedAt), Impact: inc.Impact,
		Shortlink: p.URL + "/incidents/" + inc.ID, StartedAt: ts(inc.Started), PageID: p.ID,
		IncidentUpdates: []jsonUpdate{}, Components: []jsonComponent{}}
	if inc.Maintenance {
		j.ScheduledFor, j.ScheduledUntil = optTS(inc.ScheduledFor), optTS(inc.ScheduledUntil)
	}
	for _, u := range inc.Updates {
		j.IncidentUpdates = append(j.IncidentUpdates, jsonUpdate{ID: u.ID, Status: u.Status, Body: u.Body, IncidentID: inc.ID,
			CreatedAt: ts(u.Created), UpdatedAt: ts(u.Created), DisplayAt: ts(u.Created), DeliverNotifications: true})
	}
	for _, id := range inc.Components {
		for _, c := range all {
			if c.ID == id {
				j.Components = append(j.Components, c)
			}
		}
	}
	return j
}

// endpoints renders every JSON document of the page, by path below /api/v2/.
func (p *Page) endpoints() (map[string]any, error) {
	page := p.jsonPage()
	ind := p.Rollup()
	status := jsonStatus{ind.Indicator, ind.Description}
	comps := p.jsonComponents()
	all, unresolved, maint, upcoming, active, summaryMaint := []jsonIncident{}, []jsonIncident{}, []jsonIncident{}, []jsonIncident{}, []jsonIncident{}, []jsonIncident{}
	for _, inc := range p.Incidents {
		if inc.Maintenance {
			keep := len(maint) < 50
			live := inc.Status == Scheduled || inc.Status == InProgress || inc.Status == Verifying
			if !keep && !live {
				continue
			}
			j := p.jsonIncident(inc, comps)
			if keep {
				maint = append(maint, j)
			}
			switch inc.Status {
			case Scheduled:
				upcoming = append(upcoming, j)
				summaryMaint = append(summaryMaint, j)
			case InProgress, Verifying:
				active = append(active, j)
				summaryMaint = append(summaryMaint, j)
			}
			continue
		}
		keep := len(all) < 50
		if !keep && !inc.Unresolved() {
			continue
		}
		j := p.jsonIncident(inc, comps)
		if keep {
			all = append(all, j)
		}
		if inc.Unresolved() {
			unresolved = append(unresolved, j)
		}
	}
	return map[string]any{
		"summary.json": map[string]any{"page": page, "status": status, "components": comps, "incidents": unresolved,
			"scheduled_maintenances": summaryMaint},
		"status.json":                          map[string]any{"page": page, "status": status},
		"components.json":                      map[string]any{"page": page, "components": comps},
		"incidents.json":                       map[string]any{"page": page, "incidents": all},
		"incidents/unresolved.json":            map[string]any{"page": page, "incidents": unresolved},
		"scheduled-maintenances.json":          map[string]any{"page": page, "scheduled_maintenances": maint},
		"scheduled-maintenances/upcoming.json": map[string]any{"page": page, "scheduled_maintenances": upcoming},
		"scheduled-maintenances/active.json":   map[string]any{"page": page, "scheduled_maintenances": active},
	}, nil
}

// body is one pre-rendered response: the bytes, their gzip, an ETag.
type body struct {
	ctype string
	raw   []byte
	gz    []byte
	etag  string
	// Header values, built once: a request then allocates nothing for them.
	hType, hETag, hRawLen, hGzLen []string
}

func newBody(zw *gzip.Writer, ctype string, raw []byte) (*body, error) {
	var b bytes.Buffer
	zw.Reset(&b)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	return &body{ctype: ctype, raw: raw, gz: b.Bytes(), etag: etag, hType: []string{ctype}, hETag: []string{etag},
		hRawLen: []string{strconv.Itoa(len(raw))}, hGzLen: []string{strconv.Itoa(b.Len())}}, nil
}

// render builds every response of a page once per change, so that a
// request is a map lookup and a write.
func (p *Page) render(now time.Time, subscribe bool) (map[string]*body, error) {
	out := map[string]*body{}
	zw, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression) // reused: its state is most of the cost
	eps, err := p.endpoints()
	if err != nil {
		return nil, err
	}
	for path, v := range eps {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		if out["/api/v2/"+path], err = newBody(zw, "application/json", raw); err != nil {
			return nil, err
		}
	}
	html, err := p.html(now, subscribe && p.URL != "")
	if err != nil {
		return nil, err
	}
	if out["/"], err = newBody(zw, "text/html; charset=utf-8", html); err != nil {
		return nil, err
	}
	atom, err := p.atom()
	if err != nil {
		return nil, err
	}
	if out["/history.atom"], err = newBody(zw, "application/atom+xml", atom); err != nil {
		return nil, err
	}
	rss, err := p.rss()
	if err != nil {
		return nil, err
	}
	if out["/history.rss"], err = newBody(zw, "application/rss+xml", rss); err != nil {
		return nil, err
	}
	return out, nil
}

type htmlView struct {
	Page        *Page
	Status      Indicator
	Components  []htmlComponent
	Active      []htmlIncident
	Maintenance []htmlIncident
	History     []htmlIncident
	Updated     htmlTime
	Subscribe   bool // link to the subscription form
}

type htmlComponent struct {
	Component
	Bars    []htmlBar // oldest first, UptimeDays of them
	BadDays int
}

type htmlBar struct {
	Class string // status class, "" for operational
	Title string // "2026-11-20: Partial outage", only for bad days
}

// bars lays out the last UptimeDays days of a component, ending today.
func (p *Page) bars(c Component, now time.Time) ([]htmlBar, int) {
	loc := p.location()
	worst := make(map[string]ComponentStatus, len(c.History))
	for _, d := range c.History {
		worst[d.Date] = d.Worst
	}
	if severity[c.Status] > 0 {
		today := now.In(loc).Format("2006-01-02")
		if severity[c.Status] > severity[worst[today]] {
			worst[today] = c.Status
		}
	}
	bars := make([]htmlBar, UptimeDays)
	bad := 0
	day := now.In(loc)
	for i := UptimeDays - 1; i >= 0; i-- {
		date := day.Format("2006-01-02")
		if s, ok := worst[date]; ok && s != Operational {
			bars[i] = htmlBar{Class: string(s), Title: date + ": " + s.Label()}
			bad++
		}
		day = day.AddDate(0, 0, -1)
	}
	return bars, bad
}

type htmlIncident struct {
	Incident
	Times      [2]htmlTime // scheduled for/until of maintenances
	UpdateTime []htmlTime
}

// htmlTime is a time shown in the page's zone with its offset, and in
// UTC for the datetime attribute.
type htmlTime struct{ Local, ISO string }

func (p *Page) htmlTime(t time.Time) htmlTime {
	return htmlTime{Local: t.In(p.location()).Format("Mon 2 Jan 2006 15:04 MST (-07:00)"), ISO: t.UTC().Format(time.RFC3339)}
}

func (p *Page) htmlIncident(inc Incident) htmlIncident {
	h := htmlIncident{Incident: inc}
	if inc.Maintenance {
		h.Times = [2]htmlTime{p.htmlTime(inc.ScheduledFor), p.htmlTime(inc.ScheduledUntil)}
	}
	for _, u := range inc.Updates {
		h.UpdateTime = append(h.UpdateTime, p.htmlTime(u.Created))
	}
	return h
}

func (p *Page) html(now time.Time, subscribe bool) ([]byte, error) {
	v := htmlView{Page: p, Status: p.Rollup(), Updated: p.htmlTime(p.Updated), Subscribe: subscribe}
	for _, c := range p.sortedComponents() {
		hc := htmlComponent{Component: c}
		if !c.Group {
			hc.Bars, hc.BadDays = p.bars(c, now)
		}
		v.Components = append(v.Components, hc)
	}
	for _, inc := range p.Incidents {
		switch {
		case inc.Maintenance && (inc.Status == Scheduled || inc.Status == InProgress || inc.Status == Verifying):
			v.Maintenance = append(v.Maintenance, p.htmlIncident(inc))
		case !inc.Maintenance && inc.Unresolved():
			v.Active = append(v.Active, p.htmlIncident(inc))
		case len(v.History) < 20:
			v.History = append(v.History, p.htmlIncident(inc))
		}
	}
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"label": func(s ComponentStatus) string { return s.Label() },
	"idx":   func(ts []htmlTime, i int) htmlTime { return ts[i] },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Page.Name}} status</title>
<link rel="alternate" type="application/atom+xml" title="Incident history" href="history.atom">
<style>
:root{--fg:#1a1a1a;--bg:#fff;--muted:#555;--line:#d0d0d0;--ok:#0a6b2a;--minor:#7a5400;--major:#a4000f;--maint:#1d4ed8}
@media (prefers-color-scheme:dark){:root{--fg:#eaeaea;--bg:#121212;--muted:#b0b0b0;--line:#3a3a3a;--ok:#6fdc8c;--minor:#f1c21b;--major:#ff8389;--maint:#93c5fd}}
body{font:16px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;color:var(--fg);background:var(--bg);margin:0}
main{max-width:50rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;border-bottom:1px solid var(--line);padding-bottom:.25rem}
.banner{padding:1rem;border:2px solid currentColor;border-radius:.5rem;font-weight:600}
.s-none,.s-operational{color:var(--ok)}.s-minor,.s-degraded_performance{color:var(--minor)}
.s-major,.s-critical,.s-partial_outage,.s-major_outage{color:var(--major)}.s-maintenance,.s-under_maintenance{color:var(--maint)}
ul.components{list-style:none;padding:0}ul.components>li{padding:.5rem 0;border-bottom:1px solid var(--line)}
.row{display:flex;justify-content:space-between}
ol.bars{display:flex;gap:1px;list-style:none;padding:0;margin:.3rem 0 0;height:1.4rem}ol.bars li{flex:1;background:var(--ok);opacity:.8}
ol.bars li.degraded_performance{background:var(--minor)}ol.bars li.partial_outage,ol.bars li.major_outage{background:var(--major)}ol.bars li.under_maintenance{background:var(--maint)}
.child{padding-left:1.5rem!important}.muted{color:var(--muted)}article{margin:1rem 0}
a{color:inherit}
</style></head>
<body><main>
<header><h1>{{.Page.Name}}</h1>
<p class="banner s-{{.Status.Indicator}}" role="status">{{.Status.Description}}</p></header>
{{if .Active}}<section aria-labelledby="active"><h2 id="active">Active incidents</h2>
{{range .Active}}{{$inc := .}}<article><h3>{{.Name}} <span class="muted">({{.Impact}} impact)</span></h3>
{{range $i, $u := .Updates}}<p><strong>{{$u.Status}}</strong> — {{$u.Body}} <span class="muted"><time datetime="{{(idx $inc.UpdateTime $i).ISO}}">{{(idx $inc.UpdateTime $i).Local}}</time></span></p>{{end}}
</article>{{end}}</section>{{end}}
<section aria-labelledby="components"><h2 id="components">Components</h2>
<ul class="components">{{range .Components}}<li{{if .GroupID}} class="child"{{end}}><div class="row"><span>{{.Name}}{{if .Description}} <span class="muted">— {{.Description}}</span>{{end}}</span><span class="s-{{.Status}}">{{label .Status}}</span></div>
{{- if .Bars}}<ol class="bars" aria-label="Last 90 days: {{.BadDays}} with problems">{{range .Bars}}<li{{if .Class}} class="{{.Class}}" title="{{.Title}}"{{end}}></li>{{end}}</ol>{{end}}</li>{{end}}</ul>
</section>
{{if .Maintenance}}<section aria-labelledby="maint"><h2 id="maint">Scheduled maintenance</h2>
{{range .Maintenance}}<article><h3>{{.Name}}</h3>
<p>From <time datetime="{{(index .Times 0).ISO}}">{{(index .Times 0).Local}}</time> to <time datetime="{{(index .Times 1).ISO}}">{{(index .Times 1).Local}}</time> ({{.Status}})</p>
{{range .Updates}}<p>{{.Body}}</p>{{end}}</article>{{end}}</section>{{end}}
<section aria-labelledby="history"><h2 id="history">Past incidents</h2>
{{range .History}}{{$inc := .}}<article><h3>{{.Name}}</h3>{{range $i, $u := .Updates}}<p><strong>{{$u.Status}}</strong> — {{$u.Body}} <span class="muted"><time datetime="{{(idx $inc.UpdateTime $i).ISO}}">{{(idx $inc.UpdateTime $i).Local}}</time></span></p>{{end}}</article>
{{else}}<p>No incidents reported.</p>{{end}}
</section>
<footer class="muted"><p>Updated <time datetime="{{.Updated.ISO}}">{{.Updated.Local}}</time>. Times are in {{.Page.TimeZone}}.
{{if .Subscribe}}<a href="subscribe">Subscribe to updates</a> · {{end}}<a href="api/v2/summary.json">JSON</a> · <a href="history.atom">Atom</a> · <a href="history.rss">RSS</a></p></footer>
</main></body></html>
`))

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Link    atomLink    `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}
type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
}
type atomEntry struct {
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Link    atomLink `xml:"link"`
	Content struct {
		Type string `xml:"type,attr"`
		Body string `xml:",chardata"`
	} `xml:"content"`
}

// feedItems is how many recent incidents the feeds carry.
const feedItems = 50

func incidentText(inc Incident) string {
	var b bytes.Buffer
	for _, u := range inc.Updates {
		fmt.Fprintf(&b, "%s: %s (%s)\n", u.Status, u.Body, u.Created.UTC().Format(time.RFC3339))
	}
	return b.String()
}

func (p *Page) atom() ([]byte, error) {
	f := atomFeed{ID: p.URL + "/history", Title: p.Name + " status history", Updated: p.Updated.UTC().Format(time.RFC3339), Link: atomLink{Href: p.URL}}
	for _, inc := range p.Incidents[:min(len(p.Incidents), feedItems)] {
		e := atomEntry{ID: p.URL + "/incidents/" + inc.ID, Title: inc.Name, Updated: inc.Updated.UTC().Format(time.RFC3339),
			Link: atomLink{Href: p.URL + "/incidents/" + inc.ID, Rel: "alternate"}}
		e.Content.Type, e.Content.Body = "text", incidentText(inc)
		f.Entries = append(f.Entries, e)
	}
	b, err := xml.MarshalIndent(f, "", " ")
	return append([]byte(xml.Header), b...), err
}

type rssFeed struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		Title       string    `xml:"title"`
		Link        string    `xml:"link"`
		Description string    `xml:"description"`
		Items       []rssItem `xml:"item"`
	} `xml:"channel"`
}
type rssItem struct {
	Title       string `xml:"title"`
	Link        string `xml:"link"`
	GUID        string `xml:"guid"`
	PubDate     string `xml:"pubDate"`
	Description string `xml:"description"`
}

func (p *Page) rss() ([]byte, error) {
	f := rssFeed{Version: "2.0"}
	f.Channel.Title, f.Channel.Link, f.Channel.Description = p.Name+" status history", p.URL, "Incidents and maintenance of "+p.Name
	for _, inc := range p.Incidents[:min(len(p.Incidents), feedItems)] {
		f.Channel.Items = append(f.Channel.Items, rssItem{Title: inc.Name, Link: p.URL + "/incidents/" + inc.ID, GUID: p.URL + "/incidents/" + inc.ID,
			PubDate: inc.Created.UTC().Format(time.RFC1123Z), Description: incidentText(inc)})
	}
	b, err := xml.MarshalIndent(f, "", " ")
	return append([]byte(xml.Header), b...), err
}
