package httptrust

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/httptrust/httptrust/certs"
)

// Reason is why a connection was refused. The list is fixed; tools branch on
// it (the CLI maps reasons to curl's exit codes) and alert on its codes.
type Reason int

const (
	// ReasonUnknown is the zero value; no refusal carries it.
	ReasonUnknown Reason = iota
	// ReasonSelfSigned: the leaf signs itself and no rule trusts it.
	ReasonSelfSigned
	// ReasonUnknownAuthority: the chain ends at an authority no rule
	// trusts for this host.
	ReasonUnknownAuthority
	// ReasonIncompleteChain: the server did not send an intermediate.
	ReasonIncompleteChain
	// ReasonNameMismatch: the certificate is not for this host.
	ReasonNameMismatch
	// ReasonExpired: a certificate is past the end of its validity window.
	ReasonExpired
	// ReasonNotYetValid: a certificate's validity window has not begun.
	ReasonNotYetValid
	// ReasonPinMismatch: no pin matches the verified chain.
	ReasonPinMismatch
	// ReasonCertificateChanged: not the certificate the rule trusts
	// exactly, or not the key recorded on first use (see
	// VerifyError.FirstUse).
	ReasonCertificateChanged
	// ReasonClientCertRequired: the server wants a client certificate it
	// was not given, or refused the one it was given.
	ReasonClientCertRequired
	// ReasonProtocolMismatch: no common TLS version or cipher suite.
	ReasonProtocolMismatch
	// ReasonNotTLS: the server does not speak TLS on this port.
	ReasonNotTLS
	// ReasonInvalidChain: the chain breaks a rule of X.509 that no trust
	// setting lifts (usage, constraints, algorithm).
	ReasonInvalidChain
	// ReasonBadConfig: a certificate or store the rule needs cannot be used.
	ReasonBadConfig
	// ReasonDowngrade: a redirect from HTTPS to plain HTTP.
	ReasonDowngrade
	// ReasonClientCertUnusable: the client identity the rule names cannot
	// be used.
	ReasonClientCertUnusable
	// ReasonFirstUseRefused: Options.OnFirstUse refused a first contact.
	ReasonFirstUseRefused
)

// reasons holds each reason's stable code (for JSON, metrics and alerts)
// and its words. Codes never change; words may.
var reasons = map[Reason]struct{ code, text string }{
	ReasonUnknown:            {"unknown", "unknown"},
	ReasonSelfSigned:         {"self_signed_certificate", "self-signed certificate"},
	ReasonUnknownAuthority:   {"unknown_authority", "unknown authority"},
	ReasonIncompleteChain:    {"incomplete_chain", "incomplete chain"},
	ReasonNameMismatch:       {"name_mismatch", "name mismatch"},
	ReasonExpired:            {"certificate_expired", "certificate expired"},
	ReasonNotYetValid:        {"certificate_not_yet_valid", "certificate not yet valid"},
	ReasonPinMismatch:        {"pin_mismatch", "pin mismatch"},
	ReasonCertificateChanged: {"certificate_changed", "certificate changed"},
	ReasonClientCertRequired: {"client_certificate_required", "client certificate required"},
	ReasonProtocolMismatch:   {"protocol_or_cipher_mismatch", "protocol or cipher mismatch"},
	ReasonNotTLS:             {"not_a_tls_server", "not a TLS server"},
	ReasonInvalidChain:       {"invalid_chain", "invalid chain"},
	ReasonBadConfig:          {"unusable_trust_configuration", "unusable trust configuration"},
	ReasonDowngrade:          {"redirect_to_plain_http", "redirect to plain HTTP"},
	ReasonClientCertUnusable: {"unusable_client_certificate", "unusable client certificate"},
	ReasonFirstUseRefused:    {"first_use_refused", "first use refused"},
}

// Reasons lists every reason a refusal can carry, in order.
func Reasons() []Reason {
	out := make([]Reason, 0, len(reasons)-1)
	for r := ReasonSelfSigned; r <= ReasonFirstUseRefused; r++ {
		out = append(out, r)
	}
	return out
}

