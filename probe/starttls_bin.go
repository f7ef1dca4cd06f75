package probe

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
)

// LDAP (BER) and PostgreSQL: binary protocols.

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
