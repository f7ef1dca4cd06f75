package httptrust

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/httptrust/httptrust/certs"
)

// A Rule says how the hosts it names are trusted. Rules are written in TOML
// rule files of a store (see LoadDir) or built in code (see New).
//
// Fields left unset (nil pointers, nil slices, empty strings) are inherited
// from the next less specific rule that matches the same host, and so on
// down to the defaults: the system roots, as a plain Go client. An empty but
// non-nil slice is set: Pins: []string{} lifts the pins of a wider rule.
//
// The fields that name files (Anchors, Certificates, Intermediates,
// ClientCertificate, ClientKey, ClientPasswordFile) are the rule file's
// keys; each has a twin that gives the value in code (AnchorCerts,
// CertificateCerts, IntermediateCerts, ClientIdentity). A rule may use
// either or both. docs/rule-file.md describes every key.
type Rule struct {
	// Hosts are the host patterns the rule applies to (see ParsePattern).
	Hosts []string
	// AllHosts makes the rule apply to every host, below every pattern. It
	// exists for a corporate TLS-inspection root and is always reported.
	AllHosts bool

	// Anchors names CA certificate files trusted to issue for these hosts
	// only; AnchorCerts gives them in code. Full path validation applies.
	Anchors     []string
	AnchorCerts []*x509.Certificate
	// Certificates names exact certificates trusted for these hosts (a
	// self-signed device); CertificateCerts gives them in code. The
	// presented leaf must be byte-identical; name and validity are still
	// checked unless AllowNameMismatch or AllowExpired says otherwise.
	Certificates     []string
	CertificateCerts []*x509.Certificate
	// Intermediates names CA certificate files offered to path building
	// for these hosts, for a server that does not send its intermediate;
	// IntermediateCerts gives them in code. They are never trusted by
	// themselves: a chain must still end at an anchor (or a system root
	// where those are on), so a rule with intermediates and nothing to
	// verify against trusts nothing.
	Intermediates     []string
	IntermediateCerts []*x509.Certificate

	// SystemRoots says whether public CAs may also vouch for these hosts.
	// Unset, it is false when the effective rule has anchors or
	// certificates, and true otherwise.
	SystemRoots *bool

	// Pins are SPKI SHA-256 pins in OkHttp ("sha256/<b64>"), curl
	// ("sha256//<b64>") or HPKP ("pin-sha256=\"<b64>\"") form. One must
	// match a certificate of the verified chain. Pins, PinsExpire and
	// Enforce are one pin set (see PinSet): a rule that sets pins starts
	// with its own expiry and enforcement, never a wider rule's.
	Pins []string
	// PinsExpire is the last day on which pins are enforced; after it they
	// are ignored and every verification warns. Zero means never. Only in
	// a rule that sets Pins.
	PinsExpire time.Time
	// Enforce set to false makes pin mismatches report-only. It never
	// relaxes chain or name checks. Unset means true. Only in a rule that
	// sets Pins.
	Enforce *bool
	// TOFU records the leaf's key on first contact with host:port and
	// refuses a different key later.
	TOFU *bool
	// FetchIntermediates allows fetching a missing intermediate named by the
	// leaf (AIA) when the chain does not verify.
	FetchIntermediates *bool

	// AllowNameMismatch and AllowExpired relax an exact certificate's name
	// and validity checks. Only in a rule with Certificates on exact
	// host or IP patterns.
	AllowNameMismatch bool
	AllowExpired      bool
	// ServerName verifies the certificate as this name (a device reached by
	// IP). Only with Anchors or Certificates, on exact host or IP patterns.
	ServerName string
	// MinTLS is the lowest TLS version allowed: "1.0", "1.1", "1.2" or
	// "1.3". Unset means TLS 1.2.
	MinTLS string

	// ClientCertificate and ClientKey name a client identity for mutual
	// TLS: a PEM certificate and key, or a PKCS#12 file (ClientKey empty).
	// The password comes from the environment variable ClientPasswordEnv or
	// the file ClientPasswordFile, never from the rule. ClientIdentity gives
	// the identity in code. It is offered only to the hosts of this rule.
	ClientCertificate  string
	ClientKey          string
	ClientPasswordEnv  string
	ClientPasswordFile string
	ClientIdentity     *tls.Certificate

	// File and Line say where the rule was written; the loader sets them.
	File string
	Line int
	// lines holds the line of each field, for errors.
	lines []fieldLine
	// override marks a rule given to Policy.Override or Isolate: it lives
	// in no source a remedy could change.
	override bool
}

