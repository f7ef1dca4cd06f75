package mint

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// CertPEM returns the certificate PEM-encoded as a "CERTIFICATE" block.
func (c *Cert) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER})
}

// KeyPEM returns the private key PEM-encoded as a PKCS #8 "PRIVATE KEY"
// block. It fails for a key that is not an ECDSA, Ed25519 or RSA private key
// held in memory (a hardware signer, say).
func (c *Cert) KeyPEM() ([]byte, error) {
	if c.Key == nil {
		return nil, errors.New("mint: certificate has no private key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return nil, fmt.Errorf("mint: encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// TLSCertificate returns c as a tls.Certificate for a server or client to
// present: c first, then chain in the order given (normally the
// intermediates, leaf-side first). Nil entries in chain are skipped.
func (c *Cert) TLSCertificate(chain ...*Cert) tls.Certificate {
	tc := tls.Certificate{
		Certificate: [][]byte{c.DER},
		PrivateKey:  c.Key,
		Leaf:        c.Cert,
	}
	for _, ch := range chain {
		if ch != nil {
			tc.Certificate = append(tc.Certificate, ch.DER)
		}
	}
	return tc
}

// Pool returns a new certificate pool holding just c, for use as RootCAs or
// ClientCAs.
func (c *Cert) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	if c.Cert != nil {
		p.AddCert(c.Cert)
	}
	return p
}

// WriteFiles writes the certificate to <dir>/<base>.pem (mode 0644) and the
// private key to <dir>/<base>-key.pem (mode 0600), and returns the two paths.
// An empty dir means the current directory.
//
// Each file is written atomically: to a temporary file in dir, synced, then
// renamed over the target, and dir is synced. Both temporary files are
// complete before either is renamed, so a failure to write leaves the old
// files (or none) in place, never a half-written one; only a failed rename of
// the certificate, after the key's, can leave a new key beside an old
// certificate. base must be a plain file name without a path separator. The
// key is never printed, and errors name only paths.
func (c *Cert) WriteFiles(dir, base string) (certPath, keyPath string, err error) {
	if base == "" || base == "." || base == ".." || strings.ContainsAny(base, `/\`) {
		return "", "", fmt.Errorf("mint: invalid file name base %q", base)
	}
	if dir == "" {
		dir = "." // not os.TempDir, which os.CreateTemp would pick
	}
	keyPEM, err := c.KeyPEM()
	if err != nil {
		return "", "", err
	}
	certPath = filepath.Join(dir, base+".pem")
	keyPath = filepath.Join(dir, base+"-key.pem")
	keyTmp, err := writeTemp(dir, base, keyPEM, 0o600)
	if err != nil {
		return "", "", err
	}
	certTmp, err := writeTemp(dir, base, c.CertPEM(), 0o644)
	if err != nil {
		os.Remove(keyTmp)
		return "", "", err
	}
	if err := os.Rename(keyTmp, keyPath); err != nil {
		os.Remove(keyTmp)
		os.Remove(certTmp)
		return "", "", fmt.Errorf("mint: write key: %w", err)
	}
	if err := os.Rename(certTmp, certPath); err != nil {
		os.Remove(certTmp)
		return "", "", fmt.Errorf("mint: write certificate: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

// writeTemp writes data to a new temporary file in dir with mode perm,
// syncs and closes it, and returns its path. On error nothing is left behind.
func writeTemp(dir, base string, data []byte, perm os.FileMode) (path string, err error) {
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("mint: create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		return "", fmt.Errorf("mint: set mode of %s: %w", f.Name(), err)
	}
	if _, err := f.Write(data); err != nil {
		return "", fmt.Errorf("mint: write %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("mint: sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("mint: close %s: %w", f.Name(), err)
	}
	return f.Name(), nil
}

// syncDir makes the renames in dir durable. Windows cannot sync a
// directory, and does not need to.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("mint: open directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("mint: sync directory %s: %w", dir, err)
	}
	return nil
}
