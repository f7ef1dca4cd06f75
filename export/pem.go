package export

import (
	"crypto/x509"
	"encoding/asn1"
	"strings"
	"time"
)

// bundleCerts returns what a CA-file bundle of sc holds: its anchors and
// its exact certificates (which a CA file can only hold as anchors). An
// exact certificate must say CA:FALSE there, or it would vouch for every
// certificate its key signs.
func (m *model) bundleCerts(sc *scope) []*x509.Certificate {
	if sc.noTrust {
		return nil
	}
	// curl, openssl and Java match a certificate without DNS names by its
	// subject's common name (an IP name does not stop that); httptrust
	// never does.
	if len(sc.anchors) > 0 {
		m.lossy(sc, "anchors", m.anchorsLossyText())
	}
	for _, c := range sc.exact {
		m.requireLeaf(sc, c)
		if len(c.DNSNames) == 0 && sc.namesHosts() && !sc.eff.AllowNameMismatch {
			m.refuse(sc, "certificates", "the exact certificate "+certName(c)+" has no DNS names, so "+m.o.Format+" would match a host name against its subject's common name, which httptrust never does: it would be accepted for "+sc.label+" where httptrust refuses it for the name; use a certificate with the host among its DNS names, or a code format (okhttp, python, dart)")
		} else if onlyDottedNames(c) && sc.namesHosts() && !sc.eff.AllowNameMismatch {
			m.refuse(sc, "certificates", "every DNS name of the exact certificate "+certName(c)+" ends in a dot (a trailing dot: "+c.DNSNames[0]+"), which Go never matches to a host, so httptrust refuses it for "+sc.label+"; the client that reads this file decides the name and may take it (curl does); use a certificate with the host among its DNS names as written without the dot, or a code format (okhttp, python, dart)")
		}
	}
	return sortCerts(append(append([]*x509.Certificate{}, sc.anchors...), sc.exact...))
}

// anchorsLossyText says what curl, pem and java accept under a rule's
// anchors that httptrust refuses: the platform verifies the chain and the
// name by its own rules.
func (m *model) anchorsLossyText() string {
	f := m.o.Format
	parts := []string{f + " also accepts a certificate that names the host only in its subject's common name (no DNS names, even with IP names), which httptrust refuses: a CA of the rule that issues one would be trusted for it here"}
	if f != "java" {
		parts = append(parts, "OpenSSL also accepts a certificate with a negative serial number, which httptrust refuses")
	}
	parts = append(parts, "under the rule's anchors it accepts a server key Go's TLS cannot use (Ed448, an RSASSA-PSS key, DSA) and an intermediate signed with an algorithm Go does not verify (DSA, RSA-PSS with other parameters than Go's: SHA-256/384/512 with a salt as long as the hash), which httptrust refuses")
	switch f {
	case "curl":
		parts = append(parts, "curl also takes a DNS name written with a trailing dot (td.test.) for the host td.test, which Go never matches")
	case "pem":
		parts = append(parts, "the client that reads the bundle checks the name (curl takes a DNS name written with a trailing dot, td.test., for td.test, which Go never matches) and chooses the cipher suites and groups (OpenSSL's defaults include static RSA key exchange, DHE, CBC with SHA-256 and the X448 and ffdhe groups, which Go's TLS does not offer: give s_client or curl -cipher/--ciphers and -groups/--curves yourself, as the curl format's flag files do)")
	case "java":
		parts = append(parts, "the JVM chooses the cipher suites and groups (the JDK's defaults include DHE, CBC with SHA-256 and the X448 and ffdhe groups, which Go's TLS does not offer; jdk.tls.disabledAlgorithms and jdk.tls.namedGroups set them for the whole process)")
	}
	return strings.Join(parts, "; ")
}

// onlyDottedNames reports whether every DNS name of c ends in a dot.
func onlyDottedNames(c *x509.Certificate) bool {
	for _, n := range c.DNSNames {
		if !strings.HasSuffix(n, ".") {
			return false
		}
	}
	return len(c.DNSNames) > 0
}

// namesHosts reports whether the scope decides host names (not only IP
// addresses), which a certificate's common name can match.
func (s *scope) namesHosts() bool { return s.kind != kIP && s.kind != kCIDR }

