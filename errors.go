package httptrust

import (
	"crypto/x509"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/httptrust/httptrust/certs"
)

// Reason is why a connection was refused. The list is fixed; tools branch on
// it (the CLI maps reasons to curl's exit codes).
type Reason int

const (
	ReasonUnknown            Reason = iota
	ReasonSelfSigned                // the leaf signs itself and no rule trusts it
	ReasonUnknownAuthority          // the chain ends at an authority no rule trusts
	ReasonIncompleteChain           // the server did not send an intermediate
	ReasonNameMismatch              // the certificate is not for this host
	ReasonExpired                   // outside its validity window: expired
	ReasonNotYetValid               // outside its validity window: not yet valid
	ReasonPinMismatch               // no pin matches the verified chain
	ReasonCertificateChanged        // not the certificate the rule or first use recorded
	ReasonClientCertRequired        // the server wants a client certificate
	ReasonProtocolMismatch          // no common TLS version or cipher suite
	ReasonNotTLS                    // the server does not speak TLS on this port
	ReasonInvalidChain              // a chain that breaks a rule of X.509 (usage, constraints, algorithm)
	ReasonBadConfig                 // a certificate or identity the rule names cannot be used
	ReasonDowngrade                 // a redirect from HTTPS to plain HTTP
	ReasonClientCertUnusable        // the client identity the rule names cannot be used
)

var reasonText = map[Reason]string{
	ReasonUnknown:            "unknown",
	ReasonSelfSigned:         "self-signed certificate",
	ReasonUnknownAuthority:   "unknown authority",
	ReasonIncompleteChain:    "incomplete chain",
	ReasonNameMismatch:       "name mismatch",
	ReasonExpired:            "certificate expired",
	ReasonNotYetValid:        "certificate not yet valid",
	ReasonPinMismatch:        "pin mismatch",
	ReasonCertificateChanged: "certificate changed",
	ReasonClientCertRequired: "client certificate required",
	ReasonProtocolMismatch:   "protocol or cipher mismatch",
	ReasonNotTLS:             "not a TLS server",
	ReasonInvalidChain:       "invalid chain",
	ReasonBadConfig:          "unusable trust configuration",
	ReasonDowngrade:          "redirect to plain HTTP",
	ReasonClientCertUnusable: "unusable client certificate",
}

// String returns the reason in words.
func (r Reason) String() string {
	if s, ok := reasonText[r]; ok {
		return s
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Code returns a stable snake_case name for JSON output.
func (r Reason) Code() string { return strings.NewReplacer(" ", "_", "-", "_").Replace(r.String()) }

// CertInfo describes one certificate as the server presented it.
type CertInfo struct {
	Subject     string            `json:"subject"`
	Issuer      string            `json:"issuer"`
	Names       []string          `json:"names,omitempty"` // DNS and IP SANs
	NotBefore   time.Time         `json:"not_before"`
	NotAfter    time.Time         `json:"not_after"`
	SHA256      string            `json:"sha256"`
	Pin         string            `json:"pin"`
	IsCA        bool              `json:"is_ca"`
	SelfSigned  bool              `json:"self_signed"`
	Certificate *x509.Certificate `json:"-"`
}

// maxNamesShown bounds the names kept per certificate in diagnostics.
const maxNamesShown = 20

// Describe summarises c for diagnostics. Names are truncated after 20.
func Describe(c *x509.Certificate) CertInfo {
	names := certNames(c)
	if len(names) > maxNamesShown {
		names = append(names[:maxNamesShown:maxNamesShown], fmt.Sprintf("... %d more", len(names)-maxNamesShown))
	}
	return CertInfo{
		Subject: c.Subject.String(), Issuer: c.Issuer.String(), Names: names,
		NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		SHA256: certs.CertFingerprint(c).String(), Pin: certs.SPKIPin(c).String(),
		IsCA: c.IsCA, SelfSigned: isSelfSigned(c), Certificate: c,
	}
}

// certNames lists the names a certificate covers: its SANs, or its common
// name when it has none (shown, though Go does not match it).
func certNames(c *x509.Certificate) []string {
	names := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = append(names, "CN="+c.Subject.CommonName+" (no SAN; not used for matching)")
	}
	return names
}

// isSelfSigned reports whether c is issued by itself with a valid signature.
func isSelfSigned(c *x509.Certificate) bool {
	if string(c.RawIssuer) != string(c.RawSubject) {
		return false
	}
	return c.CheckSignatureFrom(c) == nil || c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// VerifyError is a refused connection, explained. It is reachable with
// errors.As through *url.Error and net/http's wrapping.
type VerifyError struct {
	Host   string // the request's host, as compared
	Port   string // the request's port, "" when unknown
	Reason Reason
	// Rule is the effective rule that applied (its pattern, rule and the
	// file it came from); nil when no rule matched and the defaults did.
	Rule  *Effective
	Chain []CertInfo // as presented by the server, leaf first
	// Names are the names the leaf covers (for a name mismatch).
	Names []string
	// NotBefore, NotAfter and Now are the dates of an expiry problem.
	NotBefore, NotAfter, Now time.Time
	// ExpectedPins and SeenPins are set for a pin mismatch (seen pins are
	// those of the verified chain).
	ExpectedPins, SeenPins []certs.Pin
	// Detail says more in words; Fix is the exact command or rule change
	// that trusts the server safely, or what to do.
	Detail string
	Fix    string
	Err    error // the underlying error, if any

	cipher bool // a protocol mismatch on cipher suites, not versions
}

func (e *VerifyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "httptrust: %s: %s", e.hostPort(), e.Reason)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.Reason == ReasonPinMismatch {
		b.WriteString("\n  Peer certificate chain:")
		for _, c := range e.Chain {
			fmt.Fprintf(&b, "\n    %s: %s", c.Pin, c.Subject)
		}
		b.WriteString("\n  Pinned certificates for " + e.Host + ":")
		for _, p := range e.ExpectedPins {
			b.WriteString("\n    " + p.String())
		}
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

// URL returns the https URL of the refused server, for fix commands.
func (e *VerifyError) URL() string {
	if e.Port == "" || e.Port == "443" {
		return "https://" + hostForURL(e.Host) + "/"
	}
	return "https://" + net.JoinHostPort(e.Host, e.Port) + "/"
}

func hostForURL(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}
