package alerting

import "errors"

// ErrPermanent marks a notification failure that retrying cannot fix.
// Notifiers wrap it (fmt.Errorf("...: %w", alerting.ErrPermanent)); the
// Manager stops retrying such a delivery and reports it.
var ErrPermanent = errors.New("permanent notification failure")
