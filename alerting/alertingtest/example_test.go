package alertingtest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/opskit/opskit/alerting"
	"github.com/opskit/opskit/alerting/alertingtest"
)

func ExampleRecorder() {
	var r alertingtest.Recorder
	back := make(chan struct{})
	r.FailUntil(back) // the receiver is down until back is closed

	ctx := alerting.WithDelivery(context.Background(), alerting.Delivery{Key: "n-1", Level: 1})
	a := alertingtest.FiringAlert()
	err := r.Notify(ctx, a)
	fmt.Println(errors.Is(err, alertingtest.ErrInjected), errors.Is(err, alerting.ErrPermanent))

	close(back)
	fmt.Println(r.Notify(ctx, a))
	notes, _ := r.Wait(context.Background(), 1)
	fmt.Println(len(notes), notes[0].Delivery.Key, notes[0].Alerts[0].Name(), r.Attempts())
	// Output:
	// true false
	// <nil>
	// 1 n-1 DiskFull 2
}
