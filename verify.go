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

// The trust decision, in the order verify makes it:
//
//  1. A rule with tofu and nothing else to verify against: the leaf's key
//     must be the one recorded on first use for host:port (recorded only
//     after the handshake completes, see commit).
//  2. A chain verified before and still in its window passes (the cache).
//  3. The chain: an exact certificate of the rule (byte-identical leaf,
//     then its name and validity unless the rule relaxes them), else path
//     validation to the rule's anchors (and the system roots when on), for
//     the host or the rule's server_name; a missing intermediate may be
//     fetched when the rule or the options ask (AIA).
//  4. Pins, against the verified chain, as the pin set's state says.
//  5. First use on top, when a rule with anchors or certificates also says
//     tofu: it only ever narrows.

// verifyMode says what a verifier may do on a first contact under trust on
// first use.
type verifyMode int

const (
	// modeBare: a tls.Config handed to the caller (TLSConfigFor). It cannot
	// see the handshake complete, so a first contact is refused.
	modeBare verifyMode = iota
	// modeDial: the transport or DialTLSContext, which call commit once the
	// handshake completed.
	modeDial
	// modeJudge: judging a captured chain (Policy.Judge): nothing is
	// recorded and nobody is asked.
	modeJudge
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
	mode verifyMode
	// perRequest says the transport reports all_hosts trust for every
	// request (see Transport.RoundTrip), not the verifier per connection.
	perRequest bool

	mu    sync.Mutex
	cache map[[32]byte]validity // verified chains (by hash of the presented chain)
	// viaAllHosts holds the chains verified through the all_hosts rule,
	// cached or not (a report-only pin mismatch is never cached), so that
	// every use of one is reported.
	viaAllHosts map[[32]byte]bool
	// warned records the warnings already sent to the observer.
	warned map[string]bool
	// firstUse is, in modeJudge, the record a connection would write.
	firstUse *TOFURecord
	// chains are, in modeJudge, the chains a trusted connection verified.
	chains [][]*x509.Certificate
}

// validity is the window in which a cached verification stays good, and
// whether it was trusted through the all_hosts rule's anchors.
type validity struct {
	from, until time.Time
	allHosts    bool
}

const verifyCacheSize = 64

func newVerifier(p *Policy, eff *Effective, host, port string, mode verifyMode) *verifier {
	name := host
	if eff.ServerName != "" {
		name = eff.ServerName
	}
	return &verifier{p: p, eff: eff, host: host, port: port, name: name, mode: mode}
}

// verify is the VerifyConnection callback. It fails closed: with no
// certificate, no rule that trusts one, or a certificate file that cannot be
// read, the connection is refused.
func (v *verifier) verify(cs tls.ConnectionState) error {
	return v.refuse(v.check(cs.PeerCertificates, true), cs.PeerCertificates)
}

// verifyPeer is the tls.Config's VerifyPeerCertificate: the same check on
// full handshakes, so that a caller who replaces VerifyConnection instead
// of wrapping it still verifies every new session (resumed ones resume
// only sessions verified here). A chain VerifyConnection will see again is
// then a cache hit.
func (v *verifier) verifyPeer(raw [][]byte, _ [][]*x509.Certificate) error {
	presented := make([]*x509.Certificate, 0, len(raw))
	for _, der := range raw {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return v.refuse(v.fail(ReasonInvalidChain, presented, "the server sent a certificate that does not parse: "+err.Error(), err), presented)
		}
		presented = append(presented, c)
	}
	return v.refuse(v.check(presented, false), presented)
}

// refuse adds the remedy to a refusal, reports it to the observer, and
// returns it as crypto/tls's own certificate error wrapping the
// *VerifyError, so that code which checks for a certificate failure (retry
// policies, logging) recognises it; errors.As finds both.
func (v *verifier) refuse(err error, presented []*x509.Certificate) error {
	var ve *VerifyError
	if !errors.As(err, &ve) {
		return err
	}
	v.p.refused(ve)
	return &tls.CertificateVerificationError{UnverifiedCertificates: presented, Err: ve}
}

// refused finishes a refusal and reports it to the observer.
func (p *Policy) refused(e *VerifyError) *VerifyError {
	p.finish(e)
	p.observe(Event{Kind: EventRefused, Host: e.Host, Rule: e.Rule.sourceRule(), Message: e.Error(), Err: e})
	return e
}

