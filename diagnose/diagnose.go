// Package diagnose runs, in order, every check a support engineer would run
// on an HTTPS server that httptrust refuses or that misbehaves, and says in
// words what it found and the one command that fixes it. It diagnoses other
// TLS services too (tls://, smtp://, imap://, ldap://, postgres://, ...: see
// probe.LookupScheme), speaking STARTTLS where the protocol starts in plain
// text; they get every check but the HTTP request.
//
// It only looks: it sends no request over a connection that was not
// verified, it fetches the issuer URL an unverified certificate names only
// when asked (Options.FetchIntermediates), and it records nothing (give it
// a policy whose first-use store is read-only).
package diagnose

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/probe"
)

// Status of a step.
const (
	OK   = "ok"
	Warn = "warn"
	Fail = "fail"
	Skip = "skip"
)

// Step is one check and what it found.
type Step struct {
	Name    string   `json:"name"`
	Status  string   `json:"status"`
	Summary string   `json:"summary"`
	Details []string `json:"details,omitempty"`
}

// Report is the whole diagnosis.
type Report struct {
	URL    string           `json:"url"`
	Host   string           `json:"host"`
	Port   string           `json:"port"`
	Steps  []Step           `json:"steps"`
	Chain  []certs.Info     `json:"chain,omitempty"`
	Reason httptrust.Reason `json:"reason,omitempty"` // the verification reason, when refused
	// Remedy is the one remedy of the first problem found, nil when there
	// is nothing to fix; Fix is it on one line, or NothingToFix.
	Remedy *httptrust.Remedy `json:"remedy,omitempty"`
	Fix    string            `json:"fix"`
	// IssuerURL is the issuer URL (AIA) named by the certificate whose
	// issuer the server did not send. It is fetched only with
	// Options.FetchIntermediates.
	IssuerURL string `json:"issuer_url,omitempty"`
	// Err is the verification error, when the store refuses the server.
	Err *httptrust.VerifyError `json:"-"`
}

// NothingToFix is the Fix of a healthy server.
const NothingToFix = "nothing to fix"

// Options say what to diagnose with.
type Options struct {
	// Policy is the store's policy (required). Its first-use store should
	// be read-only: diagnose must not record anything.
	Policy *httptrust.Policy
	// SystemRoots is the system pool; nil means x509.SystemCertPool.
	SystemRoots *x509.CertPool
	// Addr, when set, is dialled instead of the URL's host (curl's
	// --resolve); every decision is still about the URL's host.
	Addr string
	// Dial dials TCP; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Lookup resolves names; nil means net.DefaultResolver.LookupHost.
	Lookup func(ctx context.Context, host string) ([]string, error)
	// FetchIntermediates fetches the issuer the server did not send from
	// the URL its certificate names (AIA), to name it for sure. That
	// certificate is not verified, so without it nothing is fetched: the
	// report names the URL (Report.IssuerURL) and the fix offers
	// httptrust diagnose --fetch-intermediates.
	FetchIntermediates bool
	// AIA fetches with FetchIntermediates; nil means an
	// httptrust.AIAFetcher with its defaults (public unicast addresses
	// only).
	AIA *httptrust.AIAFetcher
	// Clock is the local clock; nil means time.Now.
	Clock func() time.Time
	// Timeout bounds each network step; 0 means 10 seconds.
	Timeout time.Duration
}

// run carries one diagnosis.
type run struct {
	ctx  context.Context
	o    Options
	rep  *Report
	addr string
	now  time.Time
	raw  string // the URL as given, userinfo and all, for the request
	// proto is what the server speaks over TLS: HTTPS, or another
	// service (tls://, smtp://, ...), which gets no HTTP request.
	proto probe.Protocol
}

// Run diagnoses rawURL. It always returns a report; a step that cannot run
// says why and the later steps that depend on it are skipped.
func Run(ctx context.Context, rawURL string, o Options) *Report {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Dial == nil {
		o.Dial = (&net.Dialer{}).DialContext
	}
	if o.Lookup == nil {
		o.Lookup = net.DefaultResolver.LookupHost
	}
	shown := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		shown = u.Redacted() // a password in the URL is never shown
	}
	r := &run{ctx: ctx, o: o, rep: &Report{URL: shown, Fix: NothingToFix}, now: o.Clock(), raw: rawURL}
	r.diagnose(rawURL)
	return r.rep
}

func (r *run) add(name, status, summary string, details ...string) {
	r.rep.Steps = append(r.rep.Steps, Step{Name: name, Status: status, Summary: summary, Details: details})
}

// fix sets the report's remedy once: the first problem found decides.
func (r *run) fix(rem httptrust.Remedy) {
	if r.rep.Remedy == nil {
		r.rep.Remedy = &rem
		r.rep.Fix = rem.String()
	}
}

