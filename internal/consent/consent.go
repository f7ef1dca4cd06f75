// Package consent decides what `httptrust fetch` may write for a host: the
// one place where consent to trust a server is judged.
//
// The rule: a person may consent to trust what a server shows (by a y/N
// answer or --yes) only where that replaces no trust an attacker could
// defeat. When a rule for the host already trusts something (anchors, exact
// certificates, pins, a first-use key) and the server now presents a leaf
// that trust does not accept and that is not one of the rule's exact
// certificates, the failure may be an attack, whatever its reason (a
// changed certificate, another CA, a name mismatch, an expiry): only a
// fingerprint obtained out of band may then write, never a yes. Widening
// the scope beyond the URL's host (--host) takes a fingerprint too: the
// new pattern may replace or shadow what other hosts trust today. And a
// certificate that can be trusted only with an allowance (a name it does
// not have, dates it is outside of) cannot be trusted beyond the URL's
// host at all: a rule may allow that for one exact host only. Decide says
// so before anyone is asked, so that no command is printed that could
// only fail.
package consent

import (
	"crypto/x509"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

// Input is what fetch knows when it asks for consent.
type Input struct {
	// Verdict is how the store judges the chain the server presents now.
	Verdict *httptrust.Verdict
	// Write is the certificate fetch would write (the leaf, or a CA of its
	// chain); a fingerprint is compared with it.
	Write *x509.Certificate
	// Fingerprint is --fingerprint, nil when not given.
	Fingerprint *certs.Fingerprint
	// Yes is --yes.
	Yes bool
	// Interactive says a person can answer a prompt.
	Interactive bool
	// Widening says --host names a pattern other than the URL's host.
	Widening bool
	// Relaxed says Write is trusted only with allow_name_mismatch or
	// allow_expired, which a rule may hold only for one exact host.
	Relaxed bool
}

// Outcome is what Decide says.
type Outcome int

const (
	// ByFingerprint: --fingerprint matches the certificate to write.
	ByFingerprint Outcome = iota
	// ByYes: --yes, for a first trust of the URL's host.
	ByYes
	// Ask: ask the person at the prompt.
	Ask
	// NeedFingerprint: the host already trusts something the server's leaf
	// is not; only a fingerprint obtained out of band may write.
	NeedFingerprint
	// WrongFingerprint: --fingerprint is not that of the certificate to
	// write.
	WrongFingerprint
	// NeedFingerprintToWiden: --host widens the scope; neither --yes nor the
	// prompt is enough.
	NeedFingerprintToWiden
	// NoConsent: not a terminal, and neither --yes nor --fingerprint.
	NoConsent
	// ExactHostOnly: --host widens the scope, and the certificate to write
	// needs an allowance that a rule may hold only for one exact host:
	// nothing can write it for that scope, whatever the consent.
	ExactHostOnly
)

var outcomeNames = map[Outcome]string{
	ByFingerprint: "by_fingerprint", ByYes: "by_yes", Ask: "ask", NeedFingerprint: "need_fingerprint",
	WrongFingerprint: "wrong_fingerprint", NeedFingerprintToWiden: "need_fingerprint_to_widen", NoConsent: "no_consent",
	ExactHostOnly: "exact_host_only",
}

func (o Outcome) String() string { return outcomeNames[o] }

// Granted reports whether the outcome lets fetch write without asking.
func (o Outcome) Granted() bool { return o == ByFingerprint || o == ByYes }

// Protected reports whether the host's current trust forbids consent by a
// yes: a rule for the host trusts something and the presented chain is
// refused under it, unless the leaf is one of the rule's exact
// certificates refused only for its own name or dates (a device whose
// trusted certificate expired: allowing that is no replacement).
func Protected(v *httptrust.Verdict) bool {
	if v == nil || !v.Effective.TrustsSomething() || v.Trusted() {
		return false
	}
	switch v.Err.Reason {
	case httptrust.ReasonNameMismatch, httptrust.ReasonExpired, httptrust.ReasonNotYetValid:
		return !v.Exact
	}
	return true
}

// Decide says how fetch may go on. A wrong fingerprint is said first (it
// is what the person must fix before anything else), then a write that no
// consent can make (ExactHostOnly).
func Decide(in Input) Outcome {
	right := in.Fingerprint != nil && *in.Fingerprint == certs.CertFingerprint(in.Write)
	switch {
	case in.Fingerprint != nil && !right:
		return WrongFingerprint
	case in.Widening && in.Relaxed:
		return ExactHostOnly
	case right:
		return ByFingerprint
	}
	switch {
	case Protected(in.Verdict):
		return NeedFingerprint
	case in.Widening:
		// A pattern beyond the URL's host may replace or shadow what other
		// hosts trust today; no yes, typed or given, may do that.
		return NeedFingerprintToWiden
	case in.Yes:
		return ByYes
	case in.Interactive:
		return Ask
	}
	return NoConsent
}

// ByPrompt reports whether a yes at the prompt may grant what the second
// answer of a relaxation (a name mismatch, an expiry) asks: never where the
// host is protected.
func ByPrompt(v *httptrust.Verdict) bool { return !Protected(v) }
