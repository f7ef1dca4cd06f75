package certs

import (
	"crypto"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

type keyCase struct {
	name string
	file string
	data []byte
	opts *Options
	want crypto.PublicKey // the public half of the key expected
	err  error
	msg  string
}

func runKeyCases(t *testing.T, cases []keyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key, err := ParsePrivateKey(tc.file, tc.data, tc.opts)
			if tc.err != nil {
				if err == nil || tc.err != errAny && !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if tc.msg != "" && err.Error() != tc.msg {
					t.Errorf("message\n got %s\nwant %s", err, tc.msg)
				}
				if key != nil {
					t.Errorf("key returned with an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
			if !ok || !pub.Equal(tc.want) {
				t.Errorf("key %s does not match the one expected", KeyDescription(key.Public()))
			}
		})
	}
}

func encryptedPKCS8(t *testing.T, key any, password string, opts *pkcs8.Opts) []byte {
	t.Helper()
	der, err := pkcs8.MarshalPrivateKey(key, []byte(password), opts)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func legacyPEM(t testing.TB, typ string, der []byte, password string) []byte {
	t.Helper()
	//lint:ignore SA1019 testing the legacy format on purpose.
	b, err := x509.EncryptPEMBlock(rand.Reader, typ, der, []byte(password), x509.PEMCipherAES256)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(b)
}

func TestParsePrivateKeyFormats(t *testing.T) {
	f := testPKI(t)
	ec, rsaPub, ed := f.leafKey.Public(), f.rsaKey.Public(), f.edKey.Public()
	p12, err := pkcs12.Modern.Encode(f.leafKey, f.leaf, nil, "secret")
	if err != nil {
		t.Fatal(err)
	}
	scrypt := &pkcs8.Opts{Cipher: pkcs8.AES128CBC, KDFOpts: pkcs8.ScryptOpts{
		SaltSize: 16, CostParameter: 1 << 10, BlockSize: 8, ParallelizationParameter: 1}}
	des3 := &pkcs8.Opts{Cipher: pkcs8.TripleDESCBC, KDFOpts: pkcs8.PBKDF2Opts{
		SaltSize: 8, IterationCount: 2048, HMACHash: crypto.SHA1}}
	ecParams := pemOf("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})
	runKeyCases(t, []keyCase{
		{name: "PKCS8 EC PEM", file: "k.pem", data: pemOf("PRIVATE KEY", mustPKCS8(t, f.leafKey)), want: ec},
		{name: "PKCS8 RSA PEM", file: "k.pem", data: pemOf("PRIVATE KEY", mustPKCS8(t, f.rsaKey)), want: rsaPub},
		{name: "PKCS8 Ed25519 PEM", file: "k.pem", data: pemOf("PRIVATE KEY", mustPKCS8(t, f.edKey)), want: ed},
		{name: "PKCS8 DER", file: "k.der", data: mustPKCS8(t, f.edKey), want: ed},
		{name: "PKCS1 PEM", file: "k.pem", data: pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(f.rsaKey)), want: rsaPub},
		{name: "PKCS1 DER", file: "k.der", data: x509.MarshalPKCS1PrivateKey(f.rsaKey), want: rsaPub},
		{name: "SEC1 PEM", file: "k.pem", data: pemOf("EC PRIVATE KEY", mustSEC1(t, f.leafKey)), want: ec},
		{name: "SEC1 DER", file: "k.der", data: mustSEC1(t, f.leafKey), want: ec},
		{name: "SEC1 after EC PARAMETERS", file: "k.pem", data: cat(ecParams, pemOf("EC PRIVATE KEY", mustSEC1(t, f.leafKey))), want: ec},
		{name: "PKCS8 in an RSA PRIVATE KEY block", file: "k.pem", data: pemOf("RSA PRIVATE KEY", mustPKCS8(t, f.rsaKey)), want: rsaPub},
		{name: "combined with certificates", file: "c.pem", data: cat(pemOf("CERTIFICATE", f.leaf.Raw),
			pemOf("PRIVATE KEY", mustPKCS8(t, f.leafKey)), pemOf("CERTIFICATE", f.ca.Raw)), want: ec},
		{name: "legacy encrypted PEM", file: "k.pem", data: legacyPEM(t, "EC PRIVATE KEY", mustSEC1(t, f.leafKey), "secret"),
			opts: pw("secret"), want: ec},
		{name: "legacy encrypted PKCS1", file: "k.pem", data: legacyPEM(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(f.rsaKey), "secret"),
			opts: pw("secret"), want: rsaPub},
		{name: "PKCS8 encrypted PEM", file: "k.pem", data: pemOf("ENCRYPTED PRIVATE KEY", encryptedPKCS8(t, f.leafKey, "secret", nil)),
			opts: pw("secret"), want: ec},
		{name: "PKCS8 encrypted DER", file: "k.der", data: encryptedPKCS8(t, f.edKey, "secret", nil), opts: pw("secret"), want: ed},
		{name: "PKCS8 encrypted scrypt", file: "k.pem", data: pemOf("ENCRYPTED PRIVATE KEY", encryptedPKCS8(t, f.leafKey, "secret", scrypt)),
			opts: pw("secret"), want: ec},
		{name: "PKCS8 encrypted 3DES", file: "k.pem", data: pemOf("ENCRYPTED PRIVATE KEY", encryptedPKCS8(t, f.rsaKey, "secret", des3)),
			opts: pw("secret"), want: rsaPub},
		{name: "PKCS12", file: "me.p12", data: p12, opts: pw("secret"), want: ec},
	})
}

func TestParsePrivateKeyErrors(t *testing.T) {
	f := testPKI(t)
	legacy := legacyPEM(t, "EC PRIVATE KEY", mustSEC1(t, f.leafKey), "secret")
	enc := pemOf("ENCRYPTED PRIVATE KEY", encryptedPKCS8(t, f.leafKey, "secret", nil))
	keyPEM := pemOf("PRIVATE KEY", mustPKCS8(t, f.leafKey))
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p12, err := pkcs12.Modern.Encode(f.leafKey, f.leaf, nil, "secret")
	if err != nil {
		t.Fatal(err)
	}
	trust, err := pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{f.ca}, "secret")
	if err != nil {
		t.Fatal(err)
	}
	oops := errors.New("no terminal")
	failing := &Options{Password: func() (string, error) { return "", oops }}
	runKeyCases(t, []keyCase{
		{name: "legacy without password", file: "key.pem", data: legacy, err: ErrPasswordRequired,
			msg: "certs: key.pem: block 1 (line 1): encrypted PEM key: give its password"},
		{name: "legacy empty password", file: "key.pem", data: legacy, opts: pw(""), err: ErrPasswordRequired},
		{name: "legacy wrong password", file: "key.pem", data: legacy, opts: pw("nope"), err: ErrWrongPassword,
			msg: "certs: key.pem: block 1 (line 1): encrypted PEM key: wrong password"},
		{name: "password callback fails", file: "key.pem", data: legacy, opts: failing, err: oops,
			msg: "certs: key.pem: block 1 (line 1): encrypted PEM key: getting its password: no terminal"},
		{name: "PKCS8 without password", file: "key.pem", data: enc, err: ErrPasswordRequired,
			msg: "certs: key.pem: block 1 (line 1): encrypted PKCS#8 key: give its password"},
		{name: "PKCS8 wrong password", file: "key.pem", data: enc, opts: pw("nope"), err: ErrWrongPassword,
			msg: "certs: key.pem: block 1 (line 1): encrypted PKCS#8 key: wrong password"},
		{name: "PKCS12 without password", file: "me.p12", data: p12, err: ErrPasswordRequired,
			msg: "certs: me.p12: PKCS#12: give its password"},
		{name: "PKCS12 trust store", file: "trust.p12", data: trust, opts: pw("secret"), err: ErrNotPrivateKey,
			msg: "certs: trust.p12: a PKCS#12 file without a private key, not a private key"},
		{name: "certificate PEM", file: "cert.pem", data: pemOf("CERTIFICATE", f.leaf.Raw), err: ErrNotPrivateKey,
			msg: "certs: cert.pem: block 1 (line 1): a CERTIFICATE, expected a PRIVATE KEY"},
		{name: "certificate DER", file: "cert.der", data: f.leaf.Raw, err: ErrNotPrivateKey,
			msg: "certs: cert.der: a certificate, not a private key"},
		{name: "OpenSSH key", file: "id_ed25519", data: pemOf("OPENSSH PRIVATE KEY", []byte("openssh-key-v1\x00")),
			err: ErrNotPrivateKey, msg: "certs: id_ed25519: block 1 (line 1): an OpenSSH private key " +
				"(convert it: ssh-keygen -p -m PKCS8 -f FILE), expected a PRIVATE KEY"},
		{name: "only EC PARAMETERS", file: "p.pem", data: pemOf("EC PARAMETERS", []byte{0x06, 0x01, 0x00}),
			err: ErrNotPrivateKey, msg: "certs: p.pem: only EC PARAMETERS, not a private key"},
		{name: "two keys", file: "two.pem", data: cat(keyPEM, keyPEM),
			msg: "certs: two.pem: block 2 (line 6): a second PRIVATE KEY: a key file must hold exactly one private key",
			err: errAny},
		{name: "X25519", file: "x.pem", data: pemOf("PRIVATE KEY", mustPKCS8(t, x)), err: errAny,
			msg: "certs: x.pem: block 1 (line 1): a PRIVATE KEY: X25519 is a key-agreement key and cannot sign; " +
				"use an RSA, ECDSA or Ed25519 key"},
		{name: "truncated DER", file: "k.der", data: mustSEC1(t, f.leafKey)[:40], err: ErrTruncated},
		{name: "garbled PKCS1", file: "k.pem", data: pemOf("RSA PRIVATE KEY", []byte{0x30, 0x03, 0x02, 0x01, 0x00}), err: errAny},
		{name: "empty", file: "k.pem", data: nil, err: ErrNotPrivateKey, msg: "certs: k.pem: an empty file, not a private key"},
		{name: "text", file: "k.txt", data: []byte("key\n"), err: ErrUnknownFormat},
		{name: "too large", file: "k.pem", data: make([]byte, MaxFileSize+1), err: ErrTooLarge},
	})
}

// errAny matches every error; for cases where only the message matters.
var errAny = errors.New("any")

// TestEncryptedPKCS8Checks feeds hand-built EncryptedPrivateKeyInfo values
// that would make the pkcs8 package panic or spin.
func TestEncryptedPKCS8Checks(t *testing.T) {
	pbkdf2 := func(iter int) pkix.AlgorithmIdentifier {
		p, _ := asn1.Marshal(struct {
			Salt []byte
			Iter int
		}{[]byte("saltsalt"), iter})
		return pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: p}}
	}
	aes := func(iv []byte) pkix.AlgorithmIdentifier {
		p, _ := asn1.Marshal(iv)
		return pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42},
			Parameters: asn1.RawValue{FullBytes: p}}
	}
	build := func(kdf, enc pkix.AlgorithmIdentifier, data []byte) []byte {
		p, _ := asn1.Marshal(pbes2Params{KDF: kdf, Enc: enc})
		der, err := asn1.Marshal(encryptedKeyInfo{
			Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: p}},
			Data:      data})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	iv16, block := make([]byte, 16), make([]byte, 32)
	cases := []struct {
		name string
		der  []byte
		msg  string
	}{
		{"huge iteration count", build(pbkdf2(1<<30), aes(iv16), block),
			"certs: k.der: encrypted PKCS#8 key: PBKDF2 iteration count 1073741824 is outside 1..2000000"},
		{"short IV", build(pbkdf2(10), aes(iv16[:5]), block),
			"certs: k.der: encrypted PKCS#8 key: truncated or garbled data: the cipher's IV is not 16 bytes"},
		{"ragged ciphertext", build(pbkdf2(10), aes(iv16), block[:17]),
			"certs: k.der: encrypted PKCS#8 key: truncated or garbled data: the encrypted key is 17 bytes, not a multiple of 16"},
		{"empty ciphertext", build(pbkdf2(10), aes(iv16), nil),
			"certs: k.der: encrypted PKCS#8 key: truncated or garbled data: the encrypted key is 0 bytes, not a multiple of 16"},
		{"unknown KDF", build(pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 3}}, aes(iv16), block),
			"certs: k.der: encrypted PKCS#8 key: unsupported key derivation 1.2.3; use PBKDF2 or scrypt"},
		{"GCM", build(pbkdf2(10), pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 46}}, block),
			"certs: k.der: encrypted PKCS#8 key: unsupported cipher 2.16.840.1.101.3.4.1.46; use AES-CBC or DES-EDE3-CBC"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if Sniff(tc.der) != FormatDEREncryptedKey {
				t.Fatalf("Sniff = %v", Sniff(tc.der))
			}
			_, err := ParsePrivateKey("k.der", tc.der, pw("secret"))
			if err == nil || err.Error() != tc.msg {
				t.Errorf("err\n got %v\nwant %s", err, tc.msg)
			}
		})
	}
}

func TestEncodePrivateKeyPEM(t *testing.T) {
	f := testPKI(t)
	for _, key := range []crypto.Signer{f.leafKey, f.rsaKey, f.edKey} {
		data, err := EncodePrivateKeyPEM(key)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := pem.Decode(data); b == nil || b.Type != "PRIVATE KEY" {
			t.Fatalf("not a PRIVATE KEY block: %q", data)
		}
		back, err := ParsePrivateKey("k.pem", data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !back.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
			t.Errorf("%s: round trip changed the key", KeyDescription(key.Public()))
		}
	}
}
