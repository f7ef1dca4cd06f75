package certs

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ParsePrivateKey returns the private key in data: PKCS#1 RSA, PKCS#8 (RSA,
// ECDSA, Ed25519) or SEC1 EC, in PEM or DER; encrypted PEM, both legacy
// (Proc-Type: 4,ENCRYPTED) and PKCS#8 "ENCRYPTED PRIVATE KEY" (PBES2 with
// PBKDF2 or scrypt, AES-CBC or 3DES), decrypted with opts.Password; or the
// key of a PKCS#12 file. name is used only in errors.
//
// In PEM, certificates and "EC PARAMETERS" beside the key are skipped (a
// combined PEM file works); more than one private key is an error. A key
// that cannot sign (X25519) is refused.
func ParsePrivateKey(name string, data []byte, opts *Options) (crypto.Signer, error) {
	if len(data) > MaxFileSize {
		return nil, tooLarge(name, int64(len(data)))
	}
	switch k := classify(data); k {
	case kindPKCS8Key, kindPKCS1Key, kindSEC1Key, kindEncryptedKey:
		return parseKeyDER(name, data, k, nil, opts)
	case kindPKCS12:
		key, _, _, err := decodePKCS12(name, data, opts)
		if err == nil && key == nil {
			err = fileErr(name, "a PKCS#12 file without a private key", ErrNotPrivateKey)
		}
		return key, err
	case kindUnknown:
		if nextBegin(data, 0) >= 0 {
			return parsePEMKey(name, data, opts)
		}
		ferr := unknownFormat(name, data)
		if ferr.Err == ErrNoCertificates {
			ferr.Err = ErrNotPrivateKey
		}
		return nil, ferr
	default:
		return nil, fileErr(name, k.phrase(), ErrNotPrivateKey)
	}
}

// parsePEMKey finds the one private key block of a PEM file and parses it.
func parsePEMKey(name string, data []byte, opts *Options) (crypto.Signer, error) {
	blocks, ferr := scanPEM(data)
	if ferr != nil {
		ferr.File = name
		return nil, ferr
	}
	var key, other *pemBlock
	for i, b := range blocks {
		switch {
		case pemKeyTypes[b.Type] && key != nil:
			return nil, blockErr(name, b, "a second "+b.Type,
				errors.New("certs: a key file must hold exactly one private key"))
		case pemKeyTypes[b.Type]:
			key = &blocks[i]
		case b.Type == "EC PARAMETERS":
		case other == nil:
			other = &blocks[i]
		}
	}
	if key == nil && other == nil {
		return nil, fileErr(name, "only EC PARAMETERS", ErrNotPrivateKey)
	}
	if key == nil {
		return nil, blockErr(name, *other, keyFound(other.Type), ErrNotPrivateKey)
	}
	if x509.IsEncryptedPEMBlock(key.Block) {
		return decryptLegacyPEM(name, *key, opts)
	}
	switch k := classify(key.Bytes); k {
	case kindPKCS8Key, kindPKCS1Key, kindSEC1Key, kindEncryptedKey:
		return parseKeyDER(name, key.Bytes, k, key, opts)
	case kindUnknown:
		return parseKeyDER(name, key.Bytes, pemKeyKind(key.Type), key, opts)
	default:
		return nil, blockErr(name, *key, fmt.Sprintf("a %s block that holds %s", key.Type, k.phrase()), ErrNotPrivateKey)
	}
}

// keyFound describes a PEM block found where a key was expected.
func keyFound(typ string) string {
	if typ == "OPENSSH PRIVATE KEY" {
		return "an OpenSSH private key (convert it: ssh-keygen -p -m PKCS8 -f FILE)"
	}
	return article(typ)
}

// pemKeyKind is the kind a key block's type names, for parsing blocks
// whose content classify could not recognise (and errors to match).
func pemKeyKind(typ string) kind {
	switch typ {
	case "RSA PRIVATE KEY":
		return kindPKCS1Key
	case "EC PRIVATE KEY":
		return kindSEC1Key
	case "ENCRYPTED PRIVATE KEY":
		return kindEncryptedKey
	}
	return kindPKCS8Key
}

