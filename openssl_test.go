package httptrust

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// Servers that speak only old protocols or ciphers. Go serves TLS 1.0 and
// 1.1, 3DES, RC4 and static RSA when told to; DHE and NULL ciphers, which
// Go does not implement, are served by `openssl s_server` where it is
// installed.

// mxProtocolCases are the matrix rows for legacy protocols and ciphers.
func mxProtocolCases() []mxCase {
	return []mxCase{
		{"TLS 1.0 only", ReasonProtocolMismatch, mxOldVersion(tls.VersionTLS10)},
		{"TLS 1.1 only", ReasonProtocolMismatch, mxOldVersion(tls.VersionTLS11)},
		{"3DES only", ReasonProtocolMismatch, mxCiphers(mint.RSA2048, tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA)},
		{"RC4 only", ReasonProtocolMismatch, mxCiphers(mint.ECDSAP256, tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA)},
		{"static RSA key exchange only", ReasonProtocolMismatch, mxCiphers(mint.RSA2048,
			tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_RSA_WITH_AES_128_CBC_SHA)},
	}
}

// legacyOnly makes a server speak only TLS version v, HTTP/1.1, as an old
// device does.
func legacyOnly(v uint16) func(*tls.Config) {
	return func(c *tls.Config) {
		c.MinVersion, c.MaxVersion = v, v
		c.NextProtos = []string{"http/1.1"}
	}
}

func mxOldVersion(v uint16) func(t *testing.T, l *lab) mxScenario {
	return func(t *testing.T, l *lab) mxScenario {
		return mxScenario{
			url: mxServe(l, l.pki.FullChain(l.pki.Leaf(t, "old.test")), "old.test", legacyOnly(v)), rules: []Rule{l.anchored("old.test")},
			check: func(t *testing.T, e *VerifyError) {
				// old.test trusts an anchor: a refused version may be forged,
				// so the remedy asks the operator and gives no ready change.
				mxContains(t, "fix", fixOf(e), "operator confirms", "min_tls")
				mxLacks(t, "fix", fixOf(e), `"1.0"`)
			},
			follow: l.followMinTLS("old.test"),
		}
	}
}

// followMinTLS applies the min_tls a fix suggests to host's rule.
func (l *lab) followMinTLS(host string) func(t *testing.T, e *VerifyError) *http.Client {
	return func(t *testing.T, e *VerifyError) *http.Client {
		r := l.anchored(host)
		switch c := e.Remedy.Change; {
		case c != nil && c.GoField == "MinTLS":
			r.MinTLS = strings.Trim(c.Value, `"`)
		case e.Remedy.OutOfBand && strings.Contains(e.Remedy.Text, "min_tls"):
			// The host trusts something: the remedy asks the operator, and
			// the test knows what the device speaks.
			r.MinTLS = "1.0"
		default:
			t.Fatalf("remedy %q asks for no min_tls", fixOf(e))
		}
		return l.clientFor(nil, r)
	}
}

// mxCiphers serves a TLS 1.2 server that offers only suites, with a
// certificate of key type kt. A client offering those suites reaches it
// (the control); httptrust offers none of them, under any rule.
func mxCiphers(kt mint.KeyType, suites ...uint16) func(t *testing.T, l *lab) mxScenario {
	return func(t *testing.T, l *lab) mxScenario {
		leaf := mxMint(t, mint.Template{Names: []string{"old.test"}, KeyType: kt}, l.pki.Intermediate)
		s := testpki.StartTLS(t, "127.0.0.1", l.pki.FullChain(leaf), nil, func(c *tls.Config) {
			legacyOnly(tls.VersionTLS12)(c)
			c.CipherSuites = suites
		})
		l.mu.Lock()
		l.resolve["old.test"] = "127.0.0.1"
		l.mu.Unlock()
		control := &tls.Config{ServerName: "old.test", RootCAs: l.pki.Pool(), CipherSuites: suites, MaxVersion: tls.VersionTLS12}
		conn, err := tls.Dial("tcp", s.Addr, control)
		if err != nil {
			t.Fatalf("control: a client offering %s does not reach the server: %v", suiteNames(suites), err)
		}
		conn.Close()
		return mxScenario{url: at(s, "old.test"), rules: []Rule{l.anchored("old.test")}, check: l.cipherFixCheck("old.test", at(s, "old.test"))}
	}
}

// cipherFixCheck checks the fix for a server whose ciphers no rule can
// allow: lowering min_tls does not help, so the fix must not suggest it.
func (l *lab) cipherFixCheck(host, url string) func(t *testing.T, e *VerifyError) {
	return func(t *testing.T, e *VerifyError) {
		r := l.anchored(host)
		r.MinTLS = "1.0"
		wantReason(t, l.clientFor(nil, r), url, ReasonProtocolMismatch)
		mxLacks(t, "fix", fixOf(e), "min_tls")
	}
}

func suiteNames(ids []uint16) string {
	var names []string
	for _, id := range ids {
		names = append(names, tls.CipherSuiteName(id))
	}
	return strings.Join(names, ", ")
}

