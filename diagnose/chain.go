package diagnose

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/probe"
)

// chain describes the chain as sent: its order, a missing intermediate, a
// root or certificates that do not belong.
// complete says the chain was found to end below a trusted root.
func (r *run) chain(res *probe.Result, complete bool) {
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
		notes = append(notes, fmt.Sprintf("%d certificate(s) sent that are not part of the chain", extra))
	}
	top := path[len(path)-1]
	if certs.IsSelfSigned(top) && len(path) > 1 {
		notes = append(notes, "the server sends its root; harmless, but a root the server sends is never trusted by itself")
	}
	if !certs.IsSelfSigned(top) && !complete {
		status = Warn
		notes = append(notes, r.missing(top))
	}
	summary := fmt.Sprintf("%d certificate(s) sent", len(chain))
	if len(notes) > 0 {
		summary += "; " + notes[0]
		details = append(details, notes[1:]...)
	}
	r.add("chain", status, summary, details...)
}

// missing names the issuer the server did not send, and the URL its
// certificate names for it. It fetches from that URL only when asked: the
// certificate is not verified.
func (r *run) missing(top *x509.Certificate) string {
	msg := fmt.Sprintf("the chain stops at %q: the certificate of its issuer %q is missing", top.Subject.String(), top.Issuer.String())
	if len(top.IssuingCertificateURL) == 0 {
		return msg + " (either a missing intermediate, or a root you do not trust yet)"
	}
	r.rep.IssuerURL = top.IssuingCertificateURL[0]
	msg += fmt.Sprintf(" (published at %q)", r.rep.IssuerURL)
	if !r.o.FetchIntermediates {
		return msg + "; not fetched: the issuer URL of an unverified certificate is fetched only with --fetch-intermediates"
	}
	f := r.o.AIA
	if f == nil {
		f = &httptrust.AIAFetcher{}
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.o.Timeout)
	defer cancel()
	got, err := f.Fetch(ctx, top)
	switch {
	case err != nil:
		msg += fmt.Sprintf("; fetching it failed: %v", err)
	case len(got) > 0:
		msg += fmt.Sprintf("; fetched it: %q, SHA-256 %s", got[0].Subject.String(), certs.CertFingerprint(got[0]))
	}
	return msg
}