// check verifies presented; report says to send the events of a use
// (all_hosts trust, a report-only mismatch), once per handshake.
func (v *verifier) check(presented []*x509.Certificate, report bool) error {
	if len(presented) == 0 {
		return v.fail(ReasonInvalidChain, nil, "the server presented no certificate", nil)
	}
	now := v.p.opts.Clock()
	if v.eff.TOFU && !v.eff.hasTrust() {
		// Trust on first use alone: the key's continuity is the trust.
		chains, verr := v.checkTOFU(presented, now, report)
		if verr != nil {
			return verr
		}
		if _, err := v.checkPins(chains, presented, now, report); err != nil {
			return err
		}
		v.judged(chains)
		return nil
	}
	key := chainKey(presented)
	if w, ok := v.cached(key, now); ok {
		if report {
			v.noteAllHosts(w.allHosts, presented)
		}
		return v.tofuToo(presented, now, report)
	}
	chains, win, verr := v.verifyChain(presented, now)
	if verr != nil {
		return verr
	}
	cacheable, err := v.checkPins(chains, presented, now, report)
	if err != nil {
		return err
	}
	if err := v.tofuToo(presented, now, report); err != nil {
		return err
	}
	win.allHosts = v.throughAllHosts(chains)
	if win.allHosts {
		v.markAllHosts(key)
	}
	if report {
		v.noteAllHosts(win.allHosts, presented)
	}
	if cacheable {
		v.store(key, win, now)
	}
	v.judged(chains)
	return nil
}

// judged keeps, when judging, the chains a trusted connection verified.
func (v *verifier) judged(chains [][]*x509.Certificate) {
	if v.mode == modeJudge {
		v.chains = chains
	}
}

// tofuToo adds key continuity on top of a verified chain, when a rule with
// anchors or certificates also says tofu: it only ever narrows.
func (v *verifier) tofuToo(presented []*x509.Certificate, now time.Time, report bool) error {
	if !v.eff.TOFU {
		return nil
	}
	if _, verr := v.checkTOFU(presented, now, report); verr != nil {
		return verr
	}
	return nil
}

// throughAllHosts reports whether a verified chain ends at an anchor of the
// all_hosts rule.
func (v *verifier) throughAllHosts(chains [][]*x509.Certificate) bool {
	r := v.eff.Source("anchors")
	if r == nil || !r.AllHosts {
		return false
	}
	m := v.p.material(v.eff)
	for _, chain := range chains {
		root := chain[len(chain)-1]
		for _, a := range m.anchors {
			if a.Equal(root) {
				return true
			}
		}
	}
	return false
}

// noteAllHosts reports, on every use, a connection trusted through the
// all_hosts rule: a TLS-inspection root vouches for every host.
func (v *verifier) noteAllHosts(through bool, presented []*x509.Certificate) {
	if !through || v.mode == modeJudge || v.perRequest {
		return
	}
	v.reportAllHosts(presented)
}

