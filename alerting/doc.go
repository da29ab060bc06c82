// Package alerting turns checks, log rules and external inputs into alerts
// that reach someone: deduplicated, grouped, silenced, acknowledged and
// escalated through on-call levels, delivered by Notifiers.
package alerting