// remedy is the policy's remedy for a finding of reason about this host:
// the advice comes from the one place the library writes it.
func (r *run) remedy(reason httptrust.Reason, cipher bool) httptrust.Remedy {
	e := &httptrust.VerifyError{Host: r.rep.Host, Port: r.rep.Port, Reason: reason, Now: r.now, CipherMismatch: cipher}
	if eff, err := r.o.Policy.Lookup(netJoin(r.rep.Host, r.rep.Port)); err == nil {
		e.Rule = eff
	}
	return r.o.Policy.Remedy(e)
}

// check is a remedy that is not about trust: the server cannot be reached
// as named.
func (r *run) check(text string, cmds ...httptrust.Command) httptrust.Remedy {
	return httptrust.Remedy{Action: httptrust.ActionCheckServer, Host: r.rep.Host, Port: r.rep.Port, Text: text, Commands: cmds}
}

func (r *run) diagnose(rawURL string) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		r.add("url", Fail, fmt.Sprintf("%q is not a URL", r.rep.URL))
		r.fix(r.check("give a URL such as https://device.local/"))
		return
	}
	r.rep.Host, r.rep.Port = u.Hostname(), u.Port()
	if u.Scheme == "http" {
		r.plainHTTP(u)
		return
	}
	scheme, ok := probe.LookupScheme(u.Scheme)
	if r.rep.Port == "" {
		r.rep.Port = scheme.Port
	}
	if !ok || r.rep.Port == "" {
		r.add("url", Fail, fmt.Sprintf("%q is not a URL of a TLS service with a port", r.rep.URL))
		r.fix(r.check("give a URL such as https://device.local/, or HOST:PORT"))
		return
	}
	r.proto = scheme.Protocol
	if !r.resolve() || !r.connect() {
		return
	}
	res, ok := r.tlsVersions()
	if !ok {
		return
	}
	r.cipherSuites(res)
	verdict := r.storeVerdict(res)
	r.chain(res, verdict == nil || r.systemTrusts(res))
	r.rule()
	verified := r.verifyStore(verdict)
	r.verifySystem(res)
	r.expiry(res)
	r.pins(res, verified)
	switch {
	case verified && r.proto == probe.HTTPS:
		r.clientAndHTTP()
	case verified:
		r.clientCertificate()
		r.add("http", Skip, "not HTTPS ("+u.Scheme+"://): no request is sent")
	default:
		r.add("client_certificate", Skip, "not checked: the chain is not trusted, so the handshake is not completed")
		r.add("http", Skip, "not checked: no request is sent over a connection that was not verified")
	}
}

func (r *run) resolve() bool {
	host := r.rep.Host
	switch {
	case r.o.Addr != "":
		r.add("resolve", OK, fmt.Sprintf("%s is reached at %s (given); every decision is still about %s", host, r.o.Addr, host))
		r.addr = r.o.Addr
		return true
	case net.ParseIP(host) != nil:
		r.add("resolve", OK, host+" is an IP address (no SNI is sent; the certificate must name the IP, or a rule sets server_name)")
	default:
		ctx, cancel := context.WithTimeout(r.ctx, r.o.Timeout)
		defer cancel()
		addrs, err := r.o.Lookup(ctx, host)
		if err != nil {
			r.add("resolve", Fail, fmt.Sprintf("%s does not resolve: %v", host, err))
			r.fix(r.check("check the host name and your DNS; to try an address",
				httptrust.Command{Name: "get", Args: []string{"--resolve", host + ":" + r.rep.Port + ":<address>", r.rep.URL}}))
			return false
		}
		r.add("resolve", OK, fmt.Sprintf("%s resolves to %v", host, addrs))
	}
	r.addr = net.JoinHostPort(host, r.rep.Port)
	return true
}

func (r *run) connect() bool {
	ctx, cancel := context.WithTimeout(r.ctx, r.o.Timeout)
	defer cancel()
	start := time.Now()
	c, err := r.o.Dial(ctx, "tcp", r.addr)
	if err != nil {
		status := fmt.Sprintf("cannot connect to %s: %v", r.addr, err)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			status = fmt.Sprintf("connecting to %s timed out (a firewall dropping packets?)", r.addr)
		}
		r.add("connect", Fail, status)
		r.fix(r.check("check that the server runs and listens on port " + r.rep.Port + ", and that no firewall is in the way"))
		return false
	}
	c.Close()
	r.add("connect", OK, fmt.Sprintf("TCP connection to %s in %v", r.addr, time.Since(start).Round(time.Millisecond)))
	return true
}

func (r *run) target() probe.Target {
	return probe.Target{Host: r.rep.Host, Port: r.rep.Port, Addr: r.addr, Dial: r.o.Dial, Protocol: r.proto}
}

func (r *run) probe(t probe.Target) (*probe.Result, error) {
	ctx, cancel := context.WithTimeout(r.ctx, r.o.Timeout)
	defer cancel()
	return probe.Probe(ctx, t)
}
