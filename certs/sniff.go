package certs

import "bytes"

// Format is the encoding of a file, as judged from its bytes by Sniff.
// The zero value is FormatUnknown.
type Format int

// The formats Sniff tells apart.
const (
	FormatUnknown               Format = iota // none of the below
	FormatPEM                                 // text with at least one PEM "-----BEGIN" line
	FormatDER                                 // a DER X.509 certificate (.cer, .crt, .der)
	FormatPKCS7                               // PKCS#7 / CMS, DER or BER (.p7b, .p7c)
	FormatPKCS12                              // PKCS#12 (.p12, .pfx)
	FormatDERPrivateKey                       // a DER private key: PKCS#8, PKCS#1 RSA or SEC1 EC
	FormatDEREncryptedKey                     // a DER encrypted PKCS#8 private key
	FormatDERPublicKey                        // a DER public key: SubjectPublicKeyInfo or PKCS#1 RSA
	FormatDERCertificateRequest               // a DER PKCS#10 certificate request (CSR)
	FormatDERCRL                              // a DER certificate revocation list
	FormatPEMPKCS7                            // PEM whose certificates are in a PKCS7 block (a PEM .p7b)
)

var formatNames = [...]string{
	FormatUnknown:               "unknown",
	FormatPEM:                   "PEM",
	FormatDER:                   "DER certificate",
	FormatPKCS7:                 "PKCS#7",
	FormatPKCS12:                "PKCS#12",
	FormatDERPrivateKey:         "DER private key",
	FormatDEREncryptedKey:       "DER encrypted private key",
	FormatDERPublicKey:          "DER public key",
	FormatDERCertificateRequest: "DER certificate request",
	FormatDERCRL:                "DER CRL",
	FormatPEMPKCS7:              "PKCS#7 (PEM)",
}

// String returns a short name for f, such as "PEM" or "PKCS#12".
func (f Format) String() string {
	if f < 0 || int(f) >= len(formatNames) {
		return "unknown"
	}
	return formatNames[f]
}

// Sniff reports the format of data judged from its content alone, never
// from a file name. A DER structure that is cut short is still recognised
// by its beginning, so that parsing can then report where it ends.
func Sniff(data []byte) Format {
	switch classify(data) {
	case kindCertificate:
		return FormatDER
	case kindPKCS7, kindPKCS7Other:
		return FormatPKCS7
	case kindPKCS12:
		return FormatPKCS12
	case kindPKCS8Key, kindPKCS1Key, kindSEC1Key:
		return FormatDERPrivateKey
	case kindEncryptedKey:
		return FormatDEREncryptedKey
	case kindPublicKey, kindRSAPublicKey:
		return FormatDERPublicKey
	case kindCSR:
		return FormatDERCertificateRequest
	case kindCRL:
		return FormatDERCRL
	}
	if nextBegin(data, 0) >= 0 {
		return sniffPEM(data)
	}
	return FormatUnknown
}

// sniffPEM tells a PEM .p7b (its first block that holds certificates is
// a PKCS7 one) from other PEM.
func sniffPEM(data []byte) Format {
	blocks, _ := scanPEM(data)
	for _, b := range blocks {
		switch {
		case pemPKCS7Types[b.Type]:
			return FormatPEMPKCS7
		case pemCertTypes[b.Type], b.Type == "TRUSTED CERTIFICATE":
			return FormatPEM
		}
	}
	return FormatPEM
}

// kind is what one DER object is.
type kind int

const (
	kindUnknown kind = iota
	kindCertificate
	kindCSR
	kindCRL
	kindPKCS7      // certs-only / signedData
	kindPKCS7Other // another PKCS#7 content type
	kindPKCS12
	kindPKCS8Key
	kindPKCS1Key
	kindSEC1Key
	kindEncryptedKey
	kindPublicKey
	kindRSAPublicKey
	kindECParams
)

// phrase names k in words, with an article, for messages.
func (k kind) phrase() string {
	switch k {
	case kindCertificate:
		return "a certificate"
	case kindCSR:
		return "a certificate request"
	case kindCRL:
		return "a CRL"
	case kindPKCS7:
		return "a PKCS#7 bundle"
	case kindPKCS7Other:
		return "a PKCS#7 message that is not a certificate bundle"
	case kindPKCS12:
		return "a PKCS#12 file"
	case kindPKCS8Key:
		return "a private key (PKCS#8)"
	case kindPKCS1Key:
		return "an RSA private key (PKCS#1)"
	case kindSEC1Key:
		return "an EC private key (SEC1)"
	case kindEncryptedKey:
		return "an encrypted private key (PKCS#8)"
	case kindPublicKey:
		return "a public key"
	case kindRSAPublicKey:
		return "an RSA public key"
	case kindECParams:
		return "EC parameters"
	}
	return "data of an unknown kind"
}

