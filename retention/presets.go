package retention

import (
	"path/filepath"
	"time"
)

// Week is seven days of elapsed time, for log ages.
const Week = 7 * 24 * time.Hour

// Log ages from the operations practice this module implements.
const (
	// ElasticsearchLogAge: "about 8 weeks in our Elastic stack".
	ElasticsearchLogAge = 8 * Week
	// WebLogAge: "14 weeks of web access/error logs ... on our servers".
	WebLogAge = 14 * Week
	// AppLogAge: "52 weeks of app logs on our servers".
	AppLogAge = 52 * Week
	// ShortAppLogAge: "application logs kept between 15 and 30 days"; the
	// upper bound, so that nothing younger than the promise is removed.
	ShortAppLogAge = 30 * 24 * time.Hour
)

// SeedDaily20 is the policy "by default we keep a retention of 20 daily
// backups for each instance": the newest backup of each of the 20 most recent
// days that have one (days without a backup use up nothing), in UTC.
func SeedDaily20() Policy {
	return Policy{Daily: 20}
}

// SeedTiered is the calendar policy "base every 6 hours: retention 2-5 days;
// daily: 7-365 days; weekly: 4-52 weeks; monthly: 13-36 months", with the
// lower bound of each range:
//
//   - the newest backup of every 6-hour block (00-06-12-18 h UTC) within 2 days,
//   - the newest of every day within 7 days,
//   - the newest of every ISO week within 4 weeks (28 days),
//   - the newest of every month within 13 calendar months,
//
// all measured back from the newest backup. Raise a window (up to the upper
// bounds 5 days, 365 days, 52 weeks, 36 months) to keep more.
func SeedTiered() Policy {
	return Policy{
		WithinNHourly: Days(2),
		NHours:        6,
		WithinDaily:   Days(7),
		WithinWeekly:  Weeks(4),
		WithinMonthly: Months(13),
	}
}

// SeedWebLogs is the class "14 weeks of web access/error logs": nginx-style
// access and error logs under dir, rotated forms included, by modification
// time.
func SeedWebLogs(dir string) FileClass {
	return FileClass{
		Name:   "web",
		Globs:  []string{filepath.Join(dir, "access.log*"), filepath.Join(dir, "error.log*")},
		MaxAge: WebLogAge,
	}
}

// SeedAppLogs is the class "52 weeks of app logs": every *.log file under dir
// with its rotated forms, by modification time.
func SeedAppLogs(dir string) FileClass {
	return FileClass{
		Name:   "app",
		Globs:  []string{filepath.Join(dir, "*.log*")},
		MaxAge: AppLogAge,
	}
}

// SeedElasticsearchLogs is the class "about 8 weeks in our Elastic stack" for
// the given index patterns (for example "logs-*", "filebeat-*"), aged by the
// date in the index name (YYYY.MM.DD, as Beats and Logstash name daily
// indices) or, for names without a date, by creation date.
func SeedElasticsearchLogs(patterns ...string) IndexClass {
	return IndexClass{
		Name:       "elasticsearch-logs",
		Patterns:   patterns,
		MaxAge:     ElasticsearchLogAge,
		DateLayout: "2006.01.02",
	}
}
