package certs

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"sync"
)

// KeySource says what a PublicKey was read from.
type KeySource int

// The sources of a PublicKey.
const (
	FromPrivateKey KeySource = iota + 1 // a private key: its public half
	FromPublicKey                       // a public key
	FromRequest                         // a certificate request (CSR)
)

// String returns "private key", "public key" or "certificate request".
func (s KeySource) String() string {
	switch s {
	case FromPrivateKey:
		return "private key"
	case FromPublicKey:
		return "public key"
	case FromRequest:
		return "certificate request"
	}
	return "key"
}

// PublicKey is a public key found in a file: the public half of a private
// key, a public key, or the key of a certificate request. It never holds
// private key material.
type PublicKey struct {
	Source KeySource
	// Key is the public key: *rsa.PublicKey, *ecdsa.PublicKey,
	// ed25519.PublicKey (or *ecdh.PublicKey for an X25519 public key).
	Key crypto.PublicKey
	// SPKI is its DER SubjectPublicKeyInfo: as the file has it for a
	// public key or a request, as x509.MarshalPKIXPublicKey writes it for
	// a private key.
	SPKI []byte
	// Encoding names the format: "PKCS#8", "PKCS#1", "SEC1", "PKCS#12",
	// "SubjectPublicKeyInfo" or "PKCS#10".
	Encoding string
	// Encrypted says the private key was stored encrypted.
	Encrypted bool
	// Block and Line locate its PEM block (1-based); both are 0 outside PEM.
	Block, Line int
	// Request is the certificate request, for FromRequest.
	Request *x509.CertificateRequest
}

// Pin returns the SPKI pin of k: the pin a certificate for this key will
// have (a backup pin, before any certificate exists).
func (k *PublicKey) Pin() Pin { return sha256.Sum256(k.SPKI) }

// Matches reports whether c is a certificate for k.
func (k *PublicKey) Matches(c *x509.Certificate) bool {
	eq, ok := k.Key.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(c.PublicKey)
}

// String describes k without key material: "private key (ECDSA P-256)".
func (k *PublicKey) String() string {
	return k.Source.String() + " (" + KeyDescription(k.Key) + ")"
}

// PublicKeyPin returns the SPKI pin of pub, as SPKIPin returns it for a
// certificate of that key.
func PublicKeyPin(pub crypto.PublicKey) (Pin, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return Pin{}, fmt.Errorf("certs: encoding the public key: %w", err)
	}
	return sha256.Sum256(der), nil
}

// ParsePublicKeys returns every public key in data, in file order: the
// public half of each private key (PKCS#1, PKCS#8, SEC1, Ed25519, in PEM
// or DER, plain or encrypted; the key of a PKCS#12 file), each public key
// (PEM "PUBLIC KEY" and "RSA PUBLIC KEY", DER SubjectPublicKeyInfo or
// PKCS#1) and the key of each certificate request (PEM or DER PKCS#10).
// Certificates and other blocks beside them are skipped. An encrypted key
// or PKCS#12 file takes its password from opts, asked at most once. name is
// used only in errors.
//
// Input without any of them fails with ErrNoKey (naming the first other
// block or what the file is); a key that cannot be read fails the whole
// call. The private keys are not kept: only their public halves.
func ParsePublicKeys(name string, data []byte, opts *Options) ([]PublicKey, error) {
	if len(data) > MaxFileSize {
		return nil, tooLarge(name, int64(len(data)))
	}
	opts = opts.askOnce()
	switch k := classify(data); k {
	case kindUnknown:
		if nextBegin(data, 0) >= 0 {
			return parsePEMPublicKeys(name, data, opts)
		}
		ferr := unknownFormat(name, data)
		if ferr.Err == ErrNoCertificates || ferr.Err == ErrUnknownFormat {
			ferr.Err = ErrNoKey
		}
		return nil, ferr
	case kindPKCS12:
		key, _, _, err := decodePKCS12(name, data, opts)
		if err != nil {
			return nil, err
		}
		if key == nil {
			return nil, fileErr(name, "a PKCS#12 file with certificates only", ErrNoKey)
		}
		return onePublic(name, nil, key.Public(), "PKCS#12", false)
	default:
		pk, err := derPublicKey(name, data, k, nil, opts)
		if err != nil {
			return nil, err
		}
		return []PublicKey{*pk}, nil
	}
}

// askOnce returns options whose password is asked at most once.
func (o *Options) askOnce() *Options {
	if o == nil || o.Password == nil {
		return o
	}
	ask := sync.OnceValues(o.Password)
	return &Options{Password: ask}
}

// onePublic is the single PublicKey of a private key.
func onePublic(name string, at *pemBlock, pub crypto.PublicKey, encoding string, encrypted bool) ([]PublicKey, error) {
	pk, err := fromPrivate(name, at, pub, encoding, encrypted)
	if err != nil {
		return nil, err
	}
	return []PublicKey{*pk}, nil
}

// fromPrivate builds the PublicKey of a private key's public half.
func fromPrivate(name string, at *pemBlock, pub crypto.PublicKey, encoding string, encrypted bool) (*PublicKey, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		fe := fileErr(name, "a private key", err)
		if at != nil {
			fe.Block, fe.Line = at.num, at.line
		}
		return nil, fe
	}
	pk := &PublicKey{Source: FromPrivateKey, Key: pub, SPKI: der, Encoding: encoding, Encrypted: encrypted}
	if at != nil {
		pk.Block, pk.Line = at.num, at.line
	}
	return pk, nil
}

