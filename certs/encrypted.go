package certs

import (
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"

	"github.com/youmark/pkcs8"
)

// Object identifiers of encrypted PKCS#8 (RFC 8018) that pkcs8 handles.
var (
	oidPBES2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidScrypt    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}
	oidHMACSHA1  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidPKCS12PBE = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1}
	oidPKCS5PBE  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5}
)

// cbcCiphers maps the CBC ciphers pkcs8 supports to their block size.
var cbcCiphers = map[string]int{
	"2.16.840.1.101.3.4.1.2":  16, // AES-128-CBC
	"2.16.840.1.101.3.4.1.22": 16, // AES-192-CBC
	"2.16.840.1.101.3.4.1.42": 16, // AES-256-CBC
	"1.2.840.113549.3.7":      8,  // DES-EDE3-CBC
}

// Shapes of encrypted PKCS#8, as pkcs8 decodes them.
type (
	encryptedKeyInfo struct {
		Algorithm pkix.AlgorithmIdentifier
		Data      []byte
	}
	pbes2Params struct {
		KDF pkix.AlgorithmIdentifier
		Enc pkix.AlgorithmIdentifier
	}
	pbkdf2Params struct {
		Salt      []byte
		Iter      int
		KeyLength int                      `asn1:"optional"`
		PRF       pkix.AlgorithmIdentifier `asn1:"optional"`
	}
	scryptParams struct {
		Salt    []byte
		N, R, P int
	}
)

// decryptPKCS8 decrypts an EncryptedPrivateKeyInfo with the password from
// opts. Every error is passed through wrap first.
func decryptPKCS8(der []byte, opts *Options, wrap func(error) error) (crypto.Signer, error) {
	if err := checkEncryptedPKCS8(der); err != nil {
		return nil, wrap(err)
	}
	pw, ok, err := opts.password()
	if err != nil {
		return nil, wrap(err)
	}
	if !ok || pw == "" {
		return nil, wrap(ErrPasswordRequired)
	}
	key, _, err := pkcs8.ParsePrivateKey(der, []byte(pw))
	if err != nil {
		// checkEncryptedPKCS8 ruled out every structural failure: what
		// is left is the decrypted bytes not being a key.
		return nil, wrap(ErrWrongPassword)
	}
	signer, err := toSigner(key)
	if err != nil {
		return nil, wrap(err)
	}
	return signer, nil
}

// checkEncryptedPKCS8 verifies everything pkcs8.ParsePrivateKey relies on
// before decrypting (it would panic on a bad IV or ciphertext length), and
// bounds the cost of key derivation.
func checkEncryptedPKCS8(der []byte) error {
	var info encryptedKeyInfo
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return fmt.Errorf("%w: %v", ErrTruncated, err)
	}
	alg := info.Algorithm.Algorithm
	if !alg.Equal(oidPBES2) {
		if hasPrefix(alg, oidPKCS12PBE) || hasPrefix(alg, oidPKCS5PBE) {
			return fmt.Errorf("certs: it is encrypted with the legacy scheme %v; only PBES2 is supported; "+
				"re-encrypt it: openssl pkcs8 -topk8 -v2 aes-256-cbc -in FILE -out NEW", alg)
		}
		return fmt.Errorf("certs: unknown encryption scheme %v", alg)
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil {
		return fmt.Errorf("%w: PBES2 parameters: %v", ErrTruncated, err)
	}
	if err := checkKDF(params.KDF); err != nil {
		return err
	}
	size, ok := cbcCiphers[params.Enc.Algorithm.String()]
	if !ok {
		return fmt.Errorf("certs: unsupported cipher %v; use AES-CBC or DES-EDE3-CBC", params.Enc.Algorithm)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.Enc.Parameters.FullBytes, &iv); err != nil || len(iv) != size {
		return fmt.Errorf("%w: the cipher's IV is not %d bytes", ErrTruncated, size)
	}
	if len(info.Data) == 0 || len(info.Data)%size != 0 {
		return fmt.Errorf("%w: the encrypted key is %d bytes, not a multiple of %d", ErrTruncated, len(info.Data), size)
	}
	return nil
}

// checkKDF verifies the key derivation function and bounds its cost.
func checkKDF(kdf pkix.AlgorithmIdentifier) error {
	switch {
	case kdf.Algorithm.Equal(oidPBKDF2):
		var p pbkdf2Params
		if _, err := asn1.Unmarshal(kdf.Parameters.FullBytes, &p); err != nil {
			return fmt.Errorf("%w: PBKDF2 parameters: %v", ErrTruncated, err)
		}
		if p.KeyLength != 0 {
			return fmt.Errorf("certs: PBKDF2 with an explicit key length is not supported")
		}
		if prf := p.PRF.Algorithm; len(prf) > 0 && !prf.Equal(oidHMACSHA1) && !prf.Equal(oidHMACSHA2) {
			return fmt.Errorf("certs: unsupported PBKDF2 hash %v; use HMAC-SHA256", prf)
		}
		if p.Iter < 1 || p.Iter > maxKDFIterations {
			return fmt.Errorf("certs: PBKDF2 iteration count %d is outside 1..%d", p.Iter, maxKDFIterations)
		}
	case kdf.Algorithm.Equal(oidScrypt):
		var p scryptParams
		if _, err := asn1.Unmarshal(kdf.Parameters.FullBytes, &p); err != nil {
			return fmt.Errorf("%w: scrypt parameters: %v", ErrTruncated, err)
		}
		// At most 256 MiB of memory (128·r·N) and modest parallelism.
		if p.N < 2 || p.N&(p.N-1) != 0 || p.N > 1<<20 || p.R < 1 || p.R > 32 || p.P < 1 || p.P > 16 ||
			128*p.R*p.N > 256<<20 {
			return fmt.Errorf("certs: scrypt parameters N=%d r=%d p=%d are outside the supported range", p.N, p.R, p.P)
		}
	default:
		return fmt.Errorf("certs: unsupported key derivation %v; use PBKDF2 or scrypt", kdf.Algorithm)
	}
	return nil
}

// hasPrefix reports whether oid starts with prefix.
func hasPrefix(oid, prefix asn1.ObjectIdentifier) bool {
	return len(oid) >= len(prefix) && oid[:len(prefix)].Equal(prefix)
}
