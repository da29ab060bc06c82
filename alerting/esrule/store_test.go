package esrule

import (
	"context"
	"testing"
	"time"

	"github.com/opskit/opskit/sqlstore"
	"github.com/opskit/opskit/sqlstore/sqlstoretest"
)

func TestStore(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := db.Version(ctx, "esrule"); err != nil || v != 1 {
			t.Fatalf("schema version %d, %v", v, err)
		}
		if _, ok, err := s.Resume(ctx, "r"); err != nil || ok {
			t.Fatalf("empty store: ok=%v err=%v", ok, err)
		}
		end := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
		until := end.Add(time.Hour)
		if err := s.Save(ctx, "r", end, map[string]Silence{"10.0.0.1": {Until: until, Exponent: 2}, "old": {Until: end}}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(ctx, "r", end.Add(time.Minute), map[string]Silence{"10.0.0.2": {Until: until}}, end.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Resume(ctx, "r")
		if err != nil || !ok || !got.Equal(end.Add(time.Minute)) {
			t.Fatalf("resume %v %v %v", got, ok, err)
		}
		sil, err := s.Silences(ctx, "r")
		if err != nil || len(sil) != 2 || !sil["10.0.0.1"].Until.Equal(until) || sil["10.0.0.1"].Exponent != 2 {
			t.Fatalf("silences %+v %v", sil, err)
		}
		// Reopening migrates nothing and keeps the data.
		s2, err := OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s2.Resume(ctx, "r"); !ok {
			t.Fatal("resume point lost on reopen")
		}
	})
}
