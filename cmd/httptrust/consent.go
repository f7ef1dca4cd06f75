package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

// consent decides whether fetch may write pl: --fingerprint, --yes, or a
// y/N prompt on a terminal; then the relaxations pl needs.
//
// A host the store already trusts through anchors, certificates, pins or
// first use, whose server now presents something those do not vouch for,
// is a changed certificate: only --fingerprint replaces it, never --yes or
// the prompt.
func (r *fetchRun) consent(pl *plan, j *judgement, eff *httptrust.Effective) error {
	changed := isChange(j.storeErr, eff)
	outOfBand := fmt.Sprintf("get the SHA-256 fingerprint of the certificate to trust out of band (from the device or its operator, not from this connection) and run: httptrust fetch%s --fingerprint <SHA-256 obtained out of band> %s", r.flags(), r.u.Redacted())
	var in *bufio.Reader
	if r.interactive() {
		in = bufio.NewReader(r.e.stdin)
	}
	switch {
	case r.fp != nil:
		if err := r.checkFingerprint(pl); err != nil {
			return err
		}
	case changed:
		return failf([]string{outOfBand}, "%s: %s: the store trusts something else for this host (%s); nothing written (--yes and the prompt cannot replace it)", r.host, j.storeErr.Reason, j.StoreRule)
	case r.f.yes && !r.widening:
	case in != nil:
		q := fmt.Sprintf("Trust this %s for %s? Compare its SHA-256 with the one the server's owner shows you. [y/N] ", pl.Kind, strings.Join(r.patterns, ", "))
		if !r.ask(in, q) {
			return failf(nil, "declined; nothing written")
		}
	case r.f.yes:
		return failf([]string{"widening needs the fingerprint: httptrust fetch" + r.flags() + " --host PATTERN --fingerprint <SHA-256> " + r.u.Redacted()},
			"--host %s widens the scope beyond %s: --yes alone is not enough; nothing written", strings.Join(r.patterns, ", "), r.host)
	default:
		return failf([]string{
			"compare the SHA-256 above with the one the server's owner shows you, then: httptrust fetch" + r.flags() + " --fingerprint <SHA-256> " + r.u.Redacted(),
			"or accept what is shown: httptrust fetch" + r.flags() + " --yes " + r.u.Redacted(),
		}, "no consent to trust %s: not a terminal, and neither --yes nor --fingerprint was given; nothing written", r.host)
	}
	return r.relaxations(pl, in)
}

// isChange reports whether a refusal means the server no longer presents
// what the store trusts for the host (rather than, say, the trusted
// certificate having expired).
func isChange(se *httptrust.VerifyError, eff *httptrust.Effective) bool {
	if se == nil {
		return false
	}
	switch se.Reason {
	case httptrust.ReasonCertificateChanged, httptrust.ReasonPinMismatch:
		return true
	case httptrust.ReasonSelfSigned, httptrust.ReasonUnknownAuthority, httptrust.ReasonIncompleteChain, httptrust.ReasonInvalidChain:
		return trustsSomething(eff)
	}
	return false
}

// trustsSomething reports whether a rule for the host (not the defaults,
// not an all_hosts rule) already says what to trust: anchors, exact
// certificates, pins or first use. Replacing that is a change.
func trustsSomething(eff *httptrust.Effective) bool {
	return eff != nil && eff.Rule != nil && !eff.Rule.AllHosts &&
		(len(eff.Anchors) > 0 || len(eff.Certificates) > 0 || len(eff.Pins) > 0 || eff.TOFU)
}

// checkFingerprint compares --fingerprint with the certificate to write
// (exit 60 on a mismatch).
func (r *fetchRun) checkFingerprint(pl *plan) error {
	want := certs.CertFingerprint(pl.Cert)
	if *r.fp == want {
		return nil
	}
	hints := []string{"check the fingerprint with the server's owner; nothing was written"}
	for i, v := range r.view.Chain {
		if v.SHA256 == r.fp.String() {
			hints = append(hints, fmt.Sprintf("it is the fingerprint of certificate %d (%s), but fetch writes the %s %s; give that one's fingerprint, or trust the file itself: httptrust trust add FILE --host %s",
				i, v.Subject, pl.Kind, pl.Cert.Subject, r.host))
		}
	}
	return &exitError{code: exitVerify, err: fmt.Errorf("%s: the fingerprint given (%s) is not that of the certificate to trust", r.host, r.fp), hints: hints}
}

// relaxations checks that a name mismatch or expiry is allowed by its flag
// or a second yes at the prompt.
func (r *fetchRun) relaxations(pl *plan, in *bufio.Reader) error {
	need := []struct {
		needed  *bool
		allowed bool
		flag    string
		what    string
	}{
		{&pl.NameMismatch, r.f.allowNameMismatch, "--allow-name-mismatch", "does not name " + r.host},
		{&pl.Expired, r.f.allowExpired, "--allow-expired", "is outside its validity period"},
	}
	for _, n := range need {
		if !*n.needed || n.allowed {
			continue
		}
		if r.widening {
			return failf(nil, "the certificate %s, which can be allowed only for one exact host, not with --host", n.what)
		}
		if in != nil && r.ask(in, fmt.Sprintf("The certificate %s. Trust it anyway, for %s only? [y/N] ", n.what, r.host)) {
			continue
		}
		return failf([]string{"if you trust it all the same: httptrust fetch" + r.flags() + " " + n.flag + " " + r.u.Redacted()},
			"the certificate %s; nothing written", n.what)
	}
	return nil
}

// flags returns the connection flags to repeat in a hint (--resolve,
// --store), each with a leading space.
func (r *fetchRun) flags() string {
	var b strings.Builder
	for _, f := range r.e.hintCtx.flags {
		b.WriteString(" " + f)
	}
	return b.String()
}

// interactive reports whether a person can answer a prompt.
func (r *fetchRun) interactive() bool {
	return r.e.terminal(r.e.stdin)
}

// ask prints q on stderr and reads a yes.
func (r *fetchRun) ask(in *bufio.Reader, q string) bool {
	fmt.Fprint(r.e.stderr, q)
	line, _ := in.ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}
