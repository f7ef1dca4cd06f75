package certs

import (
	"crypto/x509"
	"testing"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

func TestSniff(t *testing.T) {
	f := testPKI(t)
	p12, err := pkcs12.LegacyDES.Encode(f.leafKey, f.leaf, nil, "x")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := pkcs8.MarshalPrivateKey(f.leafKey, []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(f.leafKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	p7 := EncodePKCS7([]*x509.Certificate{f.leaf})
	cases := []struct {
		name string
		data []byte
		want Format
	}{
		{"DER certificate", f.leaf.Raw, FormatDER},
		{"DER Ed25519 certificate", f.edLeaf.Raw, FormatDER},
		{"truncated DER certificate", f.leaf.Raw[:60], FormatDER},
		{"barely a DER certificate", f.leaf.Raw[:9], FormatDER},
		{"PEM", pemOf("CERTIFICATE", f.leaf.Raw), FormatPEM},
		{"PEM after text", cat([]byte("Bag Attributes\n"), pemOf("CERTIFICATE", f.leaf.Raw)), FormatPEM},
		{"PEM key", pemOf("PRIVATE KEY", mustPKCS8(t, f.leafKey)), FormatPEM},
		{"PKCS7", p7, FormatPKCS7},
		{"PKCS7 BER", toBER(t, p7), FormatPKCS7},
		{"PKCS7 PEM", pemOf("PKCS7", p7), FormatPEMPKCS7},
		{"PKCS7 PEM after text", cat([]byte("subject=CN=x\n"), pemOf("PKCS7", p7)), FormatPEMPKCS7},
		{"certificate then PKCS7 PEM", cat(pemOf("CERTIFICATE", f.leaf.Raw), pemOf("PKCS7", p7)), FormatPEM},
		{"PKCS12", p12, FormatPKCS12},
		{"PKCS8", mustPKCS8(t, f.rsaKey), FormatDERPrivateKey},
		{"PKCS8 Ed25519", mustPKCS8(t, f.edKey), FormatDERPrivateKey},
		{"PKCS1", x509.MarshalPKCS1PrivateKey(f.rsaKey), FormatDERPrivateKey},
		{"SEC1", mustSEC1(t, f.leafKey), FormatDERPrivateKey},
		{"encrypted PKCS8", enc, FormatDEREncryptedKey},
		{"SPKI", spki, FormatDERPublicKey},
		{"PKCS1 public", x509.MarshalPKCS1PublicKey(&f.rsaKey.PublicKey), FormatDERPublicKey},
		{"CSR", f.csrDER, FormatDERCertificateRequest},
		{"CRL", f.crlDER, FormatDERCRL},
		{"empty", nil, FormatUnknown},
		{"text", []byte("just text"), FormatUnknown},
		{"BEGIN not at line start", []byte("x -----BEGIN CERTIFICATE-----\n"), FormatUnknown},
		{"lone SEQUENCE", []byte{0x30, 0x00}, FormatUnknown},
		{"high tag", []byte{0x1f, 0x81}, FormatUnknown},
	}
	for _, tc := range cases {
		if got := Sniff(tc.data); got != tc.want {
			t.Errorf("%s: Sniff = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFormatString(t *testing.T) {
	cases := map[Format]string{
		FormatUnknown: "unknown", FormatPEM: "PEM", FormatDER: "DER certificate", FormatPKCS7: "PKCS#7", FormatPEMPKCS7: "PKCS#7 (PEM)",
		FormatPKCS12: "PKCS#12", FormatDERPrivateKey: "DER private key", FormatDEREncryptedKey: "DER encrypted private key",
		FormatDERPublicKey: "DER public key", FormatDERCertificateRequest: "DER certificate request",
		FormatDERCRL: "DER CRL", Format(-1): "unknown", Format(99): "unknown",
	}
	for f, want := range cases {
		if got := f.String(); got != want {
			t.Errorf("Format(%d).String() = %q, want %q", int(f), got, want)
		}
	}
}

func TestReadElement(t *testing.T) {
	cases := []struct {
		name  string
		data  []byte
		ber   bool
		short bool
		err   string
	}{
		{"definite", []byte{0x30, 0x03, 0x02, 0x01, 0x00}, false, false, ""},
		{"long form", cat([]byte{0x04, 0x81, 0x80}, make([]byte, 0x80)), false, false, ""},
		{"short content", []byte{0x30, 0x05, 0x02}, false, true, ""},
		{"header only", []byte{0x30}, false, true, ""},
		{"length too long", []byte{0x30, 0x85, 1, 1, 1, 1, 1}, false, false, "byte 0: ASN.1 length does not fit in 4 bytes"},
		{"length cut", []byte{0x30, 0x82, 0x01}, false, false, "byte 0: input ends inside an ASN.1 length"},
		{"indefinite in DER", []byte{0x30, 0x80, 0x00, 0x00}, false, false, "byte 0: indefinite length (BER), DER expected"},
		{"indefinite in BER", []byte{0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00}, true, false, ""},
		{"indefinite without end", []byte{0x30, 0x80, 0x02, 0x01, 0x05}, true, true, ""},
		{"indefinite primitive", []byte{0x04, 0x80, 0x00, 0x00}, true, false, "byte 0: indefinite length on a primitive element"},
		{"high tag", []byte{0x1f, 0x81, 0x01, 0x00}, false, false, ""},
		{"endless high tag", []byte{0x1f, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81}, false, false, "byte 0: malformed ASN.1 tag"},
		{"empty", nil, false, false, "byte 0: no data where an ASN.1 element should start"},
	}
	for _, tc := range cases {
		el, _, err := readElement(tc.data, 0, tc.ber, 0)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.err || (err == nil && el.short != tc.short) {
			t.Errorf("%s: short %v err %q, want short %v err %q", tc.name, el.short, got, tc.short, tc.err)
		}
	}
	deep := []byte{}
	for range maxDepth + 5 {
		deep = append(deep, 0x30, 0x80)
	}
	if _, _, err := readElement(deep, 0, true, 0); err == nil || err.msg != "ASN.1 nested too deeply" {
		t.Errorf("deep BER: err = %v", err)
	}
	if _, err := checkStructure(deep, 0, true); err == nil {
		t.Error("checkStructure accepted runaway nesting")
	}
}

func TestArticle(t *testing.T) {
	cases := map[string]string{
		"PRIVATE KEY": "a PRIVATE KEY", "RSA PRIVATE KEY": "an RSA PRIVATE KEY", "EC PRIVATE KEY": "an EC PRIVATE KEY",
		"ENCRYPTED PRIVATE KEY": "an ENCRYPTED PRIVATE KEY", "X509 CRL": "an X509 CRL", "NEW CERTIFICATE REQUEST": "a NEW CERTIFICATE REQUEST",
		"CERTIFICATE": "a CERTIFICATE", "PKCS7": "a PKCS7", "SSH2 PUBLIC KEY": "an SSH2 PUBLIC KEY", "DSA PARAMETERS": "a DSA PARAMETERS",
		"OPENSSH PRIVATE KEY": "an OPENSSH PRIVATE KEY", "": "", "x": "a x", " X": "a  X",
	}
	for in, want := range cases {
		if got := article(in); got != want {
			t.Errorf("article(%q) = %q, want %q", in, got, want)
		}
	}
}
