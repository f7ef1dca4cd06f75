package mint

import (
	"bytes"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/httptrust/httptrust/certs"
)

func TestWritePEMPaths(t *testing.T) {
	dir := t.TempDir()
	c := mustNew(t, Template{Names: []string{"a.test"}}, nil)
	certPath, keyPath := filepath.Join(dir, "srv.crt"), filepath.Join(dir, "srv.key")
	if err := c.WritePEM(certPath, keyPath); err != nil {
		t.Fatal(err)
	}
	key, err := certs.ParsePrivateKey(keyPath, mustRead(t, keyPath), nil)
	if err != nil || !samePublicKey(key.Public(), c.Cert.PublicKey) {
		t.Fatalf("key file: %v", err)
	}
	if !bytes.Equal(mustRead(t, certPath), c.CertPEM()) {
		t.Error("certificate file differs")
	}
	checkMode(t, keyPath, KeyMode)
	checkMode(t, certPath, CertMode)
}

func TestWritePEMRefusesSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere.pem")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "dev-key.pem")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	c := mustNew(t, Template{Names: []string{"a.test"}}, nil)
	_, _, err := c.WriteFiles(dir, "dev")
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("WriteFiles over a symlinked key = %v", err)
	}
	if !strings.HasPrefix(err.Error(), "mint: write key ") {
		t.Errorf("error %q: want it to start with mint: write key", err)
	}
	if string(mustRead(t, target)) != "keep" {
		t.Error("the link's target was written")
	}
	if _, err := os.Stat(filepath.Join(dir, "dev.pem")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("the certificate was written although its key was not")
	}
}

func TestWritePKCS12(t *testing.T) {
	root, inter, leaf := pki(t, ECDSAP256, "a.test")
	for _, kt := range []KeyType{ECDSAP256, Ed25519, RSA2048} {
		t.Run(kt.String(), func(t *testing.T) {
			leaf := leaf
			if kt != ECDSAP256 {
				leaf = mustNew(t, Template{Names: []string{"a.test"}, KeyType: kt, Client: true}, inter)
			}
			path := filepath.Join(t.TempDir(), "a.p12")
			if err := leaf.WritePKCS12(path, DefaultPKCS12Password, inter, nil, root); err != nil {
				t.Fatal(err)
			}
			checkMode(t, path, KeyMode)
			key, got, chain, err := certs.ParsePKCS12(path, mustRead(t, path), DefaultPKCS12Password)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Raw, leaf.DER) || !samePublicKey(key.Public(), leaf.Cert.PublicKey) {
				t.Error("the .p12 holds another certificate or key")
			}
			if len(chain) != 2 || !chain[0].Equal(inter.Cert) || !chain[1].Equal(root.Cert) {
				t.Errorf("chain has %d certificates, want the intermediate and the root", len(chain))
			}
			if _, _, _, err := certs.ParsePKCS12(path, mustRead(t, path), "wrong"); !errors.Is(err, certs.ErrWrongPassword) {
				t.Errorf("wrong password: %v", err)
			}
		})
	}
	if _, err := (&Cert{Cert: leaf.Cert, DER: leaf.DER}).PKCS12("x"); err == nil {
		t.Error("PKCS12 without a key: nil error")
	}
}

func TestWriteKeyNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	for _, kt := range []KeyType{ECDSAP256, ECDSAP384, Ed25519, RSA2048} {
		key, err := NewKey(kt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := keyTypeOf(key.Public())
		if err != nil || got != kt {
			t.Errorf("NewKey(%v) made a %v key (%v)", kt, got, err)
		}
		path := filepath.Join(dir, kt.String()+".pem")
		if err := WriteKey(path, key); err != nil {
			t.Fatal(err)
		}
		checkMode(t, path, KeyMode)
		parsed, err := certs.ParsePrivateKey(path, mustRead(t, path), nil)
		if err != nil || !samePublicKey(parsed.Public(), key.Public()) {
			t.Fatalf("%v: written key: %v", kt, err)
		}
		before := mustRead(t, path)
		other, _ := NewKey(kt)
		err = WriteKey(path, other)
		if !errors.Is(err, fs.ErrExist) {
			t.Fatalf("WriteKey over an existing key = %v, want fs.ErrExist", err)
		}
		if want := "mint: write key " + path + ": file exists"; err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
		if !bytes.Equal(mustRead(t, path), before) {
			t.Error("the existing key was replaced")
		}
		assertNoKey(t, &Cert{Key: other}, err.Error())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("folder holds %d entries, want 4 (no temporary files)", len(entries))
	}
	if _, err := NewKey(KeyType(99)); !errors.Is(err, ErrInvalidTemplate) {
		t.Errorf("NewKey(99) = %v", err)
	}
}

// TestKeyPinIsCertificatePin checks that the SPKI of a bare key, as a
// backup pin is computed, is the SPKI of any certificate made for it.
func TestKeyPinIsCertificatePin(t *testing.T) {
	for _, kt := range []KeyType{ECDSAP256, Ed25519, RSA2048} {
		key, err := NewKey(kt)
		if err != nil {
			t.Fatal(err)
		}
		c := mustNew(t, Template{Names: []string{"a.test"}, Key: key}, nil)
		der, err := x509.MarshalPKIXPublicKey(key.Public())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(der, c.Cert.RawSubjectPublicKeyInfo) {
			t.Errorf("%v: the key's SPKI is not the certificate's", kt)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
	}
}
