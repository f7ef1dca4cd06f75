package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/probe"
	"github.com/httptrust/httptrust/store"
)

const fetchExamples = `  httptrust fetch https://192.168.1.20/                    shows the chain, asks y/N on a terminal
  httptrust fetch --fingerprint 5e:3f:...:a1 https://device.local/   the SHA-256 you read on the device
  httptrust fetch --yes https://dev.local:8443/            accept what is shown (first trust only)
  httptrust fetch --allow-name-mismatch https://192.168.1.20/        a device whose certificate says CN=localhost
  httptrust fetch --host '*.corp.example' --fingerprint AB:CD:... https://git.corp.example/
  httptrust fetch --tofu --yes https://192.168.1.20/        trust its key on first use; a different key is refused later`

const fetchLong = `Connect without sending a request, show the chain the server presents (subject,
issuer, names, validity, SHA-256, SPKI pin) and why it is not trusted today,
then trust it for that host only.

The server may be any TLS service: https://HOST[:PORT]/, HOST:PORT or
tls://HOST:PORT, smtps://, imaps://, ldaps://, and, with STARTTLS, smtp://,
submission://, imap://, ldap:// and postgres:// (see httptrust inspect). The
rule written is the same for all: a Go program reaching that host through
Policy.TLSConfigFor (a database driver, an SMTP client) trusts it too.

What is written: a self-signed certificate as an exact certificate for the
URL's host and port (192.168.1.20:5001: another service of that address,
on another port, keeps its own rule); otherwise the last certificate of the
path the server's certificates build, if it is a CA the system roots do not
already trust, as an anchor for the host (every port); failing that, the
server's certificate as an exact certificate for the host and port. It is
added to what the rule for that pattern trusts already; a certificate that
changed on the same host and port replaces the old one, and the output says
so. A name mismatch or an expired certificate is written only with
--allow-name-mismatch or --allow-expired (or a second yes at the prompt).

Consent: a y/N prompt on a terminal, --yes, or --fingerprint HEX (the SHA-256
of the certificate that will be written, read from the device or its
operator; a mismatch exits 60). Without any of them nothing is written
(exit 1). --host widens the scope (*.corp.example) and needs --fingerprint;
a certificate that needs --allow-name-mismatch or --allow-expired is
refused with --host at once, as a rule allows those for one exact host
only (the hint says the command for the URL's host). A certificate that
changed since it was trusted is replaced only with --fingerprint.

--tofu trusts the host and port on first use instead (the ssh known_hosts
model): the server's key is recorded in the store (with the same consent)
and a rule with tofu = true is written for the host and port, so that a
different key is refused later with exit 60.`

type fetchFlags struct {
	probeFlags
	yes, allowNameMismatch, allowExpired bool
	tofu                                 bool
	fetchIntermediates                   bool
	fingerprint                          string
	hosts                                []string
}

func (e *env) fetchCmd() *cobra.Command {
	f := &fetchFlags{}
	cmd := &cobra.Command{
		Use:     "fetch [flags] URL|HOST:PORT",
		Short:   "See a server's chain and trust it for that host only",
		Long:    fetchLong,
		Example: fetchExamples,
		Args:    exactArgs(1, "fetch needs one URL or HOST:PORT"),
		RunE:    func(cmd *cobra.Command, args []string) error { return e.fetch(cmd.Context(), f, args[0]) },
	}
	fl := cmd.Flags()
	f.probeFlags.register(fl)
	fl.StringVar(&f.serverName, "server-name", "", "verify the certificate as `NAME` (written into the rule)")
	fl.BoolVarP(&f.yes, "yes", "y", false, "trust what is shown without asking (not for --host, nor a changed certificate)")
	fl.StringVar(&f.fingerprint, "fingerprint", "", "trust only if the certificate to write has this SHA-256 `HEX` (from the device or its operator)")
	fl.StringArrayVar(&f.hosts, "host", nil, "trust for `PATTERN` instead of the URL's host and port (repeatable; *.corp.example, a host for every port)")
	fl.BoolVar(&f.allowNameMismatch, "allow-name-mismatch", false, "write an exact certificate that does not name the host")
	fl.BoolVar(&f.allowExpired, "allow-expired", false, "write an exact certificate outside its validity period")
	fl.BoolVar(&f.fetchIntermediates, "fetch-intermediates", false, "fetch a missing intermediate from the issuer URL the unverified certificate names (AIA), to offer it as the anchor")
	fl.BoolVar(&f.tofu, "tofu", false, "trust the host on first use: record its key now (same consent) and write a rule with tofu = true, so a different key is refused later")
	return cmd
}

