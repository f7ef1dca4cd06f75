package export

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"strings"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// TrustStorePassword is the password of the Java truststores: a truststore
// holds no secret, and Java needs a password to read a PKCS#12 file's
// certificates.
const TrustStorePassword = "changeit"

func genJava(m *model) error {
	var index []string
	exact := false
	for _, sc := range m.scopes {
		if !m.staticSystem(sc, "truststore") {
			continue
		}
		cs := m.bundleCerts(sc)
		exact = exact || len(sc.exact) > 0 && !sc.noTrust
		m.refuseExpiredAnchors(sc)
		m.anchorLimits(sc)
		if len(sc.anchors) > 0 {
			m.lossy(sc, "anchors", "Java decides these itself, where httptrust refuses: it keeps trusting what an anchor signed after the anchor expires (the export checks the anchors' validity on the day it runs: "+firstExpiry(sc.anchors)+"), it does not check the extended key usage of the intermediates a server sends, it accepts SHA-1 signatures under an anchor that is not one of the JDK's own, and it accepts negative serial numbers")
		}
		if len(sc.exact) > 0 && !sc.eff.AllowExpired {
			m.refuse(sc, "certificates", "Java accepts a truststore certificate after it has expired: the rule checks the validity of its exact certificates; set allow_expired = true if that is what you mean, or use anchors")
		}
		name := fileBase(sc) + ".p12"
		data, err := trustStore(cs)
		if err != nil {
			return fmt.Errorf("export: java: %s: %w", sc.label, err)
		}
		m.file(name, 0o644, func() []byte { return data })
		word := "certificates"
		if len(cs) == 1 {
			word = "certificate"
		}
		index = append(index, fmt.Sprintf("%s\tfor %s (%d %s)", name, commentSafe(sc.label), len(cs), word))
	}
	note := ""
	if exact {
		note = "# An exact certificate is held as an anchor (CA:FALSE): the JDK then refuses a certificate its key signed,\n" +
			"# unless the process runs with -Djdk.security.allowNonCaAnchor=true (for example from JAVA_TOOL_OPTIONS),\n" +
			"# which makes it accept one, where httptrust accepts the exact certificate alone: never set it with these truststores.\n"
	}
	m.file("index.txt", 0o644, func() []byte {
		return []byte(m.comment("# ") + "#\n# PKCS#12 truststores, one per set of hosts; password " + TrustStorePassword + ".\n" +
			"# Use one as the whole trust of a client for those hosts only:\n" +
			"#   KeyStore ks = KeyStore.getInstance(\"PKCS12\"); ks.load(in, \"" + TrustStorePassword + "\".toCharArray());\n" +
			"#   TrustManagerFactory.getInstance(\"PKIX\").init(ks)\n" +
			"# or -Djavax.net.ssl.trustStore=FILE -Djavax.net.ssl.trustStorePassword=" + TrustStorePassword + " for a process that talks to them alone.\n" +
			"# A truststore is the trust of its hosts alone: turn redirects off,\n" +
			"#   HttpsURLConnection c = ...; c.setInstanceFollowRedirects(false);\n" +
			"# because HttpsURLConnection follows a redirect to another https host by default, still with this truststore,\n" +
			"# which that host's own rule may not trust; follow one yourself with the new host's truststore (never to http).\n" +
			note + strings.Join(index, "\n") + "\n")
	})
	return nil
}

// trustStore encodes certs as a PKCS#12 truststore that Java 17 reads
// (Modern2023: AES-256 and HMAC-SHA-256), with salts drawn from a stream
// seeded by the certificates, so that the same certificates give the same
// bytes.
func trustStore(certs []*x509.Certificate) ([]byte, error) {
	seed := sha256.New()
	for _, c := range certs {
		seed.Write(c.Raw)
	}
	r := &detRand{seed: seed.Sum(nil)}
	return pkcs12.Modern2023.WithRand(r).EncodeTrustStore(certs, TrustStorePassword)
}

// detRand is a deterministic byte stream: SHA-256 of seed and a counter.
type detRand struct {
	seed []byte
	n    uint64
	buf  []byte
}

func (d *detRand) Read(p []byte) (int, error) {
	for i := range p {
		if len(d.buf) == 0 {
			var ctr [8]byte
			binary.BigEndian.PutUint64(ctr[:], d.n)
			d.n++
			sum := sha256.Sum256(append(append([]byte{}, d.seed...), ctr[:]...))
			d.buf = sum[:]
		}
		p[i], d.buf = d.buf[0], d.buf[1:]
	}
	return len(p), nil
}
