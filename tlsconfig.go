package httptrust

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/httptrust/httptrust/certs"
)

// TLSConfigFor returns a *tls.Config that verifies connections to host (a
// name or IP literal, optionally with ":port") under p, for callers that
// need a bare config (gRPC's credentials.NewTLS, a custom dialer). The
// config is bound to that host: use one per host, never one for all.
//
// Verification runs in VerifyConnection, on fresh and resumed sessions, and
// does the whole check itself; InsecureSkipVerify is set only so that Go's
// own check, which cannot express exact certificates or host-scoped
// anchors, does not run first. The config fails closed. Wrap
// VerifyConnection, never replace it: VerifyPeerCertificate runs the same
// check on full handshakes, so a replaced hook still verifies every new
// session, but it is the only check left.
//
// A refusal is a *tls.CertificateVerificationError whose Err is the
// *VerifyError. A first contact with a host whose rule trusts on first use
// is refused (a bare config cannot see the handshake complete, so it could
// only record a key the server has not proved it holds): record it first
// through Policy.DialTLSContext, Policy.Client or httptrust fetch --tofu.
// For such hosts give the port: records are per host:port.
func (p *Policy) TLSConfigFor(host string) (*tls.Config, error) {
	if err := p.usable(); err != nil {
		return nil, err
	}
	h, port, err := splitHost(host)
	if err != nil {
		return nil, err
	}
	if port != "" {
		if port, err = canonicalPort(port); err != nil {
			return nil, err
		}
	}
	cfg, v, err := p.tlsConfig(h, port, nil, modeBare, nil)
	if err == nil && port == "" && v.eff.TOFU {
		return nil, fmt.Errorf("httptrust: TLSConfigFor(%q): the rule for %s trusts on first use, whose records are per host:port: give the port (%q)", host, v.host, net.JoinHostPort(v.host, "PORT"))
	}
	return cfg, err
}

// DialTLSContext connects to addr ("host:port") and completes a TLS
// handshake verified under p for that host, as Policy.Transport does for
// HTTPS: a first-use record is written only once the handshake has
// completed, and a refusal is a *VerifyError, also for a server that does
// not speak TLS, wants a client certificate or shares no TLS version. It
// is for clients that are not net/http: a database driver's dialer, a
// custom protocol. It dials within DefaultDialTimeout and
// DefaultTLSHandshakeTimeout, or the context's deadline if sooner.
func (p *Policy) DialTLSContext(ctx context.Context, network, addr string) (*tls.Conn, error) {
	if err := p.usable(); err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("httptrust: %q is not host:port: %w", addr, err)
	}
	if port, err = canonicalPort(port); err != nil {
		return nil, err
	}
	cfg, v, err := p.tlsConfig(host, port, nil, modeDial, nil)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: DefaultDialTimeout}
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	note := &handshakeNote{}
	conn, err := tlsHandshake(context.WithValue(ctx, noteKey{}, note), raw, &tlsTarget{cfg: cfg, v: v}, DefaultTLSHandshakeTimeout)
	if err != nil {
		return nil, classify(err, p, host, port, note)
	}
	return conn, nil
}

// splitHost accepts "host", "host:port", "[v6]:port" and "v6".
func splitHost(s string) (host, port string, err error) {
	if !strings.Contains(s, ":") || (!strings.HasPrefix(s, "[") && strings.Count(s, ":") > 1) {
		return s, "", nil // a name, an IPv4 literal or a bare IPv6 literal
	}
	if h, p, err := net.SplitHostPort(s); err == nil {
		return h, p, nil
	}
	if strings.Count(s, ":") > 1 {
		return strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), "", nil
	}
	return "", "", fmt.Errorf("httptrust: %q is not a host or host:port", s)
}

