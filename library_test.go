package httptrust

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/httptrust/httptrust/internal/testpki"
)

// The caller's *http.Transport keeps its meaning: its TLS settings (all
// but what decides trust and identity) and its HTTP/2 choice.
func TestCallersTransportKeepsItsMeaning(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "a.test")), "a.test")
	p := l.policy(Rule{Hosts: []string{"a.test"}, AnchorCerts: certsOf(l.pki.Root)})
	proto := func(base *http.Transport) (*http.Response, error) {
		resp, err := (&http.Client{Transport: p.Transport(base)}).Get(at(s, "a.test"))
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}

	var keys bytes.Buffer
	base := l.base()
	base.TLSClientConfig = &tls.Config{MaxVersion: tls.VersionTLS12, KeyLogWriter: &keys,
		InsecureSkipVerify: true, RootCAs: l.public.Pool()} // the verification fields are the rule's
	resp, err := proto(base)
	if err != nil {
		t.Fatal(err)
	}
	if resp.TLS.Version != tls.VersionTLS12 {
		t.Errorf("negotiated %s, want the caller's MaxVersion TLS 1.2", tls.VersionName(resp.TLS.Version))
	}
	if keys.Len() == 0 {
		t.Error("the caller's KeyLogWriter got nothing")
	}
	// The caller's InsecureSkipVerify and RootCAs decide nothing.
	rogue := l.serve(l.public.FullChain(l.public.Leaf(t, "a.test")), "a.test")
	base2 := l.base()
	base2.TLSClientConfig = &tls.Config{InsecureSkipVerify: true, RootCAs: l.public.Pool()}
	if _, err := (&http.Client{Transport: p.Transport(base2)}).Get(at(rogue, "a.test")); err == nil {
		t.Error("the caller's TLS config widened trust")
	}

	for _, tt := range []struct {
		name  string
		mod   func(*http.Transport)
		proto string
	}{
		{"ForceAttemptHTTP2", func(b *http.Transport) { b.ForceAttemptHTTP2 = true }, "HTTP/2.0"},
		{"custom dialer, no ForceAttemptHTTP2", func(b *http.Transport) { b.ForceAttemptHTTP2 = false }, "HTTP/1.1"},
		{"empty TLSNextProto", func(b *http.Transport) {
			b.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}, "HTTP/1.1"},
		{"Protocols HTTP/1 only", func(b *http.Transport) {
			b.Protocols = new(http.Protocols)
			b.Protocols.SetHTTP1(true)
		}, "HTTP/1.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := l.base()
			tt.mod(b)
			resp, err := proto(b)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Proto != tt.proto {
				t.Errorf("%s, want %s", resp.Proto, tt.proto)
			}
		})
	}
}

// Policy.Client, called per request, reuses one transport: one
// connection for many requests.
func TestClientReusesOneTransport(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "127.0.0.1")), "127.0.0.1")
	p := l.policy(Rule{Hosts: []string{"127.0.0.1"}, AnchorCerts: certsOf(l.pki.Root)})
	for i := 0; i < 20; i++ {
		c := p.Client()
		if c == p.Client() {
			t.Fatal("the same *http.Client twice: its fields are the caller's to set")
		}
		wantOK(t, c, s.URL+"/")
	}
	if n := s.Handshakes.Load(); n != 1 {
		t.Errorf("%d handshakes for 20 requests through Policy.Client", n)
	}
	p.Client().CloseIdleConnections()
	derived, err := p.Override("127.0.0.1", Rule{})
	if err != nil {
		t.Fatal(err)
	}
	if derived.Client().Transport == p.Client().Transport {
		t.Error("a derived policy shares its parent's transport")
	}
}

// A nil or zero Policy, and a zero Transport, fail with a message naming
// the constructor; nothing panics.
func TestZeroValues(t *testing.T) {
	var nilPolicy *Policy
	for name, p := range map[string]*Policy{"nil": nilPolicy, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			for what, err := range map[string]error{
				"TLSConfigFor": second(p.TLSConfigFor("a.test")),
				"Lookup":       second(p.Lookup("a.test")),
				"Judge":        second(p.Judge("a.test", tls.ConnectionState{})),
				"Override":     second(p.Override("a.test", Rule{})),
				"Validate":     p.Validate(),
			} {
				if err == nil || !strings.Contains(err.Error(), "New, LoadDir or LoadFS") {
					t.Errorf("%s: %v", what, err)
				}
			}
			_, err := p.Client().Get("https://a.test/")
			if err == nil || !strings.Contains(err.Error(), "New, LoadDir or LoadFS") {
				t.Errorf("Client().Get: %v", err)
			}
			_ = p.Rules()
			_ = p.Warnings()
			_ = p.PinSets()
		})
	}
	_, err := (&http.Client{Transport: &Transport{}}).Get("https://a.test/")
	if err == nil || !strings.Contains(err.Error(), "NewTransport") {
		t.Errorf("zero Transport: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

// A proxy that never answers CONNECT is given up on (a minute by default,
// as net/http), even when the request has no deadline.
func TestStalledConnectProxyGivesUp(t *testing.T) {
	l := newLab(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	p := l.policy()
	tr := p.Transport(&http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: ln.Addr().String()})})
	tr.connectTimeout = 200 * time.Millisecond
	start := time.Now()
	_, err = (&http.Client{Transport: tr}).Get("https://a.test/")
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("after %v: %v", time.Since(start), err)
	}
	if !strings.Contains(err.Error(), "proxy") {
		t.Errorf("error %v does not name the proxy", err)
	}
}

