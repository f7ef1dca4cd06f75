package fleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

// DefaultTimeout bounds a probe when neither the Prober nor the context
// says otherwise.
const DefaultTimeout = 10 * time.Second

// A Prober probes targets under a trust policy. Every probe is a fresh TCP
// connection and a full TLS handshake (no session resumption, no
// keep-alive), so that what it reports is what a new client would meet.
// Its fields are read at each probe; it is safe for concurrent use.
type Prober struct {
	// Policy returns the policy in effect (a Reloader's Policy method, or
	// a func returning one policy). Load it with PolicyOptions.
	Policy func() *httptrust.Policy
	// Record, when not nil, is where a first contact with a host under a
	// tofu rule is recorded, once its handshake has completed. Nil records
	// nothing: a first contact is then reported (FirstUseFirstContact)
	// and not trusted.
	Record httptrust.TOFUStore
	// Dial connects to "host:port"; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Timeout bounds each probe; 0 means DefaultTimeout. A sooner
	// deadline of the context wins.
	Timeout time.Duration
	// Clock says the time for pin states; nil means time.Now. Give it the
	// policy's clock.
	Clock func() time.Time
	// UserAgent is sent by the https module; "" means "httptrust".
	UserAgent string
	// KeyExchanges are the TLS key exchanges a probe offers, most
	// preferred first; nil means DefaultKeyExchanges.
	KeyExchanges []tls.CurveID
	// CommandLines, when set, renders a remedy's commands as the probe log
	// and the exporter's page print them, with what makes each reach the
	// server that was probed (the httptrust exporter adds its --resolve
	// and --store). When nil, they are printed as Remedy.Lines writes them
	// if Dial is nil (a command then reaches the host as the probe did,
	// by DNS), and not at all if Dial is set: the probe may have reached
	// a server that the command, typed at a shell, would not.
	CommandLines func([]httptrust.Command) []string

	cacheOnce sync.Once
	cache     *judgeCache
	base      atomic.Pointer[probeBase]
}

// DefaultKeyExchanges are what probes offer unless told otherwise: X25519
// and P-256, as blackbox_exporter's Go offers them. A probe carries
// nothing secret, and the post-quantum hybrid (tls.X25519MLKEM768, first
// in Go's own default) costs both ends a key exchange of its own on every
// probe, devices included; give it in Prober.KeyExchanges to probe as
// Go's default client does.
var DefaultKeyExchanges = []tls.CurveID{tls.X25519, tls.CurveP256}

func (p *Prober) keyExchanges() []tls.CurveID {
	if p.KeyExchanges != nil {
		return p.KeyExchanges
	}
	return DefaultKeyExchanges
}

// ErrNotRecorded is wrapped in the refusal of a first contact that a probe
// did not record (see PolicyOptions and Prober.Record).
var ErrNotRecorded = errors.New("fleet: first contact not recorded: probes record first use only when asked")

// PolicyOptions returns opts for a policy that probes judge: first-use
// records are read from known and never written by the policy itself (a
// Prober with Record set writes them, once a handshake has completed);
// and, unless record, a first contact is refused during its handshake,
// before anything is sent on the connection.
func PolicyOptions(opts httptrust.Options, known httptrust.TOFUStore, record bool) *httptrust.Options {
	if known != nil {
		opts.TOFU = httptrust.ReadOnlyTOFU(known)
	}
	if !record {
		opts.OnFirstUse = func(httptrust.TOFURecord, []*x509.Certificate) error { return ErrNotRecorded }
	}
	return &opts
}

// Probe probes t with module m. It never returns nil.
func (p *Prober) Probe(ctx context.Context, t Target, m Module) *Result {
	return p.probe(ctx, t, m, false)
}

// ProbeLog is Probe with the probe's log in Result.Log.
func (p *Prober) ProbeLog(ctx context.Context, t Target, m Module) *Result {
	return p.probe(ctx, t, m, true)
}

func (p *Prober) probe(ctx context.Context, t Target, m Module, debug bool) *Result {
	res := &Result{Target: t, Module: m, Start: time.Now(), Host: t.Host, Port: t.Port}
	lg := &plog{res: res, on: debug, lines: p.RemedyLines}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	lg.logf("beginning probe: module %s, target %s, timeout %s", m, t.Raw, remaining(ctx))
	pol := p.policy()
	eff, err := pol.Lookup(t.HostPort())
	if err != nil {
		res.fail(FailBadTarget, err)
	} else {
		res.Effective = eff
		switch m {
		case ModuleTLS:
			p.probeTLS(ctx, pol, res, lg)
		case ModuleHTTPS:
			p.probeHTTPS(ctx, pol, res, lg)
		default:
			res.fail(FailBadTarget, fmt.Errorf("fleet: unknown module %q", m))
		}
	}
	p.pinState(pol, res)
	res.Duration = time.Since(res.Start)
	lg.outcome()
	return res
}

