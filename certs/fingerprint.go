package certs

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
)

// Fingerprint is the SHA-256 hash of a certificate's DER encoding, as
// browsers and `openssl x509 -fingerprint -sha256` show it. The zero value
// is not the fingerprint of any certificate.
type Fingerprint [32]byte

// CertFingerprint returns the fingerprint of c.
func CertFingerprint(c *x509.Certificate) Fingerprint {
	return sha256.Sum256(c.Raw)
}

// String returns f as 64 lower-case hex digits without separators.
func (f Fingerprint) String() string {
	return hex.EncodeToString(f[:])
}

// Colon returns f as upper-case hex bytes separated by colons, as OpenSSL
// prints it ("AB:CD:...").
func (f Fingerprint) Colon() string { return ColonHex(f[:]) }

// ColonHex returns b as upper-case hex bytes separated by colons
// ("AB:CD:EF"), the form of fingerprints, serial numbers and key
// identifiers in browsers and OpenSSL; "" for no bytes.
func ColonHex(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, len(b)*3-1)
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}

const fingerprintHint = "openssl x509 -noout -fingerprint -sha256 -in FILE prints it"

// ParseFingerprint parses a SHA-256 certificate fingerprint: 64 hex
// digits, in upper or lower case, optionally separated by ':' or ' ', with
// an optional "sha256:" or OpenSSL "SHA256 Fingerprint=" prefix. SHA-1
// and MD5 fingerprints are refused with a message saying how to get the
// SHA-256 one. The error is a *SyntaxError.
func ParseFingerprint(s string) (Fingerprint, error) {
	in := strings.TrimSpace(s)
	for _, p := range [][2]string{{"sha1 fingerprint=", "a SHA-1"}, {"sha1:", "a SHA-1"}, {"sha-1:", "a SHA-1"},
		{"md5 fingerprint=", "an MD5"}, {"md5:", "an MD5"}} {
		if hasPrefixFold(in, p[0]) {
			return Fingerprint{}, syntaxErr("fingerprint", s, fmt.Sprintf(
				"%s fingerprint, which is not supported; give the SHA-256 one (%s)", p[1], fingerprintHint))
		}
	}
	for _, p := range []string{"sha256 fingerprint=", "sha256:", "sha-256:", "sha256="} {
		if hasPrefixFold(in, p) {
			in = strings.TrimSpace(in[len(p):])
			break
		}
	}
	if hasPrefixFold(in, "sha256/") || hasPrefixFold(in, "pin-sha256") {
		return Fingerprint{}, syntaxErr("fingerprint", s,
			"this is an SPKI pin, not a certificate fingerprint; give it as a pin, or give the fingerprint ("+fingerprintHint+")")
	}
	digits := strings.NewReplacer(":", "", " ", "").Replace(in)
	for i := 0; i < len(digits); i++ {
		if !isHex(digits[i]) {
			return Fingerprint{}, syntaxErr("fingerprint", s, fmt.Sprintf(
				"%q is not a hex digit; expected 64 hex digits, optionally separated by ':' or ' '", digits[i]))
		}
	}
	switch n := len(digits); n {
	case 64:
		var f Fingerprint
		hex.Decode(f[:], []byte(digits))
		return f, nil
	case 40:
		return Fingerprint{}, syntaxErr("fingerprint", s, "40 hex digits is a SHA-1 fingerprint, which is not supported; "+
			"give the SHA-256 one ("+fingerprintHint+")")
	case 32:
		return Fingerprint{}, syntaxErr("fingerprint", s, "32 hex digits is an MD5 fingerprint, which is not supported; "+
			"give the SHA-256 one ("+fingerprintHint+")")
	default:
		return Fingerprint{}, syntaxErr("fingerprint", s, fmt.Sprintf("%d hex digits, a SHA-256 fingerprint has 64", n))
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
