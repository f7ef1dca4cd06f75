package mint

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"time"
)

// invalid returns an error wrapping ErrInvalidTemplate.
func invalid(format string, args ...any) error {
	return fmt.Errorf("mint: %w: "+format, append([]any{ErrInvalidTemplate}, args...)...)
}

// Validate reports the first problem New would refuse t for, judged now:
// an error wrapping ErrInvalidTemplate, or nil. It makes no key, so a
// caller can check a template (the names a user typed, say) before doing
// anything else.
func (t Template) Validate() error { return t.check(time.Now()) }

// check reports the first problem with t, judged at time now.
func (t *Template) check(now time.Time) error {
	if err := t.checkKey(); err != nil {
		return err
	}
	if err := t.checkShape(); err != nil {
		return err
	}
	for _, n := range t.Names {
		if net.ParseIP(n) == nil {
			if err := checkDNSName(n, true); err != nil {
				return err
			}
		}
	}
	if err := t.checkConstraints(); err != nil {
		return err
	}
	if t.SerialNumber != nil && (t.SerialNumber.Sign() <= 0 || len(t.SerialNumber.Bytes()) > 20) {
		return invalid("serial number must be positive and at most 20 octets")
	}
	if t.OmitKeyUsage && t.KeyUsage != 0 {
		return invalid("OmitKeyUsage set together with a KeyUsage")
	}
	if t.Client && t.ExtKeyUsage != nil && !slices.Contains(t.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		return invalid("Client set but ExtKeyUsage lacks ClientAuth")
	}
	_, _, err := t.validity(now)
	return err
}

func (t *Template) checkKey() error {
	if t.KeyType < ECDSAP256 || t.KeyType > RSA4096 {
		return invalid("unknown key type %v", t.KeyType)
	}
	if t.Key == nil {
		return nil
	}
	kt, err := keyTypeOf(t.Key.Public())
	if err != nil {
		return err
	}
	if t.KeyType != ECDSAP256 && kt != t.KeyType {
		return invalid("KeyType %v does not match the given %v key", t.KeyType, kt)
	}
	return nil
}

// checkShape checks what depends on whether t is a CA or a leaf.
func (t *Template) checkShape() error {
	if t.MaxPathLen < -1 {
		return invalid("MaxPathLen %d is below -1", t.MaxPathLen)
	}
	if t.IsCA {
		if t.CommonName == "" {
			return invalid("a CA needs a CommonName")
		}
		if t.OmitSAN || t.Client {
			return invalid("OmitSAN and Client are for leaf certificates")
		}
		return nil
	}
	if t.CommonName == "" && len(t.Names) == 0 {
		return invalid("a leaf needs at least one name or a CommonName")
	}
	if t.MaxPathLen > 0 {
		return invalid("MaxPathLen is only for CAs")
	}
	if t.OmitSAN && len(t.Names) > 1 {
		return invalid("OmitSAN takes at most one name, got %d", len(t.Names))
	}
	if t.OmitSAN && len(t.Names) == 1 && t.CommonName != "" && t.CommonName != t.Names[0] {
		return invalid("OmitSAN with name %q and a different CommonName %q", t.Names[0], t.CommonName)
	}
	return nil
}

func (t *Template) checkConstraints() error {
	hasConstraints := len(t.PermittedDNSDomains)+len(t.ExcludedDNSDomains)+
		len(t.PermittedIPRanges)+len(t.ExcludedIPRanges) > 0
	if hasConstraints && !t.IsCA {
		return invalid("name constraints are only for CAs")
	}
	for _, d := range slices.Concat(t.PermittedDNSDomains, t.ExcludedDNSDomains) {
		if err := checkDNSName(strings.TrimPrefix(d, "."), false); err != nil {
			return err
		}
	}
	for _, r := range slices.Concat(t.PermittedIPRanges, t.ExcludedIPRanges) {
		if r == nil || (len(r.IP) != net.IPv4len && len(r.IP) != net.IPv6len) || len(r.IP) != len(r.Mask) {
			return invalid("malformed IP range %v in name constraints", r)
		}
	}
	return nil
}

