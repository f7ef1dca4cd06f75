package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

func mustSPKI(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParsePublicKeys(t *testing.T) {
	f := testPKI(t)
	fast := &pkcs8.Opts{Cipher: pkcs8.AES128CBC, KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 8, IterationCount: 3, HMACHash: crypto.SHA256}}
	enc, err := pkcs8.MarshalPrivateKey(f.leafKey, []byte("secret"), fast)
	if err != nil {
		t.Fatal(err)
	}
	p12, err := pkcs12.Modern.WithIterations(2).Encode(f.leafKey, f.leaf, []*x509.Certificate{f.ca}, "secret")
	if err != nil {
		t.Fatal(err)
	}
	p12open, err := pkcs12.Passwordless.Encode(f.leafKey, f.leaf, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	leafPin := SPKIPin(f.leaf)
	rsaPin, _ := PublicKeyPin(f.rsaKey.Public())
	edPin := SPKIPin(f.edLeaf)
	type want struct {
		source   KeySource
		encoding string
		pin      Pin
		block    int
	}
	tests := []struct {
		name string
		data []byte
		opts *Options
		want []want
	}{
		{"PEM PKCS#8 EC", pemOf("PRIVATE KEY", mustPKCS8(t, f.leafKey)), nil, []want{{FromPrivateKey, "PKCS#8", leafPin, 1}}},
		{"PEM PKCS#8 Ed25519", pemOf("PRIVATE KEY", mustPKCS8(t, f.edKey)), nil, []want{{FromPrivateKey, "PKCS#8", edPin, 1}}},
		{"PEM PKCS#1 RSA", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(f.rsaKey)), nil, []want{{FromPrivateKey, "PKCS#1", rsaPin, 1}}},
		{"PEM SEC1", pemOf("EC PRIVATE KEY", mustSEC1(t, f.leafKey)), nil, []want{{FromPrivateKey, "SEC1", leafPin, 1}}},
		{"SEC1 with EC PARAMETERS", cat(pemOf("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}), pemOf("EC PRIVATE KEY", mustSEC1(t, f.leafKey))), nil, []want{{FromPrivateKey, "SEC1", leafPin, 2}}},
		{"DER PKCS#8", mustPKCS8(t, f.edKey), nil, []want{{FromPrivateKey, "PKCS#8", edPin, 0}}},
		{"DER PKCS#1", x509.MarshalPKCS1PrivateKey(f.rsaKey), nil, []want{{FromPrivateKey, "PKCS#1", rsaPin, 0}}},
		{"DER SEC1", mustSEC1(t, f.leafKey), nil, []want{{FromPrivateKey, "SEC1", leafPin, 0}}},
		{"encrypted PKCS#8 PEM", pemOf("ENCRYPTED PRIVATE KEY", enc), pw("secret"), []want{{FromPrivateKey, "PKCS#8", leafPin, 1}}},
		{"encrypted PKCS#8 DER", enc, pw("secret"), []want{{FromPrivateKey, "PKCS#8", leafPin, 0}}},
		{"legacy encrypted PEM", legacyPEM(t, "EC PRIVATE KEY", mustSEC1(t, f.leafKey), "secret"), pw("secret"), []want{{FromPrivateKey, "SEC1", leafPin, 1}}},
		{"PUBLIC KEY", pemOf("PUBLIC KEY", mustSPKI(t, f.leafKey.Public())), nil, []want{{FromPublicKey, "SubjectPublicKeyInfo", leafPin, 1}}},
		{"RSA PUBLIC KEY", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&f.rsaKey.PublicKey)), nil, []want{{FromPublicKey, "PKCS#1", rsaPin, 1}}},
		{"DER SPKI", mustSPKI(t, f.edKey.Public()), nil, []want{{FromPublicKey, "SubjectPublicKeyInfo", edPin, 0}}},
		{"DER PKCS#1 public", x509.MarshalPKCS1PublicKey(&f.rsaKey.PublicKey), nil, []want{{FromPublicKey, "PKCS#1", rsaPin, 0}}},
		{"CSR PEM", pemOf("CERTIFICATE REQUEST", f.csrDER), nil, []want{{FromRequest, "PKCS#10", leafPin, 1}}},
		{"CSR PEM, old label", pemOf("NEW CERTIFICATE REQUEST", f.csrDER), nil, []want{{FromRequest, "PKCS#10", leafPin, 1}}},
		{"CSR DER", f.csrDER, nil, []want{{FromRequest, "PKCS#10", leafPin, 0}}},
		{"PKCS#12", p12, pw("secret"), []want{{FromPrivateKey, "PKCS#12", leafPin, 0}}},
		{"PKCS#12 without password", p12open, nil, []want{{FromPrivateKey, "PKCS#12", leafPin, 0}}},
		{"certificate and key", cat(pemOf("CERTIFICATE", f.leaf.Raw), pemOf("PRIVATE KEY", mustPKCS8(t, f.leafKey))), nil, []want{{FromPrivateKey, "PKCS#8", leafPin, 2}}},
		{"two public keys", cat(pemOf("PUBLIC KEY", mustSPKI(t, f.leafKey.Public())), []byte("a backup:\n"), pemOf("PUBLIC KEY", mustSPKI(t, f.rsaKey.Public()))), nil,
			[]want{{FromPublicKey, "SubjectPublicKeyInfo", leafPin, 1}, {FromPublicKey, "SubjectPublicKeyInfo", rsaPin, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParsePublicKeys("k.pem", tt.data, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != len(tt.want) {
				t.Fatalf("%d keys, want %d", len(keys), len(tt.want))
			}
			for i, w := range tt.want {
				k := keys[i]
				if k.Source != w.source || k.Encoding != w.encoding || k.Pin() != w.pin || k.Block != w.block {
					t.Errorf("key %d: %v %s %s block %d, want %v %s %s block %d", i, k.Source, k.Encoding, k.Pin(), k.Block, w.source, w.encoding, w.pin, w.block)
				}
				if _, err := x509.ParsePKIXPublicKey(k.SPKI); err != nil {
					t.Errorf("key %d: SPKI does not parse: %v", i, err)
				}
			}
		})
	}
}

func TestParsePublicKeysErrors(t *testing.T) {
	f := testPKI(t)
	fast := &pkcs8.Opts{Cipher: pkcs8.AES128CBC, KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 8, IterationCount: 3, HMACHash: crypto.SHA256}}
	enc, err := pkcs8.MarshalPrivateKey(f.leafKey, []byte("secret"), fast)
	if err != nil {
		t.Fatal(err)
	}
	trust, err := pkcs12.Modern.WithIterations(2).EncodeTrustStore([]*x509.Certificate{f.ca}, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		opts *Options
		is   error
		msg  string
	}{
		{"certificate", pemOf("CERTIFICATE", f.leaf.Raw), nil, ErrNoKey, "k.pem: block 1 (line 1): a CERTIFICATE, expected a key or a certificate request"},
		{"DER certificate", f.leaf.Raw, nil, ErrNoKey, "a certificate, not a key"},
		{"CRL", f.crlDER, nil, ErrNoKey, "a CRL, not a key"},
		{"text", []byte("hello\n"), nil, ErrNoKey, "text, no PEM block"},
		{"empty", nil, nil, ErrNoKey, "an empty file"},
		{"trust store", trust, nil, ErrNoKey, "certificates only"},
		{"encrypted, no password", pemOf("ENCRYPTED PRIVATE KEY", enc), nil, ErrPasswordRequired, "give its password"},
		{"encrypted, wrong password", pemOf("ENCRYPTED PRIVATE KEY", enc), pw("nope"), ErrWrongPassword, "wrong password"},
		{"truncated", pemOf("PUBLIC KEY", mustSPKI(t, f.leafKey.Public()))[:60], nil, ErrTruncated, "END PUBLIC KEY"},
		{"OpenSSH key", []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"), nil, ErrNoKey, "ssh-keygen -p -m PKCS8"},
		{"garbled public key", pemOf("PUBLIC KEY", []byte{0x30, 0x03, 0x02, 0x01, 0x01}), nil, nil, "a public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParsePublicKeys("k.pem", tt.data, tt.opts)
			if err == nil {
				t.Fatalf("%d keys, no error", len(keys))
			}
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v", err, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q, want it to contain %q", err, tt.msg)
			}
		})
	}
}

