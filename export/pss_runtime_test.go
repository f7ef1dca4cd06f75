package export

import (
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/httptrust/httptrust/internal/testpki"
)

// opensslPSS makes, with openssl, an RSA root and two EC leaves it signs
// with RSA-PSS: one with SHA-1 (a 20-byte salt), which Go does not verify,
// and one with SHA-256 (a 32-byte salt), which it does. Go cannot make the
// first (crypto/x509 writes PSS with SHA-2 only). It returns the root's
// PEM and the leaves' key pairs.
func opensslPSS(t *testing.T) (root []byte, sha1, sha256 tls.Certificate) {
	t.Helper()
	openssl := need(t, "openssl")
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(openssl, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key", "-out", "root.pem", "-subj", "/CN=PSS Root",
		"-days", "2", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	leaf := func(host, hash, salt string) tls.Certificate {
		t.Helper()
		ext := "subjectAltName=DNS:" + host + "\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
		if err := os.WriteFile(filepath.Join(dir, host+".ext"), []byte(ext), 0o600); err != nil {
			t.Fatal(err)
		}
		run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", host+".key", "-out", host+".csr", "-subj", "/CN="+host)
		run("x509", "-req", "-in", host+".csr", "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "0x"+hex.EncodeToString([]byte(host[:4])),
			"-days", "1", "-"+hash, "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:"+salt, "-extfile", host+".ext", "-out", host+".pem")
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, host+".pem"), filepath.Join(dir, host+".key"))
		if err != nil {
			t.Fatal(err)
		}
		return pair
	}
	sha1, sha256 = leaf("a.pss.test", "sha1", "20"), leaf("b.pss.test", "sha256", "32")
	root, err := os.ReadFile(filepath.Join(dir, "root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return root, sha1, sha256
}

// TestRSAPSSSignatures: Go verifies RSA-PSS only with SHA-256/384/512 (the
// hash and MGF1 hash the same, a salt as long as the hash), so a leaf
// signed RSA-PSS with SHA-1 under the rule's anchor is refused; JDK 17
// accepts it under an anchor that is not one of its own CAs.
func TestRSAPSSSignatures(t *testing.T) {
	w := newWorld(t)
	root, sha1, sha256 := opensslPSS(t)
	w.file("root.pem", string(root))
	w.file("rules.toml", "[[rule]]\nhosts = [\"**.pss.test\"]\nanchors = [\"root.pem\"]\n")
	serve := func(name, host string, c tls.Certificate, want bool) probe {
		s := testpki.StartTLS(t, "127.0.0.1", c, nil)
		return probe{name: name, host: host, addr: s.Addr, port: s.Port, want: want}
	}
	probes := []probe{
		serve("a leaf signed RSA-PSS with SHA-1", "a.pss.test", sha1, false),
		serve("a leaf signed RSA-PSS with SHA-256", "b.pss.test", sha256, true),
	}
	runCode(t, w, probes, true)

	// OpenSSL refuses the SHA-1 signature itself at Debian's security
	// level: call the module's own check with each leaf.
	py := findPython(t)
	script := `
import sys
sys.path.insert(0, sys.argv[1])
import httptrust_policy as hp
for line in sys.stdin:
    name, host, der, root = line.split()
    try:
        leaf = bytes.fromhex(der)
        hp._check(hp.scope_for(host), leaf, host, verified=[leaf, bytes.fromhex(root)])
        print(name + "\tok")
    except hp.RefusedError as e:
        print(name + "\trefused: " + str(e))
`
	blk, _ := pem.Decode(root)
	if blk == nil {
		t.Fatal("the PSS root is not PEM")
	}
	rootDER := blk.Bytes
	var in strings.Builder
	for i, c := range []tls.Certificate{sha1, sha256} {
		in.WriteString([]string{"SHA-1", "SHA-256"}[i] + "\t" + probes[i].host + "\t" + hex.EncodeToString(c.Certificate[0]) + "\t" + hex.EncodeToString(rootDER) + "\n")
	}
	cmd := exec.Command(py, "-c", script, w.write(Options{Format: "python"}))
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	got := parseResults(string(out))
	if r := got["SHA-1"]; !strings.HasPrefix(r, "refused") {
		t.Errorf("python _check, RSA-PSS with SHA-1: %q, want refused", r)
	}
	if r := got["SHA-256"]; r != "ok" {
		t.Errorf("python _check, RSA-PSS with SHA-256: %q, want ok", r)
	}
}
