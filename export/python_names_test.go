package export

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// The python module matches the names of an exact certificate itself
// (_name_ok), as Go's x509.Certificate.VerifyHostname does: the host's
// trailing dot is cut, the certificate's is not, so a DNS name that ends
// in a dot matches no host.

// selfSignedNames is a self-signed CA:FALSE certificate with these DNS
// names, made with crypto/x509 (mint refuses a name with a trailing dot).
func selfSignedNames(t *testing.T, names ...string) *mint.Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: names[0]},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		DNSNames:              names,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &mint.Cert{Cert: c, DER: der, Key: key}
}

// TestPythonExactNames: the names of an exact certificate, through every
// client, as the policy decides them: "td.test." does not cover td.test
// (the module cut the certificate's dot), "TD.TEST" and "*.test" do.
func TestPythonExactNames(t *testing.T) {
	w := newWorld(t)
	dotted := selfSignedNames(t, "td.test.", "elsewhere.test")
	upper := selfSignedNames(t, "TU.TEST")
	wild := selfSignedNames(t, "*.test")
	deeper := selfSignedNames(t, "*.tx.test")
	w.cert("dotted.pem", dotted)
	w.cert("upper.pem", upper)
	w.cert("wild.pem", wild)
	w.cert("deeper.pem", deeper)
	w.file("rules.toml", `
[[rule]]
hosts = ["td.test"]
certificates = ["dotted.pem"]

[[rule]]
hosts = ["tu.test"]
certificates = ["upper.pem"]

[[rule]]
hosts = ["tw.test"]
certificates = ["wild.pem"]

[[rule]]
hosts = ["tx.test"]
certificates = ["deeper.pem"]
`)
	probes := []probe{
		w.serve("td.test: an exact certificate for td.test. (a trailing dot)", "td.test", testpki.Chain(dotted), false),
		w.serve("td.test.: the same certificate, the URL with a trailing dot", "td.test.", testpki.Chain(dotted), false),
		w.serve("tu.test: an exact certificate for TU.TEST", "tu.test", testpki.Chain(upper), true),
		w.serve("tw.test: an exact certificate for *.test", "tw.test", testpki.Chain(wild), true),
		w.serve("tx.test: an exact certificate for *.tx.test", "tx.test", testpki.Chain(deeper), false),
	}
	checkPolicy(t, w, probes)
	got := runPython(t, findPython(t), w.write(Options{Format: "python"}), probes)
	for _, client := range pythonClients {
		check(t, "python "+client, probes, got[client])
	}
	if r := got["ssl"][probes[0].name]; !strings.Contains(r, "does not cover this name") {
		t.Errorf("python ssl: %s: %q, want refused for the name", probes[0].name, r)
	}
}

// TestPythonNameMatchAsGo: _name_ok against Go's VerifyHostname, for DNS
// names Go reads as patterns and ones it does not, and hosts as httptrust
// normalizes them (lower case, no trailing dot) or as a URL may write them.
func TestPythonNameMatchAsGo(t *testing.T) {
	py := findPython(t)
	names := []string{
		"td.test", "td.test.", "TD.TEST", "TD.TEST.", "*.test", "*.test.", "*.td.test", "a*.test", "*",
		"td..test", ".td.test", "-td.test", "td-.test", "t_d.test", "*.*.test", "x.*.test", "*.", ".", "",
		"xn--strae-oqa.test", "td.test..",
	}
	hosts := []string{"td.test", "TD.Test.", "a.test", "x.td.test", "t_d.test", "xn--strae-oqa.test", "straße.test", "10.0.0.1", "[::ffff:10.0.0.1]", "2001:db8::1"}
	ips := []string{"10.0.0.1", "2001:db8::1", "::ffff:10.0.0.1", "::ffff:10.0.0.2"}
	type row struct {
		Host string   `json:"host"`
		DNS  []string `json:"dns"`
		IPs  []string `json:"ips"`
		Go   bool     `json:"go"`
	}
	var rows []row
	for _, h := range hosts {
		n, err := httptrust.NormalizeHost(h)
		if err != nil {
			t.Fatal(err)
		}
		isIP := net.ParseIP(n) != nil
		for _, d := range names {
			rows = append(rows, row{Host: h, DNS: []string{d}, Go: !isIP && (&x509.Certificate{DNSNames: []string{d}}).VerifyHostname(n) == nil})
		}
		for _, ip := range ips {
			c := &x509.Certificate{IPAddresses: []net.IP{net.ParseIP(ip)}}
			rows = append(rows, row{Host: h, IPs: []string{ip}, Go: isIP && c.VerifyHostname(n) == nil})
		}
	}
	data, _ := json.Marshal(rows)
	cmd := exec.Command(py, "-c", `
import json, sys
sys.path.insert(0, sys.argv[1])
import httptrust_policy as hp
for r in json.load(sys.stdin):
    print(json.dumps(hp._name_ok(r["host"], r["dns"] or [], r["ips"] or [])))
`, pythonModuleDir(t))
	cmd.Stdin = strings.NewReader(string(data))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(rows) {
		t.Fatalf("python: %d answers for %d rows:\n%s", len(lines), len(rows), out)
	}
	for i, r := range rows {
		if got := lines[i] == "true"; got != r.Go {
			t.Errorf("host %q, DNS %q, IP %q: the module says %v, Go %v", r.Host, r.DNS, r.IPs, got, r.Go)
		}
	}
}
