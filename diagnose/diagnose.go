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
//
// Every network step is bounded (Options.Timeout), and so is the whole
// diagnosis (Options.MaxTime): a server that accepts a connection and never
// answers is reported as a timeout after one step's bound, not after every
// step's. Options.Start and Options.Step report the steps as they run, so
// that a caller can print them as they finish.
package diagnose

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
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
	Reason httptrust.Reason `json:"reason,omitempty"` // the store's verdict on the chain, when it refuses it
	// Remedy is the one remedy of the first problem found, nil when there
	// is nothing to fix; Fix is it on one line, or NothingToFix.
	Remedy *httptrust.Remedy `json:"remedy,omitempty"`
	Fix    string            `json:"fix"`
	// Cause is the refusal httptrust would meet for the problem Remedy
	// resolves: the store's verdict (Reason), or client_certificate_required
	// for a server that asks for a client certificate and refuses the
	// request without one, or protocol_or_cipher_mismatch for a server that
	// speaks nothing httptrust allows. It is ReasonUnknown when that
	// problem is no refusal (a name that does not resolve, a closed port, a
	// timeout).
	Cause httptrust.Reason `json:"cause,omitempty"`
	// TimedOut says the diagnosis stopped because the server did not answer
	// in time: within one step's bound (Options.Timeout) or the whole
	// diagnosis's (Options.MaxTime).
	TimedOut bool `json:"timed_out,omitempty"`
	// IssuerURL is the issuer URL (AIA) named by the certificate whose
	// issuer the server did not send. It is fetched only with
	// Options.FetchIntermediates.
	IssuerURL string `json:"issuer_url,omitempty"`
	// Err is the verification error, when the store refuses the server.
	Err *httptrust.VerifyError `json:"-"`
}

// NothingToFix is the Fix of a healthy server.
const NothingToFix = "nothing to fix"

// DefaultTimeout bounds each network step when Options.Timeout is 0: the
// library's TLS handshake bound.
const DefaultTimeout = httptrust.DefaultTLSHandshakeTimeout

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
	// Timeout bounds each network step (a lookup, a connection, one TLS
	// handshake, the request); 0 means DefaultTimeout. A server that does
	// not answer a TLS hello within it is reported as a timeout and the
	// diagnosis stops there.
	Timeout time.Duration
	// MaxTime, when set, bounds the whole diagnosis, handshakes included:
	// the step running when it runs out fails as a timeout, and the later
	// ones are not run. A deadline of Run's context bounds it too.
	MaxTime time.Duration
	// Start, when set, is called with a step's name as the step begins
	// (for a progress line).
	Start func(name string)
	// Step, when set, is called with each step as it ends, in order, from
	// Run's goroutine (to print the steps as they finish). The report's
	// Steps hold the same.
	Step func(Step)
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
	// stopped says a step ran out of time: the later steps are not run.
	stopped bool
	// certAsked and certSent say whether the server asked for a client
	// certificate on a verified handshake, and whether one was sent.
	certAsked, certSent bool
	// certRefused says the server refused the handshake for its client
	// certificate (or the lack of one).
	certRefused bool
	// gap is set when the chain stops below the roots that could vouch
	// for it.
	gap *gap
}

// Run diagnoses rawURL. It always returns a report; a step that cannot run
// says why and the later steps that depend on it are skipped.
func Run(ctx context.Context, rawURL string, o Options) *Report {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Dial == nil {
		o.Dial = (&net.Dialer{}).DialContext
	}
	if o.Lookup == nil {
		o.Lookup = net.DefaultResolver.LookupHost
	}
	if o.MaxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.MaxTime)
		defer cancel()
	}
	shown := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		shown = u.Redacted() // a password in the URL is never shown
	}
	r := &run{ctx: ctx, o: o, rep: &Report{URL: shown, Fix: NothingToFix}, now: o.Clock(), raw: rawURL}
	r.diagnose(rawURL)
	return r.rep
}

// begin says that the step name starts.
func (r *run) begin(name string) {
	if r.o.Start != nil {
		r.o.Start(name)
	}
}

// add records a finished step; it is final once added.
func (r *run) add(name, status, summary string, details ...string) {
	s := Step{Name: name, Status: status, Summary: summary, Details: details}
	r.rep.Steps = append(r.rep.Steps, s)
	if r.o.Step != nil {
		r.o.Step(s)
	}
}

// fix sets the report's remedy once: the first problem found decides.
func (r *run) fix(rem httptrust.Remedy) { r.fixCause(httptrust.ReasonUnknown, rem) }

// fixCause is fix for a problem httptrust would refuse for cause.
func (r *run) fixCause(cause httptrust.Reason, rem httptrust.Remedy) {
	if r.rep.Remedy == nil {
		r.rep.Remedy = &rem
		r.rep.Fix = rem.String()
		r.rep.Cause = cause
	}
}

