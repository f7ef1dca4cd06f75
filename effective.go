package httptrust

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
	"path"
	"sync"
)

// Effective is the rule that applies to one host once inheritance is done:
// each field comes from the most specific matching rule that sets it, or
// from the defaults. Sources says where each field came from.
type Effective struct {
	// Pattern is the most specific matching pattern, "all_hosts" for the
	// all_hosts rule, or "" when only the defaults apply.
	Pattern string
	// Rule is the most specific matching rule; nil for the defaults.
	Rule *Rule

	Anchors      []CertRef
	Certificates []CertRef
	// Intermediates are offered to path building and never trusted by
	// themselves; inherited as a whole, like Anchors.
	Intermediates []CertRef
	SystemRoots   bool
	// Pins is the pin set: pins with their pins_expire and enforce, all
	// from the one rule that set pins. Nil when no rule sets pins, or the
	// most specific one that does lifts them (pins = []).
	Pins               *PinSet
	TOFU               bool
	FetchIntermediates bool
	AllowNameMismatch  bool
	AllowExpired       bool
	ServerName         string
	MinTLS             uint16
	Client             *ClientRef

	// Sources maps each field name (as written in rule files) to the rule
	// that set it ("corp.toml:3"), or to "default" with the reason.
	Sources map[string]string
	// from maps each field set by a rule to that rule.
	from map[string]*Rule
	// certsForPort says the exact certificates come from a rule for one
	// port of the host: another leaf there is a changed certificate.
	certsForPort bool
	// err says the host's rules could not be read (a damaged index): it
	// trusts nothing, and every connection fails closed with it.
	err error

	material struct {
		once sync.Once
		m    *material
	}
}

// CertRef is a certificate an Effective rule trusts, as its rule names it:
// a file of the store (File, resolved against the rule file's folder), or a
// certificate given in code (Cert). Rule is the rule that named it.
type CertRef struct {
	File string // path inside the store; "" for a certificate given in code
	Cert *x509.Certificate
	Rule *Rule
}

// ClientRef is the client identity an Effective rule offers, as its rule
// names it: certificate and key files of the store and where the password
// comes from, or an identity given in code. Rule is the rule that named it.
type ClientRef struct {
	Cert, Key, PasswordEnv, PasswordFile string
	Identity                             *tls.Certificate
	Rule                                 *Rule
}

// effective returns the memoised effective rule for host on port ("" for
// any port: a rule for one port does not apply).
func (ix *index) effective(host, port string, addr netip.Addr) *Effective {
	e := ix.mostSpecific(host, port, addr)
	slot := ix.none
	if e != nil {
		slot = &e.eff
		if e.pattern.Kind == PatternAnyDepth && e.pattern.Host == host {
			slot = &e.effSelf
		}
	} else if ix.all != nil {
		slot = &ix.all.eff
	}
	slot.once.Do(func() { slot.eff = merge(ix.matches(host, port, addr)) })
	if ix.lazy != nil {
		if err := ix.lazy.err(); err != nil {
			return &Effective{Sources: map[string]string{}, from: map[string]*Rule{}, err: err}
		}
	}
	return slot.eff
}

// merge folds matches (most specific first) into an Effective.
func merge(matches []*entry) *Effective {
	eff := &Effective{Sources: map[string]string{}, from: map[string]*Rule{}}
	if len(matches) > 0 {
		eff.Rule = matches[0].rule.rule
		eff.Pattern = matches[0].pattern.String()
		if eff.Rule.AllHosts {
			eff.Pattern = "all_hosts"
		}
	}
	set := func(field string, r *Rule) bool {
		if _, done := eff.Sources[field]; done {
			return false
		}
		eff.Sources[field], eff.from[field] = r.Where(), r
		return true
	}
	for _, m := range matches {
		c, r := m.rule, m.rule.rule
		if r.hasAnchors() && set("anchors", r) {
			eff.Anchors = certRefs(r, r.Anchors, r.AnchorCerts)
		}
		if r.hasCerts() && set("certificates", r) {
			eff.Certificates = certRefs(r, r.Certificates, r.CertificateCerts)
			eff.certsForPort = m.pattern.Port != ""
		}
		if r.hasIntermediates() && set("intermediates", r) {
			eff.Intermediates = certRefs(r, r.Intermediates, r.IntermediateCerts)
		}
		if r.SystemRoots != nil && set("system_roots", r) {
			eff.SystemRoots = *r.SystemRoots
		}
		if r.Pins != nil && set("pins", r) {
			// The pin set comes whole from the rule that set pins.
			eff.Sources["pins_expire"], eff.Sources["enforce"] = r.Where(), r.Where()
			eff.from["pins_expire"], eff.from["enforce"] = r, r
			eff.Pins = c.pinSet
		}
		if r.TOFU != nil && set("tofu", r) {
			eff.TOFU = *r.TOFU
		}
		if r.FetchIntermediates != nil && set("fetch_intermediates", r) {
			eff.FetchIntermediates = *r.FetchIntermediates
		}
		if r.AllowNameMismatch && set("allow_name_mismatch", r) {
			eff.AllowNameMismatch = true
		}
		if r.AllowExpired && set("allow_expired", r) {
			eff.AllowExpired = true
		}
		if r.ServerName != "" && set("server_name", r) {
			eff.ServerName, _ = NormalizeHost(r.ServerName)
		}
		if c.minTLS != 0 && set("min_tls", r) {
			eff.MinTLS = c.minTLS
		}
		if r.hasClient() && set("client_certificate", r) {
			eff.Client = &ClientRef{Cert: ruleFile(r, r.ClientCertificate), PasswordEnv: r.ClientPasswordEnv,
				PasswordFile: r.ClientPasswordFile, Identity: r.ClientIdentity, Rule: r}
			if r.ClientKey != "" {
				eff.Client.Key = ruleFile(r, r.ClientKey)
			}
		}
	}
	eff.defaults()
	return eff
}

