package httptrust

import (
	"time"

	"github.com/httptrust/httptrust/certs"
)

// A PinSet is the pins one rule sets, with that rule's pins_expire and
// enforce: the three are inherited together, never mixed from two rules.
// It is immutable.
type PinSet struct {
	Pins []certs.Pin
	// Expire is the last day on which the pins are enforced (its date, in
	// the clock's time zone); zero means they never expire.
	Expire time.Time
	// Enforce is false for a report-only pin set: a mismatch is reported
	// and the connection allowed. It relaxes pins only.
	Enforce bool
	// Rule is the rule that set the pins.
	Rule *Rule
}

// PinState is what a pin set does at a given time.
type PinState int

const (
	// PinsEnforced: a connection whose verified chain matches no pin is
	// refused.
	PinsEnforced PinState = iota
	// PinsExpiringSoon: enforced, and pins_expire falls within the
	// warning period (Options.PinsExpiryWarning).
	PinsExpiringSoon
	// PinsReportOnly: enforce = false; a mismatch is reported, not refused.
	PinsReportOnly
	// PinsExpired: past pins_expire; the pins are not checked, and every
	// run warns.
	PinsExpired
)

var pinStateCodes = map[PinState]string{
	PinsEnforced: "enforced", PinsExpiringSoon: "expiring_soon",
	PinsReportOnly: "report_only", PinsExpired: "expired",
}

// String returns the state's stable snake_case code.
func (s PinState) String() string { return codeOf(pinStateCodes, s, "PinState") }

// MarshalText implements encoding.TextMarshaler with the state's code.
func (s PinState) MarshalText() ([]byte, error) { return marshalCode(pinStateCodes, s, "pin state") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *PinState) UnmarshalText(b []byte) (err error) {
	*s, err = unmarshalCode(pinStateCodes, b, "pin state")
	return err
}

// End returns the first instant at which the pins no longer apply: the
// start of the day after Expire, in loc. It is the one date rule of pin
// expiry. Zero when the pins never expire.
func (s *PinSet) End(loc *time.Location) time.Time {
	if s.Expire.IsZero() {
		return time.Time{}
	}
	y, m, d := s.Expire.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

// Active reports whether the pins are checked at now: before End.
func (s *PinSet) Active(now time.Time) bool {
	end := s.End(now.Location())
	return end.IsZero() || now.Before(end)
}

// State returns what the pin set does at now; soon is the warning period
// before pins_expire (0 or less: no warning).
func (s *PinSet) State(now time.Time, soon time.Duration) PinState {
	switch {
	case !s.Active(now):
		return PinsExpired
	case !s.Enforce:
		return PinsReportOnly
	case soon > 0 && !s.Active(now.Add(soon)):
		return PinsExpiringSoon
	}
	return PinsEnforced
}

// Single reports whether the set has one pin and no backup: a key rotation
// will lock its hosts out.
func (s *PinSet) Single() bool { return len(s.Pins) == 1 }

// Has reports whether p is one of the set's pins.
func (s *PinSet) Has(p certs.Pin) bool {
	for _, q := range s.Pins {
		if q == p {
			return true
		}
	}
	return false
}

// PinState returns the state of the pin set at now, with the policy's
// warning period (Options.PinsExpiryWarning).
func (p *Policy) PinState(s *PinSet, now time.Time) PinState {
	return s.State(now, p.pinsWarning())
}

func (p *Policy) pinsWarning() time.Duration {
	switch w := p.opts.PinsExpiryWarning; {
	case w < 0:
		return 0
	case w == 0:
		return DefaultPinsExpiryWarning
	default:
		return w
	}
}

// PinSets returns the pin set of every rule of p that sets pins, in rule
// order.
func (p *Policy) PinSets() []*PinSet {
	if p == nil {
		return nil
	}
	var out []*PinSet
	_, compiled := p.ruleList()
	for _, c := range compiled {
		if c.pinSet != nil {
			out = append(out, c.pinSet)
		}
	}
	return out
}
