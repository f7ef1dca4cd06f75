package certs

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

type certCase struct {
	name string
	file string
	data []byte
	opts *Options
	want []string // common names, in order
	err  error    // sentinel the error must match
	msg  string   // the exact message, when err is set
}

func runCertCases(t *testing.T, cases []certCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			certs, err := ParseCertificates(tc.file, tc.data, tc.opts)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if tc.msg != "" && err.Error() != tc.msg {
					t.Errorf("message\n got %s\nwant %s", err, tc.msg)
				}
				var fe *FileError
				if !errors.As(err, &fe) || fe.File != tc.file {
					t.Errorf("err %T does not name the file %q", err, tc.file)
				}
				if certs != nil {
					t.Errorf("certs = %v with an error", certNames(certs))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.Join(certNames(certs), ","), strings.Join(tc.want, ","); got != want {
				t.Errorf("certs = %s, want %s", got, want)
			}
		})
	}
}

func TestParseCertificatesFormats(t *testing.T) {
	f := testPKI(t)
	leafPEM, caPEM := pemOf("CERTIFICATE", f.leaf.Raw), pemOf("CERTIFICATE", f.ca.Raw)
	keyPEM := pemOf("PRIVATE KEY", mustPKCS8(t, f.leafKey))
	p7 := EncodePKCS7([]*x509.Certificate{f.leaf, f.ca})
	modern, err := pkcs12.Modern.Encode(f.leafKey, f.leaf, []*x509.Certificate{f.ca}, "secret")
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := pkcs12.LegacyRC2.Encode(f.leafKey, f.leaf, []*x509.Certificate{f.ca}, "secret")
	if err != nil {
		t.Fatal(err)
	}
	open, err := pkcs12.Passwordless.Encode(f.leafKey, f.leaf, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	trust, err := pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{f.ca, f.leaf}, "secret")
	if err != nil {
		t.Fatal(err)
	}
	trusted := pemOf("TRUSTED CERTIFICATE", cat(f.ca.Raw, []byte{0x30, 0x03, 0x06, 0x01, 0x00}))
	runCertCases(t, []certCase{
		{name: "PEM", file: "a.pem", data: leafPEM, want: []string{"leaf.test"}},
		{name: "PEM bundle with text", file: "b.pem", data: cat([]byte("subject=leaf\r\n"), leafPEM,
			[]byte("\n# the CA\n"), caPEM, []byte("trailer")), want: []string{"leaf.test", "Test CA"}},
		{name: "PEM with UTF-8 BOM and CRLF", file: "c.pem", data: cat(utf8BOM,
			bytes.ReplaceAll(leafPEM, []byte("\n"), []byte("\r\n"))), want: []string{"leaf.test"}},
		{name: "combined PEM with key", file: "combined.pem", data: cat(keyPEM, leafPEM, caPEM),
			want: []string{"leaf.test", "Test CA"}},
		{name: "TRUSTED CERTIFICATE", file: "t.pem", data: trusted, want: []string{"Test CA"}},
		{name: "PKCS7 PEM block", file: "p.p7b", data: pemOf("PKCS7", p7), want: []string{"leaf.test", "Test CA"}},
		{name: "PKCS7 in a CERTIFICATE block", file: "p.pem", data: pemOf("CERTIFICATE", p7),
			want: []string{"leaf.test", "Test CA"}},
		{name: "DER", file: "a.cer", data: f.leaf.Raw, want: []string{"leaf.test"}},
		{name: "DER named .pem", file: "lies.pem", data: f.ca.Raw, want: []string{"Test CA"}},
		{name: "PEM named .der", file: "lies.der", data: caPEM, want: []string{"Test CA"}},
		{name: "DER with trailing newline", file: "a.crt", data: cat(f.leaf.Raw, []byte("\r\n")), want: []string{"leaf.test"}},
		{name: "concatenated DER", file: "two.der", data: cat(f.leaf.Raw, f.ca.Raw), want: []string{"leaf.test", "Test CA"}},
		{name: "PKCS7 DER", file: "chain.p7b", data: p7, want: []string{"leaf.test", "Test CA"}},
		{name: "PKCS7 BER", file: "chain.p7c", data: toBER(t, p7), want: []string{"leaf.test", "Test CA"}},
		{name: "PKCS12 modern", file: "me.p12", data: modern, opts: pw("secret"), want: []string{"leaf.test", "Test CA"}},
		{name: "PKCS12 legacy RC2", file: "me.pfx", data: legacy, opts: pw("secret"), want: []string{"leaf.test", "Test CA"}},
		{name: "PKCS12 passwordless", file: "open.p12", data: open, want: []string{"leaf.test"}},
		{name: "PKCS12 trust store", file: "trust.p12", data: trust, opts: pw("secret"), want: []string{"Test CA", "leaf.test"}},
	})
}

