package alerting

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opskit/opskit/sqlstore"
)

// ErrNotFound is returned (wrapped) when an alert group or silence does not
// exist (any more).
var ErrNotFound = errors.New("alerting: not found")

// ErrInvalidAlert is returned (wrapped) by Manager.Notify for an alert
// without labels.
var ErrInvalidAlert = errors.New("alerting: invalid alert")

// Manager receives alerts from checks, log rules and inputs, and makes sure
// someone hears of them: it deduplicates by fingerprint, groups, applies
// silences and inhibitions, escalates through on-call levels until someone
// acknowledges, and delivers notifications through a persistent outbox with
// retries. A restart sends no duplicate and loses no alert: alerts, group
// state, silences and undelivered notifications are in the store.
//
// Manager implements Notifier, so producers hand it alerts with Notify.
// Run drives it; Tick and Deliver are the same steps for tests and tools.
// One Manager may run per store at a time.
type Manager struct {
	cfg    Config
	store  *store
	Logger *slog.Logger
	// Now is the clock (tests inject one); nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	alerts   map[string]*alertState
	groups   map[string]*group
	silences map[string]Silence
	outbox   map[string][]*outboxItem // receiver → pending and failed, by id
	nextID   int64
	reload   bool     // the last save failed: reload before the next tick
	orphans  []string // stored groups no alert belongs to

	pmu        sync.Mutex
	cur        *commitBatch
	committing bool

	dmu  sync.Mutex
	busy map[string]bool // receivers being delivered to
}

type alertState struct {
	Alert
	fp       string
	lastSeen time.Time
	groups   []string
}

type group struct {
	groupRecord
	route  *Route
	key    string
	labels Labels
	alerts map[string]*alertState
}

type commitBatch struct {
	alerts []Alert
	done   chan struct{}
	err    error
}

// NewManager returns a Manager using db for its state (migrating the
// schema), with state loaded from a previous run.
func NewManager(ctx context.Context, db *sqlstore.DB, cfg Config) (*Manager, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	st, err := openStore(ctx, db)
	if err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, store: st, busy: map[string]bool{}}
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) log() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.Default()
}

// Reload replaces the Manager's state with the store's: for a Manager
// that takes over a store another process ran (several daemons electing
// one). Alerts received since the last save are kept only if stored.
func (m *Manager) Reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.load(ctx)
}

// load replaces the in-memory state with the store's.
func (m *Manager) load(ctx context.Context) error {
	snap, err := m.store.load(ctx)
	if err != nil {
		return err
	}
	m.alerts = map[string]*alertState{}
	m.groups = map[string]*group{}
	m.silences = map[string]Silence{}
	m.outbox = map[string][]*outboxItem{}
	m.nextID = 0
	for _, a := range snap.alerts {
		// Times are set at the first Tick (the clock may be set after
		// NewManager loads).
		m.addAlert(a, time.Time{})
	}
	m.orphans = nil
	for _, rec := range snap.groups {
		if g, ok := m.groups[rec.ID]; ok {
			g.groupRecord = rec
		} else {
			// Its alerts are gone, or the routes changed: removed at the
			// next Tick.
			m.orphans = append(m.orphans, rec.ID)
		}
	}
	for _, s := range snap.silences {
		m.silences[s.ID] = s
	}
	for _, it := range snap.outbox {
		m.outbox[it.receiver] = append(m.outbox[it.receiver], it)
		m.nextID = max(m.nextID, it.id)
	}
	m.reload = false
	return nil
}

// routesFor returns the routes an alert follows.
func (m *Manager) routesFor(l Labels) []*Route {
	var out []*Route
	for i := range m.cfg.Routes {
		r := &m.cfg.Routes[i]
		if r.Matchers.Matches(l) {
			out = append(out, r)
			if !r.Continue {
				return out
			}
		}
	}
	if len(out) == 0 {
		out = append(out, &m.cfg.Default)
	}
	return out
}

// groupOf returns the group key, id and labels of l on route r.
func groupOf(r *Route, l Labels) (key, id string, gl Labels) {
	gl = Labels{}
	if len(r.GroupBy) == 1 && r.GroupBy[0] == "..." {
		maps.Copy(gl, l)
	} else {
		for _, n := range r.GroupBy {
			if v, ok := l[n]; ok {
				gl[n] = v
			}
		}
	}
	names := slices.Sorted(maps.Keys(gl))
	var b strings.Builder
	b.WriteString(r.Name)
	b.WriteString(":{")
	for i, n := range names {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%s=%q", n, gl[n])
	}
	b.WriteString("}")
	key = b.String()
	sum := sha256.Sum256([]byte(key))
	return key, hex.EncodeToString(sum[:8]), gl
}