// keyEncodings names the formats of private keys by kind.
var keyEncodings = map[kind]string{kindPKCS8Key: "PKCS#8", kindPKCS1Key: "PKCS#1", kindSEC1Key: "SEC1", kindEncryptedKey: "PKCS#8"}

// derPublicKey reads the DER object of kind k as a PublicKey. at is its
// PEM block, or nil.
func derPublicKey(name string, der []byte, k kind, at *pemBlock, opts *Options) (*PublicKey, error) {
	fail := func(found string, err error) *FileError {
		fe := fileErr(name, found, err)
		if at != nil {
			fe.Block, fe.Line = at.num, at.line
		}
		return fe
	}
	var pk *PublicKey
	switch k {
	case kindPKCS8Key, kindPKCS1Key, kindSEC1Key, kindEncryptedKey:
		key, err := parseKeyDER(name, der, k, at, opts)
		if err != nil {
			return nil, err
		}
		return fromPrivate(name, at, key.Public(), keyEncodings[k], k == kindEncryptedKey)
	case kindPublicKey:
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			return nil, fail("a public key", err)
		}
		pk = &PublicKey{Source: FromPublicKey, Key: pub, SPKI: der, Encoding: "SubjectPublicKeyInfo"}
	case kindRSAPublicKey:
		pub, err := x509.ParsePKCS1PublicKey(der)
		if err != nil {
			return nil, fail("an RSA public key", err)
		}
		spki, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return nil, fail("an RSA public key", err)
		}
		pk = &PublicKey{Source: FromPublicKey, Key: pub, SPKI: spki, Encoding: "PKCS#1"}
	case kindCSR:
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil {
			return nil, fail("a certificate request", err)
		}
		if csr.PublicKey == nil {
			return nil, fail("a certificate request", fmt.Errorf("certs: its public key algorithm (%v) is not supported", csr.PublicKeyAlgorithm))
		}
		pk = &PublicKey{Source: FromRequest, Key: csr.PublicKey, SPKI: csr.RawSubjectPublicKeyInfo, Encoding: "PKCS#10", Request: csr}
	default:
		return nil, fail(k.phrase(), ErrNoKey)
	}
	if at != nil {
		pk.Block, pk.Line = at.num, at.line
	}
	return pk, nil
}

// PEM block types that hold a public key or a certificate request.
var (
	pemPublicKeyTypes = map[string]kind{"PUBLIC KEY": kindPublicKey, "RSA PUBLIC KEY": kindRSAPublicKey}
	pemRequestTypes   = map[string]bool{"CERTIFICATE REQUEST": true, "NEW CERTIFICATE REQUEST": true}
)

// parsePEMPublicKeys reads the key, public key and request blocks of a
// PEM file.
func parsePEMPublicKeys(name string, data []byte, opts *Options) ([]PublicKey, error) {
	blocks, ferr := scanPEM(data)
	if ferr != nil {
		ferr.File = name
		return nil, ferr
	}
	var out []PublicKey
	var other *pemBlock
	for i := range blocks {
		b := &blocks[i]
		pk, err := pemPublicKey(name, b, opts)
		if err != nil {
			return nil, err
		}
		if pk != nil {
			out = append(out, *pk)
		} else if other == nil && b.Type != "EC PARAMETERS" {
			other = b
		}
	}
	switch {
	case len(out) > 0:
		return out, nil
	case other != nil:
		return nil, blockErr(name, *other, keyFound(other.Type), ErrNoKey)
	}
	return nil, fileErr(name, "only EC PARAMETERS", ErrNoKey)
}

// pemPublicKey reads one PEM block; nil, nil for a block that holds no
// key.
func pemPublicKey(name string, b *pemBlock, opts *Options) (*PublicKey, error) {
	switch {
	case pemKeyTypes[b.Type] && x509.IsEncryptedPEMBlock(b.Block):
		key, err := decryptLegacyPEM(name, *b, opts)
		if err != nil {
			return nil, err
		}
		return fromPrivate(name, b, key.Public(), legacyEncoding(b.Type), true)
	case pemKeyTypes[b.Type]:
		k := classify(b.Bytes)
		switch k {
		case kindPKCS8Key, kindPKCS1Key, kindSEC1Key, kindEncryptedKey:
		case kindUnknown:
			k = pemKeyKind(b.Type)
		default:
			return nil, blockErr(name, *b, fmt.Sprintf("a %s block that holds %s", b.Type, k.phrase()), ErrNotPrivateKey)
		}
		return derPublicKey(name, b.Bytes, k, b, opts)
	case pemPublicKeyTypes[b.Type] != kindUnknown:
		k := classify(b.Bytes)
		if k != kindPublicKey && k != kindRSAPublicKey {
			k = pemPublicKeyTypes[b.Type]
		}
		return derPublicKey(name, b.Bytes, k, b, opts)
	case pemRequestTypes[b.Type]:
		return derPublicKey(name, b.Bytes, kindCSR, b, opts)
	}
	return nil, nil
}

// legacyEncoding names the format inside a legacy encrypted PEM block.
func legacyEncoding(typ string) string {
	switch typ {
	case "RSA PRIVATE KEY":
		return "PKCS#1"
	case "EC PRIVATE KEY":
		return "SEC1"
	}
	return "PKCS#8"
}
