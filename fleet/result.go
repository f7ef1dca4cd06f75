package fleet

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"time"

	"github.com/httptrust/httptrust"
)

// Module says what a probe does.
type Module string

const (
	// ModuleTLS completes a TLS handshake verified under the policy and
	// sends nothing.
	ModuleTLS Module = "tls"
	// ModuleHTTPS sends a GET through the policy's Transport (every hop
	// of a redirect judged for its own host) and wants a 2xx answer.
	ModuleHTTPS Module = "https"
)

// ParseModule returns the module named s.
func ParseModule(s string) (Module, bool) {
	switch Module(s) {
	case ModuleTLS, ModuleHTTPS:
		return Module(s), true
	}
	return "", false
}

// Failure codes: why a probe failed when the policy did not refuse it.
// With the codes of httptrust.Reason (a refusal) they are every value of
// Result.Reason; both lists are fixed, and alerts may match on them.
const (
	FailDNS        = "dns_failed"           // the name does not resolve
	FailConnect    = "connection_failed"    // no TCP connection (refused, unreachable)
	FailTimeout    = "timeout"              // the probe ran out of time
	FailTLS        = "tls_handshake_failed" // the handshake failed for no reason the policy names
	FailHTTP       = "http_failed"          // the request failed after TLS (a reset, a bad answer)
	FailHTTPStatus = "http_status"          // the final answer is not 2xx
	FailBadTarget  = "bad_target"           // the policy cannot judge the target (a host it refuses to parse)
)

// FailureCodes lists the failure codes, in order.
func FailureCodes() []string {
	return []string{FailDNS, FailConnect, FailTimeout, FailTLS, FailHTTP, FailHTTPStatus, FailBadTarget}
}

// FirstUseState is where a host under a tofu rule stands with its
// first-use record.
type FirstUseState string

const (
	// FirstUseKnown: the key is the one recorded.
	FirstUseKnown FirstUseState = "known"
	// FirstUseFirstContact: no key is recorded and the probe recorded
	// none (Prober.Record is nil): not trusted.
	FirstUseFirstContact FirstUseState = "first_contact"
	// FirstUseRecorded: no key was recorded; the probe recorded this one
	// after its handshake completed.
	FirstUseRecorded FirstUseState = "recorded"
	// FirstUseChanged: the key is not the one recorded (refused).
	FirstUseChanged FirstUseState = "changed"
)

// FirstUseStates lists the states, in order.
func FirstUseStates() []FirstUseState {
	return []FirstUseState{FirstUseKnown, FirstUseFirstContact, FirstUseRecorded, FirstUseChanged}
}

// Pins is what the pin set of the deciding rule did in a probe.
type Pins struct {
	// State is the pin set's state at the probe (enforced, expiring soon,
	// report-only, expired).
	State httptrust.PinState
	// End is the first instant the pins no longer apply (the day after
	// pins_expire); zero when they never expire.
	End time.Time
	// Matched says whether a pin matched the verified chain; nil when no
	// chain was verified (a refusal for another reason).
	Matched *bool
	// Rule is the rule that set the pins.
	Rule *httptrust.Rule
}

// Phases are the durations of a probe's steps, summed over redirects.
type Phases struct {
	Resolve, Connect, TLS, Processing, Transfer time.Duration
}

// HTTP is what the https module learned of the final answer.
type HTTP struct {
	Status        int    // 0 when no answer came
	Proto         string // "HTTP/1.1", "HTTP/2.0"
	Redirects     int
	ContentLength int64 // as the answer says; -1 when unknown
	BodyBytes     int64 // read (at most MaxBody)
	TLS           bool  // the final answer came over TLS
}

// MaxBody bounds the body the https module reads.
const MaxBody = 16 << 20

