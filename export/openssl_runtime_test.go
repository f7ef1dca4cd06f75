package export

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The servers of these tests are openssl s_server processes on loopback:
// they present keys and speak TLS parameters that Go's TLS server cannot
// (an Ed448 key, static RSA key exchange, DHE, the X448 group), and which
// the platforms accept where httptrust refuses them.

// osslDir is a folder of openssl certificates: an RSA root (root.pem) and
// leaves it signs.
type osslDir struct {
	t       *testing.T
	openssl string
	dir     string
}

func newOSSL(t *testing.T) *osslDir {
	t.Helper()
	o := &osslDir{t: t, openssl: need(t, "openssl"), dir: t.TempDir()}
	o.run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key", "-out", "root.pem", "-subj", "/CN=OpenSSL Test Root",
		"-days", "2", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	return o
}

func (o *osslDir) run(args ...string) {
	o.t.Helper()
	cmd := exec.Command(o.openssl, args...)
	cmd.Dir = o.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		o.t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// leaf makes name.key (genpkey with keyArgs) and name.pem, a leaf for
// host signed sha256WithRSA by the root, and returns name.
func (o *osslDir) leaf(name, host string, keyArgs ...string) string {
	o.t.Helper()
	o.run(append([]string{"genpkey", "-out", name + ".key"}, keyArgs...)...)
	ext := "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:" + host + "\n"
	if err := os.WriteFile(filepath.Join(o.dir, name+".ext"), []byte(ext), 0o600); err != nil {
		o.t.Fatal(err)
	}
	o.run("req", "-new", "-key", name+".key", "-subj", "/CN="+host, "-out", name+".csr")
	o.run("x509", "-req", "-in", name+".csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-days", "1", "-sha256",
		"-extfile", name+".ext", "-out", name+".pem")
	return name
}

func (o *osslDir) read(name string) string {
	o.t.Helper()
	b, err := os.ReadFile(filepath.Join(o.dir, name))
	if err != nil {
		o.t.Fatal(err)
	}
	return string(b)
}

// serve starts openssl s_server on loopback with the leaf name and extra
// flags, and returns a probe of host to it.
func (o *osslDir) serve(probeName, host, name string, want bool, extra ...string) probe {
	o.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{"s_server", "-accept", "127.0.0.1:0", "-cert", name + ".pem", "-key", name + ".key", "-www"}, extra...)
	cmd := exec.CommandContext(ctx, o.openssl, args...)
	cmd.Dir = o.dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		o.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		o.t.Fatal(err)
	}
	o.t.Cleanup(func() { cancel(); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "ACCEPT "); ok {
				lines <- a
			}
		}
		close(lines)
	}()
	select {
	case addr, ok := <-lines:
		if !ok {
			o.t.Fatalf("openssl s_server %s: no ACCEPT line", strings.Join(extra, " "))
		}
		_, port, _ := strings.Cut(addr, ":")
		return probe{name: probeName, host: host, addr: addr, port: port, want: want}
	case <-time.After(20 * time.Second):
		o.t.Fatalf("openssl s_server %s did not start", strings.Join(extra, " "))
	}
	return probe{}
}

// TestLeafKeysGoCannotUse: a leaf under the rule's anchor whose key Go's
// TLS cannot use (Ed448, an RSASSA-PSS key) is refused by httptrust, and
// by the okhttp client, where Java would use it.
func TestLeafKeysGoCannotUse(t *testing.T) {
	o := newOSSL(t)
	w := newWorld(t)
	w.file("root.pem", o.read("root.pem"))
	w.file("rules.toml", "[[rule]]\nhosts = [\"**.k.test\"]\nanchors = [\"root.pem\"]\n")
	probes := []probe{
		o.serve("an RSA leaf", "rsa.k.test", o.leaf("rsa", "rsa.k.test", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"), true),
		o.serve("an EC P-256 leaf", "ec.k.test", o.leaf("ec", "ec.k.test", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"), true),
		o.serve("an Ed25519 leaf", "ed25519.k.test", o.leaf("ed25519", "ed25519.k.test", "-algorithm", "ED25519"), true),
		o.serve("an Ed448 leaf (TLS 1.3)", "ed448.k.test", o.leaf("ed448", "ed448.k.test", "-algorithm", "ED448"), false),
		o.serve("an RSASSA-PSS key leaf", "pss.k.test", o.leaf("pss", "pss.k.test", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"), false),
	}
	checkPolicy(t, w, probes)
	check(t, "okhttp", probes, runOkHttp(t, w.write(Options{Format: "okhttp"}), probes))
}

// TestTLSParametersGoRefuses: a server that speaks only TLS parameters
// Go's client does not offer (static RSA key exchange, DHE, CBC with
// SHA-256, the X448 or ffdhe2048 group) is refused by httptrust; the curl
// flag files and the okhttp client (its suites, and its groups through
// the socket's algorithm constraints) refuse it too.
func TestTLSParametersGoRefuses(t *testing.T) {
	o := newOSSL(t)
	w := newWorld(t)
	w.file("root.pem", o.read("root.pem"))
	w.file("rules.toml", "[[rule]]\nhosts = [\"**.k.test\"]\nanchors = [\"root.pem\"]\nsystem_roots = false\n")
	leaf := o.leaf("rsa", "p.k.test", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048")
	tls12 := func(name, cipher string, want bool) probe {
		return o.serve("TLS 1.2 "+name, "p.k.test", leaf, want, "-no_tls1_3", "-cipher", cipher)
	}
	tls13 := func(group string, want bool) probe {
		return o.serve("TLS 1.3 group "+group, "p.k.test", leaf, want, "-tls1_3", "-groups", group)
	}
	suites := []probe{
		tls12("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", true),
		tls12("ECDHE-RSA-AES256-SHA (CBC, SHA-1)", "ECDHE-RSA-AES256-SHA", true),
		tls12("static RSA key exchange AES128-GCM-SHA256", "AES128-GCM-SHA256", false),
		tls12("DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256", false),
		tls12("ECDHE-RSA-AES128-SHA256 (CBC, SHA-256)", "ECDHE-RSA-AES128-SHA256", false),
	}
	groups := []probe{tls13("X25519", true), tls13("P-384", true), tls13("X448", false), tls13("ffdhe2048", false)}
	all := append(append([]probe{}, suites...), groups...)
	checkPolicy(t, w, all)
	t.Run("curl", func(t *testing.T) {
		curl := need(t, "curl")
		file := fileFor(w.write(Options{Format: "curl", AllowLossy: true}), "any+k.test", ".curl")
		got := map[string]string{}
		for _, p := range all {
			got[p.name] = curlGet(t, curl, file, p)
		}
		check(t, "curl", all, got)
	})
	t.Run("okhttp", func(t *testing.T) {
		check(t, "okhttp", all, runOkHttp(t, w.write(Options{Format: "okhttp"}), all))
	})
}
