package httptrust

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/httptrust/httptrust/certs"
)

// verifier checks every connection to one host:port under one policy. Its
// verify method is the tls.Config's VerifyConnection: it runs on fresh and
// resumed sessions alike and does the whole check itself.
type verifier struct {
	p    *Policy
	eff  *Effective
	host string // normalised request host
	port string
	name string // the name the certificate must cover

	mu    sync.Mutex
	cache map[[32]byte]validity // verified chains (by hash of the presented chain)
	// warned records the warnings already sent to the observer.
	warned map[string]bool
}

// validity is the window in which a cached verification stays good.
type validity struct{ from, until time.Time }

const verifyCacheSize = 64

func newVerifier(p *Policy, eff *Effective, host, port string) *verifier {
	name := host
	if eff.ServerName != "" {
		name = eff.ServerName
	}
	return &verifier{p: p, eff: eff, host: host, port: port, name: name}
}

// verify is the VerifyConnection callback. It fails closed: with no
// certificate, no rule that trusts one, or a certificate file that cannot be
// read, the connection is refused.
func (v *verifier) verify(cs tls.ConnectionState) error {
	presented := cs.PeerCertificates
	if len(presented) == 0 {
		return v.fail(ReasonInvalidChain, nil, "the server presented no certificate", nil)
	}
	now := v.p.opts.Clock()
	if v.eff.TOFU && !v.eff.hasTrust() {
		// Trust on first use alone: the key's continuity is the trust.
		chains, verr := v.verifyTOFU(presented, now)
		if verr != nil {
			return verr
		}
		_, err := v.checkPins(chains, presented, now)
		return err
	}
	key := chainKey(presented)
	if v.cached(key, now) {
		return v.tofuToo(presented, now)
	}
	chains, win, verr := v.verifyChain(presented, now)
	if verr != nil {
		return verr
	}
	cacheable, err := v.checkPins(chains, presented, now)
	if err != nil {
		return err
	}
	if err := v.tofuToo(presented, now); err != nil {
		return err
	}
	if cacheable {
		v.store(key, win, now)
	}
	return nil
}

// tofuToo adds key continuity on top of a verified chain, when a rule with
// anchors or certificates also says tofu: it only ever narrows.
func (v *verifier) tofuToo(presented []*x509.Certificate, now time.Time) error {
	if !v.eff.TOFU {
		return nil
	}
	if _, verr := v.verifyTOFU(presented, now); verr != nil {
		return verr
	}
	return nil
}