// addAlert puts a new alert into memory and its groups. Callers hold mu.
func (m *Manager) addAlert(a Alert, now time.Time) *alertState {
	st := &alertState{Alert: a, fp: a.Fingerprint(), lastSeen: now}
	m.alerts[st.fp] = st
	for _, r := range m.routesFor(a.Labels) {
		key, id, gl := groupOf(r, a.Labels)
		g, ok := m.groups[id]
		if !ok {
			g = &group{route: r, key: key, labels: gl, alerts: map[string]*alertState{},
				groupRecord: groupRecord{ID: id, Route: r.Name, FirstSeen: now, Sent: map[string]sentRecord{}}}
			m.groups[id] = g
		}
		g.alerts[st.fp] = st
		st.groups = append(st.groups, id)
	}
	return st
}

// own returns a with its own copies of the maps, so that a producer that
// reuses them cannot change a stored alert.
func own(a Alert) Alert {
	a.Labels = maps.Clone(a.Labels)
	a.Annotations = maps.Clone(a.Annotations)
	return a
}

func sameAlert(a, b Alert) bool {
	return a.Severity == b.Severity && a.Summary == b.Summary && a.Source == b.Source &&
		a.EndsAt.Equal(b.EndsAt) && maps.Equal(a.Annotations, b.Annotations)
}

// Notify ingests alerts: new and changed alerts are stored before Notify
// returns (several concurrent calls share one transaction); repeats of a
// known alert only refresh it in memory. An alert without StartsAt starts
// now; one whose EndsAt has passed is resolved. Alerts without labels are
// rejected with ErrInvalidAlert, the others still ingested.
func (m *Manager) Notify(ctx context.Context, alerts ...Alert) error {
	now := m.now()
	var bad error
	var batch *commitBatch
	// Fingerprints are computed before taking the lock, so that concurrent
	// producers hash in parallel.
	fps := make([]string, len(alerts))
	for i, a := range alerts {
		if len(a.Labels) > 0 {
			fps[i] = a.Fingerprint()
		}
	}
	m.mu.Lock()
	var changed []Alert
	for i, a := range alerts {
		if len(a.Labels) == 0 {
			bad = fmt.Errorf("%w: an alert has no labels", ErrInvalidAlert)
			continue
		}
		if a.StartsAt.IsZero() {
			a.StartsAt = now
		}
		st, ok := m.alerts[fps[i]]
		if !ok {
			a = own(a)
			m.addAlert(a, now)
			changed = append(changed, a)
			continue
		}
		st.lastSeen = now
		wasResolved := st.Resolved(now)
		if wasResolved && !a.Resolved(now) {
			st.Alert = own(a) // fires again
			changed = append(changed, st.Alert)
			continue
		}
		if wasResolved && a.Resolved(now) {
			continue // stays resolved
		}
		if sameAlert(st.Alert, a) {
			continue
		}
		a = own(a)
		a.StartsAt = st.StartsAt // the same episode
		st.Alert = a
		changed = append(changed, a)
	}
	if len(changed) > 0 {
		m.pmu.Lock()
		if m.cur == nil {
			m.cur = &commitBatch{done: make(chan struct{})}
		}
		batch = m.cur
		batch.alerts = append(batch.alerts, changed...)
		m.pmu.Unlock()
	}
	m.mu.Unlock()
	if batch == nil {
		return bad
	}
	if err := m.commit(ctx, batch, now); err != nil {
		return errors.Join(err, bad)
	}
	return bad
}

