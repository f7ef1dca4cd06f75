package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/testpki"
)

// testEnv returns an env over buffers with a store in a temporary folder;
// term says which of the streams count as terminals.
func testEnv(t *testing.T, stdin string, term bool) (*env, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var out, errb bytes.Buffer
	st := filepath.Join(t.TempDir(), "store")
	e := &env{
		stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, now: time.Now,
		getenv: func(k string) string {
			if k == "HTTPTRUST_STORE" {
				return st
			}
			return ""
		},
		terminal: func(any) bool { return term },
	}
	return e, &out, &errb
}

// noLeaks fails t if goroutines outlive it: its cleanup is registered
// first, so it runs after the test's servers are closed.
func noLeaks(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExitCodes drives run for curl's exit codes, each from the error's
// type: nothing here matches message text.
func TestExitCodes(t *testing.T) {
	noLeaks(t)
	pki := testpki.New(t)
	dev := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(pki.SelfSigned(t, "dev.test", "127.0.0.1")), nil)
	api := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "api.test", "127.0.0.1")), nil)
	mtls := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "127.0.0.1")), nil, func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = pki.Pool()
	})
	plain := testpki.StartHTTP(t, "127.0.0.1", nil)
	silent := testpki.StartSilent(t, "127.0.0.1")
	notFound := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "127.0.0.1")), http.NotFoundHandler())
	redirect := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "127.0.0.1")), http.RedirectHandler(plain.URL, http.StatusFound))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	ca := writeFile(t, "ca.pem", pki.Root.CertPEM())
	other := writeFile(t, "other.pem", pki.OtherRoot(t).CertPEM())
	key, _ := pki.Root.KeyPEM()
	keyFile := writeFile(t, "key.pem", key)

	tests := []struct {
		name string
		args []string
		want int
	}{
		{"ok", []string{"get", "--cacert", ca, api.URL}, exitOK},
		{"self-signed", []string{"get", dev.URL}, exitVerify},
		{"unknown authority", []string{"get", "--cacert", other, api.URL}, exitVerify},
		{"name mismatch", []string{"get", "--cacert", ca, "--resolve", "other.test:" + api.Port + ":127.0.0.1", "https://other.test:" + api.Port + "/"}, exitVerify},
		{"pin mismatch", []string{"get", "--cacert", ca, "--pin", "sha256/" + strings.Repeat("A", 43) + "=", api.URL}, exitPin},
		{"pin match", []string{"get", "--cacert", ca, "--pin", pinOf(pki.Intermediate.Cert.RawSubjectPublicKeyInfo), api.URL}, exitOK},
		{"not TLS", []string{"get", "https://" + plain.Addr + "/"}, exitHandshake},
		{"client certificate required", []string{"get", "--cacert", ca, mtls.URL}, exitHandshake},
		{"client key unusable", []string{"get", "--cacert", ca, "--cert", keyFile, mtls.URL}, exitClientCert},
		{"CA file unusable", []string{"get", "--cacert", keyFile, api.URL}, exitCAFile},
		{"closed port", []string{"get", "https://" + closed + "/"}, exitConnect},
		{"timeout", []string{"get", "--max-time", "0.2", silent.URL}, exitTimeout},
		{"fail", []string{"get", "-f", "--cacert", ca, notFound.URL}, exitHTTP},
		{"no fail", []string{"get", "--cacert", ca, notFound.URL}, exitOK},
		{"downgrade", []string{"get", "-L", "--cacert", ca, redirect.URL}, exitFail},
		{"downgrade allowed", []string{"get", "-L", "--allow-downgrade", "--cacert", ca, redirect.URL}, exitOK},
		{"usage: no URL", []string{"get"}, exitUsage},
		{"usage: bad flag", []string{"get", "--nope", api.URL}, exitUsage},
		{"usage: -k", []string{"get", "-k", api.URL}, exitUsage},
		{"usage: unknown command", []string{"nope"}, exitUsage},
		{"fetch: no consent", []string{"fetch", dev.URL}, exitFail},
		{"fetch: wrong fingerprint", []string{"fetch", "--fingerprint", strings.Repeat("0", 64), dev.URL}, exitVerify},
		{"fetch: not TLS", []string{"fetch", "--yes", "https://" + plain.Addr + "/"}, exitHandshake},
		{"inspect: a key is described", []string{"inspect", keyFile}, exitOK},
		{"inspect: neither a certificate nor a key", []string{"inspect", writeFile(t, "notes.txt", []byte("notes\n"))}, exitCAFile},
		{"version", []string{"--version"}, exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, out, errb := testEnv(t, "", false)
			if got := e.run(tt.args); got != tt.want {
				t.Errorf("httptrust %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(tt.args, " "), got, tt.want, out, errb)
			}
			if tt.want != exitOK && !strings.HasPrefix(errb.String(), "httptrust: error: ") {
				t.Errorf("stderr does not start with the error line: %q", errb)
			}
		})
	}
	if n := dev.Requests.Load(); n != 0 {
		t.Errorf("the self-signed server answered %d requests, want 0", n)
	}
}

