package certs

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"unicode/utf8"
)

// parsePEMCertificates reads the certificates of a PEM file.
func parsePEMCertificates(name string, data []byte) ([]*x509.Certificate, error) {
	blocks, ferr := scanPEM(data)
	if ferr != nil {
		ferr.File = name
		return nil, ferr
	}
	var out []*x509.Certificate
	var other *pemBlock
	for i, b := range blocks {
		var cs []*x509.Certificate
		var err error
		switch {
		case pemCertTypes[b.Type], b.Type == "TRUSTED CERTIFICATE":
			cs, err = pemCertificate(name, b)
		case pemPKCS7Types[b.Type]:
			cs, err = parsePKCS7(name, b.Bytes, &blocks[i])
		default:
			if other == nil {
				other = &blocks[i]
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	if len(out) > 0 {
		return out, nil
	}
	if other != nil {
		return nil, blockErr(name, *other, article(other.Type), ErrNotCertificate)
	}
	return nil, fileErr(name, "PEM without blocks", ErrNoCertificates) // unreachable: scanPEM found a BEGIN line
}

// pemCertificate reads a CERTIFICATE or TRUSTED CERTIFICATE block. A
// TRUSTED CERTIFICATE (OpenSSL's) carries trust settings after the
// certificate; they are ignored.
func pemCertificate(name string, b pemBlock) ([]*x509.Certificate, error) {
	switch k := classify(b.Bytes); k {
	case kindCertificate, kindUnknown:
	case kindPKCS7:
		return parsePKCS7(name, b.Bytes, &b)
	default:
		return nil, blockErr(name, b, fmt.Sprintf("a %s block that holds %s", b.Type, k.phrase()), ErrNotCertificate)
	}
	c, rest, off, err := parseOneCert(b.Bytes, 0)
	if err == nil && len(rest) > 0 && b.Type != "TRUSTED CERTIFICATE" {
		off = int64(len(b.Bytes) - len(rest))
		err = fmt.Errorf("%w: %d bytes of extra data follow the certificate", ErrTruncated, len(rest))
	}
	if err != nil {
		fe := blockErr(name, b, article(b.Type), err)
		fe.Offset = off
		return nil, fe
	}
	return []*x509.Certificate{c}, nil
}

// parseOneCert parses the DER certificate at the start of der, which
// stands at offset base of its input, and returns what follows it. On
// error, off says where the problem is.
func parseOneCert(der []byte, base int64) (c *x509.Certificate, rest []byte, off int64, err error) {
	el, rest, derr := readElement(der, base, false, 0)
	if derr == nil {
		_, derr = checkStructure(el.full, base, false)
	}
	if derr != nil {
		return nil, nil, derr.off, fmt.Errorf("%w: %s", ErrTruncated, derr.msg)
	}
	c, err = x509.ParseCertificate(el.full)
	if err != nil {
		return nil, nil, base, err
	}
	return c, rest, base, nil
}

// parseDERCertificates reads one DER certificate, or several concatenated.
// Trailing whitespace or zero bytes are ignored.
func parseDERCertificates(name string, data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := data
	for len(rest) > 0 && !isPadding(rest) {
		off := int64(len(data) - len(rest))
		if len(out) > 0 {
			if k := classify(rest); k != kindCertificate {
				return nil, &FileError{File: name, Offset: off, Found: "data after the certificate",
					Err: fmt.Errorf("%w: %d bytes of %s follow the certificate", ErrTruncated, len(rest), k.phrase())}
			}
		}
		c, r, eoff, err := parseOneCert(rest, off)
		if err != nil {
			return nil, &FileError{File: name, Offset: eoff, Found: "a DER certificate", Err: err}
		}
		out = append(out, c)
		rest = r
	}
	return out, nil
}

// isPadding reports whether b holds only whitespace and zero bytes.
func isPadding(b []byte) bool {
	return len(bytes.Trim(b, " \t\r\n\x00")) == 0
}

// unknownFormat is the error for input that no parser recognised.
func unknownFormat(name string, data []byte) *FileError {
	if len(bytes.TrimSpace(data)) == 0 {
		return fileErr(name, describeUnknown(data), ErrNoCertificates)
	}
	if data[0] == tagSequence {
		if _, derr := checkStructure(data, 0, true); derr != nil {
			return structErr(name, "DER data", derr)
		}
	}
	return fileErr(name, describeUnknown(data), ErrUnknownFormat)
}

// describeUnknown says in words what data is when it is not a certificate,
// key, PKCS#7 or PKCS#12 file.
func describeUnknown(data []byte) string {
	switch {
	case len(data) == 0:
		return "an empty file"
	case len(bytes.TrimSpace(data)) == 0:
		return "only whitespace"
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}), bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		return "UTF-16 text (save it as UTF-8 or ASCII)"
	case data[0] == tagSequence:
		return "DER data of an unknown kind"
	case hasAnyPrefix(data, "ssh-rsa ", "ssh-ed25519 ", "ecdsa-sha2-", "ssh-dss "):
		return "an SSH public key"
	case isText(data):
		return "text, no PEM block"
	}
	return "binary data"
}

func hasAnyPrefix(data []byte, prefixes ...string) bool {
	for _, p := range prefixes {
		if bytes.HasPrefix(data, []byte(p)) {
			return true
		}
	}
	return false
}

// isText reports whether the start of data reads as UTF-8 text.
func isText(data []byte) bool {
	head := data[:min(len(data), 512)]
	for len(head) > 0 {
		r, n := utf8.DecodeRune(head)
		if r == utf8.RuneError && n == 1 && len(head) > 3 {
			return false
		}
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
		head = head[n:]
	}
	return true
}