// commit waits until batch is stored: the first waiter commits every batch
// queued meanwhile (group commit).
func (m *Manager) commit(ctx context.Context, batch *commitBatch, now time.Time) error {
	m.pmu.Lock()
	if m.committing {
		m.pmu.Unlock()
		select {
		case <-batch.done:
			return batch.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.committing = true
	m.pmu.Unlock()
	sctx := context.WithoutCancel(ctx)
	for {
		m.pmu.Lock()
		b := m.cur
		m.cur = nil
		if b == nil {
			m.committing = false
			m.pmu.Unlock()
			break
		}
		m.pmu.Unlock()
		if err := m.store.saveAlerts(sctx, b.alerts, now); err != nil {
			b.err = fmt.Errorf("alerting: store alerts: %w", err)
		}
		close(b.done)
	}
	<-batch.done
	return batch.err
}

// Tick advances every group to now: first notifications after group_wait,
// updates after group_interval, repeats, escalation to the next level,
// acknowledgement timeouts, resolutions. The notifications it decides are
// stored in the outbox in the same transaction as the new group state, and
// sent by Deliver. Run calls Tick every second.
func (m *Manager) Tick(ctx context.Context) error {
	if err := m.applyCommands(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.reload {
		if err := m.load(ctx); err != nil {
			return err
		}
	}
	now := m.now()
	ch := &tickChanges{deletedGroups: m.orphans}
	muted := m.mutedSet(now)
	gs := slices.Collect(maps.Values(m.groups))
	sort.Slice(gs, func(i, j int) bool {
		if !gs[i].FirstSeen.Equal(gs[j].FirstSeen) {
			return gs[i].FirstSeen.Before(gs[j].FirstSeen)
		}
		return gs[i].ID < gs[j].ID
	})
	for _, g := range gs {
		m.tickGroup(g, now, muted, ch)
	}
	// Alerts no group holds any more are gone.
	for fp, st := range m.alerts {
		if len(st.groups) == 0 {
			delete(m.alerts, fp)
			ch.deletedAlerts = append(ch.deletedAlerts, fp)
		}
	}
	if ch.empty() {
		return nil
	}
	if err := m.store.saveTick(context.WithoutCancel(ctx), ch, now); err != nil {
		m.reload = true
		return fmt.Errorf("alerting: save state: %w", err)
	}
	m.orphans = nil
	for _, it := range ch.outbox {
		m.outbox[it.receiver] = append(m.outbox[it.receiver], it)
	}
	return nil
}

// mutedSet returns the fingerprints silenced or inhibited at now.
func (m *Manager) mutedSet(now time.Time) map[string]bool {
	muted := map[string]bool{}
	var active []Silence
	for _, s := range m.silences {
		if s.Active(now) {
			active = append(active, s)
		}
	}
	for fp, st := range m.alerts {
		for _, s := range active {
			if s.Matchers.Matches(st.Labels) {
				muted[fp] = true
				break
			}
		}
	}
	for _, rule := range m.cfg.Inhibit {
		// Firing sources by the values of the equal labels; sources that
		// also match the target side are kept apart (no self-inhibition).
		sources := map[string][]string{}
		for fp, st := range m.alerts {
			if st.Resolved(now) || !rule.Source.Matches(st.Labels) {
				continue
			}
			k := equalKey(st.Labels, rule.Equal)
			sources[k] = append(sources[k], fp)
		}
		if len(sources) == 0 {
			continue
		}
		for fp, st := range m.alerts {
			if muted[fp] || st.Resolved(now) || !rule.Target.Matches(st.Labels) {
				continue
			}
			for _, src := range sources[equalKey(st.Labels, rule.Equal)] {
				if src == fp {
					continue
				}
				if rule.Source.Matches(st.Labels) && rule.Target.Matches(m.alerts[src].Labels) {
					continue // both match both sides: no mutual muting
				}
				muted[fp] = true
				break
			}
		}
	}
	return muted
}

func equalKey(l Labels, names []string) string {
	var b strings.Builder
	for _, n := range names {
		b.WriteString(l[n])
		b.WriteByte(0)
	}
	return b.String()
}

func (m *Manager) resolvedAt(st *alertState, now time.Time) bool {
	if st.lastSeen.IsZero() {
		st.lastSeen = now // loaded from the store
	}
	if st.Resolved(now) {
		return true
	}
	return m.cfg.ResolveTimeout > 0 && st.EndsAt.IsZero() && now.Sub(st.lastSeen) >= m.cfg.ResolveTimeout
}

// firstActiveLevel returns the first level at or after i whose schedule
// contains now, or -1.
func firstActiveLevel(levels []Level, i int, now time.Time) int {
	for ; i < len(levels); i++ {
		if levels[i].When.Contains(now) {
			return i
		}
	}
	return -1
}

func (g *group) reach(levels []Level, i int) {
	for _, r := range levels[i].Receivers {
		if !slices.Contains(g.Reached, r) {
			g.Reached = append(g.Reached, r)
		}
	}
}

// tickGroup decides what group g needs at now. Callers hold mu.
func (m *Manager) tickGroup(g *group, now time.Time, muted map[string]bool, ch *tickChanges) {
	r := g.route
	levels := r.Escalation.Levels
	changed := false
	if g.FirstSeen.IsZero() {
		g.FirstSeen = now // a group rebuilt from stored alerts
	}
	var firing, resolved []*alertState
	anyFiring := false
	for _, st := range g.alerts {
		if m.resolvedAt(st, now) {
			if st.EndsAt.IsZero() || st.EndsAt.After(now) {
				st.EndsAt = now // resolve timeout
				ch.alerts = append(ch.alerts, st.Alert)
			}
			resolved = append(resolved, st)
			continue
		}
		anyFiring = true
		if !muted[st.fp] {
			firing = append(firing, st)
		}
	}
	sortStates(firing)
	sortStates(resolved)

	if !g.Started && now.Before(g.FirstSeen.Add(r.GroupWait)) {
		if anyFiring {
			return // collecting siblings
		}
	}
	if !g.Started && len(firing) == 0 {
		if !anyFiring {
			m.dropGroup(g, ch) // resolved (or never notifiable) within group_wait: never sent
		}
		return
	}

	// Escalation: start, pause while everything is muted, advance, repeat.
	if len(firing) > 0 {
		if !g.PausedAt.IsZero() {
			g.LevelAt = g.LevelAt.Add(now.Sub(g.PausedAt))
			g.PausedAt = time.Time{}
			changed = true
		}
		if !g.Started {
			g.Started, changed = true, true
			m.startEscalation(g, now)
		}
		if g.AckedBy != "" && m.cfg.AckTimeout > 0 && !now.Before(g.AckedAt.Add(m.cfg.AckTimeout)) {
			m.log().Info("alerting: acknowledgement timed out, escalating again", "group", g.ID)
			g.AckedBy, g.AckedAt = "", time.Time{}
			g.Loops = 0
			m.startEscalation(g, now)
			changed = true
		}
		if g.AckedBy == "" {
			for {
				next := firstActiveLevel(levels, g.Level+1, now)
				if next >= 0 {
					if now.Before(g.LevelAt.Add(levels[next].After)) {
						break
					}
					g.Level, g.LevelAt = next, g.LevelAt.Add(levels[next].After)
					g.reach(levels, next)
					m.forget(g, levels[next].Receivers)
					changed = true
					continue
				}
				if g.Loops >= r.Escalation.Repeat || now.Before(g.LevelAt.Add(r.Escalation.RepeatAfter)) {
					break
				}
				g.Loops++
				first := max(firstActiveLevel(levels, 0, now), 0)
				g.Level, g.LevelAt = first, g.LevelAt.Add(r.Escalation.RepeatAfter)
				m.forget(g, levels[first].Receivers)
				changed = true
			}
		}
	} else if anyFiring && g.PausedAt.IsZero() {
		g.PausedAt = now // all muted: escalation waits
		changed = true
	}

	// Notifications, per reached receiver.
	allResolved := !anyFiring
	for _, name := range g.Reached {
		rc := m.cfg.Receivers[name]
		s, seen := g.Sent[name]
		var newFiring, newResolved bool
		for _, st := range firing {
			if !slices.Contains(s.Firing, st.fp) {
				newFiring = true
				break
			}
		}
		for _, st := range resolved {
			if slices.Contains(s.Firing, st.fp) {
				newResolved = true
				break
			}
		}
		// Alerts muted after they were sent leave the receiver's view
		// without a resolution; they come back as new if unmuted.
		intervalOver := !now.Before(s.At.Add(r.GroupInterval))
		due := false
		switch {
		case !seen:
			due = len(firing) > 0
		case allResolved:
			due = newResolved
		case newFiring && intervalOver:
			due = true
		case newResolved && intervalOver && !rc.NoResolved:
			due = true
		case len(firing) > 0 && g.AckedBy == "" && !now.Before(s.At.Add(r.RepeatInterval)):
			due = true
		}
		if !due {
			continue
		}
		var sendResolved []*alertState
		for _, st := range resolved {
			if slices.Contains(s.Firing, st.fp) {
				sendResolved = append(sendResolved, st)
			}
		}
		fps := make([]string, len(firing))
		for i, st := range firing {
			fps[i] = st.fp
		}
		g.Sent[name] = sentRecord{At: now, Firing: fps}
		changed = true
		if len(firing) == 0 && rc.NoResolved {
			continue
		}
		m.enqueue(g, name, firing, sendResolved, now, ch)
	}

	if allResolved {
		m.dropGroup(g, ch)
		return
	}
	// Resolved alerts that no receiver still shows as firing leave the group.
	for _, st := range resolved {
		held := false
		for _, s := range g.Sent {
			if slices.Contains(s.Firing, st.fp) {
				held = true
				break
			}
		}
		if !held {
			m.removeFromGroup(g, st)
			changed = true
		}
	}
	if changed {
		ch.groups = append(ch.groups, g.groupRecord)
	}
}

// startEscalation puts g at its first active level (or level 1 when no
// level's schedule is active) and forgets what that level was told.
func (m *Manager) startEscalation(g *group, now time.Time) {
	levels := g.route.Escalation.Levels
	first := max(firstActiveLevel(levels, 0, now), 0)
	g.Level, g.LevelAt = first, now
	g.reach(levels, first)
	m.forget(g, levels[first].Receivers)
}

// forget makes receivers be notified again at the next decision.
func (m *Manager) forget(g *group, receivers []string) {
	for _, r := range receivers {
		delete(g.Sent, r)
	}
}

func sortStates(s []*alertState) {
	sort.Slice(s, func(i, j int) bool {
		if !s[i].StartsAt.Equal(s[j].StartsAt) {
			return s[i].StartsAt.Before(s[j].StartsAt)
		}
		return s[i].fp < s[j].fp
	})
}

func (m *Manager) removeFromGroup(g *group, st *alertState) {
	delete(g.alerts, st.fp)
	st.groups = slices.DeleteFunc(st.groups, func(id string) bool { return id == g.ID })
}

func (m *Manager) dropGroup(g *group, ch *tickChanges) {
	for _, st := range g.alerts {
		m.removeFromGroup(g, st)
	}
	delete(m.groups, g.ID)
	ch.deletedGroups = append(ch.deletedGroups, g.ID)
}

// enqueue adds a notification for receiver to the tick's outbox rows.
func (m *Manager) enqueue(g *group, receiver string, firing, resolved []*alertState, now time.Time, ch *tickChanges) {
	g.Seq++
	m.nextID++
	alerts := make([]Alert, 0, len(firing)+len(resolved))
	for _, st := range firing {
		alerts = append(alerts, st.Alert)
	}
	for _, st := range resolved {
		alerts = append(alerts, st.Alert)
	}
	d := Delivery{
		Key:         fmt.Sprintf("%s-%s-%d", g.ID, receiver, g.Seq),
		GroupKey:    g.key,
		GroupLabels: maps.Clone(g.labels),
		Receiver:    receiver,
		Level:       g.Level + 1,
		Resolved:    len(firing) == 0,
	}
	if len(firing) > 0 {
		d.AckURL, d.AckExpires = m.cfg.Ack.link(g.ID, now)
	}
	ch.outbox = append(ch.outbox, &outboxItem{
		id: m.nextID, key: d.Key, groupID: g.ID, receiver: receiver,
		body:      outboxBody{Alerts: alerts, Delivery: d},
		createdAt: now, nextAt: now, status: "pending",
	})
}

// Ack acknowledges a group, given its ID, the fingerprint of one of its
// alerts, or a unique prefix of either (at least 6 characters): escalation
// stops and repeats stop until the group resolves or Config.AckTimeout
// passes. Returns ErrNotFound for no match.
func (m *Manager) Ack(ctx context.Context, id, by string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	gs, err := m.findGroups(id)
	if err != nil {
		return err
	}
	now := m.now()
	ch := &tickChanges{}
	for _, g := range gs {
		if g.AckedBy != "" {
			continue
		}
		g.AckedBy, g.AckedAt = by, now
		ch.groups = append(ch.groups, g.groupRecord)
	}
	if ch.empty() {
		return nil
	}
	if err := m.store.saveTick(context.WithoutCancel(ctx), ch, now); err != nil {
		m.reload = true
		return fmt.Errorf("alerting: save acknowledgement: %w", err)
	}
	m.log().Info("alerting: acknowledged", "groups", len(ch.groups), "by", by)
	return nil
}

func (m *Manager) findGroups(id string) ([]*group, error) {
	if g, ok := m.groups[id]; ok {
		return []*group{g}, nil
	}
	if st, ok := m.alerts[id]; ok {
		var out []*group
		for _, gid := range st.groups {
			out = append(out, m.groups[gid])
		}
		return out, nil
	}
	if len(id) >= 6 {
		var out []*group
		for gid, g := range m.groups {
			if strings.HasPrefix(gid, id) {
				out = append(out, g)
			}
		}
		for fp, st := range m.alerts {
			if strings.HasPrefix(fp, id) {
				for _, gid := range st.groups {
					if !slices.Contains(out, m.groups[gid]) {
						out = append(out, m.groups[gid])
					}
				}
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return nil, fmt.Errorf("%w: no alert group or alert %q", ErrNotFound, id)
}

// Silence stores s (a new ID is assigned when empty) and returns its ID.
// It takes effect at the next Tick.
func (m *Manager) Silence(ctx context.Context, s Silence) (string, error) {
	if len(s.Matchers) == 0 {
		return "", fmt.Errorf("%w: a silence needs at least one matcher", ErrBadMatcher)
	}
	if !s.EndsAt.After(s.StartsAt) {
		return "", fmt.Errorf("alerting: silence ends (%s) before it starts (%s)", s.EndsAt.Format(time.RFC3339), s.StartsAt.Format(time.RFC3339))
	}
	if s.ID == "" {
		var b [8]byte
		rand.Read(b[:])
		s.ID = hex.EncodeToString(b[:])
	}
	if err := m.store.saveSilence(ctx, s); err != nil {
		return "", fmt.Errorf("alerting: save silence: %w", err)
	}
	m.mu.Lock()
	m.silences[s.ID] = s
	m.mu.Unlock()
	return s.ID, nil
}

// Expire ends silence id now.
func (m *Manager) Expire(ctx context.Context, id string) error {
	m.mu.Lock()
	s, ok := m.silences[id]
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: silence %q", ErrNotFound, id)
	}
	now := m.now()
	if s.EndsAt.After(now) {
		s.EndsAt = now
		if s.StartsAt.After(now) {
			s.StartsAt = now
		}
	}
	if err := m.store.saveSilence(ctx, s); err != nil {
		return fmt.Errorf("alerting: expire silence: %w", err)
	}
	m.mu.Lock()
	m.silences[id] = s
	m.mu.Unlock()
	return nil
}

// Silences returns the silences not yet expired, by start time.
func (m *Manager) Silences() []Silence {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Silence
	for _, s := range m.silences {
		if s.EndsAt.After(now) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartsAt.Before(out[j].StartsAt) })
	return out
}

// GroupStatus is a group as Manager.Groups reports it.
type GroupStatus struct {
	ID        string
	Key       string
	Route     string
	Labels    Labels
	Alerts    []Alert // firing first, then resolved not yet notified
	Muted     int     // alerts silenced or inhibited
	Level     int     // escalation level reached (1-based), 0 before the first notification
	Receivers []string
	Acked     bool
	AckedBy   string
	AckedAt   time.Time
	FirstSeen time.Time
}

func (m *Manager) status(g *group, muted map[string]bool) GroupStatus {
	gs := GroupStatus{ID: g.ID, Key: g.key, Route: g.Route, Labels: maps.Clone(g.labels),
		Receivers: slices.Clone(g.Reached), Acked: g.AckedBy != "", AckedBy: g.AckedBy, AckedAt: g.AckedAt, FirstSeen: g.FirstSeen}
	if g.Started {
		gs.Level = g.Level + 1
	}
	states := slices.Collect(maps.Values(g.alerts))
	sortStates(states)
	for _, st := range states {
		gs.Alerts = append(gs.Alerts, st.Alert)
		if muted[st.fp] {
			gs.Muted++
		}
	}
	return gs
}

// Groups returns the current alert groups, oldest first.
func (m *Manager) Groups() []GroupStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	muted := m.mutedSet(m.now())
	out := make([]GroupStatus, 0, len(m.groups))
	for _, g := range m.groups {
		out = append(out, m.status(g, muted))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].FirstSeen.Equal(out[j].FirstSeen) {
			return out[i].FirstSeen.Before(out[j].FirstSeen)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Group returns one group by ID.
func (m *Manager) Group(id string) (GroupStatus, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.groups[id]
	if !ok {
		return GroupStatus{}, false
	}
	return m.status(g, m.mutedSet(m.now())), true
}