// refusal sets the policy's remedy for a finding of reason, the refusal
// httptrust would meet.
func (r *run) refusal(reason httptrust.Reason, cipher bool) {
	r.fixCause(reason, r.remedy(reason, cipher))
}

// remedy is the policy's remedy for a finding of reason about this host:
// the advice comes from the one place the library writes it.
func (r *run) remedy(reason httptrust.Reason, cipher bool) httptrust.Remedy {
	e := &httptrust.VerifyError{Host: r.rep.Host, Port: r.rep.Port, Reason: reason, Now: r.now, CipherMismatch: cipher}
	e.Rule = r.effective()
	return r.o.Policy.Remedy(e)
}

// effective is the rule that applies to the host and port; nil when it
// cannot be looked up.
func (r *run) effective() *httptrust.Effective {
	eff, err := r.o.Policy.Lookup(netJoin(r.rep.Host, r.rep.Port))
	if err != nil {
		return nil
	}
	return eff
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
	if r.cipherSuites(res); r.stopped {
		return
	}
	verdict := r.storeVerdict(res)
	if r.chain(res, verdict); r.stopped {
		return
	}
	r.rule()
	verified := r.verifyStore(verdict)
	r.verifySystem(res, verified)
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

// isTimeout reports whether err is a timeout or a deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// timedOut reports whether err is a timeout. If it is, step fails for it,
// the diagnosis stops, and the fix says how to allow longer. doing says
// what the step was waiting for ("an answer to a TLS 1.3 hello").
func (r *run) timedOut(step string, err error, doing string) bool {
	if !isTimeout(err) {
		return false
	}
	r.stopped, r.rep.TimedOut = true, true
	if r.ctx.Err() != nil {
		limit := "the time allowed"
		var cmds []httptrust.Command
		if r.o.MaxTime > 0 {
			limit = "its time limit (" + bound(r.o.MaxTime) + ")"
			cmds = append(cmds, httptrust.Command{Name: "diagnose", Args: []string{"--max-time", secondsArg(2 * r.o.MaxTime), r.rep.URL}})
		}
		r.add(step, Fail, fmt.Sprintf("stopped: the diagnosis reached %s while waiting for %s; the later steps were not run", limit, doing))
		r.fix(r.check("the server did not answer in the time allowed for the whole diagnosis; allow more", cmds...))
		return true
	}
	r.add(step, Fail, fmt.Sprintf("no answer within %s while waiting for %s", bound(r.o.Timeout), doing))
	r.fix(r.check(fmt.Sprintf("check that the service on port %s answers (a hung process or a device still starting accepts connections and says nothing); if it is only slow, allow each step longer", r.rep.Port),
		httptrust.Command{Name: "diagnose", Args: []string{"--connect-timeout", secondsArg(3 * r.o.Timeout), r.rep.URL}}))
	return true
}

// elapsed says a duration the way a person reads it: milliseconds below a
// second, seconds above.
func elapsed(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}

// bound says a time limit in seconds, as the flags give it.
func bound(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}

// secondsArg is d as a command-line argument in whole seconds, rounded
// up, at least 1.
func secondsArg(d time.Duration) string {
	return strconv.FormatInt(max(1, int64(math.Ceil(d.Seconds()))), 10)
}

// plural is "1 certificate" or "2 certificates".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// stepCtx bounds one network step.
func (r *run) stepCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.ctx, r.o.Timeout)
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
		r.begin("resolve")
		ctx, cancel := r.stepCtx()
		defer cancel()
		addrs, err := r.o.Lookup(ctx, host)
		if r.timedOut("resolve", err, "the name server to resolve "+host) {
			return false
		}
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
	r.begin("connect")
	ctx, cancel := r.stepCtx()
	defer cancel()
	start := time.Now()
	c, err := r.o.Dial(ctx, "tcp", r.addr)
	if r.timedOut("connect", err, "a TCP connection to "+r.addr+" (a firewall dropping packets?)") {
		return false
	}
	if err != nil {
		r.add("connect", Fail, fmt.Sprintf("cannot connect to %s: %v", r.addr, err))
		r.fix(r.check("check that the server runs and listens on port " + r.rep.Port + ", and that no firewall is in the way"))
		return false
	}
	c.Close()
	r.add("connect", OK, fmt.Sprintf("TCP connection to %s in %s", r.addr, elapsed(time.Since(start))))
	return true
}

func (r *run) target() probe.Target {
	return probe.Target{Host: r.rep.Host, Port: r.rep.Port, Addr: r.addr, Dial: r.o.Dial, Protocol: r.proto}
}

func (r *run) probe(t probe.Target) (*probe.Result, error) {
	ctx, cancel := r.stepCtx()
	defer cancel()
	return probe.Probe(ctx, t)
}