// A TLS 1.0 device is reached through its own rule's min_tls, at TLS 1.0,
// and the allowance reaches no other host: not a sibling on the same
// server, not the domain whose rule it inherits from.
func TestLegacyTLSOnlyThroughItsOwnRule(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "old.dev.test", "new.dev.test")), "old.dev.test", "new.dev.test")
	old := testpki.StartTLS(t, "127.0.0.1", l.pki.FullChain(l.pki.Leaf(t, "old.dev.test", "new.dev.test")), nil, legacyOnly(tls.VersionTLS10))
	c := l.client(l.policy(
		Rule{Hosts: []string{"**.dev.test"}, AnchorCerts: certsOf(l.pki.Root)},
		Rule{Hosts: []string{"old.dev.test"}, MinTLS: "1.0"},
	))
	resp, err := c.Get(at(old, "old.dev.test"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS10 {
		t.Errorf("negotiated %v, want TLS 1.0", resp.TLS)
	}
	e := wantReason(t, c, at(old, "new.dev.test"), ReasonProtocolMismatch)
	mxContains(t, "fix", fixOf(e), "operator confirms", "min_tls")
	// A modern server is still reached at a modern version under the rule
	// that allows TLS 1.0.
	resp, err = c.Get(at(s, "old.dev.test"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.TLS.Version != tls.VersionTLS13 {
		t.Errorf("modern server negotiated %x under min_tls 1.0, want TLS 1.3", resp.TLS.Version)
	}
}

// Cipher suites Go does not implement, served by openssl s_server.
func TestOpenSSLLegacyServers(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed: DHE and NULL cipher servers need it")
	}
	tests := []struct {
		name    string
		kt      mint.KeyType
		ciphers string // OpenSSL's names, TLS 1.2
		extra   []string
		reason  Reason // ReasonUnknown: reached (the control)
	}{
		{"control: ECDHE-ECDSA-AES128-GCM-SHA256", mint.ECDSAP256, "ECDHE-ECDSA-AES128-GCM-SHA256", nil, ReasonUnknown},
		{"DHE only", mint.RSA2048, "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA", nil, ReasonProtocolMismatch},
		{"NULL cipher only", mint.ECDSAP256, "ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0", nil, ReasonProtocolMismatch},
		{"RC4 only", mint.RSA2048, "RC4-SHA:ECDHE-RSA-RC4-SHA:@SECLEVEL=0", []string{"-provider", "legacy", "-provider", "default"}, ReasonProtocolMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			leaf := mxMint(t, mint.Template{Names: []string{"old.test"}, KeyType: tt.kt}, l.pki.Intermediate)
			port := startSServer(t, bin, l.pki, leaf, append([]string{"-tls1_2", "-cipher", tt.ciphers}, tt.extra...)...)
			// The control: openssl's own client, offering those ciphers, is
			// served; so a refusal below is httptrust's.
			sClient(t, bin, port, tt.ciphers, tt.extra...)
			l.mu.Lock()
			l.resolve["old.test"] = "127.0.0.1"
			l.mu.Unlock()
			url := "https://old.test:" + port + "/"
			c := l.client(l.policy(l.anchored("old.test")))
			if tt.reason == ReasonUnknown {
				wantOK(t, c, url)
				return
			}
			e := wantReason(t, c, url, tt.reason)
			t.Run("details", func(t *testing.T) {
				if bug, ok := mxKnownBugs()["openssl: "+tt.name]; ok {
					t.Skip("known bug: " + bug.what)
				}
				mxCommon(t, e, url, "")
				l.cipherFixCheck("old.test", url)(t, e)
			})
		})
	}
}

// startSServer runs `openssl s_server -www` on 127.0.0.1 with leaf and the
// PKI's intermediate, and returns its port. The test is skipped if openssl
// refuses the arguments (a cipher its build lacks); the server is killed
// when the test ends.
func startSServer(t *testing.T, bin string, pki *testpki.PKI, leaf *mint.Cert, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	key, err := leaf.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"cert.pem": leaf.CertPEM(), "key.pem": key, "chain.pem": pki.Intermediate.CertPEM()}
	for name, data := range files {
		must(t, os.WriteFile(filepath.Join(dir, name), data, 0o600))
	}
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, append([]string{"s_server", "-accept", "127.0.0.1:" + port, "-www",
			"-cert", filepath.Join(dir, "cert.pem"), "-key", filepath.Join(dir, "key.pem"),
			"-cert_chain", filepath.Join(dir, "chain.pem")}, args...)...)
		stdout := &syncWriter{want: "ACCEPT\n", seen: make(chan struct{})}
		stderr := &syncWriter{}
		cmd.Stdout, cmd.Stderr = stdout, stderr
		if err := cmd.Start(); err != nil {
			cancel()
			t.Skipf("openssl s_server: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		var ok bool
		select {
		case <-stdout.seen:
			ok = true
		case <-exited:
		case <-time.After(10 * time.Second):
		}
		stop := func() { cancel(); <-exited }
		if ok {
			t.Cleanup(stop)
			return port
		}
		stop()
		msg := stderr.String()
		if strings.Contains(msg, "ddress already in use") && attempt < 3 {
			continue
		}
		t.Skipf("openssl s_server %s refused to start: %s", strings.Join(args, " "), firstLines(msg, 3))
	}
}

// sClient connects `openssl s_client` offering ciphers at TLS 1.2 and
// fails the test unless the handshake completes.
func sClient(t *testing.T, bin, port, ciphers string, extra ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := append([]string{"s_client", "-connect", "127.0.0.1:" + port, "-tls1_2", "-cipher", ciphers, "-brief"}, extra...)
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if !strings.Contains(string(out), "CONNECTION ESTABLISHED") {
		t.Fatalf("control: openssl s_client offering %s is not served: %v: %s", ciphers, err, firstLines(string(out), 5))
	}
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}

// syncWriter collects what a process writes, safe to read while exec's
// copying goroutine writes; seen is closed once the output holds want.
type syncWriter struct {
	mu   sync.Mutex
	b    strings.Builder
	want string
	seen chan struct{}
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	had := s.want != "" && strings.Contains(s.b.String(), s.want)
	s.b.Write(p)
	if s.want != "" && !had && strings.Contains(s.b.String(), s.want) {
		close(s.seen)
	}
	return len(p), nil
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
