package export

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// Go's TLS client offers ECDHE suites with AES-GCM, ChaCha20-Poly1305 and
// AES-CBC-SHA, and the X25519, P-256, P-384 and P-521 groups (and hybrids
// with ML-KEM); OpenSSL offers more. The python module offers Go's suites
// and the P-256 group alone.

// keyPEM writes c and its key as PEM files into dir (name.pem, name.key).
func keyPEM(t *testing.T, dir, name string, c *mint.Cert, chain ...*mint.Cert) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		t.Fatal(err)
	}
	certs := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER})
	for _, x := range chain {
		certs = append(certs, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: x.DER})...)
	}
	for file, data := range map[string][]byte{name + ".pem": certs, name + ".key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})} {
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPythonTLSParameters: each context offers the TLS 1.2 cipher suites
// Go's client offers and the P-256 group (servers made with openssl
// s_server, each limited to one parameter): static RSA key exchange, DHE
// and CBC with SHA-256 are refused as Go refuses them, and so are the X448
// and ffdhe2048 groups. The module refuses, after the handshake, a suite
// Go does not offer where someone has widened the context's suites.
func TestPythonTLSParameters(t *testing.T) {
	openssl := need(t, "openssl")
	w := newWorld(t)
	p := w.pki
	w.cert("root.pem", p.Root)
	w.file("rules.toml", "[[rule]]\nhosts = [\"**.tls.test\"]\nanchors = [\"root.pem\"]\n")
	dir := t.TempDir()
	keyPEM(t, dir, "rsa", mustMint(t, mint.Template{Names: []string{"a.tls.test"}, KeyType: mint.RSA2048}, p.Root))
	keyPEM(t, dir, "p384", mustMint(t, mint.Template{Names: []string{"a.tls.test"}, KeyType: mint.ECDSAP384}, p.Root))
	serve := func(name string, want bool, args ...string) probe {
		return startSSLServer(t, openssl, dir, "rsa.pem", "rsa.key", "", args...).probe(name, "a.tls.test", want)
	}
	probes := []probe{
		serve("TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256", true, "-no_tls1_3", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"),
		serve("TLS 1.2 ECDHE-RSA-AES256-SHA (CBC with SHA-1)", true, "-no_tls1_3", "-cipher", "ECDHE-RSA-AES256-SHA"),
		serve("TLS 1.3 P-256 only", true, "-tls1_3", "-groups", "P-256"),
		serve("TLS 1.2 AES128-GCM-SHA256 only (RSA key exchange)", false, "-no_tls1_3", "-cipher", "AES128-GCM-SHA256"),
		serve("TLS 1.2 DHE-RSA-AES128-GCM-SHA256 only", false, "-no_tls1_3", "-cipher", "DHE-RSA-AES128-GCM-SHA256"),
		serve("TLS 1.2 ECDHE-RSA-AES128-SHA256 only (CBC with SHA-256)", false, "-no_tls1_3", "-cipher", "ECDHE-RSA-AES128-SHA256"),
		serve("TLS 1.2 ECDHE over X448 only", false, "-no_tls1_3", "-groups", "X448", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"),
		serve("TLS 1.3 X448 only", false, "-tls1_3", "-groups", "X448"),
		serve("TLS 1.3 ffdhe2048 only", false, "-tls1_3", "-groups", "ffdhe2048"),
	}
	checkPolicy(t, w, probes)
	out := w.write(Options{Format: "python"})
	got := runPython(t, findPython(t), out, probes)
	for _, client := range pythonClients {
		check(t, "python "+client, probes, got[client])
	}

	// Stricter than the policy: P-256 is the one group offered, so a
	// server with X25519 alone, and a TLS 1.2 server whose ECDSA
	// certificate is on P-384 (the group list binds its curve in TLS 1.2),
	// are refused; Go takes both.
	stricter := []probe{
		serve("TLS 1.3 X25519 only", true, "-tls1_3", "-groups", "X25519"),
		startSSLServer(t, openssl, dir, "p384.pem", "p384.key", "", "-no_tls1_3").probe("TLS 1.2 with a P-384 certificate", "a.tls.test", true),
	}
	checkPolicy(t, w, stricter)
	res := runPythonDriver(t, findPython(t), sslDriver, out, stricter)["ssl"]
	for _, pr := range stricter {
		if r := res[pr.name]; r == "ok" {
			t.Errorf("python ssl: %s: accepted; docs/export.md says the module refuses it (it offers P-256 alone)", pr.name)
		}
	}

	// A context whose suites someone widened: the module refuses the suite
	// after the handshake.
	static := serve("TLS 1.2 AES128-GCM-SHA256 only, to a widened context", false, "-no_tls1_3", "-cipher", "AES128-GCM-SHA256")
	r := pythonSnippet(t, w, `
import socket, sys
sys.path.insert(0, sys.argv[1])
import httptrust_policy as hp
ctx = hp.context_for("a.tls.test", int(sys.argv[2]))
ctx.set_ciphers("AES128-GCM-SHA256")
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[2]))) as s:
        with ctx.wrap_socket(s, server_hostname="a.tls.test") as t:
            print("widened\tok " + t.cipher()[0])
except hp.RefusedError as e:
    print("widened\trefused: " + str(e))
`, []string{static.port}, nil)["widened"]
	if !strings.Contains(r, "the cipher suite AES128-GCM-SHA256 was negotiated") {
		t.Errorf("a widened context to a static-RSA server: %q, want refused for its cipher suite", r)
	}
}

// TestPythonOffersGosParameters compares the ClientHello of a python
// context with that of the policy's own Go client, both to a server of the
// test: the TLS 1.2 and 1.3 cipher suites are the same, and the groups are
// among Go's.
func TestPythonOffersGosParameters(t *testing.T) {
	w := newWorld(t)
	p := w.pki
	w.cert("root.pem", p.Root)
	w.file("rules.toml", "[[rule]]\nhosts = [\"hello.test\"]\nanchors = [\"root.pem\"]\n")
	hellos := make(chan *tls.ClientHelloInfo, 4)
	s := testpki.StartTLS(t, "127.0.0.1", p.FullChain(p.Leaf(t, "hello.test")), nil, func(c *tls.Config) {
		c.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			select {
			case hellos <- h:
			default:
			}
			return nil, nil
		}
	})
	pr := []probe{{name: "hello", host: "hello.test", addr: s.Addr, port: s.Port, want: true}}
	checkPolicy(t, w, pr)
	goHello := <-hellos
	if got := runPythonDriver(t, findPython(t), sslDriver, w.write(Options{Format: "python"}), pr)["ssl"]["hello"]; got != "ok" {
		t.Fatalf("python ssl: %q", got)
	}
	pyHello := <-hellos
	suites := func(h *tls.ClientHelloInfo) map[uint16]bool {
		m := map[uint16]bool{}
		for _, c := range h.CipherSuites {
			if c != 0x00ff { // TLS_EMPTY_RENEGOTIATION_INFO_SCSV, not a suite
				m[c] = true
			}
		}
		return m
	}
	goSuites, pySuites := suites(goHello), suites(pyHello)
	for c := range pySuites {
		if !goSuites[c] {
			t.Errorf("python offers %s (0x%04x), Go does not", tls.CipherSuiteName(c), c)
		}
	}
	for c := range goSuites {
		if !pySuites[c] {
			t.Errorf("Go offers %s (0x%04x), python does not", tls.CipherSuiteName(c), c)
		}
	}
	goGroups := map[tls.CurveID]bool{}
	for _, g := range goHello.SupportedCurves {
		goGroups[g] = true
	}
	for _, g := range pyHello.SupportedCurves {
		if !goGroups[g] {
			t.Errorf("python offers the group %v, Go does not (Go: %v)", g, goHello.SupportedCurves)
		}
	}
	if len(pyHello.SupportedCurves) == 0 {
		t.Errorf("python offers no group")
	}
}
