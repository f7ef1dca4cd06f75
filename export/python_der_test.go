package export

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// The python module reads certificates itself (its DER reader, _parse):
// the serial number, SPKI, signature algorithm, subjectAltName and name
// constraints, as strictly as Go's parser. These tests compare it with Go.

// pyParsed is what _parse read of a certificate, or why it refused it.
type pyParsed struct {
	OK     bool     `json:"ok"`
	Err    string   `json:"err"`
	Crash  string   `json:"crash"`
	Neg    bool     `json:"neg"`
	SPKI   string   `json:"spki"`
	SAN    bool     `json:"san"`
	DNS    []string `json:"dns"`
	IPs    []string `json:"ips"`
	Emails []string `json:"emails"`
	URIs   []string `json:"uris"`
	// NC is nil without a NameConstraints extension; else, for
	// "permitted" and "excluded": the DNS names, the IP ranges (hex
	// address/mask) and the email and URI constraints.
	NC map[string]struct {
		DNS    []string `json:"dns"`
		IPs    []string `json:"ips"`
		Emails []string `json:"emails"`
		URIs   []string `json:"uris"`
	} `json:"nc"`
}

// pyParseScript reads one hex certificate a line and answers with a JSON
// line each.
const pyParseScript = `
import json, sys
sys.path.insert(0, sys.argv[1])
import httptrust_policy as hp
for line in sys.stdin:
    try:
        c = hp._parse(bytes.fromhex(line.strip()))
        nc = None
        if c["nc"] is not None:
            nc = {k: {"dns": d, "ips": [a.hex() + "/" + m.hex() for a, m in i], "emails": e, "uris": u}
                  for k, (d, i, e, u) in c["nc"].items()}
        out = {"ok": True, "neg": bool(c["serial"][0] & 0x80), "spki": c["spki"].hex(), "san": c["san"],
               "dns": c["dns"], "ips": [x.hex() for x in c["ips"]], "emails": c["emails"], "uris": c["uris"], "nc": nc}
    except hp._Malformed as e:
        out = {"ok": False, "err": str(e)}
    except Exception as e:
        out = {"ok": False, "crash": "%s: %s" % (type(e).__name__, e)}
    print(json.dumps(out))
    sys.stdout.flush()
`

// pyParser is one python process running pyParseScript.
type pyParser struct {
	mu  sync.Mutex
	in  io.WriteCloser
	out *bufio.Reader
}

func startPyParser(tb testing.TB, py string) *pyParser {
	tb.Helper()
	cmd := exec.Command(py, "-c", pyParseScript, pythonModuleDir(tb))
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { in.Close(); cmd.Wait() })
	return &pyParser{in: in, out: bufio.NewReader(out)}
}

// pythonModuleDir exports a store of one rule as python and returns the
// folder of the module.
func pythonModuleDir(tb testing.TB) string {
	tb.Helper()
	store := filepath.Join(tb.TempDir(), "store")
	if err := os.Mkdir(store, 0o700); err != nil {
		tb.Fatal(err)
	}
	root := testpki.New(tb).Root
	for name, data := range map[string][]byte{
		"root.pem":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.DER}),
		"rules.toml": []byte("[[rule]]\nhosts = [\"a.test\"]\nanchors = [\"root.pem\"]\n"),
	} {
		if err := os.WriteFile(filepath.Join(store, name), data, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	pol, err := httptrust.LoadDir(store, nil)
	if err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(tb.TempDir(), "out")
	res, err := Build(pol, Options{Format: "python", Store: store, Version: "v0.0.0-test", OutDir: out})
	if err != nil {
		tb.Fatal(err)
	}
	if err := WriteDir(out, res, false); err != nil {
		tb.Fatal(err)
	}
	return out
}

func (p *pyParser) parse(t testing.TB, der []byte) pyParsed {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.in, hex.EncodeToString(der)+"\n"); err != nil {
		t.Fatal(err)
	}
	line, err := p.out.ReadString('\n')
	if err != nil {
		t.Fatalf("python parser: %v", err)
	}
	var r pyParsed
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("python parser: %v: %q", err, line)
	}
	return r
}

// accepts reports whether the module would go on with the certificate.
func (r pyParsed) accepts() bool { return r.OK && !r.Neg }

// goRefuses says why Go refuses a certificate: it cannot parse it, or it
// has a critical extension Go does not handle. "" when Go takes it.
func goRefuses(der []byte) string {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return err.Error()
	}
	if len(c.UnhandledCriticalExtensions) > 0 {
		var oids []string
		for _, o := range c.UnhandledCriticalExtensions {
			oids = append(oids, o.String())
		}
		return "an unhandled critical extension " + strings.Join(oids, ", ")
	}
	return ""
}