// fetchView is what fetch reports; --json prints it.
type fetchView struct {
	URL     string        `json:"url"`
	Host    string        `json:"host"`
	Chain   []certs.Info  `json:"chain"`
	Trust   *judgement    `json:"trust"`
	Status  string        `json:"status"` // written, recorded, already_trusted, trusted_by_system_roots
	Plan    *planView     `json:"plan,omitempty"`
	Written []writtenView `json:"written,omitempty"`
	// Fetched are the missing intermediates fetched from the issuer URL
	// the server's certificate names (AIA), offered as the anchor.
	Fetched []certs.Info `json:"fetched_intermediates,omitempty"`
}

// fetchRun is one run of fetch.
type fetchRun struct {
	e        *env
	f        *fetchFlags
	u        *url.URL
	host     string
	port     string
	patterns []string
	widening bool
	fp       *certs.Fingerprint
	view     fetchView
	verdict  *httptrust.Verdict
	policy   *httptrust.Policy
	plan     *plan // what would be written, once known
	aiaErr   error // why a missing intermediate could not be fetched
	aiaURL   string
}

func (e *env) fetch(ctx context.Context, f *fetchFlags, raw string) (err error) {
	r := &fetchRun{e: e, f: f}
	// A failure names the server and the chain it presented (--json).
	defer func() { err = at(err, r.host, r.port, r.view.Chain) }()
	if err := r.parse(raw); err != nil {
		return err
	}
	e.setHintFlags(f.resolve)
	st, p, err := e.loadPolicy(nil)
	if err != nil {
		return err
	}
	// --max-time bounds the network steps together, not the prompt.
	b := newBudget(f.maxTime)
	ctx0 := ctx
	ctx, done := b.run(ctx0)
	defer func() { done() }()
	res, err := e.probeURL(ctx, r.u, &f.probeFlags)
	if err != nil {
		return err
	}
	j, v, err := judge(p, res, r.port)
	if err != nil {
		return err
	}
	r.verdict, r.policy = v, p
	r.view = fetchView{URL: r.u.Redacted(), Host: r.host, Chain: viewChain(res.Chain, e.now()), Trust: j}
	if v.Err != nil && v.Err.Reason == httptrust.ReasonBadConfig {
		return v.Err
	}
	eff := v.Effective
	if f.tofu || (eff.TOFU && len(f.hosts) == 0) {
		return r.fetchFirstUse(ctx, st, res, f.tofu)
	}
	if v.Trusted() && len(f.hosts) == 0 {
		if err := r.checkGivenFingerprint(res.Chain); err != nil {
			return err
		}
		return r.alreadyTrusted()
	}
	name := r.host
	if f.serverName != "" {
		name = f.serverName
	}
	sys, _ := x509.SystemCertPool()
	chain, fetched := r.completeChain(ctx, res.Chain)
	pl := planTrust(chain, name, e.now(), sys)
	r.plan = pl
	r.patterns = r.writePatterns(pl)
	r.noteFetched(pl, chain, fetched)
	r.view.Plan = pl.view()
	if !e.json {
		r.printState(e.stdout)
	}
	done()
	if err := r.consent(pl, v); err != nil {
		return err
	}
	ctx, done = b.run(ctx0)
	if err := r.prove(ctx, res.Chain[0]); err != nil {
		return err
	}
	return r.write(ctx, st, pl)
}

// checkGivenFingerprint compares --fingerprint, when given, with the
// certificates the server presents: a fingerprint that matches none is
// never ignored, even for a server that is trusted already (exit 60).
func (r *fetchRun) checkGivenFingerprint(chain []*x509.Certificate) error {
	if r.fp == nil {
		return nil
	}
	for _, c := range chain {
		if certs.CertFingerprint(c) == *r.fp {
			return nil
		}
	}
	return &exitError{code: exitVerify, reason: reasonFingerprintMismatch, err: fmt.Errorf("%s: the fingerprint given (%s) is not that of the certificate the server presents (%s): it may not be the server you expect; nothing written",
		r.host, r.fp, certs.CertFingerprint(chain[0])), hints: []string{"check the fingerprint with the server's owner"}}
}

