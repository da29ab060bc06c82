// Package statuspage serves per-instance status pages: "a dedicated status
// page at {instance-name}.status.example.com on which you can check the
// status of the services, find information about scheduled maintenances and
// consult incident reports".
//
// A [Handler] is an http.Handler for many pages, chosen by host name
// (SLUG + Config.HostSuffix) or by path (/p/SLUG/). Each page has
// components and groups with Statuspage's five statuses, incidents with
// updates (newest first), and scheduled maintenances stored in UTC and
// shown in the page's time zone with the offset printed and a
// <time datetime> in UTC, correct across daylight-saving changes. It serves:
//
//	/                                    HTML, server-rendered, no JavaScript, dark mode, no external assets
//	/api/v2/summary.json, status.json, components.json, incidents.json,
//	incidents/unresolved.json, scheduled-maintenances.json,
//	scheduled-maintenances/upcoming.json, scheduled-maintenances/active.json
//	                                     Atlassian Statuspage v2 field names and enumerations
//	/history.atom, /history.rss          incident history feeds
//
// Every response of a page (and its gzip) is rendered once per change and
// served from memory with an ETag, so a request costs a map lookup. The
// page status follows Statuspage's rules ([Page.Rollup]), including the
// "maintenance" indicator real pages emit. Security headers (CSP, nosniff,
// no referrer, frame-ancestors none) are always set; with
// Config.RedirectHTTP, plain HTTP is redirected to HTTPS and HSTS is sent.
//
// Pages change through Go methods ([Handler.PutPage], [Handler.AddComponent],
// [Handler.SetComponentStatus] for checks, [Handler.CreateIncident],
// [Handler.AddUpdate]) or the bearer-token admin API under /api/admin/.
// Pages are stored in SQL through internal/sqlstore (SQLite or PostgreSQL,
// schema version 1).
//
// [Handler.Export] writes a page as static files, to publish on hosting that
// does not share the fate of the infrastructure it reports on.
//
// The HTML shows 90 days of history per component: a bar per day, coloured
// by the worst status of that day and named in its title, with a text
// summary for screen readers ([Component.History]).
//
// Not yet: email and webhook subscriptions.
package statuspage