// Result is one probe's outcome.
type Result struct {
	Target Target
	Module Module
	Start  time.Time
	// Duration is the probe's wall time.
	Duration time.Duration

	// OK says the probe succeeded: the policy trusted the connection
	// (and, for https, every hop) and the answer was 2xx.
	OK bool
	// Reason is "" when OK; else a httptrust.Reason code when the policy
	// refused (Refusal is set), or one of the failure codes.
	Reason string
	// Err is why the probe failed; nil when OK.
	Err error
	// Refusal is the policy's refusal, with its chain and remedy.
	Refusal *httptrust.VerifyError

	// Host and Port are the server the TLS facts below are about: the
	// target's, or for https the final hop's (or the refused hop's).
	Host, Port string
	// Effective is the rule that decided for Host and Port.
	Effective *httptrust.Effective
	// Trusted is the policy's verdict on the connection, when it gave one
	// (Judged).
	Trusted, Judged bool
	// Chain is what the server presented, leaf first, also when refused.
	Chain []*x509.Certificate
	// Verified are the chains the policy verified (ending at the anchor);
	// nil when refused.
	Verified [][]*x509.Certificate
	// TLSVersion and CipherSuite are the negotiated ones; 0 when the
	// handshake did not get that far (or the refusal does not say).
	TLSVersion, CipherSuite uint16
	// Pins is set when the deciding rule has a pin set.
	Pins *Pins
	// FirstUse is set when the deciding rule trusts on first use.
	FirstUse FirstUseState

	// IPProtocol is 4 or 6 for the address connected to; 0 when none.
	IPProtocol int
	Phases     Phases
	// HTTP is set for the https module.
	HTTP *HTTP

	// Log is the probe's log, when asked for (Prober.ProbeLog).
	Log []string
	// commands marks the lines of Log that are a command to type, the
	// program's own: the debug answer prints them whole.
	commands map[int]bool
}

// NotAfter returns the earliest expiry in the presented chain; zero
// without a chain.
func (r *Result) NotAfter() time.Time {
	var t time.Time
	for _, c := range r.Chain {
		if t.IsZero() || c.NotAfter.Before(t) {
			t = c.NotAfter
		}
	}
	return t
}

// LastChainExpiry returns, over the verified chains, the latest of each
// chain's earliest expiry (blackbox_exporter's last chain expiry); zero
// when nothing was verified.
func (r *Result) LastChainExpiry() time.Time {
	var last time.Time
	for _, chain := range r.Verified {
		var earliest time.Time
		for _, c := range chain {
			if earliest.IsZero() || c.NotAfter.Before(earliest) {
				earliest = c.NotAfter
			}
		}
		if earliest.After(last) {
			last = earliest
		}
	}
	return last
}

// BestChain returns the verified chain whose earliest expiry is latest
// (the one LastChainExpiry reports), or nil.
func (r *Result) BestChain() []*x509.Certificate {
	var best []*x509.Certificate
	var last time.Time
	for _, chain := range r.Verified {
		var earliest time.Time
		for _, c := range chain {
			if earliest.IsZero() || c.NotAfter.Before(earliest) {
				earliest = c.NotAfter
			}
		}
		if best == nil || earliest.After(last) {
			best, last = chain, earliest
		}
	}
	return best
}

// Refused reports whether the policy refused the connection.
func (r *Result) Refused() bool { return r.Refusal != nil }

// TLSVersionName returns the version as blackbox_exporter names it
// ("TLS 1.3"), "" when unknown.
func (r *Result) TLSVersionName() string {
	switch r.TLSVersion {
	case 0:
		return ""
	case tls.VersionTLS10:
		return "TLS 1.0"
	case tls.VersionTLS11:
		return "TLS 1.1"
	case tls.VersionTLS12:
		return "TLS 1.2"
	case tls.VersionTLS13:
		return "TLS 1.3"
	}
	return "unknown"
}

// RuleWhere returns where the deciding rule is written ("corp.toml:3"),
// "defaults" when no rule matched, "" when no rule was looked up.
func (r *Result) RuleWhere() string {
	if r.Effective == nil {
		return ""
	}
	return r.Effective.Rule.Where()
}

// RulePattern returns the deciding rule's pattern ("**.corp.example",
// "all_hosts"), "" for the defaults.
func (r *Result) RulePattern() string {
	if r.Effective == nil {
		return ""
	}
	return r.Effective.Pattern
}

// Remedy returns what resolves a refusal safely, as data; the zero Remedy
// when not refused.
func (r *Result) Remedy() httptrust.Remedy {
	if r.Refusal == nil {
		return httptrust.Remedy{}
	}
	return r.Refusal.Remedy
}

// statusOK is the https module's success: 2xx, as blackbox_exporter's
// default.
func statusOK(code int) bool { return code >= http.StatusOK && code < http.StatusMultipleChoices }