// defaults fills the fields no matching rule set.
func (eff *Effective) defaults() {
	if _, ok := eff.Sources["system_roots"]; !ok {
		// A rule that sets anchors or certificates, even to an empty list,
		// says what to trust: the system roots open only by name.
		_, anchors := eff.Sources["anchors"]
		_, certificates := eff.Sources["certificates"]
		eff.SystemRoots = !anchors && !certificates
		if eff.SystemRoots {
			eff.Sources["system_roots"] = "default (true: no anchors or certificates)"
		} else {
			eff.Sources["system_roots"] = "default (false: the rule sets anchors or certificates)"
		}
	}
	if _, ok := eff.Sources["min_tls"]; !ok {
		eff.MinTLS = tls.VersionTLS12
		eff.Sources["min_tls"] = "default (1.2)"
	}
	for _, f := range []string{"anchors", "certificates", "intermediates", "pins", "pins_expire", "enforce", "tofu",
		"fetch_intermediates", "allow_name_mismatch", "allow_expired", "server_name", "client_certificate"} {
		if _, ok := eff.Sources[f]; !ok {
			eff.Sources[f] = "default"
		}
	}
}

func certRefs(r *Rule, files []string, inCode []*x509.Certificate) []CertRef {
	out := make([]CertRef, 0, len(files)+len(inCode))
	for _, f := range files {
		out = append(out, CertRef{File: ruleFile(r, f), Rule: r})
	}
	for _, c := range inCode {
		out = append(out, CertRef{Cert: c, Rule: r})
	}
	return out
}

// ruleFile resolves a file named in a rule against the rule file's folder.
func ruleFile(r *Rule, name string) string {
	if r.File == "" || path.IsAbs(name) {
		return name
	}
	return path.Join(path.Dir(r.File), name)
}

// hasTrust reports whether the rule names anything to verify a chain
// against: anchors or exact certificates. Trust on first use replaces chain
// verification only where it has none; elsewhere it is checked on top.
func (eff *Effective) hasTrust() bool {
	return eff != nil && (len(eff.Anchors) > 0 || len(eff.Certificates) > 0)
}

// TrustsSomething reports whether a rule for the host (not the defaults,
// not an all_hosts rule) says what to trust: anchors, exact certificates,
// pins or first use. A failure under such a rule may be an attack, so no
// remedy takes anything from the failing connection, and nothing replaces
// that trust without a fingerprint obtained out of band.
func (eff *Effective) TrustsSomething() bool {
	return eff != nil && eff.Rule != nil && !eff.Rule.AllHosts &&
		(len(eff.Anchors) > 0 || len(eff.Certificates) > 0 || eff.Pins != nil || eff.TOFU)
}

// Source returns the rule that set field (as rule files name it), or nil
// when the field has its default.
func (eff *Effective) Source(field string) *Rule {
	if eff == nil {
		return nil
	}
	return eff.from[field]
}

func (eff *Effective) source(field string) *Rule { return eff.Source(field) }

// sourceRule returns the most specific matching rule, nil for the
// defaults or a nil Effective.
func (eff *Effective) sourceRule() *Rule {
	if eff == nil {
		return nil
	}
	return eff.Rule
}

// pinRule returns the rule that set the pin set.
func (eff *Effective) pinRule() *Rule {
	if eff == nil || eff.Pins == nil {
		return nil
	}
	return eff.Pins.Rule
}

// exactRule returns the rule whose own pattern is host exactly, or nil.
func (eff *Effective) exactRule(host string) *Rule {
	if eff == nil || eff.Rule == nil || eff.Pattern != host {
		return nil
	}
	return eff.Rule
}

// exactlyTrusts reports whether c is one of the exact certificates the
// rule trusts, byte for byte.
func (eff *Effective) exactlyTrusts(p *Policy, c *x509.Certificate) bool {
	if eff == nil {
		return false
	}
	var exact []*x509.Certificate
	if p != nil {
		exact = p.material(eff).exact
	} else {
		for _, ref := range eff.Certificates {
			if ref.Cert != nil {
				exact = append(exact, ref.Cert)
			}
		}
	}
	for _, e := range exact {
		if e.Equal(c) {
			return true
		}
	}
	return false
}

// String describes where the effective rule came from, for messages.
func (eff *Effective) String() string {
	if eff.Rule == nil {
		return "no rule (defaults: system roots)"
	}
	return fmt.Sprintf("rule %s at %s", eff.Pattern, eff.Rule.Where())
}
