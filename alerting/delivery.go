package alerting

import (
	"context"
	"time"
)

// Delivery describes the notification a Notifier is asked to send. The
// Manager puts it in the context it passes to Notify; read it with
// DeliveryFrom. A Notifier called outside a Manager (a test, "opsd alert
// test") finds none and should derive what it needs from the alerts.
type Delivery struct {
	// Key is stable across retries of this one notification and differs
	// between notifications: receivers that deduplicate use it
	// (webhook header Idempotency-Key, email Message-ID).
	Key string
	// GroupKey identifies the alert group across all its notifications
	// (firing, repeats, resolved): PagerDuty's dedup_key, a chat thread.
	GroupKey string
	// GroupLabels are the labels (a route's group_by) the group shares.
	GroupLabels Labels
	// Receiver names the route target or escalation step being notified.
	Receiver string
	// Level is the on-call escalation level (1, 2, 3), 0 outside escalation.
	Level int
	// Resolved is true when every alert in the notification has ended.
	Resolved bool
	// AckURL is a signed, expiring link that acknowledges the group (stops
	// escalation) when opened and confirmed; empty when the daemon serves
	// no acknowledge endpoint.
	AckURL string
	// AckExpires is when AckURL stops working.
	AckExpires time.Time
}

type deliveryKey struct{}

// WithDelivery returns a context carrying d, for Notify.
func WithDelivery(ctx context.Context, d Delivery) context.Context {
	return context.WithValue(ctx, deliveryKey{}, d)
}

// DeliveryFrom returns the Delivery in ctx, if any.
func DeliveryFrom(ctx context.Context) (Delivery, bool) {
	d, ok := ctx.Value(deliveryKey{}).(Delivery)
	return d, ok
}