// TestParsePublicKeysAsksOnce: two encrypted keys, one question.
func TestParsePublicKeysAsksOnce(t *testing.T) {
	f := testPKI(t)
	fast := &pkcs8.Opts{Cipher: pkcs8.AES128CBC, KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 8, IterationCount: 3, HMACHash: crypto.SHA256}}
	a, _ := pkcs8.MarshalPrivateKey(f.leafKey, []byte("secret"), fast)
	b, _ := pkcs8.MarshalPrivateKey(f.edKey, []byte("secret"), fast)
	asked := 0
	opts := &Options{Password: func() (string, error) { asked++; return "secret", nil }}
	keys, err := ParsePublicKeys("k.pem", cat(pemOf("ENCRYPTED PRIVATE KEY", a), pemOf("ENCRYPTED PRIVATE KEY", b)), opts)
	if err != nil || len(keys) != 2 || !keys[0].Encrypted {
		t.Fatalf("%d keys, %v", len(keys), err)
	}
	if asked != 1 {
		t.Errorf("asked %d times, want 1", asked)
	}
	// A PKCS#12 file without a password asks for none.
	open, err := pkcs12.Passwordless.Encode(f.leafKey, f.leaf, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	asked = 0
	if _, err := ParsePublicKeys("k.p12", open, opts); err != nil || asked != 0 {
		t.Errorf("passwordless PKCS#12: asked %d times, %v", asked, err)
	}
}