// String returns the reason in words.
func (r Reason) String() string {
	if s, ok := reasons[r]; ok {
		return s.text
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// reasonCodes is the code column of reasons.
var reasonCodes = func() map[Reason]string {
	m := make(map[Reason]string, len(reasons))
	for r, s := range reasons {
		m[r] = s.code
	}
	return m
}()

// Code returns the reason's stable snake_case code, as JSON output and
// metrics carry it.
func (r Reason) Code() string { return codeOf(reasonCodes, r, "reason") }

// MarshalText implements encoding.TextMarshaler with the reason's code.
func (r Reason) MarshalText() ([]byte, error) { return marshalCode(reasonCodes, r, "reason") }

// UnmarshalText implements encoding.TextUnmarshaler: it reads a code.
func (r *Reason) UnmarshalText(b []byte) (err error) {
	*r, err = unmarshalCode(reasonCodes, b, "reason")
	return err
}

// MayBeAttack reports whether a refusal for reason r, under eff, may be an
// attack rather than a server that is not trusted yet: a pin mismatch or a
// changed certificate always; a name mismatch, an expiry, an unknown or
// self-signed authority, an incomplete or invalid chain, or a server that
// answers without TLS or refuses every allowed TLS version, when a rule
// for the host already trusts something (see Effective.TrustsSomething). Nothing
// from the failing connection may then go into a remedy, and nothing
// replaces that trust without a fingerprint obtained out of band.
func MayBeAttack(r Reason, eff *Effective) bool {
	switch r {
	case ReasonPinMismatch, ReasonCertificateChanged:
		return true
	case ReasonNameMismatch, ReasonExpired, ReasonNotYetValid, ReasonUnknownAuthority,
		ReasonSelfSigned, ReasonIncompleteChain, ReasonInvalidChain,
		// Unauthenticated bytes (a plain answer, a protocol_version
		// alert) where TLS is trusted: advice to lower it is a downgrade.
		ReasonNotTLS, ReasonProtocolMismatch:
		return eff.TrustsSomething()
	}
	return false
}

// VerifyError is a refused connection, explained. It is reachable with
// errors.As through *url.Error and net/http's wrapping.
type VerifyError struct {
	Host   string // the request's host, as compared
	Port   string // the request's port, "" when unknown
	Reason Reason
	// Rule is the effective rule that applied (its pattern, rule and the
	// file it came from); nil when no rule matched and the defaults did.
	Rule *Effective
	// Chain is what the server presented, leaf first, as it presented it.
	Chain []certs.Info
	// Names are the names the leaf covers (for a name mismatch).
	Names []string
	// NotBefore, NotAfter and Now are the dates of an expiry problem; Now
	// is the local clock at the refusal.
	NotBefore, NotAfter, Now time.Time
	// ExpectedPins and SeenPins are set for a pin mismatch (seen pins are
	// those of the verified chain) and a key changed since first use.
	ExpectedPins, SeenPins []certs.Pin
	// FirstUse is the first-use record a changed key contradicts.
	FirstUse *TOFURecord
	// Detail says more in words, on one line.
	Detail string
	// CipherMismatch says, for ReasonProtocolMismatch, that the TLS
	// versions were agreed and the rest was not: the cipher suites, the
	// key exchange groups or the signature algorithms (the server's alert
	// does not say which).
	CipherMismatch bool
	// Remedy is what resolves the refusal safely, as data.
	Remedy Remedy
	Err    error // the underlying error, if any

	exactLeaf bool // the presented leaf is one of the rule's exact certificates
}

// Error returns one line: the host, the reason and the detail. The pin
// listing OkHttp prints is PinReport.
func (e *VerifyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "httptrust: %s: %s", e.hostPort(), e.Reason)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

// PinReport returns, for a pin mismatch, the chain's pins and the expected
// ones as OkHttp's CertificatePinner prints them, one per line; "" for
// other reasons.
func (e *VerifyError) PinReport() string {
	if e.Reason != ReasonPinMismatch {
		return ""
	}
	var b strings.Builder
	b.WriteString("Certificate pinning failure!\n  Peer certificate chain:")
	for _, c := range e.Chain {
		fmt.Fprintf(&b, "\n    %s: %s", c.Pin, c.Subject)
	}
	b.WriteString("\n  Pinned certificates for " + e.Host + ":")
	for _, p := range e.ExpectedPins {
		b.WriteString("\n    " + p.String())
	}
	return b.String()
}

func (e *VerifyError) Unwrap() error { return e.Err }

func (e *VerifyError) hostPort() string {
	if e.Port == "" {
		return e.Host
	}
	return net.JoinHostPort(e.Host, e.Port)
}

// MayBeAttack reports whether the refusal may be an attack (see the
// function MayBeAttack). A leaf that is one of the rule's exact
// certificates, refused for its own name or dates, is not: no one else can
// present it.
func (e *VerifyError) MayBeAttack() bool {
	switch e.Reason {
	case ReasonNameMismatch, ReasonExpired, ReasonNotYetValid:
		if e.exactLeaf {
			return false
		}
	}
	return MayBeAttack(e.Reason, e.Rule)
}

// URL returns the https URL of the refused server, for remedy commands;
// for a refused redirect to plain HTTP (ReasonDowngrade), the http URL it
// led to.
func (e *VerifyError) URL() string {
	scheme, port := "https", "443"
	if e.Reason == ReasonDowngrade {
		scheme, port = "http", "80"
	}
	if e.Port == "" || e.Port == port {
		return scheme + "://" + hostForURL(e.Host) + "/"
	}
	return scheme + "://" + net.JoinHostPort(e.Host, e.Port) + "/"
}

func hostForURL(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}
