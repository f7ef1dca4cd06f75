package httptrust

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// events collects what a Reloader reports.
type events struct {
	mu      sync.Mutex
	reloads int
	errs    []error
	changed chan struct{}
}

func newEvents() *events { return &events{changed: make(chan struct{}, 100)} }

func (e *events) opts() *ReloadOptions {
	return &ReloadOptions{Debounce: 20 * time.Millisecond, Poll: -1,
		OnReload: func(*Policy) { e.mu.Lock(); e.reloads++; e.mu.Unlock(); e.changed <- struct{}{} },
		OnError:  func(err error) { e.mu.Lock(); e.errs = append(e.errs, err); e.mu.Unlock(); e.changed <- struct{}{} },
	}
}

func (e *events) wait(t *testing.T) {
	t.Helper()
	select {
	case <-e.changed:
	case <-time.After(5 * time.Second):
		t.Fatal("the reloader reported nothing")
	}
}

func (e *events) lastErr() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.errs) == 0 {
		return nil
	}
	return e.errs[len(e.errs)-1]
}

// kubeMount lays out a ConfigMap volume: files are links into ..data, a
// link to a timestamped folder swapped atomically on update.
type kubeMount struct {
	t   *testing.T
	dir string
	n   int
}

func (k *kubeMount) publish(files map[string]string) {
	k.t.Helper()
	k.n++
	ts := filepath.Join(k.dir, "..2026_11_28_0"+string(rune('0'+k.n)))
	for name, data := range files {
		writeFile(k.t, filepath.Join(ts, name), data)
		link := filepath.Join(k.dir, name)
		if _, err := os.Lstat(link); err != nil {
			must(k.t, os.Symlink(filepath.Join("..data", name), link))
		}
	}
	tmp := filepath.Join(k.dir, "..data_tmp")
	must(k.t, os.Symlink(filepath.Base(ts), tmp))
	must(k.t, os.Rename(tmp, filepath.Join(k.dir, "..data")))
}

func TestReloadKubernetesSwap(t *testing.T) {
	l := newLab(t)
	other := l.public // a second CA
	k := &kubeMount{t: t, dir: t.TempDir()}
	rule := "[[rule]]\nhosts = [\"**.corp.test\"]\nanchors = [\"root.pem\"]\n"
	k.publish(map[string]string{"corp.toml": rule, "root.pem": string(l.pki.Root.CertPEM())})
	ev := newEvents()
	r, err := WatchDir(k.dir, l.opts(), ev.opts())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s1 := l.serve(l.pki.FullChain(l.pki.Leaf(t, "api.corp.test")), "api.corp.test")
	s2 := l.serve(other.FullChain(other.Leaf(t, "api.corp.test")), "api.corp.test")
	c := &http.Client{Transport: r.Transport(l.base())}
	wantOK(t, c, at(s1, "api.corp.test"))

	k.publish(map[string]string{"corp.toml": rule, "root.pem": string(other.Root.CertPEM())})
	ev.wait(t)
	if err := ev.lastErr(); err != nil {
		t.Fatal(err)
	}
	// The removed anchor cannot live on in a pooled connection.
	wantReason(t, c, at(s1, "api.corp.test"), ReasonUnknownAuthority)
	wantOK(t, c, at(s2, "api.corp.test"))
}

func TestReloadKeepsLastGoodPolicy(t *testing.T) {
	l := newLab(t)
	parent := t.TempDir()
	dir := filepath.Join(parent, "store")
	writeFile(t, filepath.Join(dir, "corp.toml"), "[[rule]]\nhosts = [\"**.corp.test\"]\nanchors = [\"root.pem\"]\n")
	writeFile(t, filepath.Join(dir, "root.pem"), string(l.pki.Root.CertPEM()))
	ev := newEvents()
	r, err := WatchDir(dir, l.opts(), ev.opts())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "api.corp.test")), "api.corp.test")
	c := &http.Client{Transport: r.Transport(l.base())}
	good := r.Policy()

	steps := []struct {
		name, want string
		do         func()
	}{
		{"bad rule", "corp.toml:2: hosts", func() {
			writeFile(t, filepath.Join(dir, "corp.toml"), "[[rule]]\nhosts = [\"**.com\"]\n")
		}},
		{"every rule gone", "every rule is gone", func() {
			must(t, os.Remove(filepath.Join(dir, "corp.toml")))
		}},
		{"folder gone", "store", func() {
			must(t, os.RemoveAll(dir))
		}},
	}
	for _, st := range steps {
		st.do()
		ev.wait(t)
		err := ev.lastErr()
		if err == nil || !strings.Contains(err.Error(), st.want) || !strings.Contains(err.Error(), "keeping the last good policy") {
			t.Fatalf("%s: reported %v, want %q", st.name, err, st.want)
		}
		if r.Policy() != good {
			t.Fatalf("%s: the policy changed", st.name)
		}
		wantOK(t, c, at(s, "api.corp.test"))
	}
	// The folder comes back with a rotated pin: it takes effect, and the
	// pooled connection made under the old policy is not reused.
	writeFile(t, filepath.Join(dir, "root.pem"), string(l.pki.Root.CertPEM()))
	writeFile(t, filepath.Join(dir, "corp.toml"), "[[rule]]\nhosts = [\"**.corp.test\"]\nanchors = [\"root.pem\"]\npins = [\""+pinA+"\", \""+pinB+"\"]\n")
	for r.Policy() == good {
		ev.wait(t)
	}
	e := wantReason(t, c, at(s, "api.corp.test"), ReasonPinMismatch)
	if len(e.ExpectedPins) != 2 {
		t.Errorf("pins %v", e.ExpectedPins)
	}
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
}

// A certificate in a subfolder is watched, and the policy in effect holds
// every certificate it names: an unmount after a failed reload does not
// make it fail.
func TestReloadWatchesNamedFilesAndHoldsThem(t *testing.T) {
	l := newLab(t)
	other := l.public
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "corp.toml"), "[[rule]]\nhosts = [\"**.corp.test\"]\nanchors = [\"cas/root.pem\"]\n")
	writeFile(t, filepath.Join(dir, "cas", "root.pem"), string(l.pki.Root.CertPEM()))
	ev := newEvents()
	r, err := WatchDir(dir, l.opts(), ev.opts())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s1 := l.serve(l.pki.FullChain(l.pki.Leaf(t, "api.corp.test")), "api.corp.test")
	s2 := l.serve(other.FullChain(other.Leaf(t, "api.corp.test")), "api.corp.test")
	c := &http.Client{Transport: r.Transport(l.base())}
	wantOK(t, c, at(s1, "api.corp.test"))

	writeFile(t, filepath.Join(dir, "cas", "root.pem"), string(other.Root.CertPEM()))
	ev.wait(t)
	wantReason(t, c, at(s1, "api.corp.test"), ReasonUnknownAuthority)
	wantOK(t, c, at(s2, "api.corp.test"))

	// The anchor's file vanishes with a bad rule: the last good policy
	// keeps working from what it read.
	writeFile(t, filepath.Join(dir, "corp.toml"), "[[rule]]\nhosts = [\"**.com\"]\n")
	must(t, os.Remove(filepath.Join(dir, "cas", "root.pem")))
	ev.wait(t)
	if ev.lastErr() == nil {
		t.Fatal("a bad store reloaded")
	}
	wantOK(t, c, at(s2, "api.corp.test"))
}
