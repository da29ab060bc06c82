package esrule

import (
	"sort"
	"time"
)

// event is one entry of a window: a document (or a synthetic one for a count
// or bucket) with its time and how many events it stands for.
type event struct {
	ts          time.Time
	count       int64
	doc         Doc
	placeholder bool
}

// window is ElastAlert's EventWindow: events sorted by time, holding only
// events strictly less than timeframe apart from the newest one. Events
// evicted by an append are handed to onRemoved.
type window struct {
	timeframe time.Duration
	events    []event
	total     int64
	onRemoved func(event)
}

func (w *window) append(e event) {
	i := sort.Search(len(w.events), func(i int) bool { return w.events[i].ts.After(e.ts) })
	w.events = append(w.events, event{})
	copy(w.events[i+1:], w.events[i:])
	w.events[i] = e
	w.total += e.count
	for len(w.events) > 0 && w.duration() >= w.timeframe {
		old := w.events[0]
		w.events = w.events[1:]
		w.total -= old.count
		if w.onRemoved != nil {
			w.onRemoved(old)
		}
	}
}

func (w *window) duration() time.Duration {
	if len(w.events) == 0 {
		return 0
	}
	return w.events[len(w.events)-1].ts.Sub(w.events[0].ts)
}

func (w *window) clear() {
	w.events = nil
	w.total = 0
}

func (w *window) newest() event { return w.events[len(w.events)-1] }
