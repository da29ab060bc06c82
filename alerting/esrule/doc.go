// Package esrule runs log rules over Elasticsearch with ElastAlert's
// documented semantics, and reads ElastAlert's YAML rule files.
//
// # Rules
//
// A [Rule] is one ElastAlert rule: any, blacklist, whitelist, change,
// frequency, spike, flatline, cardinality, new_term or metric_aggregation,
// with query_key, timeframe, buffer_time, run_every, realert,
// exponential_realert, filter (query DSL, query_string included),
// timestamp_field and index (wildcards and comma lists). [Load], [LoadFile]
// and [LoadDir] read existing rule files; alerter options (alert, email,
// slack_*, ...) and doc_type are ignored, options that would change what a
// rule matches and are not implemented (aggregation, top_count_keys,
// query_delay, percentage_match, ...) fail with [ErrUnsupported], naming the
// file and the option.
//
// The semantics, from ElastAlert's ruletypes.py: frequency matches when at
// least num_events fall within a sliding timeframe (events exactly timeframe
// apart are not in one window) and then starts counting afresh; flatline
// matches while fewer than threshold events fell in the timeframe and keeps
// matching each run until data recovers (forget_keys drops the key);
// spike compares the current timeframe with the one before it (up:
// cur >= ref*spike_height, down: cur <= ref/spike_height, threshold_cur and
// threshold_ref as minimums), only after two timeframes of data, and
// reports the oldest event of the current window; cardinality matches above
// max_cardinality (each new value) or below min_cardinality once timeframe
// has passed; new_term reads terms_window_size of history in
// window_step_size steps before its first run and matches each unseen value
// once; metric_aggregation matches when the metric is above max_threshold or
// below min_threshold (both exclusive) per buffer_time window.
//
// # Counting in Elasticsearch
//
// Frequency, spike and flatline rules count in Elasticsearch: the _count API
// without a query key, a size:0 terms aggregation (top terms_size keys) with
// one, once per run_every segment — ElastAlert's use_count_query and
// use_terms_query, here the default. Counts are stamped at the segment's
// end, so windows are exact to run_every. A rule file that says
// use_count_query: false (or [Rule].UseDocuments) pulls documents and
// slides windows per event instead. Cardinality and metric_aggregation
// always aggregate (terms of values with their last-seen time; the metric);
// any, blacklist, whitelist, change and new_term read documents (scrolled,
// sorted by time, blacklist and whitelist values pushed down as a
// query_string). BenchmarkFrequencyDay measures the difference.
//
// # Evaluation without Elasticsearch
//
// [State] is a rule's evaluation, free of I/O and clocks: feed it documents
// ([State.AddDocs]), counts ([State.AddCount]), terms buckets
// ([State.AddTerms]) or metric values ([State.AddMetric]) with their
// times, call [State.GarbageCollect] at each segment's end, and read
// [State.Matches]. Rules can thus be tested offline, as this package's
// tests port ElastAlert's own rule-type tests.
//
// # Running
//
// A [Runner] runs its rules every run_every (Run) or once (RunOnce, for a
// scheduler of your own), like ElastAlert: document queries look back
// buffer_time (overlaps deduplicated by _id), count and terms queries go on
// from the last end, and long windows are cut into segments. Each match
// becomes an [alerting.Alert] (labels alertname = rule name, rule_type,
// query_key; annotations summary, match_time and the matched values as JSON)
// handed to the Notifier, unless realert suppresses it: realert runs from
// when an alert is sent, per rule and query key value, doubling up to
// exponential_realert for alerts that keep coming (ElastAlert's
// next_alert_time). A catch-up after downtime therefore alerts once per key,
// not once per missed window.
//
// With a [Store] (package sqlstore, SQLite or PostgreSQL, schema
// "esrule" version 1), each rule's resume point and silences survive
// restarts: a restarted Runner resumes from the last processed end if it is
// younger than OldQueryLimit (default one week, ElastAlert's
// old_query_limit), catches up the missed windows, and never evaluates a
// window twice. A query that fails leaves the resume point at the last
// segment that succeeded, so the window is retried. Alerts the Notifier
// refused are offered again on the next run while the process lives; hand
// them to the alerting Manager, whose outbox persists them. Several Runners
// may share a Store only if they run different rules.
//
// [Runner.DryRun] evaluates a rule over a past time range and returns its
// matches, sending nothing and touching no Store.
//
// # Not implemented
//
// percentage_match, spike_aggregation, custom rule types, aggregation
// (batching matches), top_count_keys, attach_related, field_value,
// query_delay, scan_entire_timeframe, composite new_term fields, "!file"
// list entries, percentiles and scripted metrics, bucket_interval. Two
// deliberate differences: a spike of 0 against 0 is no spike (ElastAlert
// reports one), and a flatline matches once per segment end (ElastAlert
// may match twice, for the count and the garbage collection).
package esrule
