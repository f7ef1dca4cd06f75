package mint

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/httptrust/httptrust/internal/atomicfile"
	"github.com/httptrust/httptrust/internal/lockfile"
)

// A CA folder holds one certificate authority, as mkcert's $CAROOT does:
// its certificate in CACertFile (mode 0644) and its private key in
// CAKeyFile (mode 0600), in a folder OpenCA creates with mode 0700. A
// folder of mkcert's (rootCA.pem, rootCA-key.pem) is read as well, so
// that certificates can be signed by a CA that mkcert -install has
// already put into the system's and the browsers' stores; this package
// never writes mkcert's names.
const (
	CACertFile = "httptrust-ca.pem"
	CAKeyFile  = "httptrust-ca-key.pem"
)

// The names mkcert gives its CA's files.
const (
	mkcertCertFile = "rootCA.pem"
	mkcertKeyFile  = "rootCA-key.pem"
)

// caLockFile is held while a CA is created, so that two first uses at
// once make one CA. It is never removed (see package lockfile).
const caLockFile = ".httptrust-ca.lock"

// maxCAFile bounds what LoadCA reads of a certificate or key file.
const maxCAFile = 1 << 20

// ErrNoCA is wrapped by the error LoadCA returns for a folder that holds
// no CA certificate.
var ErrNoCA = errors.New("no CA certificate in the folder")

// CAFiles returns the paths of the certificate and key of the CA in dir:
// CACertFile and CAKeyFile, or mkcert's names if dir holds mkcert's
// certificate and not httptrust's.
func CAFiles(dir string) (certPath, keyPath string) {
	certPath, keyPath = filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	if _, err := os.Lstat(certPath); errors.Is(err, fs.ErrNotExist) {
		mc := filepath.Join(dir, mkcertCertFile)
		if _, err := os.Stat(mc); err == nil {
			return mc, filepath.Join(dir, mkcertKeyFile)
		}
	}
	return certPath, keyPath
}

// LoadCA reads the CA kept in dir (see CAFiles). It fails with an error
// wrapping ErrNoCA if dir holds no CA certificate, and with a message
// naming the file if the certificate is not a CA's, the key is missing or
// unreadable, or the key is not the certificate's. The key must be an
// unencrypted PEM private key (PKCS #8, as this package and mkcert write
// it, or SEC 1 or PKCS #1).
func LoadCA(dir string) (*Cert, error) {
	certPath, keyPath := CAFiles(dir)
	der, err := readPEM(certPath, "CERTIFICATE")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("mint: %s: %w", dir, ErrNoCA)
	}
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("mint: %s: cannot parse the certificate: %w", certPath, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("mint: %s: %s is not a CA certificate", certPath, cert.Subject)
	}
	key, err := readKey(keyPath)
	if err != nil {
		return nil, err
	}
	if !samePublicKey(key.Public(), cert.PublicKey) {
		return nil, fmt.Errorf("mint: %s is not the key of %s", keyPath, certPath)
	}
	return &Cert{Cert: cert, Key: key, DER: der}, nil
}

// OpenCA returns the CA kept in dir and reports whether it made it now. If
// dir holds no CA certificate, OpenCA makes a self-signed CA from t (which
// must have IsCA set), creating dir with mode 0700 if needed, and writes its
// key and then its certificate. Two processes opening one dir at once get
// the same CA: creation holds a lock file in dir.
//
// A key without its certificate (left by a crash, or by someone who moved
// the certificate) is never replaced: OpenCA fails and names the file.
func OpenCA(dir string, t Template) (ca *Cert, created bool, err error) {
	if !t.IsCA {
		return nil, false, invalid("OpenCA needs a CA template (IsCA)")
	}
	if ca, err := LoadCA(dir); !errors.Is(err, ErrNoCA) {
		return ca, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("mint: CA folder: %w", err)
	}
	l, err := lockfile.Lock(context.Background(), filepath.Join(dir, caLockFile))
	if err != nil {
		return nil, false, fmt.Errorf("mint: CA folder: %w", err)
	}
	defer l.Unlock()
	// Another process may have made it while this one waited.
	if ca, err := LoadCA(dir); !errors.Is(err, ErrNoCA) {
		return ca, false, err
	}
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	if _, err := os.Lstat(keyPath); !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("mint: %s holds a CA key but no certificate (%s): "+
			"restore the certificate, or remove the key to make a new CA", dir, CACertFile)
	}
	ca, err = New(t, nil)
	if err != nil {
		return nil, false, err
	}
	if err := WriteKey(keyPath, ca.Key); err != nil {
		return nil, false, err
	}
	if err := atomicfile.WriteNew(certPath, ca.CertPEM(), CertMode); err != nil {
		os.Remove(keyPath) // this call wrote it, under the lock, a moment ago
		return nil, false, writeErr("CA certificate", err)
	}
	return ca, true, nil
}

// readPEM returns the first PEM block of type typ in the file at path.
func readPEM(path, typ string) ([]byte, error) {
	data, err := readCapped(path)
	if err != nil {
		return nil, err
	}
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return nil, fmt.Errorf("mint: %s: no PEM %s block", path, typ)
		}
		if b.Type == typ {
			return b.Bytes, nil
		}
	}
}

// readKey reads an unencrypted PEM private key.
func readKey(path string) (crypto.Signer, error) {
	data, err := readCapped(path)
	if err != nil {
		return nil, err
	}
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return nil, fmt.Errorf("mint: %s: no PEM private key (an unencrypted PRIVATE KEY block)", path)
		}
		var key any
		switch b.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("mint: %s: the CA key is encrypted; a CA folder holds an unencrypted key (mode 0600)", path)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("mint: %s: cannot parse the private key: %w", path, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("mint: %s: a %T cannot sign", path, key)
		}
		return signer, nil
	}
}

// readCapped reads at most maxCAFile bytes of the file at path.
func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mint: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCAFile+1))
	if err != nil {
		return nil, fmt.Errorf("mint: %s: %w", path, err)
	}
	if len(data) > maxCAFile {
		return nil, fmt.Errorf("mint: %s: larger than %d bytes, not a PEM file", path, maxCAFile)
	}
	return data, nil
}

// samePublicKey reports whether a and b are the same public key.
func samePublicKey(a, b crypto.PublicKey) bool {
	da, err1 := x509.MarshalPKIXPublicKey(a)
	db, err2 := x509.MarshalPKIXPublicKey(b)
	return err1 == nil && err2 == nil && bytes.Equal(da, db)
}