// tlv is one DER element.
func tlv(tag byte, parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	n := len(body)
	switch {
	case n < 0x80:
		return append([]byte{tag, byte(n)}, body...)
	case n < 0x100:
		return append([]byte{tag, 0x81, byte(n)}, body...)
	default:
		return append([]byte{tag, 0x82, byte(n >> 8), byte(n)}, body...)
	}
}

var (
	oidSAN = []byte{0x06, 0x03, 0x55, 0x1d, 0x11}
	oidNC  = []byte{0x06, 0x03, 0x55, 0x1d, 0x1e}
	oidBC  = []byte{0x06, 0x03, 0x55, 0x1d, 0x13}
)

// extension is an Extension with the critical flag's DER (nil: absent).
func extension(oid, critical, value []byte) []byte {
	return tlv(0x30, oid, critical, tlv(0x04, value))
}

func critical() []byte { return []byte{0x01, 0x01, 0xff} }

// subtree is a GeneralSubtree of base (a GeneralName's DER).
func subtree(tag byte, v string) []byte { return tlv(0x30, tlv(tag, []byte(v))) }

// nameConstraints is a NameConstraints value of permitted and excluded
// subtrees (nil: absent).
func nameConstraints(permitted, excluded [][]byte) []byte {
	var parts [][]byte
	if permitted != nil {
		parts = append(parts, tlv(0xa0, permitted...))
	}
	if excluded != nil {
		parts = append(parts, tlv(0xa1, excluded...))
	}
	return tlv(0x30, parts...)
}

// withExtensions re-signs leaf with exts (DER Extensions) in place of its
// own.
func withExtensions(t testing.TB, leaf, issuer *mint.Cert, exts ...[]byte) []byte {
	t.Helper()
	return reissue(t, leaf, issuer, func(e [][]byte) [][]byte {
		e[len(e)-1] = tlv(0xa3, tlv(0x30, exts...))
		return e
	}, nil, 0).Certificate[0]
}

// spkiCert is leaf re-signed with spki (DER) as its key.
func spkiCert(t testing.TB, leaf, issuer *mint.Cert, spki []byte) []byte {
	t.Helper()
	return reissue(t, leaf, issuer, func(e [][]byte) [][]byte { e[6] = spki; return e }, nil, 0).Certificate[0]
}

