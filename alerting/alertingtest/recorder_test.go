package alertingtest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/alertingtest"
)

func TestRecorderFailNextAndBlock(t *testing.T) {
	var r alertingtest.Recorder
	perm := errors.Join(errors.New("gone"), alerting.ErrPermanent)
	r.FailNext(2, perm)
	a := alertingtest.FiringAlert()
	for i := range 2 {
		if err := r.Notify(context.Background(), a); !errors.Is(err, alerting.ErrPermanent) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	release := make(chan struct{})
	r.Block(release)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Notify(ctx, a); !errors.Is(err, context.Canceled) {
		t.Fatalf("blocked call with cancelled context: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Notify(context.Background(), a) }()
	if err := r.WaitAttempts(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("released call: %v", err)
	}
	notes, err := r.Wait(context.Background(), 1)
	if err != nil || len(notes) != 1 || notes[0].HasDelivery || r.Attempts() != 4 {
		t.Fatalf("notes %+v attempts %d err %v", notes, r.Attempts(), err)
	}
}
