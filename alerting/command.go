package alerting

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opskit/opskit/sqlstore"
)

// Command is a change asked of the Manager by another process sharing its
// store, such as the "opsd alert" command line while the daemon runs.
// Exactly one of Ack, Silence and Expire is set.
type Command struct {
	Ack     string   `json:"ack,omitempty"`    // a group ID, alert fingerprint, or unique prefix
	By      string   `json:"by,omitempty"`     // who acknowledges or silences
	Silence *Silence `json:"-"`                // a new silence or maintenance window
	Expire  string   `json:"expire,omitempty"` // a silence ID to end now
}

type commandRecord struct {
	Command
	Silence *silenceRecord `json:"silence,omitempty"`
}

// SendCommand queues c in the store; the Manager running on it applies it
// at its next Tick (within a second under Run), or at its first Tick after
// a start. The schema is migrated if needed.
func SendCommand(ctx context.Context, db *sqlstore.DB, c Command) error {
	n := 0
	if c.Ack != "" {
		n++
	}
	if c.Silence != nil {
		n++
		if len(c.Silence.Matchers) == 0 || !c.Silence.EndsAt.After(c.Silence.StartsAt) {
			return fmt.Errorf("%w: a silence needs matchers and must end after it starts", ErrBadMatcher)
		}
	}
	if c.Expire != "" {
		n++
	}
	if n != 1 {
		return errors.New("alerting: a command sets exactly one of Ack, Silence and Expire")
	}
	st, err := openStore(ctx, db)
	if err != nil {
		return err
	}
	rec := commandRecord{Command: c}
	if c.Silence != nil {
		r := newSilenceRecord(*c.Silence)
		rec.Silence = &r
	}
	body, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	var id [8]byte
	rand.Read(id[:])
	_, err = st.db.ExecContext(ctx, `INSERT INTO alerting_commands (id, body, created_at) VALUES ($1, $2, $3)`,
		hex.EncodeToString(id[:]), string(body), time.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("alerting: queue command: %w", err)
	}
	return nil
}

// applyCommands applies and removes queued commands, oldest first.
func (m *Manager) applyCommands(ctx context.Context) error {
	type row struct{ id, body string }
	var rows []row
	rs, err := m.store.db.QueryContext(ctx, `SELECT id, body FROM alerting_commands ORDER BY created_at, id`)
	if err != nil {
		return fmt.Errorf("alerting: read commands: %w", err)
	}
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.id, &r.body); err != nil {
			rs.Close()
			return fmt.Errorf("alerting: read commands: %w", err)
		}
		rows = append(rows, r)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return fmt.Errorf("alerting: read commands: %w", err)
	}
	for _, r := range rows {
		var rec commandRecord
		err := json.Unmarshal([]byte(r.body), &rec)
		switch {
		case err != nil:
		case rec.Ack != "":
			err = m.Ack(ctx, rec.Ack, rec.By)
		case rec.Silence != nil:
			var si Silence
			if si, err = rec.Silence.silence(); err == nil {
				_, err = m.Silence(ctx, si)
			}
		case rec.Expire != "":
			err = m.Expire(ctx, rec.Expire)
		}
		if err != nil {
			m.log().Warn("alerting: command not applied", "command", r.id, "err", err)
		}
		if _, err := m.store.db.ExecContext(ctx, `DELETE FROM alerting_commands WHERE id = $1`, r.id); err != nil {
			return fmt.Errorf("alerting: remove applied command: %w", err)
		}
	}
	return nil
}