// derCases are certificates with what Go and the module decide of them.
func derCases(t testing.TB) []struct {
	name string
	der  []byte
	// stricter: Go takes it and the module refuses it (never the other
	// way round).
	stricter bool
} {
	p := testpki.New(t)
	leaf := p.LeafFrom(t, p.Root, "a.der.test")
	ext := func(exts ...[]byte) []byte { return withExtensions(t, leaf, p.Root, exts...) }
	nc := func(crit []byte, permitted, excluded [][]byte) []byte {
		return ext(extension(oidBC, critical(), tlv(0x30, []byte{0x01, 0x01, 0xff})), extension(oidNC, crit, nameConstraints(permitted, excluded)))
	}
	san := func(names ...[]byte) []byte { return ext(extension(oidSAN, nil, tlv(0x30, names...))) }
	tbs := func(edit func(e [][]byte) [][]byte) []byte {
		return reissue(t, leaf, p.Root, edit, nil, 0).Certificate[0]
	}
	_, v4, _ := net.ParseCIDR("10.0.0.0/8")
	_, v6, _ := net.ParseCIDR("2001:db8::/32")
	u, _ := url.Parse("spiffe://a.der.test/x")
	full := mustMint(t, mint.Template{CommonName: "Constrained", IsCA: true, MaxPathLen: -1,
		PermittedDNSDomains: []string{"der.test", ".sub.der.test"}, ExcludedDNSDomains: []string{"bad.der.test"},
		PermittedIPRanges: []*net.IPNet{v4, v6}, ExcludedIPRanges: []*net.IPNet{v4}}, p.Root)
	names := mustMint(t, mint.Template{Names: []string{"a.der.test", "*.der.test", "10.1.2.3", "2001:db8::1"}}, p.Root)
	cases := []struct {
		name     string
		der      []byte
		stricter bool
	}{
		{"a leaf", leaf.DER, false},
		{"the root", p.Root.DER, false},
		{"the intermediate", p.Intermediate.DER, false},
		{"a CA with every kind of DNS and IP constraint", full.DER, false},
		{"a leaf with DNS names, a wildcard and IP addresses", names.DER, false},
		{"an Ed25519 leaf", mustMint(t, mint.Template{Names: []string{"ed.der.test"}, KeyType: mint.Ed25519}, p.Root).DER, false},
		{"an RSA leaf", mustMint(t, mint.Template{Names: []string{"rsa.der.test"}, KeyType: mint.RSA2048}, p.Root).DER, false},
		{"a version 1 certificate", tbs(func(e [][]byte) [][]byte { return e[1 : len(e)-1] }), false},
		{"email and URI names", san(tlv(0x81, []byte("a@der.test")), tlv(0x86, []byte(u.String())), tlv(0x82, []byte("a.der.test"))), false},
		{"email and URI constraints", nc(critical(), [][]byte{subtree(0x81, "der.test"), subtree(0x81, "a.b@der.test"), subtree(0x86, ".der.test")}, nil), false},
		{"a non-critical directory-name constraint", nc(nil, [][]byte{tlv(0x30, tlv(0xa4, tlv(0x30)))}, nil), false},
		{"a constraint with a minimum", nc(critical(), [][]byte{tlv(0x30, tlv(0x82, []byte("der.test")), tlv(0x80, []byte{0}))}, nil), false},
		{"an empty DNS constraint (every name)", nc(critical(), nil, [][]byte{subtree(0x82, "")}), false},
		{"an empty permitted subtree beside an excluded one", nc(critical(), [][]byte{}, [][]byte{subtree(0x82, "bad.der.test")}), false},
		{"a SAN with a directory name only, not critical", san(tlv(0xa4, tlv(0x30))), false},

		{"a negative serial number", tbs(func(e [][]byte) [][]byte { e[1] = []byte{0x02, 0x01, 0xff}; return e }), false},
		{"a serial number not in its shortest form", tbs(func(e [][]byte) [][]byte { e[1] = []byte{0x02, 0x02, 0x00, 0x05}; return e }), false},
		{"version 4", tbs(func(e [][]byte) [][]byte { e[0] = tlv(0xa0, []byte{0x02, 0x01, 0x03}); return e }), false},
		{"inner and outer signature algorithms that differ", tbs(func(e [][]byte) [][]byte { e[2] = ecdsaWithSHA1; return e }), false},
		{"a length not in its shortest form", tbs(func(e [][]byte) [][]byte { e[4] = append([]byte{0x30, 0x81}, e[4][1:]...); return e }), false},
		{"an indefinite length", tbs(func(e [][]byte) [][]byte { e[4] = append(append([]byte{0x30, 0x80}, e[4][2:]...), 0, 0); return e }), false},
		{"an extension twice", ext(extension(oidSAN, nil, tlv(0x30, tlv(0x82, []byte("a.der.test")))), extension(oidSAN, nil, tlv(0x30, tlv(0x82, []byte("b.der.test"))))), false},
		{"a critical flag that is not DER", ext(extension(oidSAN, []byte{0x01, 0x01, 0x01}, tlv(0x30, tlv(0x82, []byte("a.der.test"))))), false},
		{"an extension OID not in its shortest form", ext(extension([]byte{0x06, 0x04, 0x55, 0x80, 0x1d, 0x11}, nil, tlv(0x30))), false},
		{"a DNS name that is not ASCII", san(tlv(0x82, []byte("a\xffder.test"))), false},
		{"an IP address of 5 bytes", san(tlv(0x87, []byte{1, 2, 3, 4, 5})), false},
		{"a SAN that is not a SEQUENCE", ext(extension(oidSAN, nil, tlv(0x31))), false},
		{"a critical SAN with a directory name only", ext(extension(oidSAN, critical(), tlv(0x30, tlv(0xa4, tlv(0x30))))), false},
		{"a DNS constraint with a trailing dot", nc(critical(), [][]byte{subtree(0x82, "der.test.")}, nil), false},
		{"a DNS constraint with an empty label", nc(critical(), nil, [][]byte{subtree(0x82, "bad..der.test")}), false},
		{"a DNS constraint that is not ASCII", nc(critical(), nil, [][]byte{subtree(0x82, "b\xe4d.der.test")}), false},
		{"an IP constraint of 5 bytes", nc(critical(), [][]byte{tlv(0x30, tlv(0x87, []byte{10, 0, 0, 0, 255}))}, nil), false},
		{"an IP constraint with a mask that is not a prefix", nc(critical(), [][]byte{tlv(0x30, tlv(0x87, []byte{10, 0, 0, 0, 255, 0, 255, 0}))}, nil), false},
		{"an email constraint Go cannot read", nc(critical(), [][]byte{subtree(0x81, "a..b@der.test")}, nil), false},
		{"a URI constraint that is an IP address", nc(critical(), [][]byte{subtree(0x86, "10.0.0.1")}, nil), false},
		{"an empty NameConstraints extension", nc(critical(), nil, nil), false},
		{"both subtrees empty", nc(critical(), [][]byte{}, [][]byte{}), false},
		{"the subtrees in the wrong order", ext(extension(oidNC, critical(), tlv(0x30, tlv(0xa1, subtree(0x82, "x.test")), tlv(0xa0, subtree(0x82, "y.test"))))), false},
		{"an empty GeneralSubtree", nc(critical(), [][]byte{tlv(0x30)}, nil), false},
		{"a critical directory-name constraint", nc(critical(), [][]byte{tlv(0x30, tlv(0xa4, tlv(0x30)))}, nil), false},

		{"an Ed448 key (Go reads no key of it)", spkiCert(t, leaf, p.Root, rawSPKI(oidDER(1, 3, 101, 113), nil, make([]byte, 57))), false},
		{"a DSA key", spkiCert(t, leaf, p.Root, rawSPKI(oidDER(1, 2, 840, 10040, 4, 1), tlv(0x30, mustMarshal(23), mustMarshal(11), mustMarshal(4)), mustMarshal(8))), false},
		{"an RSA key without NULL parameters", spkiCert(t, leaf, p.Root, rawSPKI(oidDER(1, 2, 840, 113549, 1, 1, 1), nil, tlv(0x30, mustMarshal(3233), mustMarshal(17)))), false},
		{"an EC key on an unknown curve", spkiCert(t, leaf, p.Root, rawSPKI(oidDER(1, 2, 840, 10045, 2, 1), oidDER(1, 3, 132, 0, 10), append([]byte{4}, make([]byte, 64)...))), false},
		{"an EC point off its curve", spkiCert(t, leaf, p.Root, rawSPKI(oidDER(1, 2, 840, 10045, 2, 1), oidDER(1, 2, 840, 10045, 3, 1, 7), append([]byte{4}, make([]byte, 64)...))), false},
		{"an Ed25519 key of 31 bytes", spkiCert(t, leaf, p.Root, rawSPKI(oidDER(1, 3, 101, 112), nil, make([]byte, 31))), false},

		{"an IP constraint with host bits set", nc(critical(), [][]byte{tlv(0x30, tlv(0x87, []byte{10, 0, 0, 5, 255, 0, 0, 0}))}, nil), true},
		{"an IPv4-mapped IP constraint", nc(critical(), [][]byte{tlv(0x30, tlv(0x87, append(net.ParseIP("10.0.0.0").To16(), net.CIDRMask(104, 128)...)))}, nil), true},
		{"an email constraint with a quoted local part", nc(critical(), [][]byte{subtree(0x81, `"a b"@der.test`)}, nil), true},
		{"a version 1 certificate with extensions", tbs(func(e [][]byte) [][]byte { return e[1:] }), true},
		{"an element after the extensions", tbs(func(e [][]byte) [][]byte { return append(e, tlv(0x04)) }), true},
		{"an SPKI with an element after the key", spkiCert(t, leaf, p.Root, tlv(0x30, tlv(0x30, oidDER(1, 3, 101, 112)), tlv(0x03, make([]byte, 33)), tlv(0x05))), true},
	}
	return cases
}

