package certs

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
)

// SyntaxError is the error ParsePin, ParsePins and ParseFingerprint return
// for input they cannot read.
type SyntaxError struct {
	What  string // "pin", "pins" or "fingerprint"
	Input string // the input, shortened when long
	Msg   string // what is wrong, and the form that was expected
}

// Error returns e.g. `certs: pin "sha256/AAAA": OkHttp form sha256/<base64>:
// decodes to 3 bytes, a SHA-256 pin has 32`.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("certs: %s %q: %s", e.What, e.Input, e.Msg)
}

// syntaxErr builds a SyntaxError, shortening long input.
func syntaxErr(what, input, msg string) *SyntaxError {
	if len(input) > 100 {
		input = input[:100] + "..."
	}
	return &SyntaxError{What: what, Input: input, Msg: msg}
}

// Pin is the SHA-256 hash of a certificate's DER SubjectPublicKeyInfo: an
// SPKI pin, as OkHttp, curl and HPKP use it. The zero value is not the
// pin of any key.
type Pin [32]byte

// SPKIPin returns the pin of c's public key.
func SPKIPin(c *x509.Certificate) Pin {
	return sha256.Sum256(c.RawSubjectPublicKeyInfo)
}

// String returns p in OkHttp's form, "sha256/<base64>".
func (p Pin) String() string {
	return "sha256/" + base64.StdEncoding.EncodeToString(p[:])
}

const pinForms = `expected sha256/<base64> (OkHttp), sha256//<base64> (curl) or pin-sha256="<base64>" (HPKP)`

// ParsePin parses one pin in OkHttp's "sha256/<base64>", curl's
// "sha256//<base64>" or HPKP's `pin-sha256="<base64>"` form (quotes
// optional). Spaces around the pin and around HPKP's '=' are ignored; the
// prefixes are matched without regard to case. The error, a *SyntaxError,
// says which form was expected and why the input does not fit it.
func ParsePin(s string) (Pin, error) {
	in := strings.TrimSpace(s)
	switch {
	case hasPrefixFold(in, "sha256//"):
		// A base64 pin may itself start with '/': OkHttp's form of such a
		// pin looks like curl's. Only one reading decodes to 32 bytes.
		p, err := decodePin(s, in[len("sha256//"):], "curl form sha256//<base64>")
		if err != nil {
			if q, qerr := decodePin(s, in[len("sha256/"):], "OkHttp form sha256/<base64>"); qerr == nil {
				return q, nil
			}
		}
		return p, err
	case hasPrefixFold(in, "sha256/"):
		return decodePin(s, in[len("sha256/"):], "OkHttp form sha256/<base64>")
	case hasPrefixFold(in, "pin-sha256"):
		return parseHPKPPin(s, in[len("pin-sha256"):])
	case hasPrefixFold(in, "sha1/"), hasPrefixFold(in, "pin-sha1"):
		return Pin{}, syntaxErr("pin", s, "sha1/ pins are not supported; pins are SHA-256 of the public key: sha256/<base64>")
	case in == "":
		return Pin{}, syntaxErr("pin", s, "empty; "+pinForms)
	}
	return Pin{}, syntaxErr("pin", s, barePinHint(in))
}

// parseHPKPPin parses what follows "pin-sha256" in an HPKP directive.
func parseHPKPPin(s, rest string) (Pin, error) {
	const form = `HPKP form pin-sha256="<base64>"`
	rest = strings.TrimSpace(rest)
	v, ok := strings.CutPrefix(rest, "=")
	if !ok {
		return Pin{}, syntaxErr("pin", s, form+`: no "=" after pin-sha256`)
	}
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, `"`) || strings.HasSuffix(v, `"`) {
		if len(v) < 2 || !strings.HasPrefix(v, `"`) || !strings.HasSuffix(v, `"`) {
			return Pin{}, syntaxErr("pin", s, form+": unbalanced quotes")
		}
		v = v[1 : len(v)-1]
	}
	return decodePin(s, v, form)
}

// decodePin decodes the base64 part of a pin.
func decodePin(s, b64, form string) (Pin, error) {
	b64 = strings.TrimSpace(b64)
	if b64 == "" {
		return Pin{}, syntaxErr("pin", s, form+": no base64 after the prefix")
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil && !strings.Contains(b64, "=") {
		raw, err = base64.RawStdEncoding.Strict().DecodeString(b64)
	}
	if err != nil {
		msg := "not base64: " + err.Error()
		if strings.ContainsAny(b64, "-_") {
			msg = "uses the URL-safe base64 alphabet ('-', '_'); pins use standard base64 ('+', '/')"
		}
		return Pin{}, syntaxErr("pin", s, form+": "+msg)
	}
	if len(raw) != sha256.Size {
		msg := fmt.Sprintf("decodes to %d bytes, a SHA-256 pin has 32", len(raw))
		if len(raw) == 20 {
			msg += " (20 bytes is SHA-1, which is not supported)"
		}
		return Pin{}, syntaxErr("pin", s, form+": "+msg)
	}
	return Pin(raw), nil
}

// barePinHint explains input that has none of the pin prefixes.
func barePinHint(in string) string {
	if raw, err := base64.StdEncoding.Strict().DecodeString(in); err == nil && len(raw) == sha256.Size {
		return `missing the "sha256/" prefix; write sha256/` + in
	}
	if _, err := ParseFingerprint(in); err == nil {
		return "this is a certificate fingerprint (hex), not a pin; a pin is the base64 SHA-256 of the " +
			"public key, as in sha256/<base64>"
	}
	return pinForms
}

// ParsePins parses a list of pins: curl's ';'-separated list
// ("sha256//a;sha256//b"), or an HPKP header value with several
// pin-sha256 directives (max-age, includeSubDomains, report-uri and
// report-to are ignored). Each item may be in any form ParsePin accepts;
// ',' separates items too, and empty items are skipped. Input with no pin
// at all is an error.
func ParsePins(s string) ([]Pin, error) {
	var pins []Pin
	for _, item := range splitList(s) {
		item = strings.TrimSpace(item)
		name, _, _ := strings.Cut(item, "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "", "max-age", "includesubdomains", "report-uri", "report-to":
			continue
		}
		p, err := ParsePin(item)
		if err != nil {
			return nil, err
		}
		pins = append(pins, p)
	}
	if len(pins) == 0 {
		return nil, syntaxErr("pins", s, "no pin found; "+pinForms+", separated by ';'")
	}
	return pins, nil
}

// splitList splits s at ';' and ',' outside double quotes.
func splitList(s string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ';', ',':
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// hasPrefixFold reports whether s starts with the lower-case ASCII prefix,
// ignoring the case of ASCII letters in s.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}