// prove completes a handshake that accepts exactly leaf before anything is
// written: the probe stops as soon as the chain arrives, before the server
// proves it holds the leaf's key. ctx is what is left of --max-time; the
// connection is bounded by --connect-timeout too. Only a failed proof is
// a possible interception (exit 60); a server that cannot be reached or
// does not answer in time is reported as get reports it (exit 7, 28).
func (r *fetchRun) prove(ctx context.Context, leaf *x509.Certificate) error {
	t, err := probeTarget(r.u, &r.f.probeFlags)
	if err != nil {
		return err
	}
	var id *tls.Certificate
	if r.policy != nil {
		id, _ = r.policy.ClientIdentity(r.host)
	}
	start := time.Now()
	cctx, cancel := r.f.probeContext(ctx)
	defer cancel()
	err = probe.Confirm(cctx, t, leaf, id)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, probe.ErrNotProven):
		return &exitError{code: exitVerify, err: fmt.Errorf("%s: %w; nothing written", r.host, err),
			hints: []string{"the server presented this certificate but did not complete a handshake with it: it may not hold its key (someone may be intercepting the connection)"}}
	case isTimeout(err) && !errors.As(err, new(*probe.StartTLSError)):
		p := phaseConnected
		if op := (*net.OpError)(nil); errors.As(err, &op) && op.Op == "dial" {
			p = phaseNone
		}
		return &exitError{code: exitTimeout,
			err:   fmt.Errorf("%s (checking that the server holds the certificate's key); nothing written", timeoutMessage(r.u.Redacted(), p, time.Since(start), 0, -1)),
			hints: []string{timeoutHint(r.f.timeouts, p, ctx.Err() != nil)}}
	}
	pe := r.e.probeError(err, r.u)
	if ee, ok := pe.(*exitError); ok {
		ee.err = fmt.Errorf("%w (checking that the server holds the certificate's key); nothing written", ee.err)
	}
	return pe
}

// parse checks the URL and flags before anything is dialled.
func (r *fetchRun) parse(raw string) error {
	u, err := parseTarget(raw)
	if err != nil {
		return err
	}
	r.u = u
	if r.host, r.port, err = urlHostPort(u); err != nil {
		return err
	}
	if r.f.fingerprint != "" {
		fp, err := certs.ParseFingerprint(r.f.fingerprint)
		if err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("--fingerprint: %w", err)}
		}
		r.fp = &fp
	}
	r.patterns = []string{r.host}
	if r.f.tofu && (len(r.f.hosts) > 0 || r.f.serverName != "" || r.f.allowExpired || r.f.allowNameMismatch) {
		return usagef("--tofu trusts the key of one host:port: it goes with neither --host, --server-name, --allow-expired nor --allow-name-mismatch")
	}
	if len(r.f.hosts) > 0 {
		r.patterns = nil
		for _, h := range r.f.hosts {
			pat, err := httptrust.ParsePattern(h)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("--host: %w", err)}
			}
			r.patterns = append(r.patterns, pat.String())
			r.widening = r.widening || (pat.String() != r.host && pat.String() != r.hostPort())
		}
	}
	return nil
}

// hostPort is the URL's host and port as a pattern ("nas.local:5001").
func (r *fetchRun) hostPort() string { return net.JoinHostPort(r.host, r.port) }

// writePatterns are the patterns fetch writes pl for: --host as given;
// otherwise an anchor for the host (a CA issues for every port) and an
// exact certificate for the host and port (one service's certificate:
// another service of the address keeps its own rule).
func (r *fetchRun) writePatterns(pl *plan) []string {
	if len(r.f.hosts) > 0 {
		return r.patterns
	}
	if pl.Kind == store.Anchor {
		return []string{r.host}
	}
	return []string{r.hostPort()}
}

// alreadyTrusted reports a server that needs nothing written.
func (r *fetchRun) alreadyTrusted() error {
	e := r.e
	eff := r.verdict.Effective
	r.view.Status = "already_trusted"
	msg := fmt.Sprintf("%s is already trusted (%s); nothing written", r.u.Redacted(), r.view.Trust.StoreRule)
	if eff.Rule == nil {
		r.view.Status = "trusted_by_system_roots"
		msg = fmt.Sprintf("%s is already trusted by the system roots; nothing written", r.u.Redacted())
	}
	if e.json {
		return writeJSON(e.stdout, r.view)
	}
	r.printState(e.stdout)
	e.note(msg)
	if r.view.Status == "trusted_by_system_roots" && protocolOf(r.u) == probe.HTTPS {
		// The pin is of a chain the system roots verified: a first trust,
		// not a replacement.
		e.hint("to also pin its key (a public CA could issue another certificate for it):")
		e.hint("  " + e.commandLine(httptrust.Command{Name: "get", Args: []string{"--pin", r.view.Chain[0].Pin, r.u.Redacted()}}))
	}
	return nil
}

