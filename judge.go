package httptrust

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// A Verdict is how a policy judges a connection captured elsewhere (see
// Policy.Judge).
type Verdict struct {
	// Effective is the rule that applies to the host.
	Effective *Effective
	// Err is why a connection would be refused; nil when it would be
	// trusted.
	Err *VerifyError
	// FirstUse is set when the host trusts on first use and has no record
	// yet: a connection would record this key once its handshake completed.
	FirstUse *TOFURecord
	// Chains are the chains a trusted connection verified, leaf first,
	// each ending at the anchor or exact certificate that vouched for it
	// (for trust on first use alone, the leaf alone). Nil when refused.
	Chains [][]*x509.Certificate
	// Exact says the presented leaf is, byte for byte, one of the exact
	// certificates the rule trusts (even when it was refused, say for its
	// expiry).
	Exact bool
}

// Trusted reports whether a connection would be trusted.
func (v *Verdict) Trusted() bool { return v.Err == nil }

// Judge verifies a connection state captured elsewhere (for example by
// package probe, which completes a handshake without trusting it) for
// hostport as a connection under p would be verified, without side
// effects: nothing is recorded for trust on first use, Options.OnFirstUse
// is not asked, and pin warnings are not sent. A missing intermediate is
// fetched only where p's rule or options ask for it. The error is for
// hostport that is not a host or host:port.
func (p *Policy) Judge(hostport string, cs tls.ConnectionState) (*Verdict, error) {
	if err := p.usable(); err != nil {
		return nil, err
	}
	h, port, err := splitHost(hostport)
	if err != nil {
		return nil, err
	}
	if port, err = canonicalPort(port); err != nil {
		return nil, err
	}
	n, addr, err := normalizeHost(h)
	if err != nil {
		return nil, fmt.Errorf("httptrust: host %q: %w", hostport, err)
	}
	q := *p
	q.opts.Observer = nil // judging is not a use
	eff := p.ix.effective(n, port, addr)
	v := newVerifier(&q, eff, n, port, modeJudge)
	verdict := &Verdict{Effective: eff}
	if len(cs.PeerCertificates) > 0 {
		verdict.Exact = eff.exactlyTrusts(p, cs.PeerCertificates[0])
	}
	if err := v.verify(cs); err != nil {
		var ve *VerifyError
		if !errors.As(err, &ve) {
			return nil, err
		}
		verdict.Err = ve
		return verdict, nil
	}
	verdict.FirstUse, verdict.Chains = v.firstUse, v.chains
	return verdict, nil
}
