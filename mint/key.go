package mint

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
)

// generateKey makes a new private key of type kt.
func generateKey(kt KeyType) (crypto.Signer, error) {
	var (
		key crypto.Signer
		err error
	)
	switch kt {
	case ECDSAP256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case Ed25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case RSA2048, RSA3072, RSA4096:
		key, err = rsa.GenerateKey(rand.Reader, rsaBits(kt))
	default:
		return nil, invalid("unknown key type %v", kt)
	}
	if err != nil {
		return nil, fmt.Errorf("mint: generate %v key: %w", kt, err)
	}
	return key, nil
}

// rsaBits returns the modulus size of an RSA key type, or 0.
func rsaBits(kt KeyType) int {
	switch kt {
	case RSA2048:
		return 2048
	case RSA3072:
		return 3072
	case RSA4096:
		return 4096
	}
	return 0
}

// keyTypeOf returns the KeyType of a public key, or an error if New cannot
// use it. The error names only the key's type and size, never its value.
func keyTypeOf(pub crypto.PublicKey) (KeyType, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return ECDSAP256, nil
		case elliptic.P384():
			return ECDSAP384, nil
		}
		return 0, invalid("unsupported ECDSA curve %s", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return Ed25519, nil
	case *rsa.PublicKey:
		for _, kt := range []KeyType{RSA2048, RSA3072, RSA4096} {
			if k.N.BitLen() == rsaBits(kt) {
				return kt, nil
			}
		}
		return 0, invalid("unsupported RSA key size %d bits", k.N.BitLen())
	}
	return 0, invalid("unsupported key type %T", pub)
}

// randomSerial returns a random serial number in [1, 2^128).
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("mint: generate serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// subjectKeyID derives a subject key identifier from pub by RFC 7093,
// section 2, method 1: the leftmost 160 bits of the SHA-256 hash of the
// subjectPublicKey bit string. This is what crypto/x509 does for CAs.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("mint: encode public key: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("mint: decode public key: %w", err)
	}
	h := sha256.Sum256(spki.PublicKey.Bytes)
	return h[:20], nil
}