// RemedyLines returns the command lines of rem as the probe log and the
// exporter's page print them (see CommandLines); none where they could
// reach another server than the one probed.
func (p *Prober) RemedyLines(rem httptrust.Remedy) []string {
	switch {
	case len(rem.Commands) == 0:
		return nil
	case p.CommandLines != nil:
		return p.CommandLines(rem.Commands)
	case p.Dial == nil:
		return rem.Lines()
	}
	return nil
}

func (p *Prober) policy() *httptrust.Policy {
	if p.Policy == nil {
		return nil // every probe fails: a nil policy judges nothing
	}
	return p.Policy()
}

func (p *Prober) now() time.Time {
	if p.Clock != nil {
		return p.Clock()
	}
	return time.Now()
}

// errFirstContact ends the tls module's handshake on a first contact that
// is not to be recorded.
var errFirstContact = errors.New("fleet: first contact")

// probeTLS completes a handshake with the target under the policy.
func (p *Prober) probeTLS(ctx context.Context, pol *httptrust.Policy, res *Result, lg *plog) {
	hp := res.Target.HostPort()
	// The host's own config: its server name, minimum version and client
	// certificate. TLSConfigFor sets InsecureSkipVerify only so that
	// crypto/tls's own check does not run first; the VerifyConnection
	// below replaces the config's with the policy's own judgement of the
	// same state (Policy.Judge), which fails closed: a refusal, a judging
	// error or an unrecorded first contact aborts the handshake before
	// anything is sent. TestTLSModuleFailsClosed proves it.
	cfg, err := pol.TLSConfigFor(hp)
	if err != nil {
		res.fail(FailBadTarget, err)
		return
	}
	cfg.CurvePreferences = p.keyExchanges()
	var mu sync.Mutex
	var seen *tls.ConnectionState
	var verdict *httptrust.Verdict
	cfg.VerifyPeerCertificate = nil
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		v, err := pol.Judge(hp, cs)
		mu.Lock()
		seen, verdict = &cs, v
		mu.Unlock()
		switch {
		case err != nil:
			return err
		case v.Err != nil:
			return v.Err
		case v.FirstUse != nil && p.Record == nil:
			return errFirstContact
		}
		return nil
	}
	tr := &tracer{}
	tr.begin()
	raw, err := p.dialer(tr)(withTrace(ctx, tr), "tcp", hp)
	if err != nil {
		res.Phases = tr.phases()
		res.failNet(ctx, err, false)
		lg.logf("connecting to %s failed: %v", hp, err)
		return
	}
	defer raw.Close()
	lg.logf("connected to %s", raw.RemoteAddr())
	conn := tls.Client(raw, cfg)
	err = conn.HandshakeContext(ctx)
	tr.mark(func(s *segment) { s.gotConn = time.Now() })
	res.Phases, res.IPProtocol = tr.phases(), ipProtocol(tr)
	mu.Lock()
	if seen != nil {
		res.Chain, res.TLSVersion, res.CipherSuite = seen.PeerCertificates, seen.Version, seen.CipherSuite
	}
	v := verdict
	mu.Unlock()
	lg.handshake(res)
	switch {
	case err == nil:
		p.judged(pol, res, v)
		conn.Close()
	case v != nil && v.Err != nil:
		p.refused(res, v.Err)
	case errors.Is(err, errFirstContact):
		p.firstContact(pol, res, v)
	default:
		var ve *httptrust.VerifyError
		if errors.As(pol.Explain(err, hp), &ve) {
			p.refused(res, ve)
			return
		}
		res.failNet(ctx, err, true)
	}
}

// judged settles a completed handshake by the policy's verdict on it:
// trusted, or (a verdict that disagrees with the handshake's) refused; a
// first contact is recorded when the Prober records.
func (p *Prober) judged(pol *httptrust.Policy, res *Result, v *httptrust.Verdict) {
	if v == nil {
		res.fail(FailTLS, errors.New("fleet: the handshake completed without a verdict"))
		return
	}
	res.Effective = v.Effective
	if v.Err != nil {
		p.refused(res, v.Err)
		return
	}
	res.Judged, res.Trusted, res.Verified = true, true, v.Chains
	switch {
	case v.FirstUse != nil && p.Record == nil:
		p.firstContact(pol, res, v)
		return
	case v.FirstUse != nil:
		stored, err := p.Record.Record(*v.FirstUse)
		if err != nil {
			p.refused(res, p.refusal(pol, res, httptrust.ReasonBadConfig, "first-use record cannot be written: "+err.Error(), err))
			return
		}
		if stored.Pin != v.FirstUse.Pin {
			e := p.refusal(pol, res, httptrust.ReasonCertificateChanged, fmt.Sprintf(
				"another writer recorded a different key for %s first (%s); now key %s", stored.HostPort, stored.Pin, v.FirstUse.Pin), nil)
			e.FirstUse, e.ExpectedPins, e.SeenPins = &stored, []certs.Pin{stored.Pin}, []certs.Pin{v.FirstUse.Pin}
			p.refused(res, e)
			return
		}
		res.FirstUse = FirstUseRecorded
	case v.Effective.TOFU:
		res.FirstUse = FirstUseKnown
	}
	res.OK = true
}

