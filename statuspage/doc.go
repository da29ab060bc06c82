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
// Pages are stored in SQL through package sqlstore (SQLite or PostgreSQL; open one with sqlstore.Open).
//
// [Handler.Export] writes a page as static files, to publish on hosting that
// does not share the fate of the infrastructure it reports on.
//
// The HTML shows 90 days of history per component: a bar per day, coloured
// by the worst status of that day and named in its title, with a text
// summary for screen readers ([Component.History]).
//
// # Automatic status from checks
//
// The daemon passes every result of the check that watches a component to
// [Handler.SetComponentStatus] (page, component, status, reason). A new
// status is stored, recorded with its reason ([Handler.StatusChanges];
// the reason is never shown publicly), sent to webhook subscribers and
// re-rendered; a repeated status costs a map lookup, so results need no
// de-duplication by the caller.
//
// # Subscriptions
//
// With Config.SubscriptionKey (32 random bytes) and Config.Mailer
// (statuspage/smtpmail for SMTP), each page serves a form at subscribe
// (linked from the page): an address and, optionally, components. A
// request queues a mail with a confirm link signed with HMAC-SHA256 that
// expires after Config.ConfirmTTL; opening the link shows a button, and
// only the button's POST confirms, so mail scanners that fetch links
// confirm nothing. The answer to a request is the same whether or not
// the address is known, and requests are limited per client IP (429 past
// the limit) and per address (silently: no more mail). Only confirmed
// subscribers are notified: incident created or updated, maintenance
// scheduled or updated, for the components they chose (an incident
// without components reaches everyone). Every mail carries its
// unsubscribe link in the text and as List-Unsubscribe with
// List-Unsubscribe-Post (RFC 8058 one-click); a GET of it shows a button,
// a POST unsubscribes.
//
// Webhook subscribers ([Handler.AddWebhook], POST /api/admin/.../webhooks)
// receive Statuspage's webhook JSON (meta, page, then incident, or
// component_update and component) on incident and component changes.
//
// Notifications are queued in the store, in the transaction of the change
// that causes them, and sent by [Handler.Run] (start it in a goroutine;
// [Handler.Deliver] sends once): failures are retried after 1 minute,
// doubling up to 6 hours, 10 times at most; a webhook's 4xx (but 408 and
// 429) drops the message. Unsubscribing drops what was queued.
//
// Schema version 2 ([SchemaVersion]) adds subscribers, the outbox and the
// status changes to version 1's pages.
package statuspage
