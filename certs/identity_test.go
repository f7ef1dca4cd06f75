package certs

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"testing/fstest"

	"software.sslmate.com/src/go-pkcs12"
)

// identityFS holds certificate and key files for the LoadIdentity tests.
func identityFS(t *testing.T) (*fixture, fstest.MapFS) {
	t.Helper()
	f := testPKI(t)
	p12, err := pkcs12.Modern.Encode(f.leafKey, f.leaf, []*x509.Certificate{f.ca}, "secret")
	if err != nil {
		t.Fatal(err)
	}
	leafPEM, caPEM := pemOf("CERTIFICATE", f.leaf.Raw), pemOf("CERTIFICATE", f.ca.Raw)
	keyPEM := pemOf("PRIVATE KEY", mustPKCS8(t, f.leafKey))
	fsys := fstest.MapFS{
		"me.p12":         {Data: p12},
		"chain.pem":      {Data: cat(leafPEM, caPEM)},
		"reversed.pem":   {Data: cat(caPEM, leafPEM)},
		"leaf.der":       {Data: f.leaf.Raw},
		"chain.p7b":      {Data: EncodePKCS7([]*x509.Certificate{f.ca, f.leaf})},
		"key.pem":        {Data: keyPEM},
		"key.der":        {Data: mustSEC1(t, f.leafKey)},
		"enc.pem":        {Data: legacyPEM(t, "EC PRIVATE KEY", mustSEC1(t, f.leafKey), "secret")},
		"combined.pem":   {Data: cat(leafPEM, keyPEM, caPEM)},
		"ed.pem":         {Data: cat(pemOf("CERTIFICATE", f.edLeaf.Raw), pemOf("PRIVATE KEY", mustPKCS8(t, f.edKey)))},
		"rsa.pem":        {Data: pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(f.rsaKey))},
		"other-leaf.pem": {Data: pemOf("CERTIFICATE", f.other.Raw)},
	}
	return f, fsys
}

func TestLoadIdentity(t *testing.T) {
	f, fsys := identityFS(t)
	cases := []struct {
		name, cert, key string
		opts            *Options
		leaf            *x509.Certificate
		chainLen        int
	}{
		{"PKCS12", "me.p12", "", pw("secret"), f.leaf, 2},
		{"PEM chain and key", "chain.pem", "key.pem", nil, f.leaf, 2},
		{"leaf moved first", "reversed.pem", "key.pem", nil, f.leaf, 2},
		{"DER and SEC1 DER", "leaf.der", "key.der", nil, f.leaf, 1},
		{"PKCS7 chain", "chain.p7b", "key.pem", nil, f.leaf, 2},
		{"encrypted key", "chain.pem", "enc.pem", pw("secret"), f.leaf, 2},
		{"combined PEM", "combined.pem", "", nil, f.leaf, 2},
		{"Ed25519", "ed.pem", "", nil, f.edLeaf, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := LoadIdentity(fsys, tc.cert, tc.key, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !id.Leaf.Equal(tc.leaf) || !bytes.Equal(id.Certificate[0], tc.leaf.Raw) {
				t.Errorf("leaf = %s, want %s", id.Leaf.Subject, tc.leaf.Subject)
			}
			if len(id.Certificate) != tc.chainLen {
				t.Errorf("chain has %d certificates, want %d", len(id.Certificate), tc.chainLen)
			}
			if id.PrivateKey == nil {
				t.Error("no private key")
			}
		})
	}
}

func TestLoadIdentityErrors(t *testing.T) {
	f, fsys := identityFS(t)
	errCases := []struct {
		name, cert, key string
		opts            *Options
		err             error
		msg             string
	}{
		{"key of another certificate", "other-leaf.pem", "key.pem", nil, ErrKeyMismatch,
			fmt.Sprintf("certs: key.pem: a private key (ECDSA P-256): key does not match the certificate: "+
				"none of the 1 certificate(s) in other-leaf.pem has its public key (the first is %q, ECDSA P-384); "+
				"pair it with the certificate that was issued for it", f.other.Subject.String())},
		{"RSA key for EC chain", "chain.pem", "rsa.pem", nil, ErrKeyMismatch, ""},
		{"PKCS12 wrong password", "me.p12", "", pw("nope"), ErrWrongPassword, "certs: me.p12: PKCS#12: wrong password"},
		{"PKCS12 no password", "me.p12", "", nil, ErrPasswordRequired, "certs: me.p12: PKCS#12: give its password"},
		{"PKCS12 with key file", "me.p12", "key.pem", pw("secret"), nil,
			"certs: me.p12: a PKCS#12 file: it holds its own key; give no separate key file (key.pem)"},
		{"encrypted key without password", "chain.pem", "enc.pem", nil, ErrPasswordRequired, ""},
		{"no key in cert file", "chain.pem", "", nil, ErrNotPrivateKey,
			"certs: chain.pem: block 1 (line 1): a CERTIFICATE, expected a PRIVATE KEY"},
		{"missing cert file", "nope.pem", "key.pem", nil, fs.ErrNotExist, "certs: nope.pem: open: file does not exist"},
		{"missing key file", "chain.pem", "nope.pem", nil, fs.ErrNotExist, "certs: nope.pem: open: file does not exist"},
		{"key file as cert", "key.pem", "key.pem", nil, ErrNotCertificate, ""},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadIdentity(fsys, tc.cert, tc.key, tc.opts)
			if err == nil || tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Errorf("message\n got %s\nwant %s", err, tc.msg)
			}
		})
	}
}

func TestReadCertificates(t *testing.T) {
	f := testPKI(t)
	fsys := fstest.MapFS{
		"certs/ca.cer":  {Data: pemOf("CERTIFICATE", f.ca.Raw)},
		"certs/big.pem": {Data: make([]byte, MaxFileSize+1)},
		"certs/max.pem": {Data: cat(pemOf("CERTIFICATE", f.ca.Raw), bytes.Repeat([]byte{'\n'}, MaxFileSize-len(pemOf("CERTIFICATE", f.ca.Raw))))},
		"pipe":          {Data: nil, Mode: fs.ModeNamedPipe},
	}
	certs, err := ReadCertificates(fsys, "certs/ca.cer", nil)
	if err != nil || len(certs) != 1 || !certs[0].Equal(f.ca) {
		t.Fatalf("certs %v err %v", certNames(certs), err)
	}
	if certs, err := ReadCertificates(fsys, "certs/max.pem", nil); err != nil || len(certs) != 1 {
		t.Errorf("a file of exactly MaxFileSize: certs %v err %v", certNames(certs), err)
	}
	cases := []struct {
		name string
		err  error
		msg  string
	}{
		{"certs/big.pem", ErrTooLarge, "certs: certs/big.pem: 4194305 bytes: input too large: the limit is 4194304 bytes (4 MiB)"},
		{"certs", ErrNotRegularFile, "certs: certs: a directory: not a regular file"},
		{"pipe", ErrNotRegularFile, "certs: pipe: a named pipe: not a regular file"},
		{"missing.pem", fs.ErrNotExist, "certs: missing.pem: open: file does not exist"},
	}
	for _, tc := range cases {
		_, err := ReadCertificates(fsys, tc.name, nil)
		if !errors.Is(err, tc.err) || err.Error() != tc.msg {
			t.Errorf("%s: err = %v, want %s", tc.name, err, tc.msg)
		}
	}
}
