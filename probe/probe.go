// Package probe connects to a TLS server and captures the certificate chain
// it presents, without trusting it and without sending it anything beyond
// the handshake.
//
// A probe dials, speaks the plain-text upgrade of protocols that start
// without TLS (SMTP, IMAP, LDAP and PostgreSQL: see StartTLS), starts a TLS
// handshake, records the server's certificates
// and the negotiated parameters as soon as the client sees them, and then
// aborts the handshake on purpose. The server is never sent a request (no
// HTTP, no application data of any kind): nothing can leak over a connection
// that was not verified. This is how `httptrust fetch` and `httptrust
// inspect URL` show a chain that nobody trusts yet.
//
//	res, err := probe.Probe(ctx, probe.Target{Host: "192.168.1.20", Port: "443"})
//	if err != nil { ... }        // could not connect, not TLS, handshake failure
//	for _, c := range res.Chain { fmt.Println(c.Subject) }
//
// Judging the chain is the caller's business: pass Result.State to a
// verifying tls.Config's VerifyConnection to learn whether a policy trusts it.
package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds a probe whose context has no deadline: dialing and
// the handshake together.
const DefaultTimeout = 15 * time.Second

// errCaptured is returned by the probe's VerifyConnection after it has
// recorded the chain, so that crypto/tls aborts the handshake: the client
// sends an alert and never a Finished message or application data.
var errCaptured = errors.New("probe: chain captured; handshake aborted on purpose")

// ErrNoChain means the handshake ended without the server presenting a
// certificate chain to capture.
var ErrNoChain = errors.New("probe: the server presented no certificate")

// Target says where to connect.
type Target struct {
	// Host is the host of the URL: a name or an IP literal. It is sent as
	// SNI (unless ServerName is set) and is what the caller judges the chain
	// for.
	Host string
	// Port is the TCP port; "" means 443.
	Port string
	// Addr, when set, is the address dialled instead of Host:Port (curl's
	// --resolve): "ip:port" or "host:port". Every decision is still about
	// Host.
	Addr string
	// ServerName, when set, is sent as SNI instead of Host.
	ServerName string
	// MinVersion is the lowest TLS version offered; 0 means TLS 1.0, so
	// that legacy servers can still be shown.
	MinVersion uint16
	// MaxVersion, when set, is the highest TLS version offered, and
	// CipherSuites, when set, the only TLS 1.0–1.2 suites offered: diagnose
	// uses them to learn what a server accepts.
	MaxVersion   uint16
	CipherSuites []uint16
	// Dial dials the TCP connection; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Protocol is what the server speaks over TLS; the zero value is
	// HTTPS. A protocol that starts in plain text is upgraded with
	// StartTLS before the handshake, and only HTTPS offers ALPN (h2,
	// http/1.1).
	Protocol Protocol
}

// Result is what a probe captured.
type Result struct {
	Host     string   // Target.Host
	Addr     string   // the address dialled
	Protocol Protocol // Target.Protocol
	// Chain is the certificate chain as the server presented it, leaf
	// first. It is not verified.
	Chain []*x509.Certificate
	// State is the connection state at the moment the chain was presented
	// (version, cipher suite, SNI, certificates). The handshake was not
	// completed: pass it to a verifying VerifyConnection to judge the chain.
	State tls.ConnectionState
}

// Probe connects to t and captures the server's chain. It returns an error
// when the server cannot be reached (the *net.OpError or *net.DNSError of
// the dial), refuses the plain-text upgrade of its protocol (a
// *StartTLSError), does not speak TLS (a tls.RecordHeaderError), or the handshake
// fails before the server presents a certificate (for example an alert for
// no common protocol version). It never returns a connection: the
// handshake is always aborted.
func Probe(ctx context.Context, t Target) (*Result, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	raw, addr, err := t.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	res := &Result{Host: t.Host, Addr: addr, Protocol: t.Protocol}
	var once sync.Once
	cfg := captureConfig(t, func(cs tls.ConnectionState) {
		once.Do(func() { res.State, res.Chain = cs, cs.PeerCertificates })
	})
	err = tls.Client(raw, cfg).HandshakeContext(ctx)
	if err == nil {
		// Unreachable while VerifyConnection always fails; if it ever
		// did not, nothing is sent: the connection is closed here.
		return nil, errors.New("probe: internal error: the handshake completed without being aborted")
	}
	if !errors.Is(err, errCaptured) {
		return nil, err
	}
	if len(res.Chain) == 0 {
		return nil, ErrNoChain
	}
	return res, nil
}

// bounded gives ctx DefaultTimeout when it has no deadline.
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

// dial connects to t's address, speaks the plain-text upgrade of its
// protocol, and returns the connection ready for the TLS handshake.
func (t Target) dial(ctx context.Context) (net.Conn, string, error) {
	port := t.Port
	if port == "" {
		port = "443"
	}
	addr := t.Addr
	if addr == "" {
		addr = net.JoinHostPort(t.Host, port)
	}
	dial := t.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, addr, err
	}
	if err := StartTLS(ctx, c, t.Protocol); err != nil {
		c.Close()
		return nil, addr, err
	}
	return c, addr, nil
}

