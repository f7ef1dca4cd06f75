package httptrust

import (
	"time"
)

// EventKind says what an Event reports.
type EventKind int

const (
	// EventWarning is a load-time warning: an all_hosts rule, a single pin.
	EventWarning EventKind = iota
	// EventPinsExpired: the pins of a rule are past pins_expire and are not
	// enforced.
	EventPinsExpired
	// EventPinsExpiringSoon: pins_expire is within
	// Options.PinsExpiryWarning.
	EventPinsExpiringSoon
	// EventPinMismatchReported: a report-only rule (enforce = false) let a
	// pin mismatch through. Err holds the *VerifyError with the chain and
	// the expected pins.
	EventPinMismatchReported
	// EventAllHostsTrusted: a connection was trusted through an anchor of
	// the all_hosts rule (a TLS-inspection root), not a rule of its own
	// host. It is reported on every use.
	EventAllHostsTrusted
	// EventRefused: a connection was refused. Err holds the *VerifyError,
	// with the chain and the remedy: behind a client that flattens errors
	// to text (gRPC), this is where a program finds them.
	EventRefused
)

var eventKinds = map[EventKind]string{
	EventWarning: "warning", EventPinsExpired: "pins_expired", EventPinsExpiringSoon: "pins_expiring_soon",
	EventPinMismatchReported: "pin_mismatch_reported", EventAllHostsTrusted: "all_hosts_trusted", EventRefused: "refused",
}

// String returns the kind's stable snake_case code.
func (k EventKind) String() string { return codeOf(eventKinds, k, "EventKind") }

// An Event is a warning or report sent to Options.Observer.
type Event struct {
	Kind    EventKind
	Time    time.Time
	Host    string
	Rule    *Rule // the rule concerned, nil when none
	Message string
	Err     error
}
