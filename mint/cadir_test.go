package mint

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var caTemplate = Template{CommonName: "Test Dev CA", IsCA: true}

func TestOpenCAMakesThenReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "dev-ca")
	ca, created, err := OpenCA(dir, caTemplate)
	if err != nil || !created {
		t.Fatalf("first OpenCA = %v, created %v", err, created)
	}
	if runtime.GOOS != "windows" {
		for path, want := range map[string]fs.FileMode{
			dir: 0o700, filepath.Dir(dir): 0o700,
			filepath.Join(dir, CACertFile): 0o644, filepath.Join(dir, CAKeyFile): 0o600,
		} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s: mode %v, want %v", path, got, want)
			}
		}
	}
	again, created, err := OpenCA(dir, Template{CommonName: "Another", IsCA: true, KeyType: RSA2048})
	if err != nil || created {
		t.Fatalf("second OpenCA = %v, created %v", err, created)
	}
	if !bytes.Equal(again.DER, ca.DER) || !samePublicKey(again.Key.Public(), ca.Key.Public()) {
		t.Error("second OpenCA made a new CA instead of reusing the first")
	}
	leaf := mustNew(t, Template{Names: []string{"a.test"}}, again)
	if err := verify(leaf, ca, "a.test"); err != nil {
		t.Errorf("leaf signed by the reloaded CA: %v", err)
	}
}

func TestOpenCAConcurrent(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	var wg sync.WaitGroup
	ders := make([][]byte, n)
	errs := make([]error, n)
	created := make([]bool, n)
	for i := range n {
		wg.Go(func() {
			ca, c, err := OpenCA(dir, caTemplate)
			errs[i], created[i] = err, c
			if err == nil {
				ders[i] = ca.DER
			}
		})
	}
	wg.Wait()
	made := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("OpenCA %d: %v", i, errs[i])
		}
		if created[i] {
			made++
		}
		if !bytes.Equal(ders[i], ders[0]) {
			t.Errorf("OpenCA %d got another CA", i)
		}
	}
	if made != 1 {
		t.Errorf("%d of %d calls made a CA, want 1", made, n)
	}
}

func TestOpenCARefusals(t *testing.T) {
	if _, _, err := OpenCA(t.TempDir(), Template{Names: []string{"a.test"}}); !errors.Is(err, ErrInvalidTemplate) {
		t.Errorf("leaf template: %v, want ErrInvalidTemplate", err)
	}
	// A key without its certificate is never replaced.
	dir := t.TempDir()
	keyPath := filepath.Join(dir, CAKeyFile)
	if err := os.WriteFile(keyPath, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := OpenCA(dir, caTemplate)
	if err == nil || !strings.Contains(err.Error(), "holds a CA key but no certificate") {
		t.Fatalf("orphan key: %v", err)
	}
	if data, _ := os.ReadFile(keyPath); string(data) != "precious" {
		t.Error("orphan key was replaced")
	}
	if _, err := os.Stat(filepath.Join(dir, CACertFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a certificate was written beside the orphan key")
	}
}

// writeCA writes c's certificate and key into dir under the given names.
func writeCA(t *testing.T, dir, certName, keyName string, c *Cert) {
	t.Helper()
	keyPEM, err := c.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, certName), c.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, keyName), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadCAReadsMkcertFolder(t *testing.T) {
	dir := t.TempDir()
	ca := mustNew(t, Template{CommonName: "mkcert dev", IsCA: true}, nil)
	writeCA(t, dir, "rootCA.pem", "rootCA-key.pem", ca)
	got, created, err := OpenCA(dir, caTemplate)
	if err != nil || created {
		t.Fatalf("OpenCA on mkcert's folder = %v, created %v", err, created)
	}
	if !bytes.Equal(got.DER, ca.DER) {
		t.Error("mkcert's CA not used")
	}
	if c, k := CAFiles(dir); filepath.Base(c) != "rootCA.pem" || filepath.Base(k) != "rootCA-key.pem" {
		t.Errorf("CAFiles = %s, %s", c, k)
	}
	if _, err := os.Stat(filepath.Join(dir, CACertFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Error("OpenCA wrote httptrust's names into mkcert's folder")
	}
	// httptrust's own files win when both are there.
	own := mustNew(t, caTemplate, nil)
	writeCA(t, dir, CACertFile, CAKeyFile, own)
	if got, err := LoadCA(dir); err != nil || !bytes.Equal(got.DER, own.DER) {
		t.Errorf("LoadCA with both = %v", err)
	}
}

func TestLoadCAErrors(t *testing.T) {
	ca := mustNew(t, caTemplate, nil)
	other := mustNew(t, caTemplate, nil)
	leaf := mustNew(t, Template{Names: []string{"a.test"}}, ca)
	keyPEM := mustKeyPEM(t, ca)
	tests := []struct {
		name      string
		cert, key []byte
		want      string
	}{
		{"no CA", nil, nil, "no CA certificate"},
		{"not a CA", leaf.CertPEM(), mustKeyPEM(t, leaf), "is not a CA certificate"},
		{"wrong key", ca.CertPEM(), mustKeyPEM(t, other), "is not the key of"},
		{"no key", ca.CertPEM(), nil, "no such file"},
		{"not PEM", []byte("garbage"), keyPEM, "no PEM CERTIFICATE block"},
		{"bad DER", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), keyPEM, "cannot parse the certificate"},
		{"key not PEM", ca.CertPEM(), []byte("garbage"), "no PEM private key"},
		{"encrypted key", ca.CertPEM(), []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), "is encrypted"},
		{"bad key DER", ca.CertPEM(), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "cannot parse the private key"},
		{"large", bytes.Repeat([]byte("A"), maxCAFile+1), keyPEM, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.cert != nil {
				os.WriteFile(filepath.Join(dir, CACertFile), tt.cert, 0o644)
			}
			if tt.key != nil {
				os.WriteFile(filepath.Join(dir, CAKeyFile), tt.key, 0o600)
			}
			_, err := LoadCA(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadCA = %v, want an error with %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "mint: ") {
				t.Errorf("error %q lacks the mint: prefix", err)
			}
			if tt.name == "no CA" && !errors.Is(err, ErrNoCA) {
				t.Errorf("error %v does not wrap ErrNoCA", err)
			}
			assertNoKey(t, ca, err.Error())
		})
	}
}

func TestLoadCAOtherKeyEncodings(t *testing.T) {
	ec := mustNew(t, Template{CommonName: "sec1", IsCA: true}, nil)
	ecDER, err := x509.MarshalECPrivateKey(ec.Key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	rsaCA := mustNew(t, Template{CommonName: "pkcs1", IsCA: true, KeyType: RSA2048}, nil)
	for _, tt := range []struct {
		ca    *Cert
		block *pem.Block
	}{
		{ec, &pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}},
		{rsaCA, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaCA.Key.(*rsa.PrivateKey))}},
	} {
		dir := t.TempDir()
		// Other PEM blocks before the one sought are skipped.
		other := pem.EncodeToMemory(&pem.Block{Type: "COMMENT", Bytes: []byte("x")})
		writeFile(t, filepath.Join(dir, CACertFile), append(other, tt.ca.CertPEM()...))
		writeFile(t, filepath.Join(dir, CAKeyFile), append(other, pem.EncodeToMemory(tt.block)...))
		if _, err := LoadCA(dir); err != nil {
			t.Errorf("%s: %v", tt.block.Type, err)
		}
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustKeyPEM(t *testing.T, c *Cert) []byte {
	t.Helper()
	b, err := c.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
