package httptrust

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
	"path"
	"sync"
	"time"

	"github.com/httptrust/httptrust/certs"
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

	Anchors            []CertRef
	Certificates       []CertRef
	SystemRoots        bool
	Pins               []certs.Pin
	PinsExpire         time.Time
	Enforce            bool
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

	material struct {
		once sync.Once
		m    *material
	}
}

// CertRef is a certificate named by a rule: a file of the store, or a
// certificate given in code.
type CertRef struct {
	File string // path inside the store; "" for a certificate given in code
	Cert *x509.Certificate
	Rule *Rule
}

// ClientRef is a client identity named by a rule.
type ClientRef struct {
	Cert, Key, PasswordEnv, PasswordFile string
	Identity                             *tls.Certificate
	Rule                                 *Rule
}

// effective returns the memoised effective rule for host.
func (ix *index) effective(host string, addr netip.Addr) *Effective {
	e := ix.mostSpecific(host, addr)
	slot := &ix.none
	if e != nil {
		slot = &e.eff
		if e.pattern.Kind == PatternAnyDepth && e.pattern.Host == host {
			slot = &e.effSelf
		}
	} else if ix.all != nil {
		slot = &ix.all.eff
	}
	slot.once.Do(func() { slot.eff = merge(ix.matches(host, addr)) })
	return slot.eff
}

// merge folds matches (most specific first) into an Effective.
func merge(matches []*entry) *Effective {
	eff := &Effective{Sources: map[string]string{}, Enforce: true}
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
		eff.Sources[field] = r.Where()
		return true
	}
	for _, m := range matches {
		c, r := m.rule, m.rule.rule
		if r.hasAnchors() && set("anchors", r) {
			eff.Anchors = certRefs(r, r.Anchors, r.AnchorCerts)
		}
		if r.hasCerts() && set("certificates", r) {
			eff.Certificates = certRefs(r, r.Certificates, r.ExactCerts)
		}
		if r.SystemRoots != nil && set("system_roots", r) {
			eff.SystemRoots = *r.SystemRoots
		}
		if r.Pins != nil && set("pins", r) {
			eff.Pins = c.pins
		}
		if !r.PinsExpire.IsZero() && set("pins_expire", r) {
			eff.PinsExpire = r.PinsExpire
		}
		if r.Enforce != nil && set("enforce", r) {
			eff.Enforce = *r.Enforce
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
		eff.SystemRoots = len(eff.Anchors) == 0 && len(eff.Certificates) == 0
		if eff.SystemRoots {
			eff.Sources["system_roots"] = "default (true: no anchors or certificates)"
		} else {
			eff.Sources["system_roots"] = "default (false: the rule has anchors or certificates)"
		}
	}
	if _, ok := eff.Sources["min_tls"]; !ok {
		eff.MinTLS = tls.VersionTLS12
		eff.Sources["min_tls"] = "default (1.2)"
	}
	for _, f := range []string{"anchors", "certificates", "pins", "pins_expire", "enforce", "tofu",
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
func (eff *Effective) hasTrust() bool { return len(eff.Anchors) > 0 || len(eff.Certificates) > 0 }

// pinsActive reports whether pins are enforced at now: pins_expire is the
// last day they apply, in the clock's location.
func (eff *Effective) pinsActive(now time.Time) bool {
	if len(eff.Pins) == 0 {
		return false
	}
	if eff.PinsExpire.IsZero() {
		return true
	}
	y, m, d := eff.PinsExpire.Date()
	end := time.Date(y, m, d+1, 0, 0, 0, 0, now.Location())
	return now.Before(end)
}

// String describes where the effective rule came from, for messages.
func (eff *Effective) String() string {
	if eff.Rule == nil {
		return "no rule (defaults: system roots)"
	}
	return fmt.Sprintf("rule %s at %s", eff.Pattern, eff.Rule.Where())
}