// TestPythonParsesAsGo: what Go cannot parse (or refuses for a critical
// extension it does not handle), the module refuses; what Go parses, the
// module reads alike (the SPKI, names and name constraints), except where
// a case says it is stricter.
func TestPythonParsesAsGo(t *testing.T) {
	pp := startPyParser(t, findPython(t))
	for _, c := range derCases(t) {
		t.Run(c.name, func(t *testing.T) {
			r := pp.parse(t, c.der)
			if r.Crash != "" {
				t.Fatalf("the module's parser failed: %s", r.Crash)
			}
			why := goRefuses(c.der)
			t.Logf("Go: %q; the module: %q (negative serial: %v)", why, r.Err, r.Neg)
			switch {
			case why != "" && r.accepts():
				t.Errorf("Go refuses it (%s), the module takes it (trust widened)", why)
			case why == "" && !r.accepts() && !c.stricter:
				t.Errorf("Go takes it, the module refuses it: %s", r.Err)
			case why == "" && r.accepts() && c.stricter:
				t.Errorf("the module takes it: the case says it is stricter")
			case why != "" && c.stricter:
				t.Errorf("Go refuses it too (%s): not a stricter case", why)
			}
			if why == "" && r.accepts() {
				compareParsed(t, c.der, r)
			}
		})
	}
}