// firstContact refuses a first contact that is not recorded.
func (p *Prober) firstContact(pol *httptrust.Policy, res *Result, v *httptrust.Verdict) {
	if v != nil {
		res.Effective = v.Effective
	}
	e := p.refusal(pol, res, httptrust.ReasonFirstUseRefused, fmt.Sprintf(
		"first contact with %s under trust on first use: no key is recorded, and this probe records none", res.hostPort()), ErrNotRecorded)
	p.refused(res, e)
}

// refusal builds a refusal the prober itself decides (about first use),
// with the policy's remedy.
func (p *Prober) refusal(pol *httptrust.Policy, res *Result, r httptrust.Reason, detail string, err error) *httptrust.VerifyError {
	now := p.now()
	e := &httptrust.VerifyError{Host: res.Host, Port: res.Port, Reason: r, Rule: res.Effective, Detail: detail,
		Err: err, Now: now, Chain: certs.InspectChain(res.Chain, now)}
	e.Remedy = pol.Remedy(e)
	return e
}

// refused records the policy's refusal.
func (p *Prober) refused(res *Result, ve *httptrust.VerifyError) {
	res.OK, res.Judged, res.Trusted, res.Verified = false, true, false, nil
	res.Refusal, res.Reason, res.Err = ve, ve.Reason.Code(), ve
	if ve.Rule != nil {
		res.Effective = ve.Rule
	}
	if ve.Host != "" {
		res.Host = ve.Host
	}
	if ve.Port != "" {
		res.Port = ve.Port
	}
	if len(res.Chain) == 0 {
		for _, c := range ve.Chain {
			if c.Certificate != nil {
				res.Chain = append(res.Chain, c.Certificate)
			}
		}
	}
	switch {
	case errors.Is(ve, ErrNotRecorded):
		res.FirstUse = FirstUseFirstContact
	case ve.Reason == httptrust.ReasonCertificateChanged && ve.FirstUse != nil:
		res.FirstUse = FirstUseChanged
	}
}

// pinState reports the deciding rule's pin set.
func (p *Prober) pinState(pol *httptrust.Policy, res *Result) {
	if res.Effective == nil || res.Effective.Pins == nil || pol == nil {
		return
	}
	ps := res.Effective.Pins
	now := p.now()
	pins := &Pins{State: pol.PinState(ps, now), End: ps.End(now.Location()), Rule: ps.Rule}
	switch {
	case res.Refusal != nil && res.Refusal.Reason == httptrust.ReasonPinMismatch:
		m := false
		pins.Matched = &m
	case res.Verified != nil:
		m := false
		for _, chain := range res.Verified {
			for _, c := range chain {
				m = m || ps.Has(certs.SPKIPin(c))
			}
		}
		pins.Matched = &m
	}
	res.Pins = pins
}

func (r *Result) hostPort() string { return net.JoinHostPort(r.Host, r.Port) }

// fail records a failure that is not a refusal.
func (r *Result) fail(code string, err error) {
	r.OK, r.Reason, r.Err = false, code, err
}

// failNet classifies a connection failure; tlsStarted says the TCP
// connection was up.
func (r *Result) failNet(ctx context.Context, err error, tlsStarted bool) {
	var dns *net.DNSError
	var ne net.Error
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		r.fail(FailTimeout, err)
	case errors.As(err, &dns):
		r.fail(FailDNS, err)
	case tlsStarted:
		r.fail(FailTLS, err)
	default:
		r.fail(FailConnect, err)
	}
}

// dialer returns the Prober's dial, timed into tr.
func (p *Prober) dialer(tr *tracer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	dial := p.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		tr.mark(func(s *segment) { s.dialStart = time.Now() })
		c, err := dial(ctx, network, addr)
		tr.mark(func(s *segment) {
			s.dialDone = time.Now()
			if c != nil {
				s.remote = c.RemoteAddr()
			}
		})
		return c, err
	}
}

// remaining says how long ctx has left, for the log.
func remaining(ctx context.Context) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return time.Until(d).Round(time.Millisecond)
}
