package certs

import (
	"bytes"
	"crypto/x509"
	"fmt"
)

// pkcs7Types names the PKCS#7 content types by the last arc of their OID.
var pkcs7Types = map[byte]string{1: "data", 2: "signedData", 3: "envelopedData",
	4: "signedAndEnvelopedData", 5: "digestedData", 6: "encryptedData"}

// parsePKCS7 returns the certificates of a PKCS#7 SignedData (certs-only
// or not), DER or BER. at is the PEM block der came from, or nil.
func parsePKCS7(name string, der []byte, at *pemBlock) ([]*x509.Certificate, error) {
	found := "a PKCS#7 bundle"
	if at != nil {
		found = article(at.Type)
	}
	fail := func(off int64, what string, err error) *FileError {
		fe := &FileError{File: name, Offset: off, Found: what, Err: err}
		if at != nil {
			fe.Block, fe.Line = at.num, at.line
		}
		return fe
	}
	top, _, derr := readElement(der, 0, true, 0)
	if derr == nil {
		_, derr = checkStructure(top.full, 0, true)
	}
	if derr != nil {
		return nil, fail(derr.off, found, fmt.Errorf("%w: %s", ErrTruncated, derr.msg))
	}
	if t := pkcs7Type(top); t != "signedData" {
		return nil, fail(-1, "a PKCS#7 "+t+" message", ErrNotCertificate)
	}
	certSet, err := pkcs7Certificates(top)
	if err != nil {
		return nil, fail(top.off, found, err)
	}
	var out []*x509.Certificate
	for _, el := range children(certSet, MaxFileSize) {
		if el.id != tagSequence {
			continue // an attribute certificate or other format: not X.509
		}
		c, _, off, err := parseOneCert(el.full, el.off)
		if err != nil {
			return nil, fail(off, "a certificate in "+found, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fail(-1, found, ErrNoCertificates)
	}
	return out, nil
}

// pkcs7Type names the content type of a PKCS#7 ContentInfo.
func pkcs7Type(top element) string {
	ci := children(top, 1)
	if top.id != tagSequence || len(ci) < 1 || ci[0].id != tagOID || !bytes.HasPrefix(ci[0].body, oidBytesPKCS7) ||
		len(ci[0].body) != len(oidBytesSignedData) {
		return "unknown"
	}
	if t := pkcs7Types[ci[0].body[len(ci[0].body)-1]]; t != "" {
		return t
	}
	return "unknown"
}

// pkcs7Certificates finds the certificates field of a ContentInfo holding
// SignedData. It returns a zero element when there is none.
func pkcs7Certificates(top element) (element, error) {
	ci := children(top, 2)
	if len(ci) < 2 || ci[1].id != tagContext0 {
		return element{}, fmt.Errorf("%w: PKCS#7 signedData without content", ErrNoCertificates)
	}
	sd := children(ci[1], 1)
	if len(sd) != 1 || sd[0].id != tagSequence {
		return element{}, fmt.Errorf("%w: PKCS#7 signedData is not a SEQUENCE", ErrTruncated)
	}
	fields := children(sd[0], 6)
	// version, digestAlgorithms, contentInfo, [0] certificates, [1] crls, signerInfos
	if len(fields) < 3 || fields[0].id != tagInteger || fields[1].id != tagSet || fields[2].id != tagSequence {
		return element{}, fmt.Errorf("%w: PKCS#7 signedData has an unexpected layout", ErrTruncated)
	}
	for _, f := range fields[3:] {
		if f.id == tagContext0 {
			return f, nil
		}
	}
	return element{}, nil
}

// EncodePKCS7 returns a DER PKCS#7 certs-only bundle (a SignedData with no
// signers, as in .p7b files) holding certs in order.
func EncodePKCS7(certs []*x509.Certificate) []byte {
	var raw [][]byte
	for _, c := range certs {
		raw = append(raw, c.Raw)
	}
	fields := [][]byte{
		tlv(tagInteger, []byte{1}),
		tlv(tagSet),
		tlv(tagSequence, tlv(tagOID, oidBytesData)),
	}
	if len(raw) > 0 {
		fields = append(fields, tlv(tagContext0, raw...))
	}
	fields = append(fields, tlv(tagSet))
	signedData := tlv(tagSequence, fields...)
	return tlv(tagSequence, tlv(tagOID, oidBytesSignedData), tlv(tagContext0, signedData))
}

// tlv encodes one DER element with the given identifier octet whose content
// is the concatenation of content.
func tlv(id byte, content ...[]byte) []byte {
	n := 0
	for _, c := range content {
		n += len(c)
	}
	out := []byte{id}
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	default:
		var l []byte
		for v := n; v > 0; v >>= 8 {
			l = append([]byte{byte(v)}, l...)
		}
		out = append(out, 0x80|byte(len(l)))
		out = append(out, l...)
	}
	for _, c := range content {
		out = append(out, c...)
	}
	return out
}
