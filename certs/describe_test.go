package certs

import (
	"crypto/x509"
	"fmt"
	"strings"
	"testing"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

func TestDescribe(t *testing.T) {
	f := testPKI(t)
	spki, err := x509.MarshalPKIXPublicKey(f.rsaKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	locked, err := pkcs12.Modern.Encode(f.leafKey, f.leaf, nil, "secret")
	if err != nil {
		t.Fatal(err)
	}
	open, err := pkcs12.Passwordless.Encode(f.edKey, f.edLeaf, []*x509.Certificate{f.ca}, "")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := pkcs8.MarshalPrivateKey(f.leafKey, []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	leafPEM := pemOf("CERTIFICATE", f.leaf.Raw)
	csrLine := strings.Count(string(leafPEM), "\n") + 2
	cases := []struct {
		name string
		data []byte
		want string // "kind@block:line" per object, joined by " | "
	}{
		{"certificate DER", f.leaf.Raw, "certificate@0:0"},
		{"two DER certificates", cat(f.leaf.Raw, f.ca.Raw), "certificate@0:0 | certificate@0:0"},
		{"PEM mix", cat(leafPEM, []byte("\n"), pemOf("CERTIFICATE REQUEST", f.csrDER), pemOf("EC PRIVATE KEY", mustSEC1(t, f.otherKey)),
			pemOf("ENCRYPTED PRIVATE KEY", enc), pemOf("PUBLIC KEY", spki), pemOf("X509 CRL", f.crlDER),
			legacyPEM(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(f.rsaKey), "x"), pemOf("FOO", []byte("bar"))),
			fmt.Sprintf("certificate@1:1 | certificate request (CN=printer)@2:%d | private key (ECDSA P-384)@3:", csrLine)},
		{"PKCS7", EncodePKCS7([]*x509.Certificate{f.leaf, f.ca}),
			"PKCS#7 bundle (2 certificates)@0:0 | certificate@0:0 | certificate@0:0"},
		{"PKCS12 locked", locked, "PKCS#12 (password-protected)@0:0"},
		{"PKCS12 open", open, "PKCS#12 (no password)@0:0 | private key (Ed25519)@0:0 | certificate@0:0 | certificate@0:0"},
		{"PKCS8 RSA", mustPKCS8(t, f.rsaKey), "private key (RSA 2048)@0:0"},
		{"PKCS1 RSA", x509.MarshalPKCS1PrivateKey(f.rsaKey), "private key (RSA 2048)@0:0"},
		{"PKCS1 public", x509.MarshalPKCS1PublicKey(&f.rsaKey.PublicKey), "public key (RSA 2048, PKCS#1)@0:0"},
		{"SPKI", spki, "public key (RSA 2048)@0:0"},
		{"CRL", f.crlDER, "CRL (issuer CN=Test CA, 0 revoked)@0:0"},
		{"encrypted key", enc, "encrypted private key@0:0"},
		{"EC parameters", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}, "EC parameters@0:0"},
		{"empty", nil, "an empty file: no certificate found@0:0"},
		{"text", []byte("hello"), "text, no PEM block: not PEM, DER, PKCS#7 or PKCS#12@0:0"},
		{"truncated certificate", f.leaf.Raw[:50], "certificate, damaged at byte 0: " +
			fmt.Sprintf("truncated or garbled data: an ASN.1 element declares %d bytes of content but only 46 follow@0:0", len(f.leaf.Raw)-4)},
		{"truncated PEM", cat(leafPEM, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n")), fmt.Sprintf("certificate@1:1 | "+
			"a CERTIFICATE: truncated or garbled data: no \"-----END CERTIFICATE-----\" line follows (the file may be cut short)@2:%d",
			csrLine-1)},
		{"OpenSSH", pemOf("OPENSSH PRIVATE KEY", []byte("x")),
			"OpenSSH private key (not supported; convert it: ssh-keygen -p -m PKCS8 -f FILE)@1:1"},
		{"too large", make([]byte, MaxFileSize+1), "4194305 bytes: input too large: the limit is 4194304 bytes (4 MiB)@0:0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, o := range Describe(tc.data) {
				if (o.Kind == "certificate") != (o.Cert != nil) {
					t.Errorf("%q has Cert %v", o.Kind, o.Cert != nil)
				}
				got = append(got, fmt.Sprintf("%s@%d:%d", o.Kind, o.Block, o.Line))
			}
			s := strings.Join(got, " | ")
			if !strings.HasPrefix(s, tc.want) {
				t.Errorf("Describe\n got %s\nwant %s", s, tc.want)
			}
		})
	}
}

func TestDescribePEMMixKinds(t *testing.T) {
	f := testPKI(t)
	enc, err := pkcs8.MarshalPrivateKey(f.leafKey, []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(f.rsaKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	data := cat(pemOf("ENCRYPTED PRIVATE KEY", enc), pemOf("PUBLIC KEY", spki), pemOf("X509 CRL", f.crlDER),
		legacyPEM(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(f.rsaKey), "x"), pemOf("FOO", []byte("bar")),
		pemOf("CERTIFICATE", []byte{0x30, 0x03, 0x02, 0x01, 0x01}))
	want := []string{"encrypted private key", "public key (RSA 2048)", "CRL (issuer CN=Test CA, 0 revoked)",
		"encrypted private key (legacy PEM encryption)", `PEM block "FOO" of an unknown kind`, "CERTIFICATE block whose content cannot be read"}
	objs := Describe(data)
	if len(objs) != len(want) {
		t.Fatalf("%d objects, want %d: %v", len(objs), len(want), objs)
	}
	for i, o := range objs {
		if o.Kind != want[i] || o.Block != i+1 {
			t.Errorf("object %d: %q block %d, want %q block %d", i, o.Kind, o.Block, want[i], i+1)
		}
	}
}
