package certs

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io/fs"
)

// LoadIdentity builds a client identity for mutual TLS from files in fsys.
// Either certFile is a PKCS#12 file and keyFile is "", or certFile holds the
// certificate and its chain (PEM, DER or PKCS#7) and keyFile the private key
// (keyFile "" means the key is in certFile, as in a combined PEM). The
// password for the PKCS#12 file or an encrypted key comes from opts.
//
// The certificate whose public key matches the private key becomes the
// leaf, first in the chain; the others follow in file order. A key that
// matches no certificate fails with ErrKeyMismatch.
func LoadIdentity(fsys fs.FS, certFile, keyFile string, opts *Options) (tls.Certificate, error) {
	certData, err := readFile(fsys, certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	var key crypto.Signer
	var certs []*x509.Certificate
	switch {
	case classify(certData) == kindPKCS12:
		if keyFile != "" {
			return tls.Certificate{}, fileErr(certFile, "a PKCS#12 file",
				fmt.Errorf("certs: it holds its own key; give no separate key file (%s)", keyFile))
		}
		var leaf *x509.Certificate
		key, leaf, certs, err = decodePKCS12(certFile, certData, opts)
		if err != nil {
			return tls.Certificate{}, err
		}
		if key == nil {
			return tls.Certificate{}, fileErr(certFile, "a PKCS#12 file without a private key", ErrNotPrivateKey)
		}
		certs = append([]*x509.Certificate{leaf}, certs...)
	default:
		if certs, err = ParseCertificates(certFile, certData, opts); err != nil {
			return tls.Certificate{}, err
		}
		keyName, keyData := certFile, certData
		if keyFile != "" {
			if keyData, err = readFile(fsys, keyFile); err != nil {
				return tls.Certificate{}, err
			}
			keyName = keyFile
		}
		if key, err = ParsePrivateKey(keyName, keyData, opts); err != nil {
			return tls.Certificate{}, err
		}
	}
	return identity(key, certs, certFile, keyFile)
}

// identity puts the certificate matching key first and builds the
// tls.Certificate.
func identity(key crypto.Signer, certs []*x509.Certificate, certFile, keyFile string) (tls.Certificate, error) {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	leaf := -1
	for i, c := range certs {
		if ok && pub.Equal(c.PublicKey) {
			leaf = i
			break
		}
	}
	if leaf < 0 {
		if keyFile == "" {
			keyFile = certFile
		}
		c := certs[0]
		return tls.Certificate{}, fileErr(keyFile, "a private key ("+KeyDescription(key.Public())+")", fmt.Errorf(
			"%w: none of the %d certificate(s) in %s has its public key (the first is %q, %s); "+
				"pair it with the certificate that was issued for it",
			ErrKeyMismatch, len(certs), certFile, c.Subject.String(), KeyDescription(c.PublicKey)))
	}
	ordered := append([]*x509.Certificate{certs[leaf]}, certs[:leaf]...)
	ordered = append(ordered, certs[leaf+1:]...)
	out := tls.Certificate{PrivateKey: key, Leaf: ordered[0]}
	for _, c := range ordered {
		out.Certificate = append(out.Certificate, c.Raw)
	}
	return out, nil
}