func TestParseCertificatesErrors(t *testing.T) {
	f := testPKI(t)
	leafPEM := pemOf("CERTIFICATE", f.leaf.Raw)
	keyPEM := pemOf("PRIVATE KEY", mustPKCS8(t, f.leafKey))
	modern, err := pkcs12.Modern.Encode(f.leafKey, f.leaf, nil, "secret")
	if err != nil {
		t.Fatal(err)
	}
	raw := f.leaf.Raw
	short := raw[:100]
	noEnd := cat(leafPEM[:len(leafPEM)-30], keyPEM)
	badB64 := bytes.Replace(leafPEM, []byte("\n"), []byte("\n!!!!"), 2)
	garbled := bytes.Clone(raw)
	garbled[7]++ // the TBSCertificate now claims a byte that belongs to the next element
	extra := pemOf("CERTIFICATE", cat(raw, []byte{0x05, 0x00}))
	emptyP7 := EncodePKCS7(nil)
	runCertCases(t, []certCase{
		{name: "key only", file: "key.pem", data: keyPEM, err: ErrNotCertificate,
			msg: "certs: key.pem: block 1 (line 1): a PRIVATE KEY, expected a CERTIFICATE"},
		{name: "CSR PEM", file: "x.csr", data: pemOf("CERTIFICATE REQUEST", f.csrDER), err: ErrNotCertificate,
			msg: "certs: x.csr: block 1 (line 1): a CERTIFICATE REQUEST, expected a CERTIFICATE"},
		{name: "CSR DER", file: "x.csr", data: f.csrDER, err: ErrNotCertificate,
			msg: "certs: x.csr: a certificate request, not a certificate"},
		{name: "CRL DER", file: "x.crl", data: f.crlDER, err: ErrNotCertificate,
			msg: "certs: x.crl: a CRL, not a certificate"},
		{name: "RSA public key PEM", file: "pub.pem", data: pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&f.rsaKey.PublicKey)),
			err: ErrNotCertificate, msg: "certs: pub.pem: block 1 (line 1): an RSA PUBLIC KEY, expected a CERTIFICATE"},
		{name: "RSA public key DER", file: "pub.der", data: x509.MarshalPKCS1PublicKey(&f.rsaKey.PublicKey),
			err: ErrNotCertificate, msg: "certs: pub.der: an RSA public key, not a certificate"},
		{name: "DER key", file: "key.der", data: mustPKCS8(t, f.leafKey), err: ErrNotCertificate,
			msg: "certs: key.der: a private key (PKCS#8), not a certificate"},
		{name: "empty", file: "empty.pem", data: nil, err: ErrNoCertificates,
			msg: "certs: empty.pem: an empty file: no certificate found"},
		{name: "text", file: "notes.txt", data: []byte("hello\nworld\n"), err: ErrUnknownFormat,
			msg: "certs: notes.txt: text, no PEM block: not PEM, DER, PKCS#7 or PKCS#12"},
		{name: "binary", file: "x.bin", data: []byte{0x01, 0x02, 0xff, 0x00, 0x10}, err: ErrUnknownFormat,
			msg: "certs: x.bin: binary data: not PEM, DER, PKCS#7 or PKCS#12"},
		{name: "PKCS12 without password", file: "me.p12", data: modern, err: ErrPasswordRequired,
			msg: "certs: me.p12: PKCS#12: give its password"},
		{name: "PKCS12 wrong password", file: "me.p12", data: modern, opts: pw("nope"), err: ErrWrongPassword,
			msg: "certs: me.p12: PKCS#12: wrong password"},
		{name: "truncated DER", file: "a.cer", data: short, err: ErrTruncated, msg: fmt.Sprintf(
			"certs: a.cer: byte 0: a DER certificate: truncated or garbled data: "+
				"an ASN.1 element declares %d bytes of content but only 96 follow", len(raw)-4)},
		{name: "garbled DER", file: "a.cer", data: garbled, err: ErrTruncated},
		{name: "PEM without END", file: "cut.pem", data: noEnd, err: ErrTruncated,
			msg: "certs: cut.pem: block 1 (line 1): a CERTIFICATE: truncated or garbled data: " +
				"no \"-----END CERTIFICATE-----\" line follows (the file may be cut short)"},
		{name: "PEM bad base64", file: "b64.pem", data: badB64, err: ErrTruncated,
			msg: "certs: b64.pem: block 1 (line 1): a CERTIFICATE: truncated or garbled data: " +
				"the text between its BEGIN and END lines is not valid base64"},
		{name: "PEM bad BEGIN line", file: "begin.pem", data: []byte("-----BEGIN CERTIFICATE\nAAAA\n"), err: ErrTruncated,
			msg: "certs: begin.pem: block 1 (line 1): a BEGIN line \"-----BEGIN CERTIFICATE\": " +
				"truncated or garbled data: the BEGIN line must end with five dashes"},
		{name: "bare BEGIN", file: "begin.pem", data: []byte("-----BEGIN "), err: ErrTruncated,
			msg: "certs: begin.pem: block 1 (line 1): a BEGIN line \"-----BEGIN \": " +
				"truncated or garbled data: the BEGIN line must end with five dashes"},
		{name: "extra data in block", file: "x.pem", data: extra, err: ErrTruncated, msg: fmt.Sprintf(
			"certs: x.pem: block 1 (line 1): byte %d: a CERTIFICATE: truncated or garbled data: "+
				"2 bytes of extra data follow the certificate", len(raw))},
		{name: "key block in CERTIFICATE", file: "k.pem", data: pemOf("CERTIFICATE", mustPKCS8(t, f.leafKey)),
			err: ErrNotCertificate, msg: "certs: k.pem: block 1 (line 1): a CERTIFICATE block that holds " +
				"a private key (PKCS#8), expected a CERTIFICATE"},
		{name: "DER then junk", file: "j.der", data: cat(raw, []byte("junk")), err: ErrTruncated, msg: fmt.Sprintf(
			"certs: j.der: byte %d: data after the certificate: truncated or garbled data: "+
				"4 bytes of data of an unknown kind follow the certificate", len(raw))},
		{name: "empty PKCS7", file: "e.p7b", data: emptyP7, err: ErrNoCertificates,
			msg: "certs: e.p7b: a PKCS#7 bundle: no certificate found"},
		{name: "too large", file: "big.pem", data: make([]byte, MaxFileSize+1), err: ErrTooLarge,
			msg: "certs: big.pem: 4194305 bytes: input too large: the limit is 4194304 bytes (4 MiB)"},
	})
}

