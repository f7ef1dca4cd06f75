package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/httptrust/httptrust/internal/testpki"
)

// failingWriter is a stdout whose reader has gone.
type failingWriter struct{ err error }

func (f failingWriter) Write(p []byte) (int, error) { return 0, f.err }

// TestBodyWriteFailure: a body that cannot be written (a reader gone, a
// full disk) exits 23 and says so, as curl does, not 56 ("receiving").
func TestBodyWriteFailure(t *testing.T) {
	pki := testpki.New(t)
	srv := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "127.0.0.1")), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("line\n", 1000)))
	}))
	ca := writeFile(t, "ca.pem", pki.Root.CertPEM())
	e, _, errb := testEnv(t, "", false)
	e.stdout = failingWriter{syscall.EPIPE}
	if code := e.run([]string{"get", "--cacert", ca, srv.URL + "/"}); code != exitWrite {
		t.Fatalf("exit %d, want %d\n%s", code, exitWrite, errb)
	}
	if !strings.Contains(errb.String(), "writing the body to stdout") {
		t.Errorf("stderr %q", errb)
	}
}

// TestDemoReaderGone: the demo's stdout is drained by a reader that only
// wants the first line (httptrust demo | head -1) and closes: the demo ends
// quietly, exit 0 and nothing on stderr. Before, the process died of
// SIGPIPE, which go run reports as "signal: broken pipe".
func TestDemoReaderGone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds httptrust")
	}
	if runtime.GOOS == "windows" {
		t.Skip("SIGPIPE is a Unix signal")
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	bin := filepath.Join(t.TempDir(), "httptrust")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "demo")
	cmd.Env = append(os.Environ(), "HTTPTRUST_CACHE_DIR=off")
	r, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	r.Close()
	err = cmd.Wait()
	if err != nil || stderr.Len() != 0 {
		t.Fatalf("demo with its reader gone after %q: %v\nstderr: %s", first, err, stderr.String())
	}
}

// TestDemoIgnoresProxies: with a proxy in the environment the demo still
// talks to its own loopback server directly (nothing leaves the machine),
// and the proxy sees nothing.
func TestDemoIgnoresProxies(t *testing.T) {
	noLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var seen atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			seen.Add(1)
			c.Close()
		}
	}()
	e, out, errb := testEnv(t, "", false)
	proxy := "http://" + ln.Addr().String()
	base := e.getenv
	e.getenv = func(k string) string {
		switch k {
		case "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy":
			return proxy
		}
		return base(k)
	}
	if code := e.run([]string{"demo"}); code != exitOK {
		t.Fatalf("demo with HTTPS_PROXY=%s: exit %d\n%s\n%s", proxy, code, out, errb)
	}
	if n := seen.Load(); n != 0 {
		t.Errorf("the proxy got %d connections", n)
	}
}