// The caller's Dial (an egress guard) is used for https as for http.
func TestCallersDialIsUsed(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "a.test")), "a.test")
	p := l.policy(Rule{Hosts: []string{"a.test"}, AnchorCerts: certsOf(l.pki.Root)})
	refused := errors.New("egress refused")
	base := &http.Transport{Dial: func(network, addr string) (net.Conn, error) { return nil, refused }} //lint:ignore SA1019 the case under test
	if _, err := (&http.Client{Transport: p.Transport(base)}).Get(at(s, "a.test")); !errors.Is(err, refused) {
		t.Errorf("https past the caller's Dial: %v", err)
	}
}

// Explain gives a bare config's caller the classified refusal.
func TestExplain(t *testing.T) {
	l := newLab(t)
	plain := testpki.StartHTTP(t, "127.0.0.1", nil)
	p := l.policy()
	cfg, err := p.TLSConfigFor("127.0.0.1:" + plain.Port)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tls.Dial("tcp", plain.Addr, cfg)
	var ve *VerifyError
	if errors.As(err, &ve) {
		t.Fatalf("crypto/tls already gave a VerifyError: %v", err)
	}
	err = p.Explain(err, "127.0.0.1:"+plain.Port)
	if !errors.As(err, &ve) || ve.Reason != ReasonNotTLS || ve.Remedy.Action == ActionNone {
		t.Errorf("Explain = %v, want not a TLS server with a remedy", err)
	}
	if p.Explain(nil, "a.test") != nil {
		t.Error("Explain(nil) is not nil")
	}
}

// An embedded store: StoreDir instead of fs.Sub, validated at load, and a
// certificate file no rule names reported with the rule to write.
func TestEmbeddedStore(t *testing.T) {
	l := newLab(t)
	dev := l.pki.SelfSigned(t, "dev.test")
	fsys := fstest.MapFS{
		"certificates/trust.toml": {Data: []byte("[[rule]]\nhosts = [\"dev.test\"]\ncertificates = [\"dev.pem\"]\n")},
		"certificates/dev.pem":    {Data: dev.CertPEM()},
		"certificates/other.cer":  {Data: dev.CertPEM()},
		"certificates/sub/x.crt":  {Data: dev.CertPEM()},
		"certificates/README":     {Data: []byte("notes")},
	}
	o := l.opts()
	o.StoreDir = "certificates"
	p, err := LoadFS(fsys, o)
	if err != nil {
		t.Fatal(err)
	}
	s := l.serve(testpki.Chain(dev), "dev.test")
	wantOK(t, l.client(p), at(s, "dev.test"))
	w := strings.Join(p.Warnings(), "\n")
	mustContain(t, "warnings", w, `other.cer is a certificate file no rule names`, `certificates = ["other.cer"]`, `sub/x.crt is a certificate file`)
	if strings.Contains(w, "dev.pem") || strings.Contains(w, "README") {
		t.Errorf("warnings name a file a rule names, or one that is no certificate: %s", w)
	}
	fsys["certificates/dev.pem"] = &fstest.MapFile{Data: []byte("not a certificate")}
	if _, err := LoadFS(fsys, o); err == nil || !strings.Contains(err.Error(), "dev.pem") {
		t.Errorf("a bad certificate in an embedded store loads: %v", err)
	}
	// On disk, Validate asks for the same.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "trust.toml"), fsys["certificates/trust.toml"].Data, 0o644)
	os.WriteFile(filepath.Join(dir, "dev.pem"), []byte("not a certificate"), 0o644)
	if _, err := LoadDir(dir, l.opts()); err != nil {
		t.Errorf("LoadDir without Validate: %v", err)
	}
	o2 := l.opts()
	o2.Validate = true
	if _, err := LoadDir(dir, o2); err == nil {
		t.Error("LoadDir with Validate loads a bad certificate")
	}
}