// TestParseCertificatesLocations checks the block, line and offset an
// error points at.
func TestParseCertificatesLocations(t *testing.T) {
	f := testPKI(t)
	leafPEM := pemOf("CERTIFICATE", f.leaf.Raw)
	keyPEM := pemOf("PRIVATE KEY", mustPKCS8(t, f.leafKey))
	printer := cat([]byte("printer certificate\n\n"), leafPEM, keyPEM)
	keyLine := bytes.Count(cat([]byte("printer certificate\n\n"), leafPEM), []byte("\n")) + 1
	garbled := bytes.Clone(f.leaf.Raw)
	garbled[7]++
	t.Run("printer", func(t *testing.T) {
		// A key after the certificate is fine; as the only thing it is named.
		if _, err := ParseCertificates("printer.pem", printer, nil); err != nil {
			t.Fatal(err)
		}
		onlyKey := cat([]byte("printer certificate\n\n"), pemOf("CERTIFICATE REQUEST", f.csrDER), keyPEM)
		_, err := ParseCertificates("printer.pem", onlyKey, nil)
		want := "certs: printer.pem: block 1 (line 3): a CERTIFICATE REQUEST, expected a CERTIFICATE"
		if err == nil || err.Error() != want {
			t.Errorf("err = %v, want %s", err, want)
		}
		noEnd2 := cat(leafPEM, keyPEM[:len(keyPEM)-10])
		_, err = ParseCertificates("printer.pem", noEnd2, nil)
		var fe *FileError
		if !errors.As(err, &fe) || fe.Block != 2 || fe.Line != keyLine-2 || !errors.Is(err, ErrTruncated) {
			t.Errorf("err = %#v, want block 2 line %d truncated", err, keyLine-2)
		}
	})
	t.Run("garbled offset", func(t *testing.T) {
		_, err := ParseCertificates("a.cer", garbled, nil)
		var fe *FileError
		if !errors.As(err, &fe) || fe.Offset <= 0 || fe.Offset >= int64(len(garbled)) {
			t.Errorf("err = %v, want an offset inside the certificate", err)
		}
	})
}

