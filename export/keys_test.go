package export

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// withKey returns a certificate for dns (a CA when isCA) whose subject
// public key info is spki, signed by a new ECDSA key: Go cannot make
// certificates with keys it cannot use, and Go reads them all the same.
func withKey(t *testing.T, spki []byte, dns string, isCA bool, now time.Time) []byte {
	t.Helper()
	signer, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: dns}, DNSNames: []string{dns},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), BasicConstraintsValid: true, IsCA: isCA}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &signer.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	var outer struct {
		TBS asn1.RawValue
		Alg asn1.RawValue
		Sig asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		t.Fatal(err)
	}
	body := bytes.Replace(outer.TBS.Bytes, orig.RawSubjectPublicKeyInfo, spki, 1)
	tbs, err := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: body})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(tbs)
	sig, err := ecdsa.SignASN1(rand.Reader, signer, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	out, err := asn1.Marshal(struct {
		TBS asn1.RawValue
		Alg asn1.RawValue
		Sig asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, outer.Alg, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := x509.ParseCertificate(out); err != nil || !bytes.Equal(c.RawSubjectPublicKeyInfo, spki) {
		t.Fatalf("the certificate with the key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: out})
}

// spkiOf is a subject public key info of the algorithm oid (with params,
// if any) and key.
func spkiOf(t *testing.T, oid asn1.ObjectIdentifier, params any, key []byte) []byte {
	t.Helper()
	alg := pkix.AlgorithmIdentifier{Algorithm: oid}
	if params != nil {
		b, err := asn1.Marshal(params)
		if err != nil {
			t.Fatal(err)
		}
		alg.Parameters = asn1.RawValue{FullBytes: b}
	}
	b, err := asn1.Marshal(struct {
		Alg pkix.AlgorithmIdentifier
		Key asn1.BitString
	}{alg, asn1.BitString{Bytes: key, BitLength: 8 * len(key)}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustDER(t *testing.T, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unusableKeys are keys Go's crypto/tls and crypto/x509 cannot use (the
// JDK and OpenSSL use most of them), with how the refusal names them.
func unusableKeys(t *testing.T) map[string][]byte {
	rsaKey := func(bits int) []byte {
		n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
		n.Add(n, big.NewInt(1))
		return mustDER(t, struct{ N, E *big.Int }{n, big.NewInt(65537)})
	}
	dsaParams := struct{ P, Q, G *big.Int }{big.NewInt(23), big.NewInt(11), big.NewInt(4)}
	return map[string][]byte{
		"an Ed448 key":           spkiOf(t, asn1.ObjectIdentifier{1, 3, 101, 113}, nil, make([]byte, 57)),
		"an X25519 key":          spkiOf(t, asn1.ObjectIdentifier{1, 3, 101, 110}, nil, make([]byte, 32)),
		"a DSA key":              spkiOf(t, asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}, dsaParams, mustDER(t, big.NewInt(8))),
		"an RSASSA-PSS key":      spkiOf(t, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}, nil, rsaKey(2048)),
		"a 512-bit RSA key":      spkiOf(t, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}, asn1.RawValue{Tag: asn1.TagNull}, rsaKey(512)),
		"which Go does not know": spkiOf(t, asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, nil, make([]byte, 32)),
	}
}

// TestUnusableKeysRefused: every format refuses an exact certificate whose
// key Go's TLS cannot use, and an anchor whose key Go verifies no
// signature with, naming the rule's field and the file.
func TestUnusableKeysRefused(t *testing.T) {
	for name, spki := range unusableKeys(t) {
		for _, field := range []string{"certificates", "anchors"} {
			w := newWorld(t)
			file := strings.ReplaceAll(strings.ReplaceAll(name, " ", "_"), "-", "_") + ".pem"
			w.file(file, string(withKey(t, spki, "k.test", field == "anchors", w.pki.Now)))
			extra := "system_roots = false\n"
			if field == "certificates" {
				extra = "allow_expired = true\n"
			}
			w.file("rules.toml", "[[rule]]\nhosts = [\"k.test\"]\n"+field+" = [\""+file+"\"]\n"+extra)
			for _, format := range Formats {
				_, err := w.tryBuild(Options{Format: format, AllowLossy: true})
				var e *Error
				if !errors.As(err, &e) || !e.Refused() {
					t.Errorf("%s, %s %s: want a refusal, got %v", format, field, name, err)
					continue
				}
				found := false
				for _, i := range e.Issues {
					found = found || i.Kind == Refused && i.Field == field && strings.Contains(i.Message, name) &&
						strings.Contains(i.Message, "file "+file) && strings.HasPrefix(i.Where, "rules.toml:")
				}
				if !found {
					t.Errorf("%s, %s %s: the refusal does not name the key, field and file: %v", format, field, name, err)
				}
			}
		}
	}
}

// TestAnchorsLossyTextNamesPlatformChecks: curl, pem and java verify the
// chain and the name by the platform's rules; the lossy text of anchors
// names what they accept that httptrust refuses: server keys Go cannot
// use, intermediates signed with algorithms Go does not verify, the
// trailing dot (curl, and the pem bundle's client), and the cipher
// suites and groups where the file cannot set them (pem, java).
func TestAnchorsLossyTextNamesPlatformChecks(t *testing.T) {
	w := newWorld(t)
	w.cert("root.pem", w.pki.Root)
	w.file("rules.toml", "[[rule]]\nhosts = [\"a.test\"]\nanchors = [\"root.pem\"]\nsystem_roots = false\n")
	for _, tc := range []struct {
		format string
		want   []string
	}{
		{"curl", []string{"Ed448", "RSASSA-PSS key", "DSA", "RSA-PSS with other parameters", "trailing dot"}},
		{"pem", []string{"Ed448", "RSASSA-PSS key", "DSA", "RSA-PSS with other parameters", "trailing dot", "static RSA key exchange", "X448"}},
		{"java", []string{"Ed448", "RSASSA-PSS key", "DSA", "RSA-PSS with other parameters", "DHE", "X448", "jdk.tls.namedGroups"}},
	} {
		if _, err := w.tryBuild(Options{Format: tc.format}); err == nil {
			t.Errorf("%s: anchors exported without --allow-lossy", tc.format)
		}
		res := w.build(Options{Format: tc.format, AllowLossy: true})
		for _, want := range tc.want {
			if !listed(res.Dropped, want) {
				t.Errorf("%s: the lossy text does not name %q: %v", tc.format, want, res.Dropped)
			}
		}
	}
}

// TestJavaIndexNamesNonCAAnchorSwitch: with an exact certificate, the java
// index says that -Djdk.security.allowNonCaAnchor=true makes its
// truststore accept a leaf the certificate's key signed.
func TestJavaIndexNamesNonCAAnchorSwitch(t *testing.T) {
	w := newWorld(t)
	w.cert("dev.pem", w.pki.SelfSigned(t, "dev.test"))
	w.file("rules.toml", "[[rule]]\nhosts = [\"dev.test\"]\ncertificates = [\"dev.pem\"]\nallow_expired = true\n")
	index, err := os.ReadFile(filepath.Join(w.write(Options{Format: "java"}), "index.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(index), "-Djdk.security.allowNonCaAnchor=true") {
		t.Errorf("index.txt does not name the JDK switch:\n%s", index)
	}
}