type fieldLine struct {
	field string
	line  int
}

// Where returns "file:line", or "code" for a rule built in code.
func (r *Rule) Where() string {
	switch {
	case r == nil:
		return "defaults"
	case r.File == "":
		return "code"
	case r.Line == 0:
		return r.File
	}
	return fmt.Sprintf("%s:%d", r.File, r.Line)
}

// RuleError reports a rule that cannot be loaded.
type RuleError struct {
	File  string // rule file, "" for a rule built in code
	Line  int    // 1-based line, 0 when unknown
	Field string // the offending field, "" for the whole rule
	Err   error
}

func (e *RuleError) Error() string {
	where := e.File
	if where == "" {
		where = "rule"
	}
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", where, e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("httptrust: %s: %s: %v", where, e.Field, e.Err)
	}
	return fmt.Sprintf("httptrust: %s: %v", where, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// hasAnchors reports whether the rule sets the anchors field (an empty
// list sets it too: it trusts nothing).
func (r *Rule) hasAnchors() bool { return r.Anchors != nil || r.AnchorCerts != nil }

// hasCerts reports whether the rule sets the certificates field.
func (r *Rule) hasCerts() bool { return r.Certificates != nil || r.CertificateCerts != nil }

// hasIntermediates reports whether the rule sets the intermediates field.
func (r *Rule) hasIntermediates() bool { return r.Intermediates != nil || r.IntermediateCerts != nil }

// certFiles lists the certificate files the rule names: anchors,
// certificates and intermediates.
func (r *Rule) certFiles() []string {
	out := make([]string, 0, len(r.Anchors)+len(r.Certificates)+len(r.Intermediates))
	out = append(append(append(out, r.Anchors...), r.Certificates...), r.Intermediates...)
	return out
}

// namesAnchors and namesCerts report whether the rule names at least one
// anchor or exact certificate: an empty list is not "has anchors".
func (r *Rule) namesAnchors() bool { return len(r.Anchors)+len(r.AnchorCerts) > 0 }
func (r *Rule) namesCerts() bool   { return len(r.Certificates)+len(r.CertificateCerts) > 0 }

// hasClient reports whether the rule sets a client identity.
func (r *Rule) hasClient() bool { return r.ClientCertificate != "" || r.ClientIdentity != nil }

var tlsVersions = map[string]uint16{
	"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11,
	"1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13,
}

// compiled is a validated rule with its patterns and pins parsed.
type compiled struct {
	rule     *Rule
	patterns []Pattern
	pinSet   *PinSet // nil when the rule sets no pins or lifts them
	minTLS   uint16
}

// fieldErr builds a RuleError for field of r; line may refine the rule's line.
func fieldErr(r *Rule, field string, err error) *RuleError {
	line := r.Line
	for _, fl := range r.lines {
		if fl.field == field {
			line = fl.line
		}
	}
	return &RuleError{File: r.File, Line: line, Field: field, Err: err}
}

// compile validates r and parses its patterns and pins. An override
// (inherits) may rely on anchors or certificates of the rules below it for
// server_name and the allowances: those are checked on the effective rule.
func compile(r *Rule, inherits bool) (*compiled, error) {
	c := &compiled{rule: r}
	if len(r.Hosts) == 0 && !r.AllHosts {
		return nil, fieldErr(r, "hosts", errors.New("a rule needs hosts (or all_hosts = true)"))
	}
	if len(r.Hosts) > 0 && r.AllHosts {
		return nil, fieldErr(r, "all_hosts", errors.New("a rule with all_hosts = true names no hosts"))
	}
	if r.AllHosts {
		if err := checkAllHosts(r); err != nil {
			return nil, err
		}
	}
	exactOnly := !r.AllHosts
	for _, h := range r.Hosts {
		p, err := ParsePattern(h)
		if err != nil {
			return nil, fieldErr(r, "hosts", err)
		}
		exactOnly = exactOnly && p.IsExact()
		c.patterns = append(c.patterns, p)
	}
	if !inherits {
		if err := checkRelaxations(r, exactOnly); err != nil {
			return nil, err
		}
	}
	if err := c.compilePins(); err != nil {
		return nil, err
	}
	if r.MinTLS != "" {
		v, ok := tlsVersions[r.MinTLS]
		if !ok {
			return nil, fieldErr(r, "min_tls", fmt.Errorf("%q is not a TLS version; use \"1.0\", \"1.1\", \"1.2\" or \"1.3\"", r.MinTLS))
		}
		c.minTLS = v
	}
	if (r.ClientKey != "" || r.ClientPasswordEnv != "" || r.ClientPasswordFile != "") && r.ClientCertificate == "" {
		return nil, fieldErr(r, "client_certificate", errors.New("client_key and client passwords need client_certificate"))
	}
	if r.ClientPasswordEnv != "" && r.ClientPasswordFile != "" {
		return nil, fieldErr(r, "client_password_file", errors.New("give the password by client_password_env or client_password_file, not both"))
	}
	return c, nil
}

// compilePins parses the rule's pin set: pins with their own pins_expire
// and enforce, which mean nothing without pins.
func (c *compiled) compilePins() error {
	r := c.rule
	if r.Pins == nil {
		for _, f := range []struct {
			name string
			set  bool
		}{{"pins_expire", !r.PinsExpire.IsZero()}, {"enforce", r.Enforce != nil}} {
			if f.set {
				return fieldErr(r, f.name, errors.New("only allowed in a rule that sets pins: pins, pins_expire and enforce are one pin set, never mixed from two rules; set the pins here too"))
			}
		}
		return nil
	}
	var pins []certs.Pin
	for _, s := range r.Pins {
		ps, err := certs.ParsePins(s)
		if err != nil {
			return fieldErr(r, "pins", err)
		}
		pins = append(pins, ps...)
	}
	if len(pins) == 0 {
		if !r.PinsExpire.IsZero() || r.Enforce != nil {
			return fieldErr(r, "pins", errors.New("pins = [] lifts the pins of wider rules; it takes no pins_expire or enforce"))
		}
		return nil
	}
	c.pinSet = &PinSet{Pins: pins, Expire: r.PinsExpire, Enforce: r.Enforce == nil || *r.Enforce, Rule: r}
	return nil
}

// checkRelaxations enforces where allow_name_mismatch, allow_expired and
// server_name may appear: on an anchor or a wildcard they would accept every
// certificate that CA ever issued.
func checkRelaxations(r *Rule, exactOnly bool) error {
	relax := []struct {
		name string
		set  bool
	}{
		{"allow_name_mismatch", r.AllowNameMismatch},
		{"allow_expired", r.AllowExpired},
		{"server_name", r.ServerName != ""},
	}
	for _, f := range relax {
		if !f.set {
			continue
		}
		if !exactOnly {
			return fieldErr(r, f.name, errors.New("only allowed on exact host or IP patterns, not on wildcards, CIDR networks or all_hosts"))
		}
		if f.name == "server_name" {
			if !r.namesAnchors() && !r.namesCerts() {
				return fieldErr(r, f.name, errors.New("only allowed in a rule that names anchors or certificates (an empty list trusts nothing)"))
			}
			if _, err := NormalizeHost(r.ServerName); err != nil {
				return fieldErr(r, f.name, err)
			}
			continue
		}
		if !r.namesCerts() {
			return fieldErr(r, f.name, errors.New("only allowed in a rule that names certificates (exact certificates); on an anchor it would accept every certificate that CA ever issued"))
		}
	}
	return nil
}

// checkAllHosts allows an all_hosts rule only what a corporate
// TLS-inspection root needs: anchors, and whether the system roots stay.
// Anything else would apply to every host: first-use trust, a lower TLS
// version, a client identity offered to every server, pins, exact
// certificates.
func checkAllHosts(r *Rule) error {
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"certificates", r.hasCerts()}, {"intermediates", r.hasIntermediates()}, {"tofu", r.TOFU != nil}, {"min_tls", r.MinTLS != ""},
		{"client_certificate", r.hasClient()}, {"pins", r.Pins != nil}, {"pins_expire", !r.PinsExpire.IsZero()},
		{"enforce", r.Enforce != nil}, {"fetch_intermediates", r.FetchIntermediates != nil},
	} {
		if f.set {
			return fieldErr(r, f.name, errors.New("not allowed with all_hosts = true: an all_hosts rule may only set anchors and system_roots"))
		}
	}
	return nil
}