// tlsConfig builds the config for one host and port. sessions, when not
// nil, is shared by the transport and scoped here to this host, port and
// policy version, so that a session never crosses to another host or
// outlives the policy it was verified under. caller, when not nil, is the
// caller's own TLS settings (a base transport's TLSClientConfig): they are
// kept (MaxVersion, CipherSuites, CurvePreferences, KeyLogWriter,
// NextProtos, ...; MinVersion the higher of the caller's and the rule's),
// except what decides trust and identity, which is the rule's.
func (p *Policy) tlsConfig(host, port string, sessions tls.ClientSessionCache, mode verifyMode, caller *tls.Config) (*tls.Config, *verifier, error) {
	n, addr, err := normalizeHost(host)
	if err != nil {
		return nil, nil, fmt.Errorf("httptrust: host %q: %w", host, err)
	}
	eff := p.ix.effective(n, port, addr)
	v := newVerifier(p, eff, n, port, mode)
	cfg := &tls.Config{}
	if caller != nil {
		cfg = caller.Clone()
	}
	cfg.ServerName = v.name // Go sends no SNI for an IP literal but verifies against it
	// VerifyConnection does the whole check and fails closed.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = v.verify
	// The same check on full handshakes, for a caller who replaces
	// VerifyConnection instead of wrapping it: a config handed out
	// (TLSConfigFor). The configs of the transport and DialTLSContext never
	// leave the package and keep this VerifyConnection, which runs on every
	// handshake: there the same check first would only parse the chain
	// again (VerifyPeerCertificate gets it unparsed) and find it cached.
	cfg.VerifyPeerCertificate = nil
	if mode == modeBare {
		cfg.VerifyPeerCertificate = v.verifyPeer
	}
	// The caller's own checks run once the rule's have passed: they can
	// only refuse more. (They see no VerifiedChains: the rule verified.)
	if caller != nil && caller.VerifyConnection != nil {
		theirs := caller.VerifyConnection
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if err := v.verify(cs); err != nil {
				return err
			}
			return theirs(cs)
		}
	}
	if caller != nil && caller.VerifyPeerCertificate != nil {
		theirs := caller.VerifyPeerCertificate
		cfg.VerifyPeerCertificate = func(raw [][]byte, chains [][]*x509.Certificate) error {
			if err := v.verifyPeer(raw, chains); err != nil {
				return err
			}
			return theirs(raw, chains)
		}
	}
	cfg.RootCAs = nil
	cfg.MinVersion = max(cfg.MinVersion, eff.MinTLS)
	cfg.Time = p.opts.Clock
	// The client identity is the rule's, offered to the rule's hosts only.
	cfg.Certificates, cfg.GetClientCertificate = nil, (&clientCert{p: p, ref: eff.Client, host: n}).get
	cfg.ClientSessionCache = nil
	if sessions != nil && !cfg.SessionTicketsDisabled {
		cfg.ClientSessionCache = scopedSessions{inner: sessions, prefix: fmt.Sprintf("%d|%s|%s|", p.version, n, port)}
	}
	return cfg, v, nil
}

// scopedSessions keys a shared session cache by host, port and policy.
type scopedSessions struct {
	inner  tls.ClientSessionCache
	prefix string
}

func (s scopedSessions) Get(key string) (*tls.ClientSessionState, bool) {
	return s.inner.Get(s.prefix + key)
}

func (s scopedSessions) Put(key string, cs *tls.ClientSessionState) {
	s.inner.Put(s.prefix+key, cs)
}

// handshakeNote records, for one request, what happened to the client
// certificate during a handshake, so that a failure can be explained.
type handshakeNote struct {
	mu        sync.Mutex
	requested bool   // the server asked for a client certificate
	sent      bool   // one was sent
	notSent   string // why a configured one was not sent
	err       error  // the identity could not be loaded
	// allHosts is the chain of a connection this request made that was
	// trusted through the all_hosts rule.
	allHosts []*x509.Certificate

	req *http.Request // the request that dials, for its proxy
}

type noteKey struct{}

func noteFrom(ctx context.Context) *handshakeNote {
	if ctx == nil {
		return nil
	}
	n, _ := ctx.Value(noteKey{}).(*handshakeNote)
	return n
}

// clientCert offers the identity of the host's rule, and nothing to any
// other host.
type clientCert struct {
	p    *Policy
	ref  *ClientRef
	host string // the host the handshake is with
}

