package diagnose

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/probe"
)

// gap is what is known of a chain that stops below its root: the server
// omits an intermediate, or no rule trusts the root above it, or both.
type gap struct {
	top *x509.Certificate // the last certificate of the chain as sent
	// fetched is what the issuer URL gave (asked with FetchIntermediates);
	// fetchErr is why fetching failed.
	fetched  []*x509.Certificate
	fetchErr error
	// issuerIsRoot says the fetched issuer is itself a root: the server
	// omits nothing, the root is not trusted.
	issuerIsRoot bool
	// rootUntrusted says no rule trusts the root above the missing issuer
	// (known from the fetched issuer, or because nothing in the store
	// trusts a CA for the host); rootName names it when known.
	rootUntrusted bool
	rootName      string
	// publicOnly says the host has no anchors and only the system roots
	// could vouch for the missing issuer.
	publicOnly bool
}

// chain describes the chain as sent: its order, a missing intermediate, a
// root or certificates that do not belong. verdict is the store's verdict
// on it: a missing issuer is reported only when that verdict (or the
// system roots) shows the chain does not reach a trusted root, never when
// it is refused for another reason (an expiry, a name).
func (r *run) chain(res *probe.Result, verdict error) {
	chain := res.Chain
	r.rep.Chain = certs.InspectChain(chain, r.now)
	var details []string
	for i, c := range chain {
		details = append(details, fmt.Sprintf("%d: %s (issued by %s)", i, c.Subject, c.Issuer))
	}
	status, notes := OK, []string{}
	path := []*x509.Certificate{chain[0]}
	used := map[int]bool{0: true}
	outOfOrder := false
	for cur := chain[0]; ; {
		if certs.IsSelfSigned(cur) {
			break
		}
		next := -1
		for j, c := range chain {
			if !used[j] && bytes.Equal(c.RawSubject, cur.RawIssuer) && cur.CheckSignatureFrom(c) == nil {
				next = j
				break
			}
		}
		if next < 0 {
			break
		}
		if next != len(path) {
			outOfOrder = true
		}
		used[next] = true
		path = append(path, chain[next])
		cur = chain[next]
	}
	if outOfOrder {
		status = Warn
		notes = append(notes, "the certificates are out of order (each should be followed by its issuer); Go copes, other clients may not")
	}
	if extra := len(chain) - len(used); extra > 0 {
		status = Warn
		notes = append(notes, plural(extra, "certificate", "certificates")+" sent that are not part of the chain")
	}
	top := path[len(path)-1]
	if certs.IsSelfSigned(top) && len(path) > 1 {
		notes = append(notes, "the server sends its root; harmless, but a root the server sends is never trusted by itself")
	}
	if !certs.IsSelfSigned(top) && r.issuerMissing(res, verdict) {
		note, warn := r.missing(res, top)
		if warn {
			status = Warn
		}
		notes = append(notes, note)
		if r.stopped {
			return
		}
	}
	summary := plural(len(chain), "certificate", "certificates") + " sent"
	if len(notes) > 0 {
		summary += "; " + notes[0]
		details = append(details, notes[1:]...)
	}
	r.add("chain", status, summary, details...)
}

// issuerMissing reports whether the chain as sent stops below the roots
// that could vouch for it: the store refuses it for an unknown authority
// or an incomplete chain, and the system roots do not vouch for its top.
func (r *run) issuerMissing(res *probe.Result, verdict error) bool {
	var ve *httptrust.VerifyError
	if verdict == nil || !errors.As(verdict, &ve) {
		return false
	}
	if ve.Reason != httptrust.ReasonIncompleteChain && ve.Reason != httptrust.ReasonUnknownAuthority {
		return false
	}
	return !r.systemTrusts(res)
}

