package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/store"
)

// completeChain fetches, from the issuer URLs the certificates name (AIA),
// the issuers a chain lacks when the server sent no CA certificate that
// issues its own: fetch can then offer to anchor the missing intermediate
// for this host, so that later requests need no fetch. The URLs come from
// certificates nobody has verified, so it fetches only with
// --fetch-intermediates (through the guarded AIAFetcher); without it, it
// keeps the URL it would have fetched in r.aiaURL for printFetched. The
// fetched certificates are only candidates: nothing is trusted without
// consent. It returns the chain with what was fetched appended, and what
// was fetched.
func (r *fetchRun) completeChain(ctx context.Context, chain []*x509.Certificate) (full, fetched []*x509.Certificate) {
	now := r.e.now()
	if certs.IsSelfSigned(chain[0]) || pathAnchor(chain, now, nil) != nil {
		return chain, nil
	}
	f := r.e.aia
	if f == nil {
		f = &httptrust.AIAFetcher{}
	}
	top := pathTop(chain)
	if !r.f.fetchIntermediates {
		if len(top.IssuingCertificateURL) > 0 && !bytes.Equal(top.RawIssuer, top.RawSubject) {
			r.aiaURL = top.IssuingCertificateURL[0]
		}
		return chain, nil
	}
	for i := 0; i < httptrust.MaxAIAHops && len(top.IssuingCertificateURL) > 0 && !bytes.Equal(top.RawIssuer, top.RawSubject); i++ {
		got, err := f.Fetch(ctx, top)
		if err != nil {
			r.aiaErr = err
			break
		}
		issuer := issuerIn(got, top)
		if issuer == nil {
			r.aiaErr = fmt.Errorf("%s: no certificate there issued %q", top.IssuingCertificateURL[0], top.Subject)
			break
		}
		fetched = append(fetched, issuer)
		top = issuer
	}
	return append(chain[:len(chain):len(chain)], fetched...), fetched
}

// pathTop follows the presented chain from the leaf through the issuers it
// holds and returns the last certificate reached.
func pathTop(chain []*x509.Certificate) *x509.Certificate {
	top, used := chain[0], map[*x509.Certificate]bool{chain[0]: true}
	for {
		next := issuerIn(chain, top)
		if next == nil || used[next] {
			return top
		}
		used[next], top = true, next
	}
}

// issuerIn returns the certificate of cs that issued c, or nil.
func issuerIn(cs []*x509.Certificate, c *x509.Certificate) *x509.Certificate {
	for _, i := range cs {
		if i != c && bytes.Equal(i.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(i) == nil {
			return i
		}
	}
	return nil
}

// noteFetched records what completeChain fetched in the view, and says in
// the plan when the anchor to write is one of them.
func (r *fetchRun) noteFetched(pl *plan, full, fetched []*x509.Certificate) {
	for _, c := range fetched {
		r.view.Fetched = append(r.view.Fetched, certs.Inspect(c, false, r.e.now()))
		if pl.Kind != store.Anchor || !pl.Cert.Equal(c) {
			continue
		}
		for _, child := range full {
			if child != c && issuerIn([]*x509.Certificate{c}, child) != nil && len(child.IssuingCertificateURL) > 0 {
				pl.Why += fmt.Sprintf("; the server did not send it: it was fetched from %q, and anchoring it means later requests need no fetch", child.IssuingCertificateURL[0])
				break
			}
		}
	}
}

// printFetched says what completeChain fetched, or why it could not. The
// lines that hold a certificate's words are wrapped by wrapLine.
func (r *fetchRun) printFetched(w io.Writer) {
	for _, v := range r.view.Fetched {
		printf(w, "%s", wrapLine("the server did not send its intermediate ", v.Subject+"; fetched it from the issuer URL its certificate names:"))
		printChain(w, "  ", []certs.Info{v})
	}
	if r.aiaErr != nil {
		printf(w, "%s", wrapLine("the server did not send the certificate of its issuer, and fetching it failed: ", r.aiaErr.Error()))
	}
	if r.aiaURL != "" {
		printf(w, "%s", wrapLine("the server did not send the certificate of its issuer; its certificate names the issuer URL ",
			fmt.Sprintf("%q (not fetched: the certificate is not verified)", r.aiaURL)))
		printf(w, "  to fetch it and offer it as the anchor: %s\n", r.e.commandLine(r.fetchCommand("--fetch-intermediates")))
	}
}