func chainKey(chain []*x509.Certificate) [32]byte {
	h := sha256.New()
	for _, c := range chain {
		var n [4]byte
		l := len(c.Raw)
		n[0], n[1], n[2], n[3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
		h.Write(n[:])
		h.Write(c.Raw)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (v *verifier) cached(key [32]byte, now time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	w, ok := v.cache[key]
	return ok && !now.Before(w.from) && now.Before(w.until)
}

func (v *verifier) store(key [32]byte, w validity, now time.Time) {
	if !v.eff.PinsExpire.IsZero() && v.eff.pinsActive(now) {
		y, m, d := v.eff.PinsExpire.Date()
		if end := time.Date(y, m, d+1, 0, 0, 0, 0, now.Location()); end.Before(w.until) {
			w.until = end
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cache == nil {
		v.cache = map[[32]byte]validity{}
	}
	for k := range v.cache { // full: evict one entry (map order is random)
		if len(v.cache) < verifyCacheSize {
			break
		}
		delete(v.cache, k)
	}
	v.cache[key] = w
}

// verifyChain returns the verified chains and the window in which they are
// valid, or the reason the presented chain is refused.
func (v *verifier) verifyChain(presented []*x509.Certificate, now time.Time) ([][]*x509.Certificate, validity, *VerifyError) {
	m := v.p.material(v.eff)
	if m.err != nil {
		return nil, validity{}, v.fail(ReasonBadConfig, presented, m.err.Error(), m.err)
	}
	leaf := presented[0]
	for _, c := range m.exact {
		if bytes.Equal(c.Raw, leaf.Raw) {
			return v.verifyExact(leaf, presented, now)
		}
	}
	if m.roots == nil {
		if len(m.exact) > 0 {
			return nil, validity{}, v.changed(presented, m.exact)
		}
		return nil, validity{}, v.fail(ReasonUnknownAuthority, presented,
			"the rule for this host trusts no certificate: it has no anchors or certificates and system roots are off", nil)
	}
	inter := x509.NewCertPool()
	for _, c := range presented[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{
		DNSName: v.name, Roots: m.roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	chains, err := leaf.Verify(opts)
	var uErr x509.UnknownAuthorityError
	if err != nil && errors.As(err, &uErr) && v.fetchIntermediates(m, presented) {
		var aiaErr error
		if chains, aiaErr = v.completeChain(presented, opts); aiaErr == nil {
			err = nil
		} else if e := v.explain(err, presented, opts); e.Reason == ReasonIncompleteChain {
			e.Detail += "; fetching it failed: " + aiaErr.Error()
			return nil, validity{}, e
		}
	}
	if err != nil {
		if len(m.exact) > 0 && isSelfSigned(leaf) {
			return nil, validity{}, v.changed(presented, m.exact)
		}
		return nil, validity{}, v.explain(err, presented, opts)
	}
	return chains, chainWindow(chains), nil
}

// fetchIntermediates reports whether a missing issuer may be fetched: the
// rule or the options allow it, the rule pins no exact certificate, and the
// chain ends below a root.
func (v *verifier) fetchIntermediates(m *material, presented []*x509.Certificate) bool {
	top := presented[len(presented)-1]
	return (v.eff.FetchIntermediates || v.p.opts.FetchIntermediates) && len(m.exact) == 0 &&
		len(top.IssuingCertificateURL) > 0 && !isSelfSigned(top)
}

// verifyExact accepts a byte-identical leaf after its name and validity
// checks, unless the rule relaxes them.
func (v *verifier) verifyExact(leaf *x509.Certificate, presented []*x509.Certificate, now time.Time) ([][]*x509.Certificate, validity, *VerifyError) {
	win := validity{until: maxTime}
	if !v.eff.AllowExpired {
		if e := v.expiry(leaf, presented, now); e != nil {
			return nil, validity{}, e
		}
		win = validity{from: leaf.NotBefore, until: leaf.NotAfter.Add(time.Nanosecond)}
	}
	if !v.eff.AllowNameMismatch {
		if err := leaf.VerifyHostname(v.name); err != nil {
			return nil, validity{}, v.nameMismatch(leaf, presented, err)
		}
	}
	return [][]*x509.Certificate{{leaf}}, win, nil
}

var maxTime = time.Unix(1<<62, 0)

func chainWindow(chains [][]*x509.Certificate) validity {
	w := validity{until: maxTime}
	for _, c := range chains[0] {
		if c.NotBefore.After(w.from) {
			w.from = c.NotBefore
		}
		if end := c.NotAfter.Add(time.Nanosecond); end.Before(w.until) {
			w.until = end
		}
	}
	return w
}

// checkPins enforces the effective pins against the verified chains (never
// the raw list the server sent). It reports whether the outcome may be
// cached (a report-only mismatch and expired pins must be reported again).
func (v *verifier) checkPins(chains [][]*x509.Certificate, presented []*x509.Certificate, now time.Time) (bool, error) {
	if len(v.eff.Pins) == 0 {
		return true, nil
	}
	if !v.eff.pinsActive(now) {
		v.warnOnce("pins_expired", Event{Kind: EventPinsExpired, Host: v.host, Rule: v.eff.Rule,
			Message: fmt.Sprintf("pins for %s expired on %s and are not enforced; update pins and pins_expire in %s",
				v.host, v.eff.PinsExpire.Format(time.DateOnly), v.eff.Rule.Where())})
		return true, nil
	}
	if warn := v.p.opts.PinsExpiryWarning; !v.eff.PinsExpire.IsZero() && warn >= 0 {
		if warn == 0 {
			warn = DefaultPinsExpiryWarning
		}
		if !v.eff.pinsActive(now.Add(warn)) {
			v.warnOnce("pins_expiring", Event{Kind: EventPinsExpiringSoon, Host: v.host, Rule: v.eff.Rule,
				Message: fmt.Sprintf("pins for %s expire on %s: add the next pins and move pins_expire in %s before then",
					v.host, v.eff.PinsExpire.Format(time.DateOnly), v.eff.Rule.Where())})
		}
	}
	want := map[certs.Pin]bool{}
	for _, p := range v.eff.Pins {
		want[p] = true
	}
	var seen []certs.Pin
	seenSet := map[certs.Pin]bool{}
	for _, chain := range chains {
		for _, c := range chain {
			pin := certs.SPKIPin(c)
			if want[pin] {
				return true, nil
			}
			if !seenSet[pin] {
				seenSet[pin] = true
				seen = append(seen, pin)
			}
		}
	}
	e := v.fail(ReasonPinMismatch, presented, "no pin of the rule matches the verified chain", nil)
	e.ExpectedPins, e.SeenPins = v.eff.Pins, seen
	if !v.eff.Enforce {
		v.p.observe(Event{Kind: EventPinMismatchReported, Host: v.host, Rule: v.eff.Rule, Err: e,
			Message: fmt.Sprintf("pin mismatch for %s allowed: the rule at %s is report-only (enforce = false)", v.host, v.eff.Rule.Where())})
		return false, nil
	}
	return false, e
}

func (v *verifier) warnOnce(key string, e Event) {
	v.mu.Lock()
	if v.warned == nil {
		v.warned = map[string]bool{}
	}
	done := v.warned[key]
	v.warned[key] = true
	v.mu.Unlock()
	if !done {
		v.p.observe(e)
	}
}

// fail builds a VerifyError for this host with the presented chain.
func (v *verifier) fail(r Reason, presented []*x509.Certificate, detail string, err error) *VerifyError {
	e := &VerifyError{Host: v.host, Port: v.port, Reason: r, Rule: v.eff, Detail: detail, Err: err, Now: v.p.opts.Clock()}
	for _, c := range presented {
		e.Chain = append(e.Chain, Describe(c))
	}
	e.Fix = fixFor(e)
	return e
}

// explain turns an x509 verification error into a reason, judging trust
// before name and validity: an untrusted certificate is reported as such
// even when its name is also wrong.
func (v *verifier) explain(err error, presented []*x509.Certificate, opts x509.VerifyOptions) *VerifyError {
	leaf := presented[0]
	var hErr x509.HostnameError
	var iErr x509.CertificateInvalidError
	if errors.As(err, &hErr) || (errors.As(err, &iErr) && iErr.Reason == x509.Expired) {
		// Would the chain be trusted with the right name and time?
		probe := opts
		probe.DNSName = ""
		probe.CurrentTime = leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
		if _, perr := leaf.Verify(probe); perr != nil {
			var uErr x509.UnknownAuthorityError
			if errors.As(perr, &uErr) {
				return v.untrusted(presented, err)
			}
		}
		if errors.As(err, &hErr) {
			return v.nameMismatch(leaf, presented, err)
		}
		if e := v.expiry(leaf, presented, opts.CurrentTime); e != nil {
			e.Err = err
			return e
		}
		for _, c := range presented[1:] {
			if e := v.expiry(c, presented, opts.CurrentTime); e != nil {
				e.Err = err
				return e
			}
		}
		return v.fail(ReasonExpired, presented, "a certificate of the chain is outside its validity window", err)
	}
	var uErr x509.UnknownAuthorityError
	if errors.As(err, &uErr) {
		return v.untrusted(presented, err)
	}
	var algErr x509.InsecureAlgorithmError
	if errors.As(err, &algErr) {
		return v.fail(ReasonInvalidChain, presented, fmt.Sprintf("the chain uses an insecure algorithm (%v), which Go refuses", x509.SignatureAlgorithm(algErr)), err)
	}
	if errors.As(err, &iErr) && iErr.Reason == x509.IncompatibleUsage {
		return v.fail(ReasonInvalidChain, presented, "the certificate is not valid for a TLS server (its extended key usage does not include serverAuth)", err)
	}
	return v.fail(ReasonInvalidChain, presented, err.Error(), err)
}

// insecureSignature lists the algorithms Go refuses in a chain (it reports
// them wrapped inside an unknown-authority error that does not unwrap).
var insecureSignature = map[x509.SignatureAlgorithm]bool{
	x509.MD2WithRSA: true, x509.MD5WithRSA: true, x509.SHA1WithRSA: true,
	x509.DSAWithSHA1: true, x509.ECDSAWithSHA1: true,
}

// untrusted classifies a chain that leads to no trusted anchor.
func (v *verifier) untrusted(presented []*x509.Certificate, err error) *VerifyError {
	leaf, top := presented[0], presented[len(presented)-1]
	for _, c := range presented {
		if insecureSignature[c.SignatureAlgorithm] && !(c == top && isSelfSigned(c)) {
			return v.fail(ReasonInvalidChain, presented, fmt.Sprintf("%q is signed with %v, an insecure algorithm that Go refuses", c.Subject, c.SignatureAlgorithm), err)
		}
	}
	switch {
	case len(presented) == 1 && isSelfSigned(leaf):
		return v.fail(ReasonSelfSigned, presented, "the certificate is signed by itself and no rule trusts it for this host", err)
	case isSelfSigned(top):
		return v.fail(ReasonUnknownAuthority, presented,
			fmt.Sprintf("the chain ends at %q, which no rule trusts for this host (a root the server sends is never trusted by itself)", top.Subject), err)
	case len(top.IssuingCertificateURL) > 0:
		return v.fail(ReasonIncompleteChain, presented,
			fmt.Sprintf("the server did not send the certificate of %q, which issued %q (it is published at %s)", top.Issuer, top.Subject, top.IssuingCertificateURL[0]), err)
	}
	return v.fail(ReasonUnknownAuthority, presented,
		fmt.Sprintf("%q is issued by %q, which the server did not send and no rule trusts for this host", top.Subject, top.Issuer), err)
}

func (v *verifier) nameMismatch(leaf *x509.Certificate, presented []*x509.Certificate, err error) *VerifyError {
	e := v.fail(ReasonNameMismatch, presented, "", err)
	e.Names = Describe(leaf).Names
	e.Detail = fmt.Sprintf("the certificate is not valid for %s; it covers %s", v.name, joinNames(e.Names))
	e.Fix = fixFor(e)
	return e
}

// expiry returns an error when c is outside its validity window at now.
func (v *verifier) expiry(c *x509.Certificate, presented []*x509.Certificate, now time.Time) *VerifyError {
	var e *VerifyError
	switch {
	case now.After(c.NotAfter):
		e = v.fail(ReasonExpired, presented, fmt.Sprintf("%q expired on %s; the local clock says %s",
			c.Subject, c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)), nil)
	case now.Before(c.NotBefore):
		e = v.fail(ReasonNotYetValid, presented, fmt.Sprintf("%q is valid only from %s; the local clock says %s",
			c.Subject, c.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)), nil)
	default:
		return nil
	}
	e.NotBefore, e.NotAfter, e.Now = c.NotBefore, c.NotAfter, now
	e.Fix = fixFor(e)
	return e
}

// changed reports a leaf that is not the exact certificate the rule trusts.
func (v *verifier) changed(presented, trusted []*x509.Certificate) *VerifyError {
	var fps []string
	for _, c := range trusted {
		fps = append(fps, certs.CertFingerprint(c).String())
	}
	return v.fail(ReasonCertificateChanged, presented, fmt.Sprintf("the rule trusts the certificate with SHA-256 %s; the server presents %s",
		joinNames(fps), certs.CertFingerprint(presented[0])), nil)
}

func joinNames(names []string) string {
	if len(names) == 0 {
		return "no names"
	}
	out := names[0]
	for _, n := range names[1:] {
		out += ", " + n
	}
	return out
}