// printState shows the chain, why it is not trusted, and the plan.
func (r *fetchRun) printState(w io.Writer) {
	v := r.view
	printf(w, "%s presents %s (%s, %s):\n", v.URL, plural(len(v.Chain), "certificate"), v.Trust.TLSVersion, v.Trust.CipherSuite)
	printChain(w, "  ", v.Chain)
	r.printFetched(w)
	// The reason, the plan's subject and why hold the certificate's words:
	// wrapLine lays them out so that none starts a line of a terminal.
	if se := r.verdict.Err; se != nil {
		printf(w, "%s", wrapLine(ours(fmt.Sprintf("not trusted today: %s: ", se.Reason)), se.Detail))
	}
	if v.Plan != nil {
		what := "the exact certificate"
		if v.Plan.Kind == "anchor" {
			what = "the CA certificate (anchor)"
		}
		printf(w, "%s", wrapLine("to trust for ", fmt.Sprintf("%s: %s %s", strings.Join(r.patterns, ", "), what, v.Plan.Subject)))
		printf(w, "  sha256 %s\n", v.Plan.SHA256)
		printf(w, "%s", wrapLine("  (", v.Plan.Why+")"))
	}
}

// write adds pl to the managed rule of every pattern: all of them, or
// none (a conflict with a person's rule for one pattern writes nothing).
// A certificate that changed under the rule of the same pattern replaces
// the rule's certificates; otherwise the rule keeps what it trusts.
func (r *fetchRun) write(ctx context.Context, st *store.Store, pl *plan) error {
	e := r.e
	var ts []store.Trust
	for _, pat := range r.patterns {
		ts = append(ts, store.Trust{Pattern: pat, Kind: pl.Kind, Certs: []*x509.Certificate{pl.Cert},
			AllowNameMismatch: pl.NameMismatch, AllowExpired: pl.Expired, ServerName: r.f.serverName,
			ReplaceCerts: r.changedUnder(pat, pl), LiftPins: r.pinsRefuse(pat, pl)})
	}
	added, err := st.AddAll(ctx, ts)
	if err != nil {
		return e.storeError(st, err)
	}
	for _, a := range added {
		r.view.Written = append(r.view.Written, viewAdded(a))
	}
	r.view.Status = "written"
	if e.json {
		return writeJSON(e.stdout, r.view)
	}
	for _, a := range added {
		e.printAdded(e.stdout, a)
	}
	r.noteWiderRule(pl)
	if slices.Contains(r.patterns, r.host) || slices.Contains(r.patterns, r.hostPort()) {
		next := "get" // inspect for a TLS service that is not HTTPS: it shows the store's trust
		if protocolOf(r.u) != probe.HTTPS {
			next = "inspect"
		}
		e.note("now: " + e.commandLine(httptrust.Command{Name: next, Args: []string{r.u.Redacted()}}))
	}
	return nil
}

// changedUnder reports whether pl, an exact certificate, replaces the one
// the rule of pat trusts for this very host and port: the server's
// certificate changed there (the consent for it was a fingerprint).
func (r *fetchRun) changedUnder(pat string, pl *plan) bool {
	v := r.verdict
	if pl.Kind != store.Certificate || v.Err == nil || v.Err.Reason != httptrust.ReasonCertificateChanged {
		return false
	}
	eff := v.Effective
	return pat == r.hostPort() && eff.Pattern == pat && eff.Source("certificates") == eff.Rule
}

// pinsRefuse reports whether the pins that apply to the host and port
// would refuse pl, an exact certificate written for pat (the host and
// port, or the host): its rule then lifts them (pins = []). An exact
// certificate pins more than any pin: the whole certificate, its key
// with it. Pins are there only where the host trusts something, so the
// consent to this write was a fingerprint obtained out of band.
func (r *fetchRun) pinsRefuse(pat string, pl *plan) bool {
	ps := r.verdict.Effective.Pins
	return pl.Kind == store.Certificate && ps != nil && !ps.Has(certs.SPKIPin(pl.Cert)) && (pat == r.hostPort() || pat == r.host) &&
		r.fp != nil && *r.fp == certs.CertFingerprint(pl.Cert)
}

// noteWiderRule says, after an exact certificate was written for the host
// and port, that the host's rule for every port still trusts its own
// exact certificates, and how to take them out once no service presents
// them. The certificates named are the store's, never the server's.
func (r *fetchRun) noteWiderRule(pl *plan) {
	eff := r.verdict.Effective
	src := eff.Source("certificates")
	if pl.Kind != store.Certificate || src == nil || len(r.f.hosts) > 0 || !slices.Contains(src.Hosts, r.host) {
		return
	}
	e := r.e
	e.note(fmt.Sprintf("the rule for %s (every port, %s) still trusts its own certificates for the other ports", r.host, src.Where()))
	if !strings.HasPrefix(src.File, httptrust.ManagedDir+"/") {
		return
	}
	for _, ref := range eff.Certificates {
		fp := strings.TrimSuffix(path.Base(ref.File), ".pem")
		if _, err := certs.ParseFingerprint(fp); err != nil {
			continue
		}
		e.hint("once no service of " + r.host + " presents " + fp + ":")
		e.hint("  " + e.commandLine(httptrust.Command{Name: "trust remove", Args: []string{r.host, "--cert", fp}}))
	}
}
