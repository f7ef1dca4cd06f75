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
	// EventClientCertRequested: a server asked for a client certificate
	// in a handshake. Issuers lists the issuers it accepts, Sent whether a
	// certificate was sent: a server that asks, gets none and then answers
	// 400 or 403 is the most common mutual-TLS failure, and nothing else
	// says it.
	EventClientCertRequested
)

var eventKinds = map[EventKind]string{
	EventWarning: "warning", EventPinsExpired: "pins_expired", EventPinsExpiringSoon: "pins_expiring_soon",
	EventPinMismatchReported: "pin_mismatch_reported", EventAllHostsTrusted: "all_hosts_trusted", EventRefused: "refused",
	EventClientCertRequested: "client_cert_requested",
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
	// Issuers are, for EventClientCertRequested, the distinguished names
	// of the issuers the server accepts (empty when it names none).
	Issuers []string
	// Sent reports, for EventClientCertRequested, whether a client
	// certificate was sent.
	Sent bool
}