func TestPEMLineNumbers(t *testing.T) {
	f := testPKI(t)
	leafPEM := pemOf("CERTIFICATE", f.leaf.Raw)
	keyPEM := pemOf("EC PRIVATE KEY", mustSEC1(t, f.leafKey))
	data := cat([]byte("a\nb\n"), leafPEM, []byte("between\n"), leafPEM, keyPEM)
	blocks, ferr := scanPEM(data)
	if ferr != nil {
		t.Fatal(ferr)
	}
	n := bytes.Count(leafPEM, []byte("\n"))
	want := []int{3, 3 + n + 1, 3 + 2*n + 1}
	if len(blocks) != len(want) {
		t.Fatalf("%d blocks, want %d", len(blocks), len(want))
	}
	for i, b := range blocks {
		if b.line != want[i] || b.num != i+1 {
			t.Errorf("block %d: num %d line %d, want line %d", i+1, b.num, b.line, want[i])
		}
		lines := bytes.Split(data, []byte("\n"))
		if !bytes.HasPrefix(lines[b.line-1], []byte("-----BEGIN "+b.Type)) {
			t.Errorf("line %d is %q, not the BEGIN line of %s", b.line, lines[b.line-1], b.Type)
		}
	}
}

func TestPKCS7RoundTrip(t *testing.T) {
	f := testPKI(t)
	for _, n := range []int{1, 2, 3} {
		in := []*x509.Certificate{f.leaf, f.ca, f.other}[:n]
		der := EncodePKCS7(in)
		if got := Sniff(der); got != FormatPKCS7 {
			t.Errorf("Sniff = %v, want PKCS#7", got)
		}
		out, err := ParseCertificates("x.p7b", der, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != n {
			t.Fatalf("%d certs, want %d", len(out), n)
		}
		for i := range out {
			if !out[i].Equal(in[i]) {
				t.Errorf("cert %d differs", i)
			}
		}
	}
}

func TestPKCS7NotSignedData(t *testing.T) {
	enveloped := tlv(tagSequence, tlv(tagOID, append(bytes.Clone(oidBytesPKCS7), 3)), tlv(tagContext0, tlv(tagSequence)))
	_, err := ParseCertificates("m.p7m", enveloped, nil)
	want := "certs: m.p7m: a PKCS#7 envelopedData message, not a certificate"
	if !errors.Is(err, ErrNotCertificate) || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
	if got := Sniff(enveloped); got != FormatPKCS7 {
		t.Errorf("Sniff = %v", got)
	}
}

func TestEncodeCertificatesPEM(t *testing.T) {
	f := testPKI(t)
	data := EncodeCertificatesPEM([]*x509.Certificate{f.leaf, f.ca})
	b, rest := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" || !bytes.Equal(b.Bytes, f.leaf.Raw) {
		t.Fatalf("first block = %v", b)
	}
	if b, _ = pem.Decode(rest); b == nil || !bytes.Equal(b.Bytes, f.ca.Raw) {
		t.Fatalf("second block = %v", b)
	}
	if got := EncodeCertificatesPEM(nil); len(got) != 0 {
		t.Errorf("EncodeCertificatesPEM(nil) = %q", got)
	}
}
