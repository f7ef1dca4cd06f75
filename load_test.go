package httptrust

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/testpki"
)

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDirTrustsOnlyThroughRules(t *testing.T) {
	l := newLab(t)
	dir := t.TempDir()
	dev := l.pki.SelfSigned(t, "dev.test")
	stray := l.pki.SelfSigned(t, "stray.test")
	writeFile(t, filepath.Join(dir, "dev.cer"), string(dev.DER)) // DER in a .cer
	writeFile(t, filepath.Join(dir, "stray.pem"), string(stray.CertPEM()))
	writeFile(t, filepath.Join(dir, "devices.toml"), "[[rule]]\nhosts = [\"dev.test\"]\ncertificates = [\"dev.cer\"]\n")
	writeFile(t, filepath.Join(dir, "notes.txt"), "junk")
	p, err := LoadDir(dir, l.opts())
	if err != nil {
		t.Fatal(err)
	}
	sd := l.serve(testpki.Chain(dev), "dev.test")
	ss := l.serve(testpki.Chain(stray), "stray.test")
	c := l.client(p)
	wantOK(t, c, at(sd, "dev.test"))
	// A file merely lying in the folder trusts nothing.
	wantReason(t, c, at(ss, "stray.test"), ReasonSelfSigned)
	if len(p.Skipped()) != 3 {
		t.Errorf("skipped %v, want the two certificate files and notes.txt reported", p.Skipped())
	}
}

// A Kubernetes ConfigMap mount: files are symlinks into ..data, which is a
// symlink to a timestamped folder.
func TestLoadDirKubernetesLayout(t *testing.T) {
	l := newLab(t)
	dir := t.TempDir()
	ts := filepath.Join(dir, "..2026_11_28_12_00_00.000000001")
	writeFile(t, filepath.Join(ts, "corp.toml"), "[[rule]]\nhosts = [\"**.corp.test\"]\nanchors = [\"root.pem\"]\n")
	writeFile(t, filepath.Join(ts, "root.pem"), string(l.pki.Root.CertPEM()))
	must(t, os.Symlink(filepath.Base(ts), filepath.Join(dir, "..data")))
	must(t, os.Symlink("..data/corp.toml", filepath.Join(dir, "corp.toml")))
	must(t, os.Symlink("..data/root.pem", filepath.Join(dir, "root.pem")))
	p, err := LoadDir(dir, l.opts())
	if err != nil {
		t.Fatal(err)
	}
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "api.corp.test")), "api.corp.test")
	wantOK(t, l.client(p), at(s, "api.corp.test"))
}

func TestLoadDirErrorsNeverWidenTrust(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"missing folder", func(t *testing.T, dir string) { must(t, os.Remove(dir)) }, "store"},
		{"bad rule file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "a.toml"), "[[rule]]\nhosts = [\"**.com\"]\n")
		}, "a.toml:2: hosts"},
		{"bad managed file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "managed", "x.toml"), "[[rule]]\nhosts = [\"a.test\"]\nbogus = 1\n")
		}, "managed/x.toml:3: bogus"},
		{"fifo rule file", func(t *testing.T, dir string) {
			must(t, syscall.Mkfifo(filepath.Join(dir, "pipe.toml"), 0o644))
		}, "not a regular file"},
		{"symlink loop", func(t *testing.T, dir string) {
			must(t, os.Symlink("loop.toml", filepath.Join(dir, "loop.toml")))
		}, "loop.toml"},
		{"oversized rule file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "big.toml"), strings.Repeat("#", MaxRuleFileSize+1))
		}, "more than"},
		{"rule file writable by others", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "a.toml"), "[[rule]]\nhosts = [\"x.test\"]\n")
			must(t, os.Chmod(filepath.Join(dir, "a.toml"), 0o666))
		}, "writable by others"},
		{"store folder writable by others", func(t *testing.T, dir string) {
			must(t, os.Chmod(dir, 0o777))
		}, "chmod o-w"},
		{"duplicate across files", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "a.toml"), "[[rule]]\nhosts = [\"x.test\"]\n")
			writeFile(t, filepath.Join(dir, "b.toml"), "[[rule]]\nhosts = [\"X.test\"]\n")
		}, "a.toml:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			done := make(chan struct{})
			var err error
			go func() { _, err = LoadDir(dir, nil); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("LoadDir hangs")
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadDir: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// The default handshake timeout bounds a server that never answers, and a
// caller's shorter one wins.
func TestHandshakeTimeout(t *testing.T) {
	l := newLab(t)
	silent := testpki.StartSilent(t, "127.0.0.1")
	p := l.policy()
	base := l.base()
	base.TLSHandshakeTimeout = 300 * time.Millisecond
	start := time.Now()
	_, err := get(&http.Client{Transport: p.Transport(base)}, silent.URL+"/")
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("silent server: %v after %v", err, time.Since(start))
	}
	var ve *VerifyError
	if errors.As(err, &ve) {
		t.Errorf("a timeout reported as %v", ve.Reason)
	}
	if tr := p.Transport(nil); tr.base.TLSHandshakeTimeout != DefaultTLSHandshakeTimeout ||
		tr.base.ResponseHeaderTimeout != DefaultResponseHeaderTimeout {
		t.Errorf("default timeouts not set: %+v", tr.base)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A certificate or key file of the store that others may write fails its
// hosts closed.
func TestStoreFileWritableByOthersFailsClosed(t *testing.T) {
	l := newLab(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "corp.toml"), "[[rule]]\nhosts = [\"a.test\"]\nanchors = [\"root.pem\"]\n")
	writeFile(t, filepath.Join(dir, "root.pem"), string(l.pki.Root.CertPEM()))
	must(t, os.Chmod(filepath.Join(dir, "root.pem"), 0o646))
	p, err := LoadDir(dir, l.opts())
	if err != nil {
		t.Fatal(err)
	}
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "a.test")), "a.test")
	e := wantReason(t, l.client(p), at(s, "a.test"), ReasonBadConfig)
	mustContain(t, "detail", e.Detail, "root.pem", "writable by others")
}
