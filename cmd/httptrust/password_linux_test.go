package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/httptrust/httptrust/internal/testpki"
)

// runPasswordPrompt runs the CLI with stdin on a pseudo-terminal and types
// password once the CLI has turned the terminal's echo off, as a person
// would at the prompt. It returns the exit code, stdout, stderr and what
// the terminal echoed. With password "", it types nothing and expects no
// prompt.
func runPasswordPrompt(t *testing.T, store, password string, args ...string) (code int, stdout, stderr, echoed string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	var echo bytes.Buffer
	var echoMu sync.Mutex
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 512)
		for {
			n, err := ptmx.Read(buf)
			echoMu.Lock()
			echo.Write(buf[:n])
			echoMu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	var out, errb bytes.Buffer
	e := &env{stdin: tty, stdout: &out, stderr: &errb, now: time.Now, terminal: isTerminal,
		getenv: func(k string) string {
			if k == "HTTPTRUST_STORE" {
				return store
			}
			return ""
		}}
	done := make(chan int, 1)
	go func() { done <- e.run(args) }()
	if password != "" {
		deadline := time.Now().Add(10 * time.Second)
		for {
			tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
			if err == nil && tio.Lflag&unix.ECHO == 0 {
				break
			}
			select {
			case code = <-done:
				t.Fatalf("exit %d before asking for the password:\n%s", code, errb.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("the terminal's echo was never turned off")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if _, err := ptmx.Write([]byte(password + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	code = <-done
	tty.Close()
	ptmx.Close()
	<-readDone
	return code, out.String(), errb.String(), echo.String()
}

// TestPasswordPrompts: an encrypted client certificate (-E FILE) and -u
// USER without a password ask on the terminal; what is typed is never
// echoed, nor printed on stdout or stderr, wrong or right.
func TestPasswordPrompts(t *testing.T) {
	noLeaks(t)
	pki := testpki.New(t)
	id := pki.ClientCert(t, "me")
	p12, err := pkcs12.Modern.WithIterations(2).Encode(id.Key, id.Cert, []*x509.Certificate{pki.Intermediate.Cert}, "s3cret-p12")
	if err != nil {
		t.Fatal(err)
	}
	p12File := writeFile(t, "me.p12", p12)
	ca := writeFile(t, "ca.pem", pki.Root.CertPEM())
	trustStore, err := pkcs12.Modern.WithIterations(2).EncodeTrustStore([]*x509.Certificate{pki.Root.Cert}, "s3cret-store")
	if err != nil {
		t.Fatal(err)
	}
	storeFile := writeFile(t, "cas.p12", trustStore)
	mtls := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "127.0.0.1")), nil,
		func(cfg *tls.Config) { cfg.ClientAuth = tls.RequireAndVerifyClientCert; cfg.ClientCAs = pki.Pool() })
	basic := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "127.0.0.1")), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret-basic" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, "who are you?\n")
			return
		}
		io.WriteString(w, "hello alice\n")
	}))
	store := filepath.Join(t.TempDir(), "store")
	tests := []struct {
		name, password string
		args           []string
		code           int
		stdout, prompt string
	}{
		{"cert", "s3cret-p12", []string{"get", "--cacert", ca, "-E", p12File, mtls.URL}, exitOK, "", "Enter the password for " + p12File + ": "},
		{"cert, wrong password", "not-it-at-all", []string{"get", "--cacert", ca, "--cert", p12File, mtls.URL}, exitClientCert, "", "Enter the password for "},
		{"cacert, a PKCS#12 trust store", "s3cret-store", []string{"get", "--cacert", storeFile, "-E", p12File + ":s3cret-p12", mtls.URL}, exitOK, "", "Enter the password for " + storeFile + ": "},
		{"user", "s3cret-basic", []string{"get", "--cacert", ca, "-f", "-u", "alice", basic.URL}, exitOK, "hello alice\n", "Enter host password for user 'alice': "},
		{"user, wrong password", "not-it-at-all", []string{"get", "--cacert", ca, "-f", "-v", "-u", "alice", basic.URL}, exitHTTP, "", "Enter host password for user 'alice': "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errb, echoed := runPasswordPrompt(t, store, tt.password, tt.args...)
			if code != tt.code || (tt.stdout != "" && out != tt.stdout) {
				t.Fatalf("exit %d, stdout %q; want %d, %q\n%s", code, out, tt.code, tt.stdout, errb)
			}
			if !strings.Contains(errb, tt.prompt) {
				t.Errorf("no prompt %q:\n%s", tt.prompt, errb)
			}
			for what, s := range map[string]string{"stdout": out, "stderr": errb, "the terminal's echo": echoed} {
				if strings.Contains(s, tt.password) || strings.Contains(s, "s3cret-p12") {
					t.Errorf("the password is in %s: %q", what, s)
				}
			}
			if tt.code == exitClientCert && !strings.Contains(errb, "wrong password") {
				t.Errorf("stderr: %s", errb)
			}
		})
	}

	// Not asked without a terminal's answer to give, nor with the password
	// given: the command line's is warned about.
	code, _, errb, _ := runPasswordPrompt(t, store, "", "get", "--cacert", ca, "-E", p12File+":s3cret-p12", mtls.URL)
	if code != exitOK || strings.Contains(errb, "Enter") || !strings.Contains(errb, "visible to other users") || strings.Contains(errb, "s3cret") {
		t.Errorf("--cert FILE:PASSWORD: exit %d\n%s", code, errb)
	}
}
