package httptrust

import (
	"crypto/tls"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/httptrust/httptrust/internal/testpki"
)

// all_hosts is the only global form, and it is reported loudly; with
// system roots off and no rule that trusts a host, nothing is trusted.
func TestAllHostsIsLoudAndSystemRootsOffTrustsNothing(t *testing.T) {
	l := newLab(t)
	var mu sync.Mutex
	var warnings []string
	o := l.opts()
	o.Observer = func(e Event) {
		if e.Kind == EventWarning {
			mu.Lock()
			warnings = append(warnings, e.Message)
			mu.Unlock()
		}
	}
	p := mustPolicy(t, []Rule{
		{AllHosts: true, SystemRoots: boolp(false), File: "inspection.toml", Line: 1},
		{Hosts: []string{"ok.test"}, AnchorCerts: certsOf(l.pki.Root)},
	}, o)
	if len(p.Warnings()) != 1 || !strings.Contains(p.Warnings()[0], "ALL hosts") || len(warnings) != 1 {
		t.Errorf("warnings %v, observed %v", p.Warnings(), warnings)
	}
	pub := l.serve(l.public.FullChain(l.public.Leaf(t, "pub.test")), "pub.test")
	ok := l.serve(l.pki.FullChain(l.pki.Leaf(t, "ok.test")), "ok.test")
	c := l.client(p)
	wantReason(t, c, at(pub, "pub.test"), ReasonUnknownAuthority)
	wantOK(t, c, at(ok, "ok.test"))
}

// A single pin warns that there is no backup.
func TestSinglePinWarns(t *testing.T) {
	p := mustPolicy(t, []Rule{{Hosts: []string{"api.test"}, Pins: []string{pinA}, File: "api.toml", Line: 3}}, nil)
	if len(p.Warnings()) != 1 || !strings.Contains(p.Warnings()[0], "no backup pin") || !strings.Contains(p.Warnings()[0], "api.toml:3") {
		t.Errorf("warnings %v", p.Warnings())
	}
	p = mustPolicy(t, []Rule{{Hosts: []string{"api.test"}, Pins: []string{pinA + ";" + strings.Replace(pinB, "sha256/", "sha256//", 1)}}}, nil)
	if len(p.Warnings()) != 0 {
		t.Errorf("two pins in curl's list form: warnings %v", p.Warnings())
	}
}

// A PKCS#12 password read from a file (a mounted secret), never the rule.
func TestClientPasswordFile(t *testing.T) {
	l := newLab(t)
	id := l.pki.ClientCert(t, "me")
	s := testpki.StartTLS(t, "127.0.0.1", l.pki.FullChain(l.pki.Leaf(t, "a.test")), nil, func(cfg *tls.Config) {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = l.pki.Pool()
	})
	l.resolve["a.test"] = "127.0.0.1"
	p12 := mustP12(t, id, l.pki.Intermediate, "from-a-file")
	fsys := fstest.MapFS{
		"corp.toml": {Data: []byte("[[rule]]\nhosts = [\"a.test\"]\nanchors = [\"root.pem\"]\nclient_certificate = \"me.p12\"\nclient_password_file = \"secrets/p12pass\"\n")},
		"root.pem":  {Data: l.pki.Root.CertPEM()}, "me.p12": {Data: p12},
		"secrets/p12pass": {Data: []byte("from-a-file\n")},
	}
	p, err := LoadFS(fsys, l.opts())
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, l.client(p), at(s, "a.test"))
}
