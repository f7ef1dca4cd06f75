package httptrust

import (
	"errors"
	"fmt"
)

// Override returns a policy that judges host by rule on top of p: the
// fields rule sets win, and every other field is inherited from the rules
// of p that match host, as if rule sat in a rule file more specific than
// any of p's (the same inheritance as files, pin sets included: a rule that
// sets Pins brings its own PinsExpire and Enforce, so pins given here are
// enforced whatever a wider rule says). Other hosts are judged as by p.
//
// It is how a program (or the httptrust CLI's --pin, --server-name,
// --cert and --tofu) adds to the trust of one host for a while, without
// writing a rule file. rule.Hosts is ignored; host is a host name or IP
// literal (every port). server_name and the allowances may rely on anchors
// or certificates inherited from p; the effective rule must have them.
// Files named by rule resolve against rule.File's folder in p's store.
//
// The new policy shares p's options, store and the certificates p has
// read; p is unchanged.
func (p *Policy) Override(host string, rule Rule) (*Policy, error) {
	return p.override(host, rule, false)
}

// Isolate returns a policy that judges host by rule alone: nothing is
// inherited from p's rules for host, and what rule leaves unset has its
// default. Other hosts are judged as by p. It is how the CLI's --cacert
// trusts a host through exactly the CA given, whatever the store says.
func (p *Policy) Isolate(host string, rule Rule) (*Policy, error) {
	return p.override(host, rule, true)
}

func (p *Policy) override(host string, rule Rule, alone bool) (*Policy, error) {
	if err := p.usable(); err != nil {
		return nil, err
	}
	pat, err := ParsePattern(host)
	if err != nil {
		return nil, err
	}
	if !pat.IsExact() {
		return nil, fmt.Errorf("httptrust: override for %q: an override is for one host name or IP literal, not a pattern", host)
	}
	r := rule
	r.Hosts, r.AllHosts, r.override = []string{pat.Host}, false, true
	if p.opts.FS == nil && (len(r.certFiles()) > 0 || r.ClientCertificate != "") {
		return nil, fieldErr(&r, "anchors", errors.New("rules that name files need a store (LoadDir or LoadFS) or Options.FS"))
	}
	c, err := compile(&r, !alone)
	if err != nil {
		return nil, err
	}
	d := *p
	d.version, d.shared = policyVersions.Add(1), &sharedTransport{}
	d.rules = append(append([]*Rule{}, p.rules...), &r)
	d.compiled = append(append([]*compiled{}, p.compiled...), c)
	d.warnings = append(append([]string{}, p.warnings...), ruleWarnings(c)...)
	d.ix = p.ix.withOverride(pat.Host, &entry{pattern: pat, rule: c, alone: alone})
	n, addr, _ := normalizeHost(pat.Host)
	if err := checkEffective(&r, d.ix.effective(n, "", addr)); err != nil {
		return nil, err
	}
	for _, w := range ruleWarnings(c) {
		d.observe(Event{Kind: EventWarning, Message: w})
	}
	return &d, nil
}

// checkEffective enforces, on the effective rule of an override, what
// checkRelaxations enforces within one rule file: server_name needs anchors
// or exact certificates to verify against, and the allowances need exact
// certificates.
func checkEffective(r *Rule, eff *Effective) error {
	if r.ServerName != "" && !eff.hasTrust() {
		return fieldErr(r, "server_name", fmt.Errorf("%s has no anchors or certificates to verify the name against (it is trusted through the system roots): give a CA", r.Hosts[0]))
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"allow_name_mismatch", r.AllowNameMismatch}, {"allow_expired", r.AllowExpired}} {
		if f.set && len(eff.Certificates) == 0 {
			return fieldErr(r, f.name, fmt.Errorf("only for a host trusted through exact certificates, and %s has none", r.Hosts[0]))
		}
	}
	return nil
}
