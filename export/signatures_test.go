package export

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/httptrust/httptrust/mint"
)

// pssAlgID is the DER AlgorithmIdentifier of RSASSA-PSS with params (hex).
func pssAlgID(t *testing.T, params string) []byte {
	t.Helper()
	p, err := hex.DecodeString(params)
	if err != nil {
		t.Fatal(err)
	}
	oid, _ := hex.DecodeString(oidRSAPSS)
	return seq(append(append([]byte{0x06, byte(len(oid))}, oid...), p...))
}

// TestGoPSSParams: every RSA-PSS parameter encoding the code formats accept
// is one Go parses as RSA-PSS with SHA-256/384/512, those Go itself writes
// are among them, and SHA-1 or a salt of another length is not.
func TestGoPSSParams(t *testing.T) {
	w := newWorld(t)
	p := w.pki
	keep := func(e [][]byte) [][]byte { return e }
	pss := []x509.SignatureAlgorithm{x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS}
	accepted := goPSSParams()
	for _, params := range accepted {
		der := reissue(t, p.LeafFrom(t, p.Root, "a.test"), p.Root, keep, pssAlgID(t, params), crypto.SHA256).Certificate[0]
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("%s: %v", params, err)
		}
		if !slices.Contains(pss, c.SignatureAlgorithm) {
			t.Errorf("%s: Go reads %v", params, c.SignatureAlgorithm)
		}
	}
	rsaRoot, err := mint.New(mint.Template{CommonName: "RSA Root", IsCA: true, MaxPathLen: -1, KeyType: mint.RSA2048}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range pss {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"}, DNSNames: []string{"x.test"},
			NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), SignatureAlgorithm: alg}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, rsaRoot.Cert, rsaRoot.Cert.PublicKey, rsaRoot.Key)
		if err != nil {
			t.Fatal(err)
		}
		var cert struct {
			TBS asn1.RawValue
			Alg struct {
				Algorithm  asn1.ObjectIdentifier
				Parameters asn1.RawValue `asn1:"optional"`
			}
			Sig asn1.BitString
		}
		if _, err := asn1.Unmarshal(der, &cert); err != nil {
			t.Fatal(err)
		}
		ai := cert.Alg
		if got := hex.EncodeToString(ai.Parameters.FullBytes); !slices.Contains(accepted, got) {
			t.Errorf("%v: Go writes parameters %s, which the code formats refuse", alg, got)
		}
	}
	sha256 := asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	sha1 := asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	mgf1 := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	params := func(h asn1.ObjectIdentifier, salt int) string {
		return hex.EncodeToString(seq(explicit(0, algID(h, true)), explicit(1, seq(mustMarshal(mgf1), algID(h, true))), explicit(2, mustMarshal(salt))))
	}
	for name, refused := range map[string]string{
		"SHA-1, salt 20":   params(sha1, 20),
		"SHA-256, salt 20": params(sha256, 20),
		"defaults (SHA-1)": "3000",
	} {
		if slices.Contains(accepted, refused) {
			t.Errorf("%s: accepted", name)
		}
		der := reissue(t, p.LeafFrom(t, p.Root, "a.test"), p.Root, keep, pssAlgID(t, refused), crypto.SHA256).Certificate[0]
		if c, err := x509.ParseCertificate(der); err == nil && c.SignatureAlgorithm != x509.UnknownSignatureAlgorithm {
			t.Errorf("%s: Go reads %v, the test's premise is wrong", name, c.SignatureAlgorithm)
		}
	}
}
