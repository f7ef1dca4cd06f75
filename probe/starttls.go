package probe

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
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

// lineConn reads CRLF-terminated lines from a plain-text protocol.
type lineConn struct {
	c net.Conn
	r *bufio.Reader
}

func newLineConn(c net.Conn) *lineConn {
	return &lineConn{c: c, r: bufio.NewReaderSize(io.LimitReader(c, maxReply), maxLine)}
}

// line reads one line without its line ending.
func (l *lineConn) line() (string, error) {
	b, err := l.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", fmt.Errorf("%w: a line longer than %d bytes", ErrNotProtocol, maxLine)
	}
	if err == io.EOF && len(b) > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func (l *lineConn) send(s string) error {
	_, err := io.WriteString(l.c, s+"\r\n")
	return err
}

// done checks that nothing follows the server's last answer.
func (l *lineConn) done(step string) error {
	if l.r.Buffered() > 0 {
		return stepErr(step, "", ErrInjected)
	}
	return nil
}

// smtpReply reads a (possibly multi-line) SMTP reply: its code and the
// text of each line.
func (l *lineConn) smtpReply() (int, []string, error) {
	var texts []string
	for range maxLines {
		s, err := l.line()
		if err != nil {
			return 0, texts, err
		}
		if len(s) < 3 || (len(s) > 3 && s[3] != ' ' && s[3] != '-') {
			return 0, append(texts, s), ErrNotProtocol
		}
		code, err := strconv.Atoi(s[:3])
		if err != nil {
			return 0, append(texts, s), ErrNotProtocol
		}
		texts = append(texts, strings.TrimSpace(s[min(4, len(s)):]))
		if len(s) == 3 || s[3] == ' ' {
			return code, texts, nil
		}
	}
	return 0, texts, fmt.Errorf("%w: a reply of more than %d lines", ErrNotProtocol, maxLines)
}

