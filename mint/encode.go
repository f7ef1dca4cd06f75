package mint

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/httptrust/httptrust/internal/atomicfile"
)

// Modes of the files this package writes: a certificate may be read by
// anyone, a private key (or a PKCS #12 file, which holds one) only by its
// owner.
const (
	CertMode = 0o644
	KeyMode  = 0o600
)

// DefaultPKCS12Password is the password PKCS12 is commonly given when the
// file is protected by other means: mkcert's, and Java's keytool's.
const DefaultPKCS12Password = "changeit"

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
	return EncodeKey(c.Key)
}

// EncodeKey returns key PEM-encoded as a PKCS #8 "PRIVATE KEY" block. It
// fails for a key that is not an ECDSA, Ed25519 or RSA private key held in
// memory.
func EncodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
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

// PKCS12 returns c, its key and chain (the issuers, leaf-side first; nil
// entries are skipped) as a PKCS #12 file encrypted with password, in the
// modern encoding (PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC, an
// HMAC-SHA-256 MAC), which OpenSSL 1.1.1 and later, Java 12 and later and
// Windows Server 2019 and later read. The encryption is only as strong as
// the password: protect a file with DefaultPKCS12Password by other means.
func (c *Cert) PKCS12(password string, chain ...*Cert) ([]byte, error) {
	if c.Key == nil {
		return nil, errors.New("mint: certificate has no private key")
	}
	var cas []*x509.Certificate
	for _, ch := range chain {
		if ch != nil {
			cas = append(cas, ch.Cert)
		}
	}
	data, err := pkcs12.Modern.Encode(c.Key, c.Cert, cas, password)
	if err != nil {
		return nil, fmt.Errorf("mint: encode PKCS #12: %w", err)
	}
	return data, nil
}

// WriteFiles writes the certificate to <dir>/<base>.pem and the private key
// to <dir>/<base>-key.pem, as WritePEM does, and returns the two paths. An
// empty dir means the current directory. base must be a plain file name
// without a path separator.
func (c *Cert) WriteFiles(dir, base string) (certPath, keyPath string, err error) {
	if base == "" || base == "." || base == ".." || strings.ContainsAny(base, `/\`) {
		return "", "", fmt.Errorf("mint: invalid file name base %q", base)
	}
	certPath = filepath.Join(dir, base+".pem")
	keyPath = filepath.Join(dir, base+"-key.pem")
	if err := c.WritePEM(certPath, keyPath); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

// WritePEM writes the private key to keyPath (mode 0600) and then the
// certificate to certPath (mode 0644), both PEM-encoded.
//
// Each file is replaced atomically (see package internal/atomicfile): a
// reader or a crash sees the old file or the new one, never a half-written
// one, and a symbolic link at either path is refused rather than followed.
// The key is written first, so a failure leaves either nothing new or a new
// key beside the old certificate, never a certificate whose key is missing.
// The key is never printed, and errors name only paths.
func (c *Cert) WritePEM(certPath, keyPath string) error {
	keyPEM, err := c.KeyPEM()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(keyPath, keyPEM, KeyMode); err != nil {
		return writeErr("key", err)
	}
	if err := atomicfile.WriteFile(certPath, c.CertPEM(), CertMode); err != nil {
		return writeErr("certificate", err)
	}
	return nil
}

// WritePKCS12 writes c.PKCS12(password, chain...) to path (mode 0600),
// replacing it atomically as WritePEM does.
func (c *Cert) WritePKCS12(path, password string, chain ...*Cert) error {
	data, err := c.PKCS12(password, chain...)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, data, KeyMode); err != nil {
		return writeErr("PKCS #12 file", err)
	}
	return nil
}

// NewKey generates a private key of type kt on its own, for a certificate
// that is made later: a backup key whose pin is published before it is
// used, say.
func NewKey(kt KeyType) (crypto.Signer, error) {
	return generateKey(kt)
}

// WriteKey writes key, PEM-encoded as EncodeKey does, to a new file at path
// with mode 0600. It never replaces a file: if path exists it fails with an
// error wrapping fs.ErrExist, since the key already there may be one that is
// pinned somewhere.
func WriteKey(path string, key crypto.Signer) error {
	data, err := EncodeKey(key)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteNew(path, data, KeyMode); err != nil {
		return writeErr("key", err)
	}
	return nil
}

// writeErr restates an error of package atomicfile as this package's:
// "mint: write key /path: file exists", still an *fs.PathError that
// wraps the cause.
func writeErr(what string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		cause := pe.Err
		var le *os.LinkError // from WriteNew: "link .tmp-... path: file exists"
		if errors.As(cause, &le) {
			cause = le.Err
		}
		return &fs.PathError{Op: "mint: write " + what, Path: pe.Path, Err: cause}
	}
	return fmt.Errorf("mint: write %s: %w", what, err)
}