// decryptLegacyPEM decrypts an OpenSSL "Proc-Type: 4,ENCRYPTED" block.
func decryptLegacyPEM(name string, b pemBlock, opts *Options) (crypto.Signer, error) {
	const found = "encrypted PEM key"
	pw, ok, err := opts.password()
	if err != nil {
		return nil, blockErr(name, b, found, err)
	}
	if !ok || pw == "" {
		return nil, blockErr(name, b, found, ErrPasswordRequired)
	}
	//lint:ignore SA1019 legacy PEM encryption is what such files use.
	der, err := x509.DecryptPEMBlock(b.Block, []byte(pw))
	if errors.Is(err, x509.IncorrectPasswordError) {
		return nil, blockErr(name, b, found, ErrWrongPassword)
	}
	if err != nil {
		return nil, blockErr(name, b, found, fmt.Errorf("%w: %v", ErrTruncated, err))
	}
	k := classify(der)
	if k != kindPKCS1Key && k != kindPKCS8Key && k != kindSEC1Key {
		// The padding happened to check out, but what came out is no key.
		return nil, blockErr(name, b, found, ErrWrongPassword)
	}
	return parseKeyDER(name, der, k, &b, nil)
}

// parseKeyDER parses a DER private key of kind k. at is its PEM block, or nil.
func parseKeyDER(name string, der []byte, k kind, at *pemBlock, opts *Options) (crypto.Signer, error) {
	fail := func(off int64, found string, err error) *FileError {
		fe := &FileError{File: name, Offset: off, Found: found, Err: err}
		if at != nil {
			fe.Block, fe.Line = at.num, at.line
		}
		return fe
	}
	found := k.phrase()
	if at != nil {
		found = article(at.Type)
	}
	if _, derr := checkStructure(der, 0, false); derr != nil {
		return nil, fail(derr.off, found, fmt.Errorf("%w: %s", ErrTruncated, derr.msg))
	}
	var key any
	var err error
	switch k {
	case kindPKCS1Key:
		key, err = x509.ParsePKCS1PrivateKey(der)
	case kindSEC1Key:
		key, err = x509.ParseECPrivateKey(der)
	case kindEncryptedKey:
		return decryptPKCS8(der, opts, func(err error) error { return fail(-1, "encrypted PKCS#8 key", err) })
	default:
		key, err = x509.ParsePKCS8PrivateKey(der)
	}
	if err != nil {
		return nil, fail(-1, found, err)
	}
	signer, err := toSigner(key)
	if err != nil {
		return nil, fail(-1, found, err)
	}
	return signer, nil
}

// toSigner returns key as a crypto.Signer, or says why it cannot sign.
func toSigner(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return k.(crypto.Signer), nil
	case *ecdh.PrivateKey:
		return nil, fmt.Errorf("certs: %s is a key-agreement key and cannot sign; use an RSA, ECDSA or Ed25519 key",
			KeyDescription(k.PublicKey()))
	}
	return nil, fmt.Errorf("certs: unsupported private key type %T", key)
}

// KeyDescription names a public key's algorithm and size: "ECDSA P-256",
// "RSA 2048", "Ed25519".
func KeyDescription(pub crypto.PublicKey) string {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", p.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + p.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	case *ecdh.PublicKey:
		if p.Curve() == ecdh.X25519() {
			return "X25519"
		}
		return fmt.Sprintf("ECDH %v", p.Curve())
	}
	return fmt.Sprintf("%T", pub)
}

// EncodePrivateKeyPEM returns key as an unencrypted PKCS#8 "PRIVATE KEY"
// PEM block. Callers writing it to disk should use 0600 permissions.
func EncodePrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("certs: encoding private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// EncodeCertificatesPEM returns certs as consecutive "CERTIFICATE" PEM
// blocks, in order.
func EncodeCertificatesPEM(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}
