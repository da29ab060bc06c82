package alerting

import (
	"time"
)

// Silence mutes the alerts its Matchers match between StartsAt and EndsAt.
// A muted alert is not notified and does not advance escalation; it still
// shows in Manager.Groups. A Maintenance silence is a planned window: the
// same muting, shown as maintenance.
type Silence struct {
	ID          string    `json:"id"`
	Matchers    Matchers  `json:"-"`
	StartsAt    time.Time `json:"startsAt"`
	EndsAt      time.Time `json:"endsAt"`
	CreatedBy   string    `json:"createdBy"`
	Comment     string    `json:"comment"`
	Maintenance bool      `json:"maintenance,omitempty"`
}

// Active reports whether s mutes alerts at t.
func (s Silence) Active(t time.Time) bool { return !t.Before(s.StartsAt) && t.Before(s.EndsAt) }

// silenceRecord is the stored form (matchers as text).
type silenceRecord struct {
	Silence
	Matchers string `json:"matchers"`
}

func newSilenceRecord(s Silence) silenceRecord {
	return silenceRecord{Silence: s, Matchers: s.Matchers.String()}
}

func (r silenceRecord) silence() (Silence, error) {
	ms, err := ParseMatchers(r.Matchers)
	if err != nil {
		return Silence{}, err
	}
	s := r.Silence
	s.Matchers = ms
	return s, nil
}