// requireLeaf refuses an exact certificate that is not marked CA:FALSE,
// where the format can only hold it as an anchor.
func (m *model) requireLeaf(sc *scope, c *x509.Certificate) {
	if c.BasicConstraintsValid && !c.IsCA {
		return
	}
	m.refuse(sc, "certificates", "the exact certificate "+certName(c)+" would be an anchor here, and it is not marked CA:FALSE: it would vouch for every certificate its key signs, not only itself; use a certificate with basicConstraints CA:FALSE, or a code format (okhttp, python, dart) that compares it byte for byte")
}

// staticSystem handles system_roots for formats whose file cannot hold the
// system roots (pem, java): it reports whether to write the scope at all.
func (m *model) staticSystem(sc *scope, what string) bool {
	if !sc.system {
		return true
	}
	if sc.noTrust || len(sc.anchors)+len(sc.exact) == 0 {
		// The system roots alone: the platform's own trust is that; no
		// file is needed.
		return false
	}
	m.lossy(sc, "system_roots", "system_roots = true: the system roots are not in the "+what+"; only the rule's own certificates would be trusted")
	return true
}

func genPEM(m *model) error {
	for _, sc := range m.scopes {
		if !m.staticSystem(sc, "bundle") {
			continue
		}
		sc := sc
		cs := m.bundleCerts(sc)
		m.file(fileBase(sc)+".pem", 0o644, func() []byte {
			head := m.comment("# ") + "#\n# A CA bundle for " + commentSafe(sc.label) + ": use it as the only CA file for these hosts\n" +
				"# (openssl s_client -CAfile, curl --cacert with --capath an empty folder, SSL_CERT_FILE).\n"
			if len(cs) == 0 {
				head += "# It holds no certificate: the rule trusts nothing here.\n"
			}
			return append([]byte(head), pemBundle(cs, true)...)
		})
	}
	return nil
}

// now is the export's current time (Options.Time).
func (m *model) now() time.Time {
	if m.o.Time != nil {
		return m.o.Time()
	}
	return time.Now()
}

// refuseExpiredAnchors refuses anchors that have expired or are not valid
// yet, where the platform (Java, Android) does not check an anchor's own
// validity: it would trust what they signed.
func (m *model) refuseExpiredAnchors(sc *scope) {
	now := m.now()
	for _, c := range sc.anchors {
		switch {
		case now.After(c.NotAfter):
			m.refuse(sc, "anchors", "the anchor "+certName(c)+" expired on "+c.NotAfter.UTC().Format(time.DateOnly)+", and "+m.o.Format+" does not check an anchor's own validity: it would still trust what the anchor signed; remove it from the rule")
		case now.Before(c.NotBefore):
			m.refuse(sc, "anchors", "the anchor "+certName(c)+" is not valid before "+c.NotBefore.UTC().Format(time.RFC3339)+", and "+m.o.Format+" does not check an anchor's own validity: it would trust what the anchor signs now, where httptrust refuses it until then; export when it is valid")
		}
	}
}

// firstExpiry says when the first of the anchors expires.
func firstExpiry(cs []*x509.Certificate) string {
	first := cs[0]
	for _, c := range cs {
		if c.NotAfter.Before(first.NotAfter) {
			first = c
		}
	}
	return "the first expires on " + first.NotAfter.UTC().Format(time.DateOnly)
}

// oidNameConstraints is the name constraints extension (RFC 5280, 4.2.1.10).
var oidNameConstraints = asn1.ObjectIdentifier{2, 5, 29, 30}

// hasNameConstraints reports whether c carries name constraints.
func hasNameConstraints(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidNameConstraints) {
			return true
		}
	}
	return false
}

// anchorLimits records what a platform that holds anchors in a trust store
// (Java, Android) cannot check: an anchor's name constraints (JSSE makes a
// trust anchor of the certificate alone and never applies them) are lossy.
func (m *model) anchorLimits(sc *scope) {
	for _, c := range sc.anchors {
		if hasNameConstraints(c) {
			m.lossy(sc, "anchors", "the anchor "+certName(c)+" has name constraints, which "+m.o.Format+" does not apply to an anchor: it would vouch for names outside them, which httptrust refuses")
		}
	}
}
