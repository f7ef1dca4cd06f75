package certs

import (
	"crypto/x509"
	"fmt"
	"strings"
)

// Object is one thing Describe found in a file.
type Object struct {
	// Kind says what the object is, in words: "certificate", "private key
	// (ECDSA P-256)", "certificate request (CN=printer)", "encrypted private
	// key", "PKCS#12 (password-protected)", "CRL (issuer CN=Corp CA)",
	// "public key (RSA 2048)", or what is wrong with it.
	Kind string
	// Block and Line locate a PEM block (1-based); both are 0 outside PEM.
	Block, Line int
	// Cert is the certificate when the object is one, else nil.
	Cert *x509.Certificate
}

// Describe reports what every block or object in data is, in file order,
// for showing a person what a file holds (`httptrust inspect` on a file that
// is not a certificate). It never fails: damage is reported as an Object
// whose Kind says what is wrong, and input with nothing recognisable gives a
// single Object such as "text, no PEM block" or "an empty file". Key
// material never appears in a Kind. PKCS#12 contents are shown only when the
// file uses no password.
func Describe(data []byte) []Object {
	if len(data) > MaxFileSize {
		return []Object{{Kind: errText(tooLarge("", int64(len(data))))}}
	}
	k := classify(data)
	if k == kindUnknown && nextBegin(data, 0) >= 0 {
		return describePEM(data)
	}
	if k == kindUnknown {
		return []Object{{Kind: errText(unknownFormat("", data))}}
	}
	return describeDER(data, k)
}

// errText renders err without the package prefix.
func errText(err error) string {
	return strings.TrimPrefix(err.Error(), "certs: ")
}

// describePEM describes each PEM block.
func describePEM(data []byte) []Object {
	blocks, ferr := scanPEM(data)
	var out []Object
	for _, b := range blocks {
		var objs []Object
		k := classify(b.Bytes)
		switch {
		case x509.IsEncryptedPEMBlock(b.Block):
			objs = []Object{{Kind: "encrypted private key (legacy PEM encryption)"}}
		case k != kindUnknown:
			objs = describeDER(b.Bytes, k)
		case pemCertTypes[b.Type] || pemKeyTypes[b.Type] || pemPKCS7Types[b.Type] || b.Type == "TRUSTED CERTIFICATE":
			objs = []Object{{Kind: b.Type + " block whose content cannot be read"}}
		case b.Type == "OPENSSH PRIVATE KEY":
			objs = []Object{{Kind: "OpenSSH private key (not supported; convert it: ssh-keygen -p -m PKCS8 -f FILE)"}}
		default:
			objs = []Object{{Kind: fmt.Sprintf("PEM block %q of an unknown kind", b.Type)}}
		}
		for i := range objs {
			objs[i].Block, objs[i].Line = b.num, b.line
		}
		out = append(out, objs...)
	}
	if ferr != nil {
		out = append(out, Object{Kind: ferr.Found + ": " + problem(ferr.Err), Block: ferr.Block, Line: ferr.Line})
	}
	return out
}

// describeDER describes a DER object of kind k.
func describeDER(der []byte, k kind) []Object {
	switch k {
	case kindCertificate:
		return describeCerts(der)
	case kindPKCS7:
		certs, err := parsePKCS7("", der, nil)
		if err != nil {
			return []Object{{Kind: "PKCS#7 bundle, damaged: " + errText(err)}}
		}
		out := []Object{{Kind: fmt.Sprintf("PKCS#7 bundle (%d certificates)", len(certs))}}
		for _, c := range certs {
			out = append(out, Object{Kind: "certificate", Cert: c})
		}
		return out
	case kindPKCS12:
		return describePKCS12(der)
	case kindPKCS8Key, kindPKCS1Key, kindSEC1Key:
		key, err := parseKeyDER("", der, k, nil, nil)
		if err != nil {
			return []Object{{Kind: "private key, damaged: " + errText(err)}}
		}
		return []Object{{Kind: "private key (" + KeyDescription(key.Public()) + ")"}}
	case kindEncryptedKey:
		return []Object{{Kind: "encrypted private key"}}
	}
	return []Object{{Kind: describeOther(der, k)}}
}

// describeCerts describes one DER certificate or several concatenated.
func describeCerts(der []byte) []Object {
	var out []Object
	rest := der
	for len(out) == 0 || classify(rest) == kindCertificate {
		c, r, off, err := parseOneCert(rest, int64(len(der)-len(rest)))
		if err != nil {
			return append(out, Object{Kind: fmt.Sprintf("certificate, damaged at byte %d: %s", off, errText(err))})
		}
		out = append(out, Object{Kind: "certificate", Cert: c})
		rest = r
	}
	return out
}

// describePKCS12 describes a PKCS#12 file, showing its contents only when
// it opens without a password.
func describePKCS12(der []byte) []Object {
	key, leaf, chain, err := ParsePKCS12("", der, "")
	if err != nil {
		if fe, ok := err.(*FileError); ok && fe.Err == ErrWrongPassword {
			return []Object{{Kind: "PKCS#12 (password-protected)"}}
		}
		return []Object{{Kind: "PKCS#12, unreadable: " + errText(err)}}
	}
	out := []Object{{Kind: "PKCS#12 (no password)"}}
	if key != nil {
		out = append(out, Object{Kind: "private key (" + KeyDescription(key.Public()) + ")"})
	}
	if leaf != nil {
		chain = append([]*x509.Certificate{leaf}, chain...)
	}
	for _, c := range chain {
		out = append(out, Object{Kind: "certificate", Cert: c})
	}
	return out
}

// describeOther describes public keys, CSRs, CRLs and the rest.
func describeOther(der []byte, k kind) string {
	switch k {
	case kindPublicKey:
		if pub, err := x509.ParsePKIXPublicKey(der); err == nil {
			return "public key (" + KeyDescription(pub) + ")"
		}
	case kindRSAPublicKey:
		if pub, err := x509.ParsePKCS1PublicKey(der); err == nil {
			return "public key (" + KeyDescription(pub) + ", PKCS#1)"
		}
	case kindCSR:
		if csr, err := x509.ParseCertificateRequest(der); err == nil {
			return "certificate request (" + csr.Subject.String() + ")"
		}
	case kindCRL:
		if crl, err := x509.ParseRevocationList(der); err == nil {
			return fmt.Sprintf("CRL (issuer %s, %d revoked)", crl.Issuer, len(crl.RevokedCertificateEntries))
		}
	case kindPKCS7Other:
		top, _, _ := readElement(der, 0, true, 0)
		return "PKCS#7 " + pkcs7Type(top) + " message"
	case kindECParams:
		return "EC parameters"
	}
	return strings.TrimPrefix(strings.TrimPrefix(k.phrase(), "an "), "a ") + ", damaged"
}
