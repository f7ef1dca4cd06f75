// Package mint makes certificate authorities and certificates: for tests, for
// the httptrust demo, and for development servers (the case mkcert serves).
//
// A [Template] describes one certificate; [New] turns it into a [Cert], signed
// by a parent or by itself. The zero values are the safe, common choices: an
// ECDSA P-256 key, a random serial, validity from an hour ago to 825 days
// ahead for a leaf (ten years for a CA), server authentication for a leaf and
// certificate signing for a CA.
//
//	root, err := mint.New(mint.Template{CommonName: "Dev Root", IsCA: true, MaxPathLen: -1}, nil)
//	leaf, err := mint.New(mint.Template{Names: []string{"localhost", "127.0.0.1"}}, root)
//	certPath, keyPath, err := leaf.WriteFiles(dir, "localhost")
//
// # Files
//
// [Cert.WritePEM] and [Cert.WriteFiles] write a certificate (mode 0644) and
// its key (0600) and [Cert.WritePKCS12] a .p12 (0600), replacing what is
// there; [WriteKey] writes a lone key of [NewKey] (a backup key to pin) to a
// new file, never over an existing one. Every write is atomic, through
// internal/atomicfile, and refuses to follow a symbolic link.
//
// # A CA folder
//
// [OpenCA] keeps one CA in a folder, as mkcert keeps its CA in $CAROOT:
// made on first use (the folder 0700, the key 0600), then reused. [LoadCA]
// reads such a folder, or one of mkcert's.
//
// Nothing in this package prints or formats a private key: errors name files
// and fields, and a Cert formats as its subject.
package mint

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// KeyType selects the kind of key New generates. The zero value is ECDSAP256.
type KeyType int

// The key types New can generate.
const (
	ECDSAP256 KeyType = iota // ECDSA on NIST P-256 (the default: fast and widely accepted)
	ECDSAP384                // ECDSA on NIST P-384
	Ed25519                  // Ed25519 (not accepted by most browsers)
	RSA2048                  // RSA, 2048-bit modulus
	RSA3072                  // RSA, 3072-bit modulus
	RSA4096                  // RSA, 4096-bit modulus
)

// String returns the key type's name, such as "ECDSA-P256" or "RSA-2048".
func (k KeyType) String() string {
	switch k {
	case ECDSAP256:
		return "ECDSA-P256"
	case ECDSAP384:
		return "ECDSA-P384"
	case Ed25519:
		return "Ed25519"
	case RSA2048:
		return "RSA-2048"
	case RSA3072:
		return "RSA-3072"
	case RSA4096:
		return "RSA-4096"
	}
	return fmt.Sprintf("KeyType(%d)", int(k))
}

// Default validity periods, used when Template.NotAfter is zero.
const (
	LeafValidity = 825 * 24 * time.Hour // the longest validity Apple platforms accept for a server certificate
	CAYears      = 10                   // a CA is valid for ten years
	Backdate     = time.Hour            // a zero NotBefore is now minus Backdate, to tolerate clock skew
)

// ErrInvalidTemplate is wrapped by every error New returns for a template it
// refuses; match it with errors.Is.
var ErrInvalidTemplate = errors.New("invalid template")