// TestPythonParsesSystemRoots: the module reads every certificate of the
// system's CA bundle that Go parses (the anchors of rules with
// system_roots are in the verified chain).
func TestPythonParsesSystemRoots(t *testing.T) {
	data, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Skipf("no system CA bundle: %v", err)
	}
	pp := startPyParser(t, findPython(t))
	n := 0
	for len(data) > 0 {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if goRefuses(b.Bytes) != "" {
			continue
		}
		n++
		if r := pp.parse(t, b.Bytes); !r.accepts() {
			c, _ := x509.ParseCertificate(b.Bytes)
			t.Errorf("%s: Go parses it, the module refuses it: %s%s", c.Subject, r.Err, r.Crash)
		} else {
			compareParsed(t, b.Bytes, r)
		}
	}
	t.Logf("%d system roots read", n)
}

// compareParsed checks that the module read what Go reads.
func compareParsed(t testing.TB, der []byte, r pyParsed) {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if r.SPKI != hex.EncodeToString(c.RawSubjectPublicKeyInfo) {
		t.Errorf("SPKI: the module read %s", r.SPKI)
	}
	var ips []string
	for _, ip := range c.IPAddresses {
		ips = append(ips, hex.EncodeToString(ip))
	}
	var uris []string
	for _, u := range c.URIs {
		uris = append(uris, u.String())
	}
	same := func(what string, got, want []string) {
		if !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("%s: the module read %q, Go %q", what, got, want)
		}
	}
	same("DNS names", r.DNS, c.DNSNames)
	same("IP addresses", r.IPs, ips)
	same("email addresses", r.Emails, c.EmailAddresses)
	if len(r.URIs) != len(uris) {
		t.Errorf("URIs: the module read %q, Go %q", r.URIs, uris)
	}
	hasNC := false
	for _, e := range c.Extensions {
		hasNC = hasNC || e.Id.String() == "2.5.29.30"
	}
	if hasNC != (r.NC != nil) {
		t.Fatalf("name constraints: the module read %v", r.NC)
	}
	if !hasNC {
		return
	}
	ranges := func(ns []*net.IPNet) []string {
		var out []string
		for _, n := range ns {
			out = append(out, hex.EncodeToString(n.IP)+"/"+hex.EncodeToString(n.Mask))
		}
		return out
	}
	same("permitted DNS constraints", r.NC["permitted"].DNS, c.PermittedDNSDomains)
	same("excluded DNS constraints", r.NC["excluded"].DNS, c.ExcludedDNSDomains)
	same("permitted IP constraints", r.NC["permitted"].IPs, ranges(c.PermittedIPRanges))
	same("excluded IP constraints", r.NC["excluded"].IPs, ranges(c.ExcludedIPRanges))
	same("permitted email constraints", r.NC["permitted"].Emails, c.PermittedEmailAddresses)
	same("excluded email constraints", r.NC["excluded"].Emails, c.ExcludedEmailAddresses)
	same("permitted URI constraints", r.NC["permitted"].URIs, c.PermittedURIDomains)
	same("excluded URI constraints", r.NC["excluded"].URIs, c.ExcludedURIDomains)
}

// FuzzPythonParser: the module's DER reader never fails other than by
// refusing; what it takes and Go parses, it reads as Go does; and what Go
// refuses for a part the module reads (the serial number, the version, the
// extensions' framing, the subjectAltName's DNS, email and IP names, the
// name constraints), it refuses. The seeds are derCases.
func FuzzPythonParser(f *testing.F) {
	for _, c := range derCases(f) {
		f.Add(c.der)
	}
	pp := startPyParser(f, findPython(f))
	f.Fuzz(func(t *testing.T, der []byte) {
		r := pp.parse(t, der)
		if r.Crash != "" {
			t.Fatalf("the module's parser failed: %s", r.Crash)
		}
		why := goRefuses(der)
		if why == "" && r.accepts() {
			compareParsed(t, der, r)
		}
		if why != "" && r.accepts() {
			for _, s := range goReadByModule {
				if strings.Contains(why, s) {
					t.Fatalf("Go refuses it (%s), the module takes it", why)
				}
			}
		}
	})
}

// goReadByModule are Go's refusals of parts the module reads too (the
// SubjectPublicKeyInfo among them).
var goReadByModule = []string{
	"serial number", "version", "duplicate extension", "inner and outer signature", "malformed extension",
	"SAN dNSName", "SAN rfc822Name", "IP address of length", "subject alternative name",
	"NameConstraints", "name constraints", "constraint",
	"spki", "public key", "RSA", "ECDSA", "ecdsa", "elliptic curve", "point", "Ed25519", "DSA",
	"critical extension 2.5.29.17", "critical extension 2.5.29.30",
}
