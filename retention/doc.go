// Package retention decides which backups, log files and Elasticsearch
// indices to keep, and says why.
//
// # Policies
//
// A [Policy] is plain data: counts and spans per calendar tier, a time zone.
// [Policy.Apply] takes [Item]s (anything with a time, optional tags and a
// verification flag) and returns one [Decision] per item, each with its
// reasons, so that a dry run explains itself:
//
//	p := retention.Policy{Last: 3, Daily: 7, Weekly: 4, WithinNHourly: retention.Days(2)}
//	ds, err := p.Apply(items, time.Now())
//	for _, d := range ds {
//		fmt.Println(d.ID, d.Keep, d.Reasons) // "b-0042 true [daily 3 of 7 weekly 1 of 4]"
//	}
//
// The semantics are restic's "forget" (restic's 40 reference cases pass):
// items newest first; each rule counted on its own; a count rule keeps the
// newest item of each of the N most recent periods that contain an item and,
// with count left over, the oldest item; "within" spans are measured back
// from the newest item that is not in the future; -1 ([Unlimited]) means no
// limit. On top of restic's tiers there is an N-hour tier (NHourly, NHours,
// 6 by default) aligned to local midnight, for "a backup every 6 hours"
// schedules. Calendar periods are taken in Policy.Location (UTC when nil), so
// a day with a daylight-saving change is one day.
//
// Safety: a policy with no rule ([ErrEmptyPolicy]) or one whose rules keep
// none of the items ([ErrRemovesAll]) is refused; items marked Unverified
// (their integrity check has not passed yet) are always kept and count for no
// rule; the newest verified item is always kept.
//
// [SeedDaily20] and [SeedTiered] are the two backup policies of the practice
// this module implements ("20 daily backups"; "6-hourly 2-5 days, daily 7-365
// days, weekly 4-52 weeks, monthly 13-36 months", with the lower bounds).
// Spans such as "13m" or "1y2m3d" are read by [ParseSpan].
//
// # Log files
//
// A [FilePruner] removes log files past their age, per [FileClass]: globs,
// a maximum age, and the date in the file name or the modification time.
// Rotated and compressed forms (".1", ".2.gz", "-20261122.gz") are aged; the
// live file (no rotation suffix), symbolic links, directories and anything
// outside the globs are never removed. [SeedWebLogs] (14 weeks) and
// [SeedAppLogs] (52 weeks) are the practice's classes.
//
// # Elasticsearch indices
//
// An [IndexPruner] deletes time-based indices and data-stream backing
// indices past their age through github.com/elastic/go-elasticsearch/v8,
// aged by the date in their name, their creation date, or (for backing
// indices) their rollover. It never deletes a data stream's write index or
// an alias's write index, nor dot-prefixed system indices, and refuses
// patterns such as "*". Run it with dryRun first: the report is the plan.
// [SeedElasticsearchLogs] is the practice's 8 weeks.
//
// Both pruners go on after a failed deletion and return all failures
// together (a *multierror.Error from github.com/hashicorp/go-multierror).
//
// # What it does not do
//
// It does not group items (by host, instance, path): callers apply a policy
// per group. It does not delete backups: the caller does, with the
// decisions, through its own transport. It does not close, shrink or
// snapshot indices (use ILM where the full distribution is available).
package retention