// missing names the issuer the server did not send, the URL its
// certificate names for it, and whether the root above it is trusted. It
// fetches from that URL only when asked: the certificate is not verified.
// warn says the server is at fault (it omits a certificate).
func (r *run) missing(res *probe.Result, top *x509.Certificate) (note string, warn bool) {
	g := &gap{top: top}
	r.gap = g
	issuer := top.Issuer.String()
	msg := fmt.Sprintf("the server omits its intermediate: the chain stops at %q, and the certificate of its issuer %q is missing", top.Subject.String(), issuer)
	if len(top.IssuingCertificateURL) == 0 {
		r.judgeRoot(res, g)
		return msg + " (either a missing intermediate, or a root you do not trust yet)", true
	}
	r.rep.IssuerURL = top.IssuingCertificateURL[0]
	msg += fmt.Sprintf(" (published at %q)", r.rep.IssuerURL)
	if !r.o.FetchIntermediates {
		r.judgeRoot(res, g)
		return msg + "; not fetched: the issuer URL of an unverified certificate is fetched only with --fetch-intermediates", true
	}
	f := r.o.AIA
	if f == nil {
		f = &httptrust.AIAFetcher{}
	}
	r.begin("chain")
	ctx, cancel := r.stepCtx()
	defer cancel()
	got, err := f.Fetch(ctx, top)
	if err != nil && r.ctx.Err() != nil && r.timedOut("chain", err, "the issuer URL "+r.rep.IssuerURL) {
		return "", false
	}
	g.fetched, g.fetchErr = got, err
	if err == nil && len(got) == 0 {
		g.fetchErr = errors.New("the issuer URL gave no certificate")
	}
	r.judgeRoot(res, g)
	switch {
	case g.fetchErr != nil:
		msg += fmt.Sprintf("; fetching it failed: %v", g.fetchErr)
	case g.issuerIsRoot:
		return fmt.Sprintf("the chain stops at %q; its issuer %q, fetched from its issuer URL, is a root (SHA-256 %s): the server omits nothing, but no rule trusts that root for %s",
			top.Subject.String(), got[0].Subject.String(), certs.CertFingerprint(got[0]), r.rep.Host), false
	default:
		msg += fmt.Sprintf("; fetched it: %q, SHA-256 %s", got[0].Subject.String(), certs.CertFingerprint(got[0]))
	}
	return msg, true
}

// judgeRoot learns whether a rule trusts the root above the missing
// issuer: from the chain completed with the fetched issuer when there is
// one, else from whether the host has anchors at all.
func (r *run) judgeRoot(res *probe.Result, g *gap) {
	if len(g.fetched) > 0 {
		last := g.fetched[len(g.fetched)-1]
		g.rootName = last.Issuer.String()
		if certs.IsSelfSigned(last) {
			g.rootName = last.Subject.String()
		}
		g.issuerIsRoot = certs.IsSelfSigned(g.fetched[0])
		cs := res.State
		cs.PeerCertificates = append(append([]*x509.Certificate{}, res.Chain...), g.fetched...)
		v, err := r.o.Policy.Judge(netJoin(r.rep.Host, r.rep.Port), cs)
		if err == nil && v.Err != nil {
			switch v.Err.Reason {
			case httptrust.ReasonUnknownAuthority, httptrust.ReasonIncompleteChain, httptrust.ReasonSelfSigned:
				g.rootUntrusted = true
			}
		}
		return
	}
	eff := r.effective()
	if eff != nil && len(eff.Anchors) > 0 {
		return // the rule's anchors may well be its root: fetching tells
	}
	g.rootUntrusted = true
	g.publicOnly = eff == nil || eff.SystemRoots
}

// rootProblem says, in words, what is known of the root's trust.
func (g *gap) rootProblem(host string) string {
	switch {
	case g.rootName != "":
		return fmt.Sprintf("no rule trusts %q for %s", g.rootName, host)
	case g.publicOnly:
		return fmt.Sprintf("no rule trusts a CA for %s, so unless a public CA issued %q its root is not trusted either", host, g.top.Issuer.String())
	}
	return fmt.Sprintf("no rule trusts a CA for %s (it names no anchors and the system roots are off)", host)
}