func TestPublicKeyMatches(t *testing.T) {
	f := testPKI(t)
	keys, err := ParsePublicKeys("k", pemOf("PRIVATE KEY", mustPKCS8(t, f.leafKey)), nil)
	if err != nil {
		t.Fatal(err)
	}
	k := keys[0]
	if !k.Matches(f.leaf) || k.Matches(f.other) || k.Matches(f.ca) {
		t.Error("Matches is wrong")
	}
	if got := k.String(); got != "private key (ECDSA P-256)" {
		t.Errorf("String %q", got)
	}
	info := InspectKey(k, []*x509.Certificate{f.ca, f.leaf})
	if len(info.Matches) != 1 || info.Matches[0] != 1 || len(info.Warnings) != 0 {
		t.Errorf("InspectKey %+v", info)
	}
	info = InspectKey(k, []*x509.Certificate{f.other})
	if len(info.Matches) != 0 || len(info.Warnings) != 1 || !strings.Contains(info.Warnings[0], "none of the certificates") {
		t.Errorf("mismatched key: %+v", info)
	}
	if info.Kind != "private key" || info.Key != "ECDSA P-256" || info.Pin != SPKIPin(f.leaf).String() || info.Encoding != "PKCS#8" {
		t.Errorf("InspectKey %+v", info)
	}
}

func TestInspectRequest(t *testing.T) {
	f := testPKI(t)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "printer"}, DNSNames: []string{"printer.local"}, IPAddresses: []net.IP{net.IPv4(10, 0, 0, 5)},
	}, f.leafKey)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParsePublicKeys("r.csr", der, nil)
	if err != nil {
		t.Fatal(err)
	}
	info := InspectKey(keys[0], nil)
	if info.Kind != "certificate request" || info.Subject != "CN=printer" || strings.Join(info.Names, ",") != "printer.local,10.0.0.5" ||
		info.SignatureAlgorithm != "ECDSA-SHA256" || len(info.Warnings) != 0 || info.Pin != SPKIPin(f.leaf).String() {
		t.Errorf("%+v", info)
	}
	// A request whose signature is broken says so.
	bad := bytes.Clone(der)
	bad[len(bad)-3] ^= 0xff
	keys, err = ParsePublicKeys("r.csr", bad, nil)
	if err != nil {
		t.Skipf("the damaged request no longer parses: %v", err)
	}
	if info := InspectKey(keys[0], nil); len(info.Warnings) != 1 || !strings.Contains(info.Warnings[0], "does not verify") {
		t.Errorf("damaged request: %+v", info.Warnings)
	}
}

func TestPublicKeyPin(t *testing.T) {
	f := testPKI(t)
	for _, c := range []*x509.Certificate{f.leaf, f.edLeaf, f.other} {
		p, err := PublicKeyPin(c.PublicKey)
		if err != nil || p != SPKIPin(c) {
			t.Errorf("%s: %s, %v; want %s", c.Subject, p, err, SPKIPin(c))
		}
	}
	if _, err := PublicKeyPin(struct{}{}); err == nil {
		t.Error("a value that is no key has a pin")
	}
}

// TestPinMatchesOpenSSL computes the pins of keys of every type with the
// openssl pipeline people use for a backup pin, and compares.
func TestPinMatchesOpenSSL(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed: the comparison with its pipeline needs it")
	}
	f := testPKI(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	dir := t.TempDir()
	for name, key := range map[string]crypto.Signer{"rsa": f.rsaKey, "p256": f.leafKey, "p384": p384, "ed25519": ed} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, name+".pem")
			pemKey := pemOf("PRIVATE KEY", mustPKCS8(t, key))
			if err := os.WriteFile(file, pemKey, 0o600); err != nil {
				t.Fatal(err)
			}
			der, err := exec.Command(bin, "pkey", "-in", file, "-pubout", "-outform", "der").Output()
			if err != nil {
				t.Fatalf("openssl pkey: %v", err)
			}
			sum := sha256.Sum256(der)
			want := "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
			keys, err := ParsePublicKeys(file, pemKey, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := keys[0].Pin().String(); got != want {
				t.Errorf("pin %s, openssl says %s", got, want)
			}
		})
	}
}
