package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Protocol names what a server speaks over TLS, and so how a connection
// reaches the TLS handshake: at once (HTTPS and TLS), or after a
// plain-text upgrade (STARTTLS). The zero value is HTTPS.
type Protocol string

// The protocols a probe speaks.
const (
	HTTPS    Protocol = ""         // TLS at once; ALPN offers h2 and http/1.1
	TLS      Protocol = "tls"      // any other service that speaks TLS at once; no ALPN
	SMTP     Protocol = "smtp"     // SMTP, then STARTTLS (RFC 3207)
	IMAP     Protocol = "imap"     // IMAP, then STARTTLS (RFC 3501)
	LDAP     Protocol = "ldap"     // LDAP, then the StartTLS extended operation (RFC 4511)
	Postgres Protocol = "postgres" // PostgreSQL, then SSLRequest
)

// StartsPlain reports whether p speaks plain text before TLS (STARTTLS).
func (p Protocol) StartsPlain() bool {
	switch p {
	case SMTP, IMAP, LDAP, Postgres:
		return true
	}
	return false
}

// Name names the protocol: "HTTPS", "TLS", "SMTP", "IMAP", "LDAP",
// "PostgreSQL".
func (p Protocol) Name() string {
	switch p {
	case HTTPS:
		return "HTTPS"
	case Postgres:
		return "PostgreSQL"
	}
	return strings.ToUpper(string(p))
}

// String names p with its way to TLS, for messages: "HTTPS", "TLS",
// "SMTP STARTTLS", "LDAP StartTLS", "PostgreSQL SSLRequest".
func (p Protocol) String() string {
	switch p {
	case HTTPS:
		return "HTTPS"
	case TLS:
		return "TLS"
	case SMTP, IMAP:
		return strings.ToUpper(string(p)) + " STARTTLS"
	case LDAP:
		return "LDAP StartTLS"
	case Postgres:
		return "PostgreSQL SSLRequest"
	}
	return string(p)
}

// Scheme is a URL scheme a probe understands: the port it defaults to and
// the protocol it speaks.
type Scheme struct {
	Name string // "smtp"
	// Port is the default port; "" means the URL must give one (tls://).
	Port     string
	Protocol Protocol
}

var schemes = []Scheme{
	{"https", "443", HTTPS},
	{"tls", "", TLS},
	{"smtp", "25", SMTP},
	{"submission", "587", SMTP},
	{"smtps", "465", TLS},
	{"imap", "143", IMAP},
	{"imaps", "993", TLS},
	{"ldap", "389", LDAP},
	{"ldaps", "636", TLS},
	{"postgres", "5432", Postgres},
	{"postgresql", "5432", Postgres},
}

// LookupScheme returns the scheme named name (in lower case), and whether
// there is one.
func LookupScheme(name string) (Scheme, bool) {
	for _, s := range schemes {
		if s.Name == name {
			return s, true
		}
	}
	return Scheme{}, false
}

// Schemes returns every scheme LookupScheme knows, https first.
func Schemes() []Scheme { return append([]Scheme(nil), schemes...) }

// Errors of StartTLS, wrapped in a *StartTLSError.
var (
	// ErrNoStartTLS means the server does not offer to start TLS.
	ErrNoStartTLS = errors.New("probe: the server does not offer to start TLS")
	// ErrStartTLSRefused means the server refused the request to start TLS.
	ErrStartTLSRefused = errors.New("probe: the server refused to start TLS")
	// ErrNotProtocol means the server does not speak the protocol: its
	// answer is not what that protocol would say.
	ErrNotProtocol = errors.New("probe: the server does not speak this protocol")
	// ErrInjected means the server sent more than its answer before the
	// TLS handshake: bytes that would be mistaken for data sent over TLS
	// (a STARTTLS response injection). The probe refuses to go on.
	ErrInjected = errors.New("probe: the server sent data after agreeing to start TLS, before the handshake")
)

// StartTLSError says which step of a plain-text upgrade failed and what
// the server answered. Reply is the server's own text: it may hold
// anything, and must be escaped before it is printed.
type StartTLSError struct {
	Protocol Protocol
	Step     string // "greeting", "EHLO", "CAPABILITY", "STARTTLS", "StartTLS request", "SSLRequest"
	Reply    string // the server's answer, shortened; "" when it sent none
	Err      error  // one of the errors above, or the I/O error
}

// Error returns e.g. `probe: SMTP: EHLO: the server does not offer to
// start TLS (it answered "250 mail.example")`.
func (e *StartTLSError) Error() string {
	msg := strings.TrimPrefix(e.Err.Error(), "probe: ")
	s := fmt.Sprintf("probe: %s: %s: %s", e.Protocol.Name(), e.Step, msg)
	if e.Reply != "" {
		s += fmt.Sprintf(" (it answered %q)", e.Reply)
	}
	return s
}

func (e *StartTLSError) Unwrap() error { return e.Err }

// maxReply bounds what StartTLS reads from a server before TLS, and
// maxLine one line of it.
const (
	maxReply = 64 << 10
	maxLine  = 4 << 10
	maxLines = 200
)

// StartTLS speaks p's plain-text upgrade on conn: afterwards the next
// bytes on conn are the TLS handshake, which the caller starts with
// tls.Client. It does nothing for HTTPS and TLS. ctx bounds it: its
// deadline is set on conn while StartTLS runs, and cancelling it ends a
// read or write at once.
//
// Nothing but the upgrade is sent: no credentials, no query, no mail. A
// server that answers anything but a plain yes fails with a
// *StartTLSError; one that sends more than its answer fails with
// ErrInjected, since those bytes could be taken as sent over TLS.
func StartTLS(ctx context.Context, conn net.Conn, p Protocol) error {
	if !p.StartsPlain() {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if stop() {
			conn.SetDeadline(time.Time{})
		}
	}()
	var err error
	switch p {
	case SMTP:
		err = smtpStartTLS(conn)
	case IMAP:
		err = imapStartTLS(conn)
	case LDAP:
		err = ldapStartTLS(conn)
	case Postgres:
		err = postgresStartTLS(conn)
	}
	var se *StartTLSError
	if errors.As(err, &se) {
		se.Protocol = p
		if ctx.Err() != nil && !isNetTimeout(se.Err) {
			se.Err = fmt.Errorf("%w: %w", ctx.Err(), se.Err)
		}
	}
	return err
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// stepErr builds a StartTLSError for step; reply is shortened.
func stepErr(step, reply string, err error) *StartTLSError {
	if len(reply) > 120 {
		reply = reply[:120] + "..."
	}
	return &StartTLSError{Step: step, Reply: reply, Err: err}
}