// captureConfig returns the probe's tls.Config. record receives the
// connection state when the server's certificates arrive.
func captureConfig(t Target, record func(tls.ConnectionState)) *tls.Config {
	sni := t.ServerName
	if sni == "" {
		sni = t.Host
	}
	minVersion := t.MinVersion
	if minVersion == 0 {
		minVersion = tls.VersionTLS10
	}
	if record == nil {
		record = func(tls.ConnectionState) {}
	}
	var alpn []string
	if t.Protocol == HTTPS {
		alpn = []string{"h2", "http/1.1"}
	}
	return &tls.Config{
		ServerName: sni,
		// InsecureSkipVerify only stops crypto/tls from judging the chain
		// before VerifyConnection sees it. It is fail-closed here:
		// VerifyConnection ALWAYS returns errCaptured, so the handshake is
		// aborted right after the server's certificates arrive (before the
		// client's Finished message) and no byte of application data can
		// ever be sent on this connection. TestProbeNeverReachesHandler
		// proves it.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			record(cs)
			return errCaptured
		},
		MinVersion:   minVersion,
		MaxVersion:   t.MaxVersion,
		CipherSuites: t.CipherSuites,
		NextProtos:   alpn,
	}
}

// String describes r in one line.
func (r *Result) String() string {
	if len(r.Chain) == 0 {
		return fmt.Sprintf("%s (%s): no certificate", r.Host, r.Addr)
	}
	return fmt.Sprintf("%s (%s): %d certificate(s), leaf %s", r.Host, r.Addr, len(r.Chain), r.Chain[0].Subject)
}

// ErrNotProven means Confirm's handshake did not complete with the leaf it
// expected: the server presented another certificate, or presented the
// leaf and then failed to prove it holds its key (a signature that does
// not verify, an alert instead). It is never a network failure: a dial
// that fails, a connection that is cut or a handshake that does not finish
// in time are returned as themselves.
var ErrNotProven = errors.New("probe: the server did not prove it holds the key of the certificate captured")

// Confirm completes a TLS handshake with t that accepts exactly leaf, the
// certificate a Probe captured, and nothing else. A completed handshake
// means the server proved it holds leaf's key (its CertificateVerify or
// ServerKeyExchange signature checked out), which a Probe, aborted as soon
// as the chain arrives, never learns. Nothing is sent after the handshake:
// the connection is closed. identity, if not nil, is offered when the
// server asks for a client certificate; a server that has proved its key
// and then refuses the client's certificate (or the lack of one) has
// proved it all the same, and Confirm returns nil.
//
// Confirm returns an error wrapping ErrNotProven only when the server
// failed the proof: it presented another certificate, or presented leaf
// and did not prove its key. A dial that fails, a plain-text upgrade that
// fails (a *StartTLSError), a handshake that fails before the server
// presents a certificate, and a deadline that runs out (the context's)
// are returned as themselves, wrapped, so that a caller can tell an
// unreachable or slow server from one that may not be who it says.
func Confirm(ctx context.Context, t Target, leaf *x509.Certificate, identity *tls.Certificate) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	raw, _, err := t.dial(ctx)
	if err != nil {
		return err
	}
	defer raw.Close()
	var seen, proven bool
	var suite uint16
	cfg := captureConfig(t, nil)
	// InsecureSkipVerify stops crypto/tls from judging the chain; this
	// VerifyConnection does the whole check for the purpose (this exact
	// leaf, nothing else) and fails closed on any other certificate.
	// TestConfirmRefusesAnotherLeaf proves it.
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 || !cs.PeerCertificates[0].Equal(leaf) {
			return fmt.Errorf("%w: it presented another certificate", ErrNotProven)
		}
		seen, suite = true, cs.CipherSuite
		return nil
	}
	cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		// crypto/tls asks for the client's certificate only after it has
		// checked the server's signature (TLS 1.3's CertificateVerify,
		// TLS 1.2's ServerKeyExchange), and a key exchange by signature is
		// all the client offers (ECDHE, see signedKeyExchange).
		proven = seen && signedKeyExchange(cri.Version, suite)
		if identity != nil {
			return identity, nil
		}
		return &tls.Certificate{}, nil
	}
	conn := tls.Client(raw, cfg)
	err = conn.HandshakeContext(ctx)
	switch {
	case err == nil, proven && ctx.Err() == nil:
		return nil
	case errors.Is(err, ErrNotProven):
		return err
	case !seen || ctx.Err() != nil || isTimeout(err):
		// Nothing was presented to prove (the server failed before, or
		// the connection did), or time ran out: not a failed proof.
		return fmt.Errorf("probe: the confirming handshake did not finish: %w", err)
	}
	// The server presented leaf and then failed to prove its key: a bad
	// signature, an alert or a connection closed instead.
	return fmt.Errorf("%w: %w", ErrNotProven, err)
}

// signedKeyExchange reports whether a handshake of version and suite
// proves the server's key by a signature before the client sends its
// certificate: TLS 1.3, and TLS 1.0–1.2 with an ECDHE suite (an RSA key
// exchange proves it only with the server's Finished message).
func signedKeyExchange(version, suite uint16) bool {
	return version == tls.VersionTLS13 || strings.HasPrefix(tls.CipherSuiteName(suite), "TLS_ECDHE_")
}

// isTimeout reports whether err is a deadline that ran out.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