func (c *clientCert) get(cri *tls.CertificateRequestInfo) (cert *tls.Certificate, err error) {
	defer func() { c.p.observe(c.requested(cri, cert, err)) }()
	note := noteFrom(cri.Context())
	record := func(f func(n *handshakeNote)) {
		if note != nil {
			note.mu.Lock()
			f(note)
			note.mu.Unlock()
		}
	}
	record(func(n *handshakeNote) { n.requested = true })
	if c.ref == nil {
		return &tls.Certificate{}, nil
	}
	id, err := c.p.clientIdentity(c.ref)
	if err != nil {
		record(func(n *handshakeNote) { n.err = err })
		return nil, err
	}
	if err := cri.SupportsCertificate(id); err != nil {
		record(func(n *handshakeNote) {
			n.notSent = fmt.Sprintf("the configured client certificate was not sent: %v (the server accepts other issuers or algorithms)", err)
		})
		return &tls.Certificate{}, nil
	}
	record(func(n *handshakeNote) { n.sent = true })
	return id, nil
}

// requested is the EventClientCertRequested of a request answered with
// cert or err.
func (c *clientCert) requested(cri *tls.CertificateRequestInfo, cert *tls.Certificate, err error) Event {
	ev := Event{Kind: EventClientCertRequested, Host: c.host, Sent: err == nil && cert != nil && len(cert.Certificate) > 0}
	if c.ref != nil {
		ev.Rule = c.ref.Rule
	}
	for _, raw := range cri.AcceptableCAs {
		var seq pkix.RDNSequence
		if rest, err := asn1.Unmarshal(raw, &seq); err == nil && len(rest) == 0 {
			var n pkix.Name
			n.FillFromRDNSequence(&seq)
			ev.Issuers = append(ev.Issuers, n.String())
		}
	}
	what := "none was sent"
	switch {
	case ev.Sent && ev.Rule != nil:
		what = "the client certificate of the rule at " + ev.Rule.Where() + " was sent"
	case ev.Sent:
		what = "the configured client certificate was sent"
	case err != nil:
		what = "the configured one cannot be used: " + err.Error()
	case c.ref != nil:
		what = "the configured one was not sent: the server accepts other issuers or algorithms"
	}
	issuers := "any issuer"
	if len(ev.Issuers) > 0 {
		issuers = strings.Join(ev.Issuers, "; ")
	}
	ev.Message = fmt.Sprintf("%s asked for a client certificate (acceptable issuers: %s); %s", c.host, issuers, what)
	return ev
}

// ClientIdentity returns the client identity the rule for host offers, or
// nil when it offers none. Loading it may read files and a password.
func (p *Policy) ClientIdentity(host string) (*tls.Certificate, error) {
	eff, err := p.Lookup(host)
	if err != nil || eff.Client == nil {
		return nil, err
	}
	return p.clientIdentity(eff.Client)
}

type identity struct {
	once sync.Once
	cert *tls.Certificate
	err  error
}

// clientIdentity loads a rule's client identity once.
func (p *Policy) clientIdentity(ref *ClientRef) (*tls.Certificate, error) {
	if ref.Identity != nil {
		return ref.Identity, nil
	}
	v, _ := p.files.LoadOrStore("identity\x00"+ref.Cert+"\x00"+ref.Key, &identity{})
	id := v.(*identity)
	id.once.Do(func() {
		opts := &certs.Options{Password: func() (string, error) { return p.password(ref) }}
		c, err := certs.LoadIdentity(p.opts.FS, ref.Cert, ref.Key, opts)
		if err != nil {
			id.err = fmt.Errorf("httptrust: client certificate of the rule at %s: %w", ref.Rule.Where(), err)
			return
		}
		id.cert = &c
	})
	return id.cert, id.err
}

// password reads a client identity's password from the environment or a
// file; it is never stored in a rule.
func (p *Policy) password(ref *ClientRef) (string, error) {
	switch {
	case ref.PasswordEnv != "":
		getenv := p.opts.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		pw := getenv(ref.PasswordEnv)
		if pw == "" {
			return "", fmt.Errorf("the password variable %s is not set", ref.PasswordEnv)
		}
		return pw, nil
	case ref.PasswordFile != "":
		var data []byte
		var err error
		if path.IsAbs(ref.PasswordFile) || p.opts.FS == nil {
			data, err = os.ReadFile(ref.PasswordFile)
		} else {
			data, err = readCapped(p.opts.FS, ruleFile(ref.Rule, ref.PasswordFile), 64<<10)
		}
		if err != nil {
			return "", fmt.Errorf("password file: %w", err)
		}
		return strings.TrimRight(string(data), "\r\n"), nil
	}
	return "", certs.ErrPasswordRequired
}
