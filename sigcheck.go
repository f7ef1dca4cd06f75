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
// does not match) as an unknown authority. These find the certificate and
// its issuer, so that the refusal says so instead of "not sent".

// unverifiedSignature returns the first certificate the server sent
// (leaf first) whose issuer is there, among what it sent or the rule's
// anchors (by subject, and key identifier where both have one), and whose
// signature Go cannot verify with that issuer's key: an algorithm Go does
// not verify, or a signature that does not match. anchor says the issuer
// is one of the rule's anchors.
func (v *verifier) unverifiedSignature(presented []*x509.Certificate) (c, issuer *x509.Certificate, anchor bool, err error) {
	anchors := v.p.material(v.eff).anchors
	cands := append(append([]*x509.Certificate{}, anchors...), presented...)
	for _, c := range presented {
		if certs.IsSelfSigned(c) {
			continue
		}
		var failed *x509.Certificate
		var failedErr error
		var failedAnchor, verified bool
		for i, cand := range cands {
			if cand.Equal(c) || !bytes.Equal(cand.RawSubject, c.RawIssuer) ||
				len(c.AuthorityKeyId) > 0 && len(cand.SubjectKeyId) > 0 && !bytes.Equal(c.AuthorityKeyId, cand.SubjectKeyId) {
				continue
			}
			err := cand.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature)
			if err == nil {
				verified = true // this issuer verifies it: the chain fails elsewhere
				break
			}
			if failed == nil {
				failed, failedAnchor, failedErr = cand, i < len(anchors), err
			}
		}
		if failed != nil && !verified {
			return c, failed, failedAnchor, failedErr
		}
	}
	return nil, nil, false, nil
}

// signatureProblem says why a signature did not verify: an algorithm Go
// does not verify, or a signature that does not match the key.
func signatureProblem(c *x509.Certificate, err error) string {
	var ins x509.InsecureAlgorithmError
	if errors.Is(err, x509.ErrUnsupportedAlgorithm) || errors.As(err, &ins) {
		return "Go does not verify its signature algorithm (" + signatureName(c) + "): it verifies RSA PKCS#1 signatures with SHA-2, RSA-PSS with SHA-256/384/512 and a salt as long as the hash, ECDSA and Ed25519, and no DSA"
	}
	return "its signature (" + signatureName(c) + ") does not verify with that certificate's key"
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
