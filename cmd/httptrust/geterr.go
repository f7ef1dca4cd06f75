package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
)

// What get says when a request fails: the library's refusal, worded for
// the command line where needed, a timeout as curl says it, and the hints
// of the command line's own.

// requestError turns a failed request into its exit code and hints.
func (r *getRun) requestError(ctx context.Context, err error) error {
	e, u := r.e, r.u
	var ve *httptrust.VerifyError
	if errors.As(err, &ve) {
		var ue *url.Error
		if errors.As(err, &ue) {
			r.failedURL = ue.URL
		}
		r.adjustRemedy(ve)
		if h := r.pinHints(ve); len(h) > 0 {
			return &moreHints{err: err, hints: h}
		}
		return ve
	}
	where := u.Redacted()
	var ue *url.Error
	msg := err.Error()
	if errors.As(err, &ue) {
		if hop, perr := url.Parse(ue.URL); perr == nil {
			where, r.hop = hop.Redacted(), hop
		}
		msg = fmt.Sprintf("%s: %v", where, ue.Err)
	}
	if isTimeout(err) {
		return r.timeout(ctx, where)
	}
	code := exitCode(err, r.tracer.handshakeFailed())
	return &exitError{code: code, err: errors.New(msg), hints: e.netErrorHints(code, u)}
}

// timeout explains a timeout as curl does: what had happened, after how
// long, and the flag that allows longer.
func (r *getRun) timeout(ctx context.Context, where string) error {
	tr := r.tracer.transfer()
	elapsed := time.Duration(0)
	if !tr.start.IsZero() {
		elapsed = time.Since(tr.start)
	}
	p := tr.phase
	if p == phaseConnected && !tr.tlsDone && r.u.Scheme == "http" {
		p = phaseSent
	}
	var got, total int64 = 0, -1
	if r.body != nil {
		got = r.body.n
	}
	if r.resp != nil {
		total = r.resp.ContentLength
	}
	byMaxTime := ctx.Err() != nil
	return &exitError{code: exitTimeout, err: errors.New(timeoutMessage(where, p, elapsed, got, total)),
		hints: []string{timeoutHint(r.g.timeouts, p, byMaxTime)}}
}

// adjustRemedy words the library's remedy for the command line: a
// redirect to plain HTTP is followed with -L --allow-downgrade; a legacy
// device that the store trusts nothing for is reached once with curl's
// --tlsv1.0 (for its host only).
func (r *getRun) adjustRemedy(ve *httptrust.VerifyError) {
	switch {
	case ve.Reason == httptrust.ReasonDowngrade:
		ve.Remedy = httptrust.Remedy{Action: httptrust.ActionAllowDowngrade,
			Text:     "follow it only if plain HTTP is acceptable for this server",
			Commands: []httptrust.Command{{Name: "get", Args: []string{"-L", "--allow-downgrade", r.u.Redacted()}}}}
	case ve.Remedy.Action == httptrust.ActionAllowLegacyTLS && !ve.Remedy.OutOfBand && r.g.tlsMax == "" && r.g.minTLS == "":
		ve.Remedy.Text = fmt.Sprintf("the server and httptrust share no TLS version; for a legacy device, allow TLS 1.0 and 1.1 for %s only, for one request", ve.Host)
		ve.Remedy.Commands = []httptrust.Command{{Name: "get", Args: []string{"--tlsv1.0", r.u.Redacted()}}}
	}
	if r.redirectHop(ve) && ve.Reason != httptrust.ReasonDowngrade && ve.Remedy.Action != httptrust.ActionNone {
		// A hop of -L: the first server chose this host.
		ve.Remedy.Text = fmt.Sprintf("%s was reached by a redirect from %s, which chose it: trust it only if you expect %s to send you there; %s",
			net.JoinHostPort(ve.Host, ve.Port), r.u.Redacted(), r.u.Hostname(), ve.Remedy.Text)
	}
}

// redirectHop reports whether ve refused the server of a request -L made
// to another host or port than the URL's: one a redirect chose (not a
// proxy on the way, whose refusal names the proxy, not the request's host).
func (r *getRun) redirectHop(ve *httptrust.VerifyError) bool {
	hop, err := url.Parse(r.failedURL)
	if err != nil || r.failedURL == "" {
		return false
	}
	hh, hp, err1 := urlHostPort(hop)
	uh, up, err2 := urlHostPort(r.u)
	if err1 != nil || err2 != nil || (hh == uh && hp == up) {
		return false
	}
	return hh == ve.Host && hp == ve.Port
}

// pinHints: --pin and --pinnedpubkey are checked on top of verification,
// so a server refused before its pins were looked at must be trusted first
// (curl users expect -k --pinnedpubkey). When nothing but the command
// line's pins is behind the refusal (no rule of the store trusts anything
// for the host), the library's remedy took the pins for trust the store
// holds: it is the remedy of a host the store does not know, fetch (which
// judges the server by the store alone, and asks).
func (r *getRun) pinHints(ve *httptrust.VerifyError) []string {
	if len(r.g.pins)+len(r.g.pinnedPubKeys) == 0 || r.g.cacert != "" || r.g.capath != "" {
		return nil
	}
	switch ve.Reason {
	case httptrust.ReasonSelfSigned, httptrust.ReasonUnknownAuthority:
	default:
		return nil
	}
	if ve.Remedy.OutOfBand && onlyCommandLine(ve.Rule) {
		action := httptrust.ActionTrustAuthority
		if ve.Reason == httptrust.ReasonSelfSigned {
			action = httptrust.ActionTrustCertificate
		}
		ve.Remedy = httptrust.Remedy{Action: action,
			Text:     "see the server's chain and trust it for " + ve.Host + " first; --pin is then checked on top",
			Commands: []httptrust.Command{{Name: "fetch", Args: []string{r.u.Redacted()}}}}
	}
	return []string{
		"--pin and --pinnedpubkey are checked on top of verification, never instead of it: the server must be trusted first",
		"for one request, --cacert FILE with the server's own certificate (or its CA) is the equivalent of curl's -k --pinnedpubkey: it trusts exactly that certificate, for this host",
	}
}

// onlyCommandLine reports whether every field of eff that is not a
// default comes from the command line's rule: the store trusts nothing of
// its own for the host.
func onlyCommandLine(eff *httptrust.Effective) bool {
	if eff == nil {
		return false
	}
	for _, src := range eff.Sources {
		if !strings.HasPrefix(src, "default") && src != commandLineRule {
			return false
		}
	}
	return true
}

// moreHints is a refused connection with hints of the command line's own
// after the remedy.
type moreHints struct {
	err   error
	hints []string
}

func (m *moreHints) Error() string { return m.err.Error() }
func (m *moreHints) Unwrap() error { return m.err }

// clientCertHints: after a 4xx from a server that asked for a client
// certificate and got none, say so and how to give one.
func (r *getRun) clientCertHints(resp *http.Response) []string {
	if resp.StatusCode >= 500 {
		return nil
	}
	host, _, err := urlHostPort(resp.Request.URL)
	if err != nil {
		return nil
	}
	cr, ok := r.tracer.certRequest(host)
	if !ok || cr.sent {
		return nil
	}
	return []string{
		fmt.Sprintf("%s asked for a client certificate (acceptable issuers: %s) and none was sent: it may refuse requests without one; give one with --cert", host, issuerList(cr.issuers)),
		"  " + r.e.commandLine(httptrust.Command{Name: "get", Args: []string{"--cert", httptrust.PlaceholderClientCert, resp.Request.URL.Redacted()}}),
	}
}