// DER encodings of the object identifiers classify looks for.
var (
	oidBytesData       = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01}
	oidBytesSignedData = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02}
	oidBytesPKCS7      = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07}
)

// ASN.1 identifier octets.
const (
	tagInteger     = 0x02
	tagBitString   = 0x03
	tagOctetString = 0x04
	tagOID         = 0x06
	tagUTCTime     = 0x17
	tagGenTime     = 0x18
	tagSequence    = 0x30
	tagSet         = 0x31
	tagContext0    = 0xa0 // [0] constructed
	tagContext1    = 0xa1 // [1] constructed
)

// classify reports what the first DER (or BER) element of data is, judged
// by its shape. It is lenient about elements cut short.
func classify(data []byte) kind {
	top, _, err := readElement(data, 0, true, 0)
	if err != nil {
		return kindUnknown
	}
	if top.id == tagOID && !top.short {
		return kindECParams
	}
	if top.id != tagSequence {
		return kindUnknown
	}
	c := children(top, 10)
	if len(c) == 0 {
		return kindUnknown
	}
	switch c[0].id {
	case tagOID:
		return classifyContentInfo(c)
	case tagInteger:
		return classifyVersioned(c)
	case tagSequence:
		return classifySigned(top, c)
	}
	return kindUnknown
}

// classifyContentInfo handles SEQUENCE { OID, [0] ... }: PKCS#7.
func classifyContentInfo(c []element) kind {
	switch {
	case bytes.Equal(c[0].body, oidBytesSignedData):
		return kindPKCS7
	case len(c[0].body) == len(oidBytesSignedData) && bytes.HasPrefix(c[0].body, oidBytesPKCS7):
		return kindPKCS7Other
	}
	return kindUnknown
}

// classifyVersioned handles SEQUENCEs that start with an INTEGER: PKCS#12,
// PKCS#8, PKCS#1 and SEC1 private keys, PKCS#1 public keys.
func classifyVersioned(c []element) kind {
	v, vok := intValue(c[0])
	if len(c) < 2 {
		return kindUnknown
	}
	switch c[1].id {
	case tagSequence:
		inner := children(c[1], 1)
		if len(inner) == 0 || inner[0].id != tagOID {
			return kindUnknown
		}
		if vok && v == 3 && bytes.Equal(inner[0].body, oidBytesData) {
			return kindPKCS12
		}
		if vok && v <= 1 && (len(c) < 3 || c[2].id == tagOctetString) {
			return kindPKCS8Key
		}
	case tagOctetString:
		if vok && v == 1 {
			return kindSEC1Key
		}
	case tagInteger:
		if len(c) == 2 && !c[1].short {
			return kindRSAPublicKey
		}
		if vok && v <= 1 && len(c) >= 3 && c[2].id == tagInteger {
			return kindPKCS1Key
		}
	}
	return kindUnknown
}

// classifySigned handles SEQUENCEs that start with a SEQUENCE: signed
// objects (certificate, CSR, CRL), SubjectPublicKeyInfo and
// EncryptedPrivateKeyInfo.
func classifySigned(top element, c []element) kind {
	inner := children(c[0], 5)
	if len(inner) == 0 {
		return kindUnknown
	}
	if inner[0].id == tagOID { // c[0] is an AlgorithmIdentifier
		if len(c) != 2 {
			return kindUnknown
		}
		switch c[1].id {
		case tagBitString:
			return kindPublicKey
		case tagOctetString:
			return kindEncryptedKey
		}
		return kindUnknown
	}
	if !top.short && (len(c) != 3 || c[1].id != tagSequence || c[2].id != tagBitString) {
		return kindUnknown
	}
	return classifyTBS(inner)
}

// classifyTBS tells a certificate, CSR and CRL apart by the elements that
// open the signed part.
func classifyTBS(t []element) kind {
	ids := make([]byte, 5)
	for i := range ids {
		if i < len(t) {
			ids[i] = t[i].id
		}
	}
	switch {
	case ids[0] == tagContext0:
		return kindCertificate // explicit version: v2 or v3 certificate
	case ids[0] == tagSequence && ids[1] == tagSequence && isTime(ids[2]):
		return kindCRL // v1 CRL
	case ids[0] != tagInteger || ids[1] != tagSequence || ids[2] != tagSequence:
		return kindUnknown
	case isTime(ids[3]):
		return kindCRL // v2 CRL: version, signature, issuer, thisUpdate
	case ids[3] == tagContext0:
		return kindCSR // version, subject, subjectPKInfo, [0] attributes
	case ids[3] == tagSequence && ids[4] == tagSequence:
		return kindCertificate // v1 certificate: serial, signature, issuer, validity, subject
	}
	return kindUnknown
}

func isTime(id byte) bool { return id == tagUTCTime || id == tagGenTime }
