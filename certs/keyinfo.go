package certs

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
)

// KeyInfo describes a PublicKey for people and programs alike, as Info
// describes a certificate. It holds no key material but the public key's
// pin.
//
// A certificate request's subject and names are its author's own: escape
// them before printing them to a terminal.
type KeyInfo struct {
	Kind      string `json:"kind"`     // "private key", "public key" or "certificate request"
	Encoding  string `json:"encoding"` // "PKCS#8", "PKCS#1", "SEC1", "PKCS#12", "SubjectPublicKeyInfo", "PKCS#10"
	Encrypted bool   `json:"encrypted,omitempty"`
	// Block and Line locate its PEM block (1-based); 0 outside PEM.
	Block int    `json:"block,omitempty"`
	Line  int    `json:"line,omitempty"`
	Key   string `json:"key"` // "ECDSA P-256", "RSA 2048", "Ed25519"
	Pin   string `json:"pin"`
	// Subject, Names (DNS and IP, at most MaxNamesShown) and
	// SignatureAlgorithm are a certificate request's.
	Subject            string   `json:"subject,omitempty"`
	Names              []string `json:"names,omitempty"`
	SignatureAlgorithm string   `json:"signature_algorithm,omitempty"`
	// Matches lists the certificates given to InspectKey that are for
	// this key, by their index.
	Matches []int `json:"matches_certificates,omitempty"`
	// Warnings: a weak key, a request whose signature does not verify, a
	// private key that matches none of the certificates beside it.
	Warnings []string `json:"warnings,omitempty"`
}

// InspectKey describes k; certs are the certificates of the same file,
// which k is matched against ("the key of certificate 0").
func InspectKey(k PublicKey, certs []*x509.Certificate) KeyInfo {
	v := KeyInfo{Kind: k.Source.String(), Encoding: k.Encoding, Encrypted: k.Encrypted,
		Block: k.Block, Line: k.Line, Key: KeyDescription(k.Key), Pin: k.Pin().String()}
	for i, c := range certs {
		if k.Matches(c) {
			v.Matches = append(v.Matches, i)
		}
	}
	if r, ok := k.Key.(*rsa.PublicKey); ok && r.N.BitLen() < 2048 {
		v.Warnings = append(v.Warnings, fmt.Sprintf("RSA key of %d bits; 2048 is the minimum", r.N.BitLen()))
	}
	if csr := k.Request; csr != nil {
		v.Subject, v.SignatureAlgorithm = csr.Subject.String(), csr.SignatureAlgorithm.String()
		v.Names = append(v.Names, csr.DNSNames...)
		for _, ip := range csr.IPAddresses {
			v.Names = append(v.Names, ip.String())
		}
		v.Names = clipList(v.Names)
		if err := csr.CheckSignature(); err != nil {
			v.Warnings = append(v.Warnings, "its signature does not verify: the request is damaged, or was not made with the key it names")
		}
	}
	if k.Source == FromPrivateKey && len(certs) > 0 && len(v.Matches) == 0 {
		v.Warnings = append(v.Warnings, "it is the key of none of the certificates beside it")
	}
	return v
}