// checkDNSName reports whether n is a DNS name that fits a certificate: ASCII
// letters, digits, '-' and '_', labels of 1 to 63 characters, no trailing dot,
// and, if wildcardOK, "*" as the whole first label of a longer name.
func checkDNSName(n string, wildcardOK bool) error {
	if n == "" || len(n) > 253 {
		return invalid("DNS name %q is empty or longer than 253 characters", n)
	}
	labels := strings.Split(n, ".")
	for i, l := range labels {
		if l == "*" && i == 0 && wildcardOK && len(labels) > 1 {
			continue
		}
		if l == "" || len(l) > 63 {
			return invalid("DNS name %q has an empty or overlong label", n)
		}
		for _, c := range []byte(l) {
			if !isNameByte(c) {
				return invalid("DNS name %q contains %q (use punycode for international names)", n, rune(c))
			}
		}
	}
	return nil
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// validity returns the effective validity period of t at time now.
func (t *Template) validity(now time.Time) (notBefore, notAfter time.Time, err error) {
	notBefore, notAfter = t.NotBefore, t.NotAfter
	if notBefore.IsZero() {
		notBefore = now.Add(-Backdate)
	}
	if notAfter.IsZero() {
		base := now
		if notBefore.After(now) {
			base = notBefore
		}
		notAfter = base.Add(LeafValidity)
		if t.IsCA {
			notAfter = base.AddDate(CAYears, 0, 0)
		}
	}
	if !notAfter.After(notBefore) {
		return notBefore, notAfter, invalid("NotAfter %s is not after NotBefore %s",
			notAfter.UTC().Format(time.RFC3339), notBefore.UTC().Format(time.RFC3339))
	}
	return notBefore, notAfter, nil
}

// x509Template turns a checked t into the template for x509.CreateCertificate.
func (t *Template) x509Template(pub crypto.PublicKey, now time.Time) (*x509.Certificate, error) {
	notBefore, notAfter, err := t.validity(now)
	if err != nil {
		return nil, err
	}
	serial := t.SerialNumber
	if serial == nil {
		if serial, err = randomSerial(); err != nil {
			return nil, err
		}
	}
	ski := t.SubjectKeyId
	if ski == nil {
		if ski, err = subjectKeyID(pub); err != nil {
			return nil, err
		}
	}
	c := &x509.Certificate{
		SerialNumber:          new(big.Int).Set(serial),
		Subject:               t.subject(),
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		IsCA:                  t.IsCA,
		KeyUsage:              t.keyUsage(pub),
		ExtKeyUsage:           t.extKeyUsage(),
		SubjectKeyId:          ski,
		IssuingCertificateURL: slices.Clone(t.IssuingCertificateURL),
	}
	if t.IsCA {
		c.MaxPathLen = t.MaxPathLen
		c.MaxPathLenZero = t.MaxPathLen == 0
		t.setConstraints(c)
	}
	if !t.OmitSAN {
		for _, n := range t.Names {
			if ip := net.ParseIP(n); ip != nil {
				c.IPAddresses = append(c.IPAddresses, ip)
			} else {
				c.DNSNames = append(c.DNSNames, n)
			}
		}
	}
	return c, nil
}

func (t *Template) subject() pkix.Name {
	var s pkix.Name
	s.CommonName = t.CommonName
	if s.CommonName == "" && len(t.Names) > 0 {
		s.CommonName = t.Names[0]
	}
	if t.Organization != "" {
		s.Organization = []string{t.Organization}
	}
	return s
}

func (t *Template) keyUsage(pub crypto.PublicKey) x509.KeyUsage {
	switch {
	case t.KeyUsage != 0 || t.OmitKeyUsage:
		return t.KeyUsage
	case t.IsCA:
		return x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	}
	if _, ok := pub.(*rsa.PublicKey); ok {
		return x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	}
	return x509.KeyUsageDigitalSignature
}

func (t *Template) extKeyUsage() []x509.ExtKeyUsage {
	switch {
	case t.ExtKeyUsage != nil:
		return slices.Clone(t.ExtKeyUsage)
	case t.IsCA:
		return nil
	case t.Client:
		return []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	return []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
}

func (t *Template) setConstraints(c *x509.Certificate) {
	c.PermittedDNSDomains = slices.Clone(t.PermittedDNSDomains)
	c.ExcludedDNSDomains = slices.Clone(t.ExcludedDNSDomains)
	c.PermittedIPRanges = slices.Clone(t.PermittedIPRanges)
	c.ExcludedIPRanges = slices.Clone(t.ExcludedIPRanges)
	c.PermittedDNSDomainsCritical = len(c.PermittedDNSDomains)+len(c.ExcludedDNSDomains)+
		len(c.PermittedIPRanges)+len(c.ExcludedIPRanges) > 0
}