// Template describes a certificate for New. The zero value, given at least one
// name, is a server certificate for those names with an ECDSA P-256 key.
type Template struct {
	// CommonName is the subject's common name. A CA must have one. For a leaf
	// it defaults to the first of Names.
	CommonName string
	// Names are DNS names and IP address literals. IP literals go into the
	// IPAddresses of the subjectAltName, everything else into its DNSNames.
	// A DNS name may be a wildcard, "*.example.test". Names must be ASCII
	// (punycode for international names).
	Names []string
	// IsCA makes a certificate authority (basicConstraints CA:TRUE).
	IsCA bool
	// MaxPathLen is the CA's path length constraint: -1 means none, 0 means
	// the CA may issue only leaves (MaxPathLenZero), n > 0 at most n
	// intermediates below it. Note that the zero value means 0. A leaf must
	// leave it at 0 or -1.
	MaxPathLen int
	// NotBefore is the start of the validity period; zero means now minus
	// Backdate.
	NotBefore time.Time
	// NotAfter is the end of the validity period; zero means the later of now
	// and NotBefore, plus LeafValidity for a leaf or CAYears for a CA.
	NotAfter time.Time
	// KeyType is the kind of key to generate; the zero value is ECDSAP256.
	KeyType KeyType
	// Key, if set, is used instead of generating a key. Its public key must
	// be ECDSA, Ed25519 or RSA; KeyType must then be the zero value or match it.
	Key crypto.Signer
	// ExtKeyUsage lists the extended key usages. Nil means ServerAuth for a
	// leaf (plus ClientAuth if Client is set) and none for a CA.
	ExtKeyUsage []x509.ExtKeyUsage
	// KeyUsage is the key usage. Zero means CertSign|CRLSign|DigitalSignature
	// for a CA, DigitalSignature for a leaf (plus KeyEncipherment for RSA).
	KeyUsage x509.KeyUsage
	// OmitKeyUsage writes no keyUsage extension at all, as `openssl req -x509`
	// does. KeyUsage must then be zero.
	OmitKeyUsage bool
	// Client makes a client certificate: ClientAuth joins the default
	// extended key usages, and an explicit ExtKeyUsage must include it.
	Client bool
	// PermittedDNSDomains and ExcludedDNSDomains are a CA's name constraints
	// ("example.test" covers it and every name below; ".example.test" only
	// names below). The extension is marked critical.
	PermittedDNSDomains, ExcludedDNSDomains []string
	// PermittedIPRanges and ExcludedIPRanges are a CA's IP name constraints.
	PermittedIPRanges, ExcludedIPRanges []*net.IPNet
	// Organization is the subject's organization, if not empty.
	Organization string
	// SerialNumber is the serial number; it must be positive and at most
	// 20 octets. Nil means a random positive 128-bit number.
	SerialNumber *big.Int
	// OmitSAN writes no subjectAltName: the only name goes into the common
	// name (a legacy CN-only certificate, which Go refuses for name checks).
	// At most one name is allowed, and it must equal CommonName if both are set.
	OmitSAN bool
	// IssuingCertificateURL lists the Authority Information Access caIssuers
	// URLs, where a client may fetch the issuer's certificate.
	IssuingCertificateURL []string
	// SubjectKeyId is the subject key identifier. Nil means one derived from
	// the public key (RFC 7093, method 1).
	SubjectKeyId []byte
}

// Cert is a certificate with its private key.
type Cert struct {
	Cert *x509.Certificate // the parsed certificate
	Key  crypto.Signer     // its private key
	DER  []byte            // the certificate's DER encoding
}

// New makes a certificate from t, signed by parent, or self-signed if parent
// is nil. The parent must be a CA and hold its key. Errors for a template New
// refuses wrap ErrInvalidTemplate.
func New(t Template, parent *Cert) (*Cert, error) {
	now := time.Now()
	if err := t.check(now); err != nil {
		return nil, err
	}
	if err := checkParent(parent); err != nil {
		return nil, err
	}
	key := t.Key
	if key == nil {
		var err error
		if key, err = generateKey(t.KeyType); err != nil {
			return nil, err
		}
	}
	tmpl, err := t.x509Template(key.Public(), now)
	if err != nil {
		return nil, err
	}
	issuer, signer := tmpl, key
	if parent != nil {
		issuer, signer = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("mint: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("mint: parse created certificate: %w", err)
	}
	return &Cert{Cert: cert, Key: key, DER: der}, nil
}

func checkParent(parent *Cert) error {
	switch {
	case parent == nil:
		return nil
	case parent.Cert == nil:
		return errors.New("mint: parent has no certificate")
	case parent.Key == nil:
		return errors.New("mint: parent has no private key")
	case !parent.Cert.IsCA:
		return fmt.Errorf("mint: parent %q is not a CA", parent.Cert.Subject.CommonName)
	}
	return nil
}

// String describes the certificate by its subject and validity; it never
// includes the key.
func (c Cert) String() string {
	if c.Cert == nil {
		return "mint.Cert(empty)"
	}
	return fmt.Sprintf("mint.Cert(%s, valid %s to %s)", c.Cert.Subject,
		c.Cert.NotBefore.UTC().Format(time.RFC3339), c.Cert.NotAfter.UTC().Format(time.RFC3339))
}

// GoString is String, so that %#v does not print the key either.
func (c Cert) GoString() string { return c.String() }