// reportAllHosts sends the all_hosts event for a use of presented.
func (v *verifier) reportAllHosts(presented []*x509.Certificate) {
	r := v.eff.Source("anchors")
	v.p.observe(Event{Kind: EventAllHostsTrusted, Host: v.host, Rule: r,
		Message: fmt.Sprintf("%s is trusted through the all_hosts rule at %s (an anchor trusted for every host), not a rule of its own; its certificate is %s",
			hostPort(v.host, v.port), r.Where(), certs.CertFingerprint(presented[0]))})
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

// mayUseAllHosts reports whether the host's anchors are the all_hosts
// rule's.
func (v *verifier) mayUseAllHosts() bool {
	r := v.eff.Source("anchors")
	return r != nil && r.AllHosts
}

// usedAllHosts reports whether the verified chain presented was trusted
// through the all_hosts rule's anchors, as its verification recorded.
func (v *verifier) usedAllHosts(presented []*x509.Certificate) bool {
	if !v.mayUseAllHosts() || len(presented) == 0 {
		return false
	}
	key := chainKey(presented)
	if w, ok := v.cached(key, v.p.opts.Clock()); ok && w.allHosts {
		return true
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.viaAllHosts[key]
}

// markAllHosts records a chain verified through the all_hosts rule.
func (v *verifier) markAllHosts(key [32]byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.viaAllHosts == nil {
		v.viaAllHosts = map[[32]byte]bool{}
	}
	for k := range v.viaAllHosts { // full: forget one (map order is random)
		if len(v.viaAllHosts) < verifyCacheSize {
			break
		}
		delete(v.viaAllHosts, k)
	}
	v.viaAllHosts[key] = true
}

func (v *verifier) cached(key [32]byte, now time.Time) (validity, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	w, ok := v.cache[key]
	return w, ok && !now.Before(w.from) && now.Before(w.until)
}

func (v *verifier) store(key [32]byte, w validity, now time.Time) {
	if ps := v.eff.Pins; ps != nil && ps.Active(now) {
		if end := ps.End(now.Location()); !end.IsZero() && end.Before(w.until) {
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
			"the rule for this host trusts no certificate: it names no anchors or certificates and system roots are off", nil)
	}
	inter := x509.NewCertPool()
	for _, c := range presented[1:] {
		inter.AddCert(c)
	}
	for _, c := range m.inter { // the rule's intermediates: they build paths, never end them
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
		if len(m.exact) > 0 && certs.IsSelfSigned(leaf) {
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
		len(top.IssuingCertificateURL) > 0 && !certs.IsSelfSigned(top)
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

// chainWindow is the window in which every verified chain stays valid.
func chainWindow(chains [][]*x509.Certificate) validity {
	w := validity{until: maxTime}
	for _, chain := range chains {
		for _, c := range chain {
			if c.NotBefore.After(w.from) {
				w.from = c.NotBefore
			}
			if end := c.NotAfter.Add(time.Nanosecond); end.Before(w.until) {
				w.until = end
			}
		}
	}
	return w
}

// checkPins enforces the effective pin set against the verified chains
// (never the raw list the server sent). It reports whether the outcome may
// be cached (a report-only mismatch and expired pins must be reported
// again).
func (v *verifier) checkPins(chains [][]*x509.Certificate, presented []*x509.Certificate, now time.Time, report bool) (bool, error) {
	ps := v.eff.Pins
	if ps == nil {
		return true, nil
	}
	switch v.p.PinState(ps, now) {
	case PinsExpired:
		v.warnOnce("pins_expired", Event{Kind: EventPinsExpired, Host: v.host, Rule: ps.Rule,
			Message: fmt.Sprintf("pins for %s expired on %s and are not enforced; update pins and pins_expire in %s",
				v.host, ps.Expire.Format(time.DateOnly), ps.Rule.Where())})
		return true, nil
	case PinsExpiringSoon:
		v.warnOnce("pins_expiring", Event{Kind: EventPinsExpiringSoon, Host: v.host, Rule: ps.Rule,
			Message: fmt.Sprintf("pins for %s expire on %s: add the next pins and move pins_expire in %s before then",
				v.host, ps.Expire.Format(time.DateOnly), ps.Rule.Where())})
	}
	var seen []certs.Pin
	seenSet := map[certs.Pin]bool{}
	for _, chain := range chains {
		for _, c := range chain {
			pin := certs.SPKIPin(c)
			if ps.Has(pin) {
				return true, nil
			}
			if !seenSet[pin] {
				seenSet[pin] = true
				seen = append(seen, pin)
			}
		}
	}
	e := v.fail(ReasonPinMismatch, presented, fmt.Sprintf("none of the %d pins of %s matches the verified chain", len(ps.Pins), ps.Rule.Where()), nil)
	e.ExpectedPins, e.SeenPins = ps.Pins, seen
	if !ps.Enforce {
		if !report {
			return false, nil
		}
		v.p.finish(e)
		v.p.observe(Event{Kind: EventPinMismatchReported, Host: v.host, Rule: ps.Rule, Err: e,
			Message: fmt.Sprintf("pin mismatch for %s allowed: the pins of %s are report-only (enforce = false)", v.host, ps.Rule.Where())})
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

// fail builds a VerifyError for this host with the presented chain; its
// remedy is added where it leaves the verifier (see Policy.finish).
func (v *verifier) fail(r Reason, presented []*x509.Certificate, detail string, err error) *VerifyError {
	now := v.p.opts.Clock()
	e := &VerifyError{Host: v.host, Port: v.port, Reason: r, Rule: v.eff, Detail: detail, Err: err, Now: now,
		Chain: certs.InspectChain(presented, now)}
	if len(presented) > 0 && r != ReasonBadConfig {
		e.exactLeaf = v.eff.exactlyTrusts(v.p, presented[0])
	}
	return e
}

// finish adds the remedy to e, computed from the refusal and the rule that
// applied: the one place remedies come from.
func (p *Policy) finish(e *VerifyError) *VerifyError {
	if e.Remedy.Action == ActionNone {
		e.Remedy = remedyFor(e, p)
	}
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
		if insecureSignature[c.SignatureAlgorithm] && !(c == top && certs.IsSelfSigned(c)) {
			return v.fail(ReasonInvalidChain, presented, fmt.Sprintf("%q is signed with %v, an insecure algorithm that Go refuses", c.Subject, c.SignatureAlgorithm), err)
		}
	}
	if c, issuer, anchor, serr := v.unverifiedSignature(presented); c != nil {
		where := "one the server sent"
		if anchor {
			where = "an anchor of this host's rule"
		}
		return v.fail(ReasonUnknownAuthority, presented,
			fmt.Sprintf("%q names %q as its issuer, and the certificate of that name (%s) does not verify its signature: %s", c.Subject, issuer.Subject, where, signatureProblem(c, issuer, serr)), err)
	}
	if i := v.ruleIntermediateAbove(top); i != nil {
		return v.fail(ReasonUnknownAuthority, presented,
			fmt.Sprintf("the chain builds through %q, an intermediate the rule at %s lists, and no anchor of this host issues it (an intermediate is never trusted by itself: the rule needs the anchor that issued it)",
				i.Subject, v.eff.Source("intermediates").Where()), err)
	}
	switch {
	case len(presented) == 1 && certs.IsSelfSigned(leaf):
		return v.fail(ReasonSelfSigned, presented, "the certificate is signed by itself and no rule trusts it for this host", err)
	case certs.IsSelfSigned(top):
		return v.fail(ReasonUnknownAuthority, presented,
			fmt.Sprintf("the chain ends at %q, which no rule trusts for this host (a root the server sends is never trusted by itself)", top.Subject), err)
	case len(top.IssuingCertificateURL) > 0:
		return v.fail(ReasonIncompleteChain, presented,
			fmt.Sprintf("the server did not send the certificate of %q, which issued %q (its certificate names the issuer URL %q)", top.Issuer, top.Subject, top.IssuingCertificateURL[0]), err)
	}
	return v.fail(ReasonUnknownAuthority, presented,
		fmt.Sprintf("%q is issued by %q, which the server did not send and no rule trusts for this host", top.Subject, top.Issuer), err)
}

// ruleIntermediateAbove returns the highest of the rule's intermediates
// that a path from c climbs through, or nil when none issues c.
func (v *verifier) ruleIntermediateAbove(c *x509.Certificate) *x509.Certificate {
	inter := v.p.material(v.eff).inter
	var top *x509.Certificate
	for range inter { // each step climbs one certificate; a loop ends within len(inter)
		var next *x509.Certificate
		for _, i := range inter {
			if !i.Equal(c) && c.CheckSignatureFrom(i) == nil {
				next = i
				break
			}
		}
		if next == nil || next.Equal(top) {
			break
		}
		top, c = next, next
	}
	return top
}

func (v *verifier) nameMismatch(leaf *x509.Certificate, presented []*x509.Certificate, err error) *VerifyError {
	e := v.fail(ReasonNameMismatch, presented, "", err)
	e.Names = certs.Names(leaf)
	more := 0
	if len(e.Names) > certs.MaxNamesShown {
		e.Names, more = e.Names[:certs.MaxNamesShown], len(e.Names)-certs.MaxNamesShown
	}
	e.Detail = fmt.Sprintf("the certificate is not valid for %s; it %s", v.name, coveredNames(e.Names, more))
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
	return e
}

// changed reports a leaf that is not an exact certificate the rule trusts.
// A rule for every port of the host may trust another service's certificate
// on another port: the detail says so, and a rule for this host:port trusts
// a second service beside it.
func (v *verifier) changed(presented, trusted []*x509.Certificate) *VerifyError {
	var fps []string
	for _, c := range trusted {
		fps = append(fps, certs.CertFingerprint(c).String())
	}
	src := v.eff.Source("certificates").Where()
	if v.eff.certsForPort {
		return v.fail(ReasonCertificateChanged, presented, fmt.Sprintf("the rule at %s trusts the certificate with SHA-256 %s for %s; the server presents %s",
			src, joinNames(fps), hostPort(v.host, v.port), certs.CertFingerprint(presented[0])), nil)
	}
	return v.fail(ReasonCertificateChanged, presented, fmt.Sprintf("the rule at %s trusts the certificate with SHA-256 %s for every port of %s; the server on port %s presents %s (another service on this port needs a rule for %s of its own)",
		src, joinNames(fps), v.host, portOr443(v.port), certs.CertFingerprint(presented[0]), hostPort(v.host, v.port)), nil)
}

func portOr443(p string) string {
	if p == "" {
		return "443"
	}
	return p
}
