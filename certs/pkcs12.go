package certs

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	"software.sslmate.com/src/go-pkcs12"
)

// maxKDFIterations bounds the iteration count of a password-based key
// derivation, so that a hostile file cannot make parsing run for hours.
// Tools write between 1 and a few hundred thousand; 2 million costs about
// two seconds.
const maxKDFIterations = 2_000_000

// ParsePKCS12 decodes a PKCS#12 (.p12, .pfx) file with password (use "" for
// a file without one). It returns the private key, the certificate that
// goes with it and the rest of the chain. A file that holds only
// certificates (a Java-style trust store) returns a nil key and leaf, and
// all its certificates in chain.
//
// A wrong password fails with ErrWrongPassword. Only DER-encoded files are
// supported; a BER-encoded one fails with a message saying how to convert
// it.
func ParsePKCS12(name string, data []byte, password string) (key crypto.Signer, leaf *x509.Certificate, chain []*x509.Certificate, err error) {
	if len(data) > MaxFileSize {
		return nil, nil, nil, tooLarge(name, int64(len(data)))
	}
	if k := classify(data); k != kindPKCS12 {
		if k == kindUnknown {
			return nil, nil, nil, unknownFormat(name, data)
		}
		return nil, nil, nil, fileErr(name, k.phrase(), errors.New("certs: not a PKCS#12 file"))
	}
	if err := checkPKCS12(name, data); err != nil {
		return nil, nil, nil, err
	}
	priv, leaf, chain, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		certs, terr := pkcs12.DecodeTrustStore(data, password)
		if terr == nil && len(certs) > 0 {
			return nil, nil, certs, nil
		}
		if fe := pkcs12Error(name, err); fe.Err == ErrWrongPassword || terr == nil {
			return nil, nil, nil, fe
		}
		// Neither a key with its certificates nor a trust store: say both.
		return nil, nil, nil, fileErr(name, "PKCS#12", fmt.Errorf("%w; read as a trust store: %v", err, terr))
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, nil, nil, fileErr(name, "PKCS#12", fmt.Errorf("certs: its private key (%T) cannot sign", priv))
	}
	return signer, leaf, chain, nil
}

// checkPKCS12 refuses what go-pkcs12 would choke on or take too long over:
// structural damage, BER encoding, absurd iteration counts.
func checkPKCS12(name string, data []byte) error {
	s, derr := checkStructure(data, 0, true)
	if derr != nil {
		return structErr(name, "a PKCS#12 file", derr)
	}
	if s.ber {
		return fileErr(name, "a BER-encoded PKCS#12 file", errors.New(
			"only DER is supported; re-encode it with: openssl pkcs12 -in FILE -nodes -out tmp.pem && "+
				"openssl pkcs12 -export -in tmp.pem -out FILE.der.p12 (then delete tmp.pem)"))
	}
	if n := maxIterations(data, 0); n > maxKDFIterations {
		return fileErr(name, "PKCS#12", fmt.Errorf(
			"certs: its key derivation asks for %d iterations, more than the %d allowed", n, maxKDFIterations))
	}
	return nil
}

// pkcs12Error maps go-pkcs12's errors to this package's.
func pkcs12Error(name string, err error) *FileError {
	if errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption) {
		return fileErr(name, "PKCS#12", ErrWrongPassword)
	}
	return fileErr(name, "PKCS#12", err)
}

// decodePKCS12 is ParsePKCS12 with the password taken from opts. It tries
// the empty password first, so that a file without one asks for none, and
// fails with ErrPasswordRequired when it is wrong and opts has no password.
func decodePKCS12(name string, data []byte, opts *Options) (crypto.Signer, *x509.Certificate, []*x509.Certificate, error) {
	key, leaf, chain, err := ParsePKCS12(name, data, "")
	if !errors.Is(err, ErrWrongPassword) {
		return key, leaf, chain, err
	}
	pw, ok, perr := opts.password()
	if perr != nil {
		return nil, nil, nil, fileErr(name, "PKCS#12", perr)
	}
	if !ok {
		return nil, nil, nil, fileErr(name, "PKCS#12", ErrPasswordRequired)
	}
	return ParsePKCS12(name, data, pw)
}

// maxIterations returns the largest iteration count found in data: the
// INTEGER that follows an OCTET STRING (the salt) in a SEQUENCE, which is
// the shape of PKCS#12 MacData, PBES1 parameters and PBKDF2 parameters. It
// also looks inside OCTET STRINGs that hold DER. Counts too large for an
// int64 count as the maximum.
func maxIterations(data []byte, depth int) int64 {
	if depth > maxDepth {
		return 0
	}
	var best int64
	rest := data
	var prev byte
	for len(rest) > 0 {
		el, r, err := readElement(rest, 0, false, 0)
		if err != nil || el.short {
			return best
		}
		var n int64
		switch {
		case el.id == tagInteger && prev == tagOctetString:
			n = iterationCount(el)
		case el.constructed():
			n = maxIterations(el.body, depth+1)
		case el.id == tagOctetString && holdsOneElement(el.body):
			n = maxIterations(el.body, depth+1)
		}
		best = max(best, n)
		prev = el.id
		rest = r
	}
	return best
}

// iterationCount reads an INTEGER as an iteration count; one too large for
// an int64 comes back as the largest int64.
func iterationCount(el element) int64 {
	if v, ok := intValue(el); ok {
		return v
	}
	if len(el.body) > 0 && el.body[0]&0x80 == 0 {
		return 1<<63 - 1
	}
	return 0
}

// holdsOneElement reports whether b is exactly one complete SEQUENCE.
func holdsOneElement(b []byte) bool {
	if len(b) == 0 || b[0] != tagSequence {
		return false
	}
	el, rest, err := readElement(b, 0, false, 0)
	return err == nil && !el.short && len(rest) == 0
}