func pinOf(spki []byte) string {
	return "sha256/" + b64sha256(spki)
}

// TestVerboseShowsRuleAndTLS checks -v: chain, TLS version, the rule.
func TestVerboseShowsRuleAndTLS(t *testing.T) {
	noLeaks(t)
	pki := testpki.New(t)
	srv := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "127.0.0.1")), nil)
	ca := writeFile(t, "ca.pem", pki.Root.CertPEM())
	e, out, errb := testEnv(t, "", false)
	if got := e.run([]string{"get", "-v", "--cacert", ca, srv.URL}); got != 0 {
		t.Fatalf("exit %d: %s", got, errb)
	}
	for _, want := range []string{"* TLS 1.3, ", "session resumed: no", "* Trusted by: rule 127.0.0.1 at the command line", "anchors from the command line", "CN=httptrust Test Intermediate", "< HTTP/2.0 200 OK"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("-v output lacks %q:\n%s", want, errb)
		}
	}
	if !strings.HasPrefix(out.String(), "ok ") {
		t.Errorf("body %q", out)
	}
}

func b64sha256(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestColorHonoursNoColor: "error" is red only on a terminal without
// NO_COLOR.
func TestColorHonoursNoColor(t *testing.T) {
	for _, tt := range []struct {
		term    bool
		noColor string
		want    bool
	}{{true, "", true}, {true, "1", false}, {false, "", false}} {
		e, _, errb := testEnv(t, "", tt.term)
		getenv := e.getenv
		e.getenv = func(k string) string {
			if k == "NO_COLOR" {
				return tt.noColor
			}
			return getenv(k)
		}
		if code := e.run([]string{"get"}); code != exitUsage {
			t.Fatalf("exit %d", code)
		}
		if got := strings.Contains(errb.String(), "\x1b[1;31merror\x1b[0m"); got != tt.want {
			t.Errorf("terminal %v NO_COLOR %q: coloured %v, want %v: %q", tt.term, tt.noColor, got, tt.want, errb)
		}
	}
}

// TestProgressBar: with -o FILE and stderr on a terminal, a progress bar
// for a large body; with -s, none.
func TestProgressBar(t *testing.T) {
	noLeaks(t)
	pki := testpki.New(t)
	body := strings.Repeat("x", 3<<20)
	srv := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "127.0.0.1")), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		io.WriteString(w, body)
	}))
	ca := writeFile(t, "ca.pem", pki.Root.CertPEM())
	for _, silent := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "out.bin")
		args := []string{"get", "--cacert", ca, "-o", out, srv.URL}
		if silent {
			args = append(args, "-s")
		}
		e, stdout, errb := testEnv(t, "", true)
		if code := e.run(args); code != 0 {
			t.Fatalf("exit %d: %s", code, errb)
		}
		if got, _ := os.ReadFile(out); len(got) != len(body) || stdout.Len() != 0 {
			t.Fatalf("wrote %d bytes to the file, %d to stdout", len(got), stdout.Len())
		}
		bar := strings.Contains(errb.String(), "100% [##############################] 3.0 MiB / 3.0 MiB")
		if bar == silent {
			t.Errorf("silent %v: progress bar shown %v: %q", silent, bar, errb)
		}
	}
}

// TestFetchIntermediates: a server that omits its intermediate is refused
// (incomplete chain, 60) unless --fetch-intermediates fetches it from the
// issuer URL the leaf names.
func TestFetchIntermediates(t *testing.T) {
	noLeaks(t)
	pki := testpki.New(t)
	issuer := testpki.StartHTTP(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(pki.Intermediate.DER)
	}))
	leaf := pki.WithIssuerURL(t, issuer.URL+"/inter.cer", "127.0.0.1")
	srv := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(leaf), nil)
	ca := writeFile(t, "ca.pem", pki.Root.CertPEM())
	for _, tt := range []struct {
		fetch bool
		want  int
	}{{false, exitVerify}, {true, exitOK}} {
		e, _, errb := testEnv(t, "", false)
		e.aia = &httptrust.AIAFetcher{AllowLoopback: true}
		args := []string{"get", "--cacert", ca, srv.URL}
		if tt.fetch {
			args = append(args, "--fetch-intermediates")
		}
		if got := e.run(args); got != tt.want {
			t.Errorf("--fetch-intermediates %v: exit %d, want %d\n%s", tt.fetch, got, tt.want, errb)
		}
		if !tt.fetch && !strings.Contains(errb.String(), "incomplete chain") {
			t.Errorf("without the flag: %s", errb)
		}
	}
}
