package export

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/httptrust/httptrust/mint"
)

// Go's TLS client takes a server's key only of the kinds it can use (RSA
// as rsaEncryption, EC on P-256, P-384 or P-521, Ed25519), verifies a
// certificate's signature only with a key of those kinds (P-224 too), and
// verifies signatures of the algorithms it knows: OpenSSL takes Ed448 and
// RSASSA-PSS keys, DSA, and RSA-PSS with other parameters. The python
// module refuses, after OpenSSL's verification, what Go would.

// sslServer is an openssl s_server on loopback.
type sslServer struct {
	addr, port string
}

// startSSLServer runs `openssl s_server` with the files of dir (chain:
// the certificates sent after the leaf, "" for none) and extra flags,
// until the test ends. It returns once the server accepts connections.
func startSSLServer(t *testing.T, openssl, dir, cert, key, chain string, extra ...string) sslServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"s_server", "-accept", addr, "-cert", filepath.Join(dir, cert), "-key", filepath.Join(dir, key), "-www", "-quiet"}
	if chain != "" {
		args = append(args, "-cert_chain", filepath.Join(dir, chain))
	}
	cmd := exec.Command(openssl, append(args, extra...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case <-done:
			t.Fatalf("openssl s_server %s: exited: %s", strings.Join(extra, " "), stderr.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("openssl s_server %s: not listening after 10s: %s", strings.Join(extra, " "), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, port, _ := net.SplitHostPort(addr)
	return sslServer{addr: addr, port: port}
}

func (s sslServer) probe(name, host string, want bool) probe {
	return probe{name: name, host: host, addr: s.addr, port: s.port, want: want}
}

// opensslDir runs openssl commands in a folder of the test.
type opensslDir struct {
	t       *testing.T
	openssl string
	dir     string
	serial  int
}

func newOpensslDir(t *testing.T) *opensslDir {
	return &opensslDir{t: t, openssl: need(t, "openssl"), dir: t.TempDir()}
}

func (o *opensslDir) run(args ...string) {
	o.t.Helper()
	cmd := exec.Command(o.openssl, args...)
	cmd.Dir = o.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		o.t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (o *opensslDir) write(name, data string) {
	o.t.Helper()
	if err := os.WriteFile(filepath.Join(o.dir, name), []byte(data), 0o600); err != nil {
		o.t.Fatal(err)
	}
}

func (o *opensslDir) read(name string) string {
	o.t.Helper()
	b, err := os.ReadFile(filepath.Join(o.dir, name))
	if err != nil {
		o.t.Fatal(err)
	}
	return string(b)
}

// issue makes name.pem for the key in keyFile, issued by issuer (its .pem
// and .key) with sigopts (-sha256, -sigopt ...): a CA, or a leaf for the
// DNS name name.
func (o *opensslDir) issue(name, keyFile, issuer string, ca bool, sigopts ...string) {
	o.t.Helper()
	ext := "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:" + name + "\n"
	if ca {
		ext = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\n"
	}
	o.write(name+".ext", ext)
	o.serial++
	o.run("req", "-new", "-key", keyFile, "-subj", "/CN="+name, "-out", name+".csr")
	o.run(append([]string{"x509", "-req", "-in", name + ".csr", "-CA", issuer + ".pem", "-CAkey", issuer + ".key",
		"-set_serial", fmt.Sprint(1000 + o.serial), "-days", "2", "-extfile", name + ".ext", "-out", name + ".pem"}, sigopts...)...)
}

// root makes name.pem, a self-signed CA, for the key in name.key.
func (o *opensslDir) root(name string) {
	o.t.Helper()
	o.run("req", "-x509", "-key", name+".key", "-out", name+".pem", "-subj", "/CN="+name, "-days", "3", "-sha256",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature")
}

func (o *opensslDir) rsaKey(name string) {
	o.t.Helper()
	o.run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", name)
}

// TestPythonServerKeysAndSignatures runs, through every client of the
// python module, servers (openssl s_server) whose certificates OpenSSL
// verifies and Go does not: a leaf with an Ed448 or an RSASSA-PSS key (Go
// cannot use it as a server's key), an intermediate with an RSASSA-PSS key
// (Go cannot verify with it), an intermediate signed RSA-PSS with a 20-byte
// salt, and one signed DSA-SHA256 by a DSA anchor (Go verifies neither).
// Leaves with keys Go uses (RSA, P-384, Ed25519) are accepted.
func TestPythonServerKeysAndSignatures(t *testing.T) {
	w := newWorld(t)
	o := newOpensslDir(t)
	o.rsaKey("rsaroot.key")
	o.root("rsaroot")
	o.rsaKey("ok.key")
	o.issue("ok.keys.test", "ok.key", "rsaroot", false, "-sha256")
	o.run("genpkey", "-algorithm", "ED448", "-out", "ed448.key")
	o.issue("ed448.keys.test", "ed448.key", "rsaroot", false, "-sha256")
	o.run("genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "psskey.key")
	o.issue("psskey.keys.test", "psskey.key", "rsaroot", false, "-sha256")
	// An intermediate whose key is RSASSA-PSS signs its leaf RSA-PSS with
	// SHA-256 and a 32-byte salt: a signature Go verifies, with a key Go
	// cannot read.
	o.run("genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "pssca.key")
	o.issue("pssca", "pssca.key", "rsaroot", true, "-sha256")
	o.rsaKey("viapsskey.key")
	o.issue("viapsskey.keys.test", "viapsskey.key", "pssca", false, "-sha256", "-sigopt", "rsa_pss_saltlen:32", "-sigopt", "rsa_mgf1_md:sha256")
	o.rsaKey("pssint.key")
	o.issue("pssint", "pssint.key", "rsaroot", true, "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:20")
	o.rsaKey("viapss.key")
	o.issue("viapss.keys.test", "viapss.key", "pssint", false, "-sha256")
	o.run("genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:2048", "-out", "dsa.param")
	o.run("genpkey", "-paramfile", "dsa.param", "-out", "dsaroot.key")
	o.root("dsaroot")
	o.rsaKey("dsaint.key")
	o.issue("dsaint", "dsaint.key", "dsaroot", true, "-sha256")
	o.rsaKey("viadsa.key")
	o.issue("viadsa.dsa.test", "viadsa.key", "dsaint", false, "-sha256")

	p := w.pki
	w.file("rsaroot.pem", o.read("rsaroot.pem"))
	w.file("dsaroot.pem", o.read("dsaroot.pem"))
	w.cert("root.pem", p.Root)
	w.file("rules.toml", `
[[rule]]
hosts = ["**.keys.test"]
anchors = ["rsaroot.pem"]

[[rule]]
hosts = ["**.dsa.test"]
anchors = ["dsaroot.pem"]

[[rule]]
hosts = ["**.gokeys.test"]
anchors = ["root.pem"]
`)
	srv := func(name, host, chain string, want bool) probe {
		return startSSLServer(t, o.openssl, o.dir, host+".pem", strings.TrimSuffix(host, ".keys.test")+".key", chain).probe(name, host, want)
	}
	gokey := func(name, host string, kt mint.KeyType) probe {
		return w.serve(name, host, p.FullChain(mustMint(t, mint.Template{Names: []string{host}, KeyType: kt}, p.Intermediate)), true)
	}
	probes := []probe{
		srv("an RSA leaf", "ok.keys.test", "", true),
		srv("a leaf with an Ed448 key", "ed448.keys.test", "", false),
		srv("a leaf with an RSASSA-PSS key", "psskey.keys.test", "", false),
		srv("an intermediate with an RSASSA-PSS key", "viapsskey.keys.test", "pssca.pem", false),
		srv("an intermediate signed RSA-PSS with a 20-byte salt", "viapss.keys.test", "pssint.pem", false),
		startSSLServer(t, o.openssl, o.dir, "viadsa.dsa.test.pem", "viadsa.key", "dsaint.pem").probe("an intermediate signed DSA-SHA256 by a DSA anchor", "viadsa.dsa.test", false),
		gokey("a leaf with a P-384 key", "p384.gokeys.test", mint.ECDSAP384),
		gokey("a leaf with an Ed25519 key", "ed25519.gokeys.test", mint.Ed25519),
		gokey("a leaf with an RSA-3072 key", "rsa.gokeys.test", mint.RSA3072),
	}
	checkPolicy(t, w, probes)
	// A DSA anchor, with which Go verifies nothing, is refused at export
	// for every format; the module is run without its rule.
	if _, err := w.tryBuild(Options{Format: "python"}); err == nil || !strings.Contains(err.Error(), "has a DSA key") {
		t.Fatalf("export with a DSA anchor: %v, want it refused for its DSA key", err)
	}
	w.file("rules.toml", `
[[rule]]
hosts = ["**.keys.test"]
anchors = ["rsaroot.pem"]

[[rule]]
hosts = ["**.gokeys.test"]
anchors = ["root.pem"]
`)
	probes = slices.DeleteFunc(probes, func(p probe) bool { return strings.HasSuffix(p.host, ".dsa.test") })
	got := runPython(t, findPython(t), w.write(Options{Format: "python"}), probes)
	for _, client := range pythonClients {
		check(t, "python "+client, probes, got[client])
	}
	// The bare socket's refusals say why (the other clients wrap them).
	for name, why := range map[string]string{
		"a leaf with an Ed448 key":                           "1.3.101.113 (Ed448)",
		"a leaf with an RSASSA-PSS key":                      "1.2.840.113549.1.1.10 (RSASSA-PSS)",
		"an intermediate with an RSASSA-PSS key":             "a CA certificate of the verified chain has a public key of algorithm 1.2.840.113549.1.1.10",
		"an intermediate signed RSA-PSS with a 20-byte salt": "signed with an algorithm httptrust does not verify (1.2.840.113549.1.1.10",
	} {
		if r := got["ssl"][name]; !strings.Contains(r, why) {
			t.Errorf("python ssl: %s: %q, want a refusal that says %q", name, r, why)
		}
	}
}

// rawSPKI is a SubjectPublicKeyInfo of an algorithm (its OID's DER),
// parameters (DER, nil: absent) and key bytes.
func rawSPKI(alg, params, key []byte) []byte {
	return tlv(0x30, tlv(0x30, alg, params), tlv(0x03, []byte{0}, key))
}

func oidDER(ids ...int) []byte { return mustMarshal(asn1.ObjectIdentifier(ids)) }

// spkiKey is the key bytes (the BIT STRING's content) of a DER SPKI.
func spkiKey(t testing.TB, der []byte) []byte {
	t.Helper()
	var s struct {
		Alg asn1.RawValue
		Key asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &s); err != nil {
		t.Fatal(err)
	}
	return s.Key.Bytes
}

func marshalPKIX(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// rsaSPKI is an rsaEncryption SPKI of n and e, with NULL parameters.
func rsaSPKI(n *big.Int, e *big.Int) []byte {
	return rawSPKI(oidDER(1, 2, 840, 113549, 1, 1, 1), asn1.NullBytes, tlv(0x30, mustMarshal(n), mustMarshal(e)))
}

// oddNumber is a random odd number of bits bits.
func oddNumber(t testing.TB, bits int) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits-1)))
	if err != nil {
		t.Fatal(err)
	}
	n.SetBit(n, bits-1, 1)
	return n.SetBit(n, 0, 1)
}

// keyCases are SubjectPublicKeyInfos: keys Go reads and uses, keys it reads
// and cannot use, and keys it cannot read (and so refuses the certificate).
func keyCases(t testing.TB) []struct {
	name string
	spki []byte
} {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec := func(c elliptic.Curve) []byte {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return marshalPKIX(t, &k.PublicKey)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256 := ec(elliptic.P256())
	point := spkiKey(t, p256)
	compressed := append([]byte{2 | point[64]&1}, point[1:33]...)
	offCurve := append([]byte{}, point...)
	offCurve[64] ^= 1
	ecOID, p256OID := oidDER(1, 2, 840, 10045, 2, 1), oidDER(1, 2, 840, 10045, 3, 1, 7)
	random := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	pss := rawSPKI(oidDER(1, 2, 840, 113549, 1, 1, 10), nil, spkiKey(t, marshalPKIX(t, &rsaKey.PublicKey)))
	dsaOID := oidDER(1, 2, 840, 10040, 4, 1)
	dsaParams := func(p, q, g int64) []byte {
		return tlv(0x30, mustMarshal(big.NewInt(p)), mustMarshal(big.NewInt(q)), mustMarshal(big.NewInt(g)))
	}
	n, e := rsaKey.PublicKey.N, big.NewInt(int64(rsaKey.PublicKey.E))
	return []struct {
		name string
		spki []byte
	}{
		{"RSA 2048", marshalPKIX(t, &rsaKey.PublicKey)},
		{"RSA 1024", marshalPKIX(t, &rsa1024.PublicKey)},
		{"EC P-224", ec(elliptic.P224())},
		{"EC P-256", p256},
		{"EC P-384", ec(elliptic.P384())},
		{"EC P-521", ec(elliptic.P521())},
		{"Ed25519", marshalPKIX(t, edPub)},
		{"RSA of 8192 bits", rsaSPKI(oddNumber(t, 8192), big.NewInt(65537))},

		{"RSA of 512 bits", rsaSPKI(oddNumber(t, 512), big.NewInt(65537))},
		{"RSA of 8200 bits", rsaSPKI(oddNumber(t, 8200), big.NewInt(65537))},
		{"RSA with an even exponent", rsaSPKI(n, big.NewInt(65536))},
		{"RSA with exponent 1", rsaSPKI(n, big.NewInt(1))},
		{"RSA with an exponent of 2^31+1", rsaSPKI(n, big.NewInt(1<<31+1))},
		{"RSA with an even modulus", rsaSPKI(new(big.Int).Add(n, big.NewInt(1)), e)},
		{"RSASSA-PSS", pss},
		{"Ed448", rawSPKI(oidDER(1, 3, 101, 113), nil, random(57))},
		{"X25519", rawSPKI(oidDER(1, 3, 101, 110), nil, random(32))},
		{"X448", rawSPKI(oidDER(1, 3, 101, 111), nil, random(56))},
		{"DSA", rawSPKI(dsaOID, dsaParams(23, 11, 4), mustMarshal(big.NewInt(8)))},
		{"an unknown algorithm", rawSPKI(oidDER(1, 2, 3, 4), nil, random(20))},

		{"RSA without parameters", rawSPKI(oidDER(1, 2, 840, 113549, 1, 1, 1), nil, tlv(0x30, mustMarshal(n), mustMarshal(e)))},
		{"RSA with a negative modulus", rsaSPKI(new(big.Int).Neg(n), e)},
		{"RSA with a negative exponent", rsaSPKI(n, big.NewInt(-3))},
		{"RSA with an exponent of 2^64", rsaSPKI(n, new(big.Int).Lsh(big.NewInt(1), 64))},
		{"RSA that is not a SEQUENCE", rawSPKI(oidDER(1, 2, 840, 113549, 1, 1, 1), asn1.NullBytes, mustMarshal(n))},
		{"EC P-256 compressed", rawSPKI(ecOID, p256OID, compressed)},
		{"EC P-256 off its curve", rawSPKI(ecOID, p256OID, offCurve)},
		{"EC on secp256k1", rawSPKI(ecOID, oidDER(1, 3, 132, 0, 10), point)},
		{"EC with explicit parameters", rawSPKI(ecOID, tlv(0x30, mustMarshal(1)), point)},
		{"EC without parameters", rawSPKI(ecOID, nil, point)},
		{"Ed25519 with parameters", rawSPKI(oidDER(1, 3, 101, 112), asn1.NullBytes, edPub)},
		{"Ed25519 of 31 bytes", rawSPKI(oidDER(1, 3, 101, 112), nil, edPub[:31])},
		{"DSA with a zero parameter", rawSPKI(dsaOID, dsaParams(23, 0, 4), mustMarshal(big.NewInt(8)))},
		{"DSA without parameters", rawSPKI(dsaOID, nil, mustMarshal(big.NewInt(8)))},
	}
}

// rsaUsable: Go's crypto/rsa verifies signatures with the key (a wrong
// signature is refused as such, not for the key).
func rsaUsable(k *rsa.PublicKey) bool {
	h := sha256.Sum256(nil)
	sig := make([]byte, (k.N.BitLen()+7)/8)
	sig[len(sig)-1] = 1
	return errors.Is(rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig), rsa.ErrVerification)
}

// goKeyUse is what Go does with a certificate's key: whether it parses
// the certificate, takes it from a server (crypto/tls: not an RSA key of
// more than 8192 bits), uses its key as a server's key, and verifies
// signatures with it.
func goKeyUse(der []byte) (parsed, sent, server, verifier bool) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return false, false, false, false
	}
	sent = true
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		sent = k.N.BitLen() <= 8192
		verifier = rsaUsable(k)
		server = verifier
	case *ecdsa.PublicKey:
		verifier = true
		server = k.Curve == elliptic.P256() || k.Curve == elliptic.P384() || k.Curve == elliptic.P521()
	case ed25519.PublicKey:
		server, verifier = true, true
	}
	return true, sent, server, verifier
}

// TestPythonKeysAsGo: the module's check of a handshake takes a key where
// Go takes it, as the server's certificate, as an intermediate, as another
// certificate the server sends, and as the anchor; each certificate is
// one Go makes with the key put in (the module does not check
// signatures: OpenSSL did).
func TestPythonKeysAsGo(t *testing.T) {
	py := findPython(t)
	w := newWorld(t)
	p := w.pki
	w.cert("root.pem", p.Root)
	w.file("rules.toml", "[[rule]]\nhosts = [\"**.keys.test\"]\nanchors = [\"root.pem\"]\n")
	leaf := p.LeafFrom(t, p.Intermediate, "a.keys.test")
	withKey := func(c *mint.Cert, spki []byte) []byte {
		return reissue(t, c, p.Root, func(e [][]byte) [][]byte { e[6] = spki; return e }, nil, 0).Certificate[0]
	}
	type row struct {
		name           string
		sent, verified [][]byte
		want           bool
	}
	var rows []row
	for _, k := range keyCases(t) {
		asLeaf, asInter := withKey(leaf, k.spki), withKey(p.Intermediate, k.spki)
		asRoot := withKey(p.Root, k.spki)
		other := withKey(p.LeafFrom(t, p.Intermediate, "other.keys.test"), k.spki)
		_, lSent, lServer, _ := goKeyUse(asLeaf)
		_, iSent, _, iVerifier := goKeyUse(asInter)
		_, oSent, _, _ := goKeyUse(other)
		rParsed, _, _, rVerifier := goKeyUse(asRoot)
		rows = append(rows,
			row{k.name + " as the server's key", [][]byte{asLeaf, p.Intermediate.DER}, [][]byte{asLeaf, p.Intermediate.DER, p.Root.DER}, lSent && lServer},
			row{k.name + " as the intermediate's key", [][]byte{leaf.DER, asInter}, [][]byte{leaf.DER, asInter, p.Root.DER}, iSent && iVerifier},
			row{k.name + " in another certificate sent", [][]byte{leaf.DER, p.Intermediate.DER, other}, [][]byte{leaf.DER, p.Intermediate.DER, p.Root.DER}, oSent},
			row{k.name + " as the anchor's key", [][]byte{leaf.DER, p.Intermediate.DER}, [][]byte{leaf.DER, p.Intermediate.DER, asRoot}, rParsed && rVerifier},
		)
	}
	var in strings.Builder
	hexes := func(ders [][]byte) string {
		var out []string
		for _, d := range ders {
			out = append(out, hex.EncodeToString(d))
		}
		return strings.Join(out, " ")
	}
	for _, r := range rows {
		in.WriteString(r.name + "\t" + hexes(r.sent) + "\t" + hexes(r.verified) + "\n")
	}
	script := `
import sys
sys.path.insert(0, sys.argv[1])
import httptrust_policy as hp
i = hp.scope_for("a.keys.test")
for line in sys.stdin:
    name, sent, verified = line.rstrip("\n").split("\t")
    sent = [bytes.fromhex(h) for h in sent.split()]
    verified = [bytes.fromhex(h) for h in verified.split()]
    try:
        hp._check(i, sent[0], "a.keys.test", sent=sent, verified=verified)
        print(name + "\tok")
    except hp.RefusedError as e:
        print(name + "\trefused: " + str(e))
`
	cmd := exec.Command(py, "-c", script, w.write(Options{Format: "python"}))
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	got := parseResults(string(out))
	for _, r := range rows {
		res, ok := got[r.name]
		switch {
		case !ok:
			t.Errorf("%s: no result", r.name)
		case r.want && res != "ok":
			t.Errorf("%s: refused, Go takes it: %s", r.name, res)
		case !r.want && res == "ok":
			t.Errorf("%s: ACCEPTED, Go refuses it (trust widened)", r.name)
		}
	}
}