// smtpStartTLS: the greeting (220), EHLO (250, STARTTLS among the
// extensions), STARTTLS (220).
func smtpStartTLS(c net.Conn) error {
	l := newLineConn(c)
	code, texts, err := l.smtpReply()
	if err != nil {
		return stepErr("greeting", first(texts), err)
	}
	if code != 220 {
		return stepErr("greeting", fmt.Sprintf("%d %s", code, first(texts)), ErrStartTLSRefused)
	}
	if err := l.send("EHLO localhost"); err != nil {
		return stepErr("EHLO", "", err)
	}
	code, texts, err = l.smtpReply()
	if err != nil {
		return stepErr("EHLO", first(texts), err)
	}
	if code != 250 {
		return stepErr("EHLO", fmt.Sprintf("%d %s", code, first(texts)), ErrNoStartTLS)
	}
	offered := false
	for _, t := range texts[1:] {
		word, _, _ := strings.Cut(t, " ")
		offered = offered || strings.EqualFold(word, "STARTTLS")
	}
	if !offered {
		return stepErr("EHLO", "250 "+strings.Join(texts, ", "), ErrNoStartTLS)
	}
	if err := l.send("STARTTLS"); err != nil {
		return stepErr("STARTTLS", "", err)
	}
	code, texts, err = l.smtpReply()
	if err != nil {
		return stepErr("STARTTLS", first(texts), err)
	}
	if code != 220 {
		return stepErr("STARTTLS", fmt.Sprintf("%d %s", code, first(texts)), ErrStartTLSRefused)
	}
	return l.done("STARTTLS")
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// imapStartTLS: the greeting (* OK), CAPABILITY (STARTTLS among them),
// STARTTLS (OK).
func imapStartTLS(c net.Conn) error {
	l := newLineConn(c)
	greeting, err := l.line()
	if err != nil {
		return stepErr("greeting", "", err)
	}
	switch word := strings.ToUpper(field(greeting, 1)); {
	case field(greeting, 0) != "*":
		return stepErr("greeting", greeting, ErrNotProtocol)
	case word == "PREAUTH":
		return stepErr("greeting", greeting, fmt.Errorf("%w: the connection is authenticated already, and STARTTLS is allowed only before", ErrStartTLSRefused))
	case word != "OK":
		return stepErr("greeting", greeting, ErrStartTLSRefused)
	}
	caps, tagged, err := l.imapCommand("A1", "CAPABILITY")
	if err != nil {
		return stepErr("CAPABILITY", tagged, err)
	}
	offered := false
	for _, line := range caps {
		if !strings.EqualFold(field(line, 1), "CAPABILITY") {
			continue
		}
		for _, c := range strings.Fields(line)[2:] {
			offered = offered || strings.EqualFold(c, "STARTTLS")
		}
	}
	if !offered {
		return stepErr("CAPABILITY", strings.Join(caps, " "), ErrNoStartTLS)
	}
	if _, tagged, err := l.imapCommand("A2", "STARTTLS"); err != nil {
		return stepErr("STARTTLS", tagged, err)
	}
	return l.done("STARTTLS")
}

// imapCommand sends "tag cmd" and reads up to its tagged answer, which
// must be OK. It returns the untagged lines and the tagged one.
func (l *lineConn) imapCommand(tag, cmd string) ([]string, string, error) {
	if err := l.send(tag + " " + cmd); err != nil {
		return nil, "", err
	}
	var untagged []string
	for range maxLines {
		s, err := l.line()
		if err != nil {
			return untagged, "", err
		}
		switch field(s, 0) {
		case "*":
			untagged = append(untagged, s)
			continue
		case tag:
			if !strings.EqualFold(field(s, 1), "OK") {
				return untagged, s, ErrStartTLSRefused
			}
			return untagged, s, nil
		}
		return untagged, s, ErrNotProtocol
	}
	return untagged, "", fmt.Errorf("%w: more than %d lines before the answer", ErrNotProtocol, maxLines)
}

// field returns the i-th space-separated word of s, or "".
func field(s string, i int) string {
	f := strings.Fields(s)
	if i < len(f) {
		return f[i]
	}
	return ""
}

// ldapStartTLSOID names the StartTLS extended operation.
const ldapStartTLSOID = "1.3.6.1.4.1.1466.20037"

// ldapStartTLSRequest is LDAPMessage { messageID 1, extendedReq
// [APPLICATION 23] { requestName [0] "1.3.6.1.4.1.1466.20037" } } in BER.
var ldapStartTLSRequest = berTLV(0x30, append(berTLV(0x02, []byte{1}),
	berTLV(0x77, berTLV(0x80, []byte(ldapStartTLSOID)))...))

// berTLV encodes one BER element with a definite length.
func berTLV(tag byte, body []byte) []byte {
	out := []byte{tag}
	switch n := len(body); {
	case n < 0x80:
		out = append(out, byte(n))
	case n <= 0xff:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, body...)
}

// ldapStartTLS sends the StartTLS extended request and reads its
// extended response, whose resultCode must be success (0).
func ldapStartTLS(c net.Conn) error {
	const step = "StartTLS request"
	if _, err := c.Write(ldapStartTLSRequest); err != nil {
		return stepErr(step, "", err)
	}
	body, err := readLDAPMessage(c)
	if err != nil {
		return stepErr(step, "", err)
	}
	id, rest, ok := berNext(body)
	if !ok || id.tag != 0x02 {
		return stepErr(step, "", fmt.Errorf("%w: the answer has no message ID", ErrNotProtocol))
	}
	op, _, ok := berNext(rest)
	if !ok || op.tag != 0x78 { // [APPLICATION 24] ExtendedResponse
		return stepErr(step, "", fmt.Errorf("%w: the answer is not an extended response", ErrNotProtocol))
	}
	code, rest, ok := berNext(op.body)
	if !ok || code.tag != 0x0a || len(code.body) == 0 || len(code.body) > 4 {
		return stepErr(step, "", fmt.Errorf("%w: the answer has no result code", ErrNotProtocol))
	}
	result := 0
	for _, b := range code.body {
		result = result<<8 | int(b)
	}
	_, rest, _ = berNext(rest) // matchedDN
	diag, _, _ := berNext(rest)
	reply := fmt.Sprintf("result code %d (%s)", result, ldapResultName(result))
	if len(diag.body) > 0 {
		reply += ": " + string(diag.body)
	}
	switch {
	case !bytes.Equal(id.body, []byte{1}):
		// Message ID 0 is an unsolicited notification, such as a notice
		// of disconnection.
		return stepErr(step, reply, ErrStartTLSRefused)
	case result == 2: // protocolError: the operation is not supported
		return stepErr(step, reply, ErrNoStartTLS)
	case result != 0:
		return stepErr(step, reply, ErrStartTLSRefused)
	}
	return nil
}

// ldapResultName names the LDAP result codes a StartTLS answer carries.
func ldapResultName(code int) string {
	switch code {
	case 0:
		return "success"
	case 1:
		return "operationsError"
	case 2:
		return "protocolError"
	case 52:
		return "unavailable"
	case 53:
		return "unwillingToPerform"
	}
	return "other"
}

// berElement is one element of BER data.
type berElement struct {
	tag  byte
	body []byte
}

// readLDAPMessage reads one LDAPMessage (a BER SEQUENCE with a definite
// length) from r, reading exactly its bytes and no more, and returns its
// content. Anything that does not start as a SEQUENCE fails at once.
func readLDAPMessage(r io.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:1]); err != nil {
		return nil, err
	}
	if hdr[0] != 0x30 {
		return nil, fmt.Errorf("%w: the answer is not an LDAP message", ErrNotProtocol)
	}
	if _, err := io.ReadFull(r, hdr[1:]); err != nil {
		return nil, err
	}
	n := int(hdr[1])
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 3 {
			return nil, fmt.Errorf("%w: a BER length of %d bytes", ErrNotProtocol, k)
		}
		lb := make([]byte, k)
		if _, err := io.ReadFull(r, lb); err != nil {
			return nil, err
		}
		n = 0
		for _, b := range lb {
			n = n<<8 | int(b)
		}
	}
	if n > maxReply {
		return nil, fmt.Errorf("%w: an answer of %d bytes", ErrNotProtocol, n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return body, nil
}

// berNext splits the first element off data.
func berNext(data []byte) (berElement, []byte, bool) {
	if len(data) < 2 {
		return berElement{}, nil, false
	}
	tag, n, off := data[0], int(data[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 3 || len(data) < 2+k {
			return berElement{}, nil, false
		}
		n = 0
		for _, b := range data[2 : 2+k] {
			n = n<<8 | int(b)
		}
		off += k
	}
	if len(data)-off < n {
		return berElement{}, nil, false
	}
	return berElement{tag: tag, body: data[off : off+n]}, data[off+n:], true
}

// postgresSSLRequest is the SSLRequest message: its length (8) and the
// code 80877103.
var postgresSSLRequest = binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 8), 80877103)

// postgresStartTLS sends SSLRequest and reads the one-byte answer: 'S'
// to go on with TLS, 'N' for a server without it.
func postgresStartTLS(c net.Conn) error {
	const step = "SSLRequest"
	if _, err := c.Write(postgresSSLRequest); err != nil {
		return stepErr(step, "", err)
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return stepErr(step, "", err)
	}
	switch b[0] {
	case 'S':
		return nil
	case 'N':
		return stepErr(step, "", fmt.Errorf("%w: it answered N (ssl = off in its configuration)", ErrNoStartTLS))
	case 'E':
		return stepErr(step, "E", fmt.Errorf("%w: it answered with an error message", ErrStartTLSRefused))
	}
	return stepErr(step, fmt.Sprintf("0x%02x", b[0]), ErrNotProtocol)
}
