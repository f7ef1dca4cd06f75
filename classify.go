package httptrust

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"reflect"
)

// TLS alert codes (RFC 8446 section 6) that explain a failed handshake.
const (
	alertHandshakeFailure     = 40
	alertBadCertificate       = 42
	alertUnsupportedCert      = 43
	alertCertificateRevoked   = 44
	alertCertificateExpired   = 45
	alertCertificateUnknown   = 46
	alertUnknownCA            = 48
	alertAccessDenied         = 49
	alertProtocolVersion      = 70
	alertInsufficientSecurity = 71
	alertCertificateRequired  = 116
)

// classify turns a handshake failure that is not a certificate problem into
// a *VerifyError with its reason, from the error's types and what the
// handshake recorded, never from message text. Other errors pass through.
func classify(err error, p *Policy, host, port string, note *handshakeNote) error {
	var ve *VerifyError
	var pe *proxyError
	if errors.As(err, &ve) || errors.As(err, &pe) {
		return err
	}
	var cipher bool
	mk := func(r Reason, detail string) error {
		e := &VerifyError{Host: host, Port: port, Reason: r, Detail: detail, Err: err, Now: p.opts.Clock(), CipherMismatch: cipher}
		if n, addr, nerr := normalizeHost(host); nerr == nil {
			e.Host = n
			e.Rule = p.ix.effective(n, port, addr)
		}
		return p.refused(e)
	}
	note.mu.Lock()
	requested, sent, notSent, idErr := note.requested, note.sent, note.notSent, note.err
	note.mu.Unlock()
	if idErr != nil {
		return mk(ReasonClientCertUnusable, idErr.Error())
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		what := "the server answered with something that is not TLS"
		if string(rh.RecordHeader[:]) == "HTTP/" {
			what = "the server answered in plain HTTP"
		}
		return mk(ReasonNotTLS, what)
	}
	code, ok := remoteAlert(err)
	if !ok {
		// In TLS 1.3 the server judges the client's certificate after the
		// client's handshake is done: its alert may race the first write
		// and surface as a closed connection.
		if requested && !sent && !isTimeout(err) {
			d := "the server asked for a client certificate, none was sent, and it closed the connection"
			if notSent != "" {
				d += ": " + notSent
			}
			return mk(ReasonClientCertRequired, d)
		}
		return err
	}
	switch {
	case code == alertCertificateRequired || (requested && !sent && isCertAlert(code)):
		d := "the server requires a client certificate and none was sent"
		if notSent != "" {
			d += ": " + notSent
		}
		return mk(ReasonClientCertRequired, d)
	case sent && isCertAlert(code):
		return mk(ReasonClientCertRequired, "the server refused the client certificate that was sent ("+tls.AlertError(code).Error()+")")
	case code == alertProtocolVersion:
		return mk(ReasonProtocolMismatch, "the server supports none of the TLS versions allowed for this host")
	case code == alertHandshakeFailure || code == alertInsufficientSecurity:
		// The versions were agreed (a version mismatch is protocol_version):
		// the cipher suites were not.
		cipher = true
		// The alert does not say which: a cipher suite, a key exchange
		// group, or a signature algorithm for the server's key (an Ed448
		// or RSASSA-PSS key, which Go cannot use).
		return mk(ReasonProtocolMismatch, "the server and httptrust share no cipher suite, key exchange group or signature algorithm: the server speaks only TLS parameters httptrust refuses (or has a certificate key Go cannot use, such as Ed448)")
	}
	return err
}

// Explain turns an error from a connection to hostport made with a bare
// TLSConfigFor config into the *VerifyError the Transport would have
// returned, for clients that are not net/http: a server that does not speak
// TLS, wants a client certificate it was not given, or shares no TLS
// version or suite with the rule. A refused certificate already is one
// (inside a *tls.CertificateVerificationError), and other errors (a
// timeout, a refused connection) are returned as they are. Policy.DialTLSContext
// does this itself.
func (p *Policy) Explain(err error, hostport string) error {
	if err == nil || p.usable() != nil {
		return err
	}
	host, port, serr := splitHost(hostport)
	if serr != nil {
		return err
	}
	if port == "" {
		port = "443"
	}
	return classify(err, p, host, port, &handshakeNote{})
}

// isTimeout reports whether err is a timeout or a cancellation, which
// says nothing about the server.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

func isCertAlert(code uint8) bool {
	switch code {
	case alertHandshakeFailure, alertBadCertificate, alertUnsupportedCert, alertCertificateRevoked,
		alertCertificateExpired, alertCertificateUnknown, alertUnknownCA, alertAccessDenied:
		return true
	}
	return false
}

// remoteAlert extracts the alert a peer sent. crypto/tls reports it as a
// *net.OpError ("remote error") around its unexported alert type, a uint8;
// tls.AlertError is matched too.
func remoteAlert(err error) (uint8, bool) {
	var ae tls.AlertError
	if errors.As(err, &ae) {
		return uint8(ae), true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" && op.Err != nil {
		v := reflect.ValueOf(op.Err)
		if v.Kind() == reflect.Uint8 && v.Type().PkgPath() == "crypto/tls" {
			return uint8(v.Uint()), true
		}
	}
	return 0, false
}
