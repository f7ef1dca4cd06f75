package httptrust

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"

	"github.com/httptrust/httptrust/certs"
)

// Go reports a chain whose signature it cannot verify (an algorithm it
// does not verify: DSA, RSA-PSS with another salt; or a signature that
// does not match) as an unknown authority. These find, on the path up from
// the leaf, the first certificate whose issuer is there by name but does
// not verify its signature, so that the refusal says so instead of "not
// sent".

// maxSignatureChecks bounds the signatures unverifiedSignature checks:
// a server may send any number of certificates.
const maxSignatureChecks = 16

// unverifiedSignature follows the path up from the leaf through the
// certificates the server sent and the rule's anchors (an issuer by
// subject, and key identifier where both have one), and returns the first
// certificate no candidate issuer verifies although one has its issuer's
// name: the first such candidate, whether it is one of the rule's anchors,
// and the error. Nothing is returned when the path ends otherwise (at a
// self-signed certificate, or at an issuer no one has), or after
// maxSignatureChecks signatures.
func (v *verifier) unverifiedSignature(presented []*x509.Certificate) (c, issuer *x509.Certificate, anchor bool, err error) {
	anchors := v.p.material(v.eff).anchors
	cands := append(append([]*x509.Certificate{}, anchors...), presented...)
	checks := 0
	for c, depth := presented[0], 0; depth < len(presented) && !certs.IsSelfSigned(c); depth++ {
		var failed, next *x509.Certificate
		var failedErr error
		var failedAnchor bool
		for i, cand := range cands {
			if cand.Equal(c) || !bytes.Equal(cand.RawSubject, c.RawIssuer) ||
				len(c.AuthorityKeyId) > 0 && len(cand.SubjectKeyId) > 0 && !bytes.Equal(c.AuthorityKeyId, cand.SubjectKeyId) {
				continue
			}
			if checks++; checks > maxSignatureChecks {
				return nil, nil, false, nil
			}
			err := cand.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature)
			if err == nil {
				next = cand // this issuer verifies it: go up
				break
			}
			if failed == nil {
				failed, failedAnchor, failedErr = cand, i < len(anchors), err
			}
		}
		switch {
		case next != nil:
			c = next
		case failed != nil:
			return c, failed, failedAnchor, failedErr
		default:
			return nil, nil, false, nil
		}
	}
	return nil, nil, false, nil
}

// signatureProblem says why c's signature did not verify with the key of
// issuer: a key Go cannot use, an algorithm it does not verify, or a
// signature that does not match the key.
func signatureProblem(c, issuer *x509.Certificate, err error) string {
	if issuer.PublicKeyAlgorithm == x509.UnknownPublicKeyAlgorithm {
		return "that certificate's key is of a kind Go cannot use (it uses RSA, ECDSA on P-224/256/384/521 and Ed25519 keys), so nothing it signs verifies"
	}
	var ins x509.InsecureAlgorithmError
	if errors.Is(err, x509.ErrUnsupportedAlgorithm) || errors.As(err, &ins) {
		return "Go does not verify that signature algorithm (" + signatureName(c) + "): it verifies RSA PKCS#1 signatures with SHA-2, RSA-PSS with SHA-256/384/512 and a salt as long as the hash, ECDSA and Ed25519, and no DSA"
	}
	return "the signature (" + signatureName(c) + ") does not verify with that certificate's key: it did not sign it"
}

// signatureName names c's signature algorithm, by its OID where Go does
// not know it (RSA-PSS with parameters Go does not verify among them).
func signatureName(c *x509.Certificate) string {
	if c.SignatureAlgorithm != x509.UnknownSignatureAlgorithm {
		return c.SignatureAlgorithm.String()
	}
	var outer struct {
		TBS asn1.RawValue
		Alg pkix.AlgorithmIdentifier
	}
	if _, err := asn1.Unmarshal(c.Raw, &outer); err != nil {
		return "an algorithm Go does not know"
	}
	if outer.Alg.Algorithm.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}) {
		return "RSA-PSS with parameters Go does not verify"
	}
	return "the algorithm " + outer.Alg.Algorithm.String() + ", which Go does not know"
}
