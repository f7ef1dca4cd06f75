package certs

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

// seedFiles returns inputs of every format, made at test time, with a few
// damaged variants. Key derivations use few iterations to keep fuzzing fast.
func seedFiles(t testing.TB) [][]byte {
	f := testPKI(t)
	fast := &pkcs8.Opts{Cipher: pkcs8.AES128CBC, KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 8, IterationCount: 3, HMACHash: crypto.SHA256}}
	enc, err := pkcs8.MarshalPrivateKey(f.leafKey, []byte("secret"), fast)
	if err != nil {
		t.Fatal(err)
	}
	var p12s [][]byte
	for _, e := range []*pkcs12.Encoder{pkcs12.Modern.WithIterations(2), pkcs12.LegacyRC2.WithIterations(2), pkcs12.Passwordless} {
		pass := "secret"
		if e == pkcs12.Passwordless {
			pass = ""
		}
		d, err := e.Encode(f.leafKey, f.leaf, []*x509.Certificate{f.ca}, pass)
		if err != nil {
			t.Fatal(err)
		}
		p12s = append(p12s, d)
	}
	trust, err := pkcs12.Modern.WithIterations(2).EncodeTrustStore([]*x509.Certificate{f.ca}, "secret")
	if err != nil {
		t.Fatal(err)
	}
	p7 := EncodePKCS7([]*x509.Certificate{f.leaf, f.ca})
	leafPEM := pemOf("CERTIFICATE", f.leaf.Raw)
	seeds := [][]byte{
		nil, []byte("text"), f.leaf.Raw, f.edLeaf.Raw, leafPEM, cat(leafPEM, pemOf("CERTIFICATE", f.ca.Raw)),
		p7, toBER(t, p7), pemOf("PKCS7", p7), trust, enc, pemOf("ENCRYPTED PRIVATE KEY", enc),
		mustPKCS8(t, f.leafKey), mustPKCS8(t, f.edKey), mustSEC1(t, f.leafKey), x509.MarshalPKCS1PrivateKey(f.rsaKey),
		pemOf("PRIVATE KEY", mustPKCS8(t, f.leafKey)), pemOf("EC PRIVATE KEY", mustSEC1(t, f.leafKey)),
		legacyPEM(t, "EC PRIVATE KEY", mustSEC1(t, f.leafKey), "secret"),
		cat(leafPEM, pemOf("PRIVATE KEY", mustPKCS8(t, f.leafKey))),
		f.csrDER, f.crlDER, pemOf("CERTIFICATE REQUEST", f.csrDER), pemOf("NEW CERTIFICATE REQUEST", f.csrDER),
		pemOf("PUBLIC KEY", mustSPKI(t, f.leafKey.Public())), mustSPKI(t, f.edKey.Public()),
		pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&f.rsaKey.PublicKey)), x509.MarshalPKCS1PublicKey(&f.rsaKey.PublicKey),
		cat(pemOf("PUBLIC KEY", mustSPKI(t, f.leafKey.Public())), pemOf("ENCRYPTED PRIVATE KEY", enc)),
		f.leaf.Raw[:80], leafPEM[:200], withMacIterations(t, p12s[1], []byte{0x7f, 0xff, 0xff, 0xff}),
	}
	return append(seeds, p12s...)
}

func FuzzParseCertificates(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s, "secret")
	}
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		certs, err := ParseCertificates("fuzz", data, pw(password))
		checkResult(t, len(certs) > 0, err)
		if _, err := ParseCertificates("fuzz", data, nil); err != nil {
			_ = err.Error()
		}
	})
}

func FuzzParsePrivateKey(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s, "secret")
	}
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		key, err := ParsePrivateKey("fuzz", data, pw(password))
		checkResult(t, key != nil, err)
	})
}

func FuzzParsePublicKeys(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s, "secret")
	}
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		keys, err := ParsePublicKeys("fuzz", data, pw(password))
		checkResult(t, len(keys) > 0, err)
		for _, k := range keys {
			if k.Key == nil || k.Source == 0 || k.Encoding == "" || k.Pin() == (Pin{}) {
				t.Errorf("key %+v", k)
			}
			if _, err := x509.ParsePKIXPublicKey(k.SPKI); err != nil && k.Source != FromRequest {
				t.Errorf("SPKI of a %v does not parse: %v", k.Source, err)
			}
			_ = InspectKey(k, nil)
		}
	})
}

func FuzzParsePKCS12(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s, "secret")
	}
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		key, leaf, chain, err := ParsePKCS12("fuzz", data, password)
		checkResult(t, leaf != nil || len(chain) > 0, err)
		if err == nil && (key == nil) != (leaf == nil) {
			t.Errorf("key %v but leaf %v", key != nil, leaf != nil)
		}
	})
}

func FuzzDescribe(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs := Describe(data)
		if len(objs) == 0 {
			t.Fatal("Describe returned nothing")
		}
		for _, o := range objs {
			if o.Kind == "" || (o.Kind == "certificate") != (o.Cert != nil) {
				t.Errorf("object %+v", o)
			}
		}
		_ = Sniff(data).String()
	})
}

// checkResult checks the contract every parser keeps: a result or a
// *FileError, never both and never neither.
func checkResult(t *testing.T, got bool, err error) {
	t.Helper()
	if got == (err != nil) {
		t.Fatalf("result %v with error %v", got, err)
	}
	if err != nil {
		var fe *FileError
		if !errors.As(err, &fe) || fe.File != "fuzz" || err.Error() == "" {
			t.Fatalf("error %T %v is not a *FileError naming the file", err, err)
		}
	}
}

func pinSeeds(f *testing.F) {
	fx := testPKI(f)
	p := SPKIPin(fx.leaf)
	b64 := base64.StdEncoding.EncodeToString(p[:])
	for _, s := range []string{p.String(), "sha256//" + b64, `pin-sha256="` + b64 + `"`, "sha1/" + b64, "sha256/AAAA",
		`pin-sha256="` + b64 + `"; max-age=1; includeSubDomains; report-uri="https://x/;y"`, "sha256//" + b64 + ";sha256//" + b64,
		"", ";", `pin-sha256=`, CertFingerprint(fx.leaf).Colon()} {
		f.Add(s)
	}
}

func FuzzParsePin(f *testing.F) {
	pinSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePin(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T", err)
			}
			return
		}
		if back, err := ParsePin(p.String()); err != nil || back != p {
			t.Fatalf("String %s does not parse back: %v", p, err)
		}
	})
}

func FuzzParsePins(f *testing.F) {
	pinSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		pins, err := ParsePins(s)
		if (err == nil) != (len(pins) > 0) {
			t.Fatalf("%d pins with error %v", len(pins), err)
		}
	})
}

func FuzzParseFingerprint(f *testing.F) {
	fx := testPKI(f)
	fp := CertFingerprint(fx.leaf)
	for _, s := range []string{fp.String(), fp.Colon(), "SHA256 Fingerprint=" + fp.Colon(), "sha256:" + fp.String(),
		"SHA1 Fingerprint=AB:CD", fp.String()[:40], "", "zz", SPKIPin(fx.leaf).String()} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := ParseFingerprint(s)
		if err != nil {
			return
		}
		for _, form := range []string{fp.String(), fp.Colon()} {
			if back, err := ParseFingerprint(form); err != nil || back != fp {
				t.Fatalf("%s does not parse back: %v", form, err)
			}
		}
	})
}
