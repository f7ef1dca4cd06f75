package httptrust

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// The tests of the guidance layer: reason codes, pin sets, empty lists,
// overrides, judging, first use after the handshake, HTTPS proxies,
// credentials on redirects and all_hosts reporting.

func TestReasonCodesAreStable(t *testing.T) {
	seen := map[string]Reason{}
	for _, r := range append(Reasons(), ReasonUnknown) {
		code := r.Code()
		if code == "" || strings.ContainsAny(code, " -ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Errorf("%v: code %q is not snake_case", r, code)
		}
		if other, dup := seen[code]; dup {
			t.Errorf("%v and %v share the code %q", r, other, code)
		}
		seen[code] = r
		b, err := r.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Reason
		if err := back.UnmarshalText(b); err != nil || back != r {
			t.Errorf("%v: round trip through %q gave %v, %v", r, b, back, err)
		}
	}
	// The codes are the JSON interface: they never follow the words.
	for r, want := range map[Reason]string{
		ReasonSelfSigned: "self_signed_certificate", ReasonNameMismatch: "name_mismatch",
		ReasonExpired: "certificate_expired", ReasonPinMismatch: "pin_mismatch",
		ReasonCertificateChanged: "certificate_changed", ReasonNotTLS: "not_a_tls_server",
		ReasonFirstUseRefused: "first_use_refused",
	} {
		if r.Code() != want {
			t.Errorf("%v: code %q, want %q", r, r.Code(), want)
		}
	}
	var r Reason
	if err := r.UnmarshalText([]byte("self-signed certificate")); err == nil {
		t.Error("the words parsed as a code")
	}
	if s := EventAllHostsTrusted.String(); s != "all_hosts_trusted" {
		t.Errorf("EventAllHostsTrusted.String() = %q", s)
	}
	for a := ActionNone; a <= ActionCheckServer; a++ {
		b, err := a.MarshalText()
		var back Action
		if err != nil || back.UnmarshalText(b) != nil || back != a {
			t.Errorf("action %d does not round-trip: %q %v", a, b, err)
		}
	}
}

// pins, pins_expire and enforce are one pin set: a wider rule's expiry or
// report-only setting never lifts a narrower rule's own pins.
func TestPinSetIsInheritedWhole(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "api.corp.test", "web.corp.test")), "api.corp.test", "web.corp.test")
	other := func() string { return certs.SPKIPin(l.pki.SelfSigned(t, "x.test").Cert).String() }
	lastYear := l.pki.Now.AddDate(-1, 0, 0)
	for _, tt := range []struct {
		name string
		wide Rule
	}{
		{"stale pins_expire", Rule{Pins: []string{other(), other()}, PinsExpire: lastYear}},
		{"report-only", Rule{Pins: []string{other(), other()}, Enforce: boolp(false)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wide := tt.wide
			wide.Hosts, wide.AnchorCerts = []string{"**.corp.test"}, certsOf(l.pki.Root)
			narrow := Rule{Hosts: []string{"api.corp.test"}, Pins: []string{other(), other()}}
			c := l.client(l.policy(wide, narrow))
			e := wantReason(t, c, at(s, "api.corp.test"), ReasonPinMismatch)
			if e.Rule.Pins.Rule.Hosts[0] != "api.corp.test" || !e.Rule.Pins.Enforce || !e.Rule.Pins.Expire.IsZero() {
				t.Errorf("pin set %+v, want api.corp.test's own, enforced, no expiry", e.Rule.Pins)
			}
			// The wide rule's own hosts get its own pin set, lifted as it says.
			wantOK(t, c, at(s, "web.corp.test"))
		})
	}
	for _, r := range []Rule{
		{Hosts: []string{"a.test"}, Enforce: boolp(false)},
		{Hosts: []string{"a.test"}, PinsExpire: lastYear},
		{Hosts: []string{"a.test"}, Pins: []string{}, Enforce: boolp(true)},
	} {
		if _, err := New([]Rule{r}, nil); err == nil || !strings.Contains(err.Error(), "pin") {
			t.Errorf("rule %+v: error %v, want a pin set load error", r, err)
		}
	}
}

// pins_expire is the last day pins apply, in the clock's zone: the
// handshake, Policy.PinState and PinSet.State agree at every instant,
// also just after midnight east of UTC.
func TestPinExpiryOneDateRule(t *testing.T) {
	east := time.FixedZone("UTC+2", 2*3600)
	expire := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	ps := &PinSet{Pins: []certs.Pin{{1}, {2}}, Expire: expire, Enforce: true}
	for _, tt := range []struct {
		now  time.Time
		want PinState
	}{
		{time.Date(2027, 6, 30, 23, 59, 0, 0, east), PinsExpiringSoon},
		{time.Date(2027, 7, 1, 0, 30, 0, 0, east), PinsExpired}, // 2027-06-30T22:30Z
		{time.Date(2027, 6, 30, 23, 30, 0, 0, time.UTC), PinsExpiringSoon},
		{time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC), PinsExpired},
		{time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC), PinsEnforced},
	} {
		if got := ps.State(tt.now, DefaultPinsExpiryWarning); got != tt.want {
			t.Errorf("at %v: %v, want %v", tt.now, got, tt.want)
		}
	}
	// The handshake agrees: a chain that matches none of the pins is
	// refused at 23:59 on 30 June and accepted, with a warning, at 00:30 on
	// 1 July, east of UTC (when it is still 30 June in UTC).
	l := newLab(t)
	leaf, err := mint.New(mint.Template{Names: []string{"a.test"}, NotBefore: l.pki.Now.Add(-time.Hour),
		NotAfter: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, l.pki.Intermediate)
	if err != nil {
		t.Fatal(err)
	}
	s := l.serve(l.pki.FullChain(leaf), "a.test")
	bad := certs.SPKIPin(l.pki.OtherRoot(t).Cert).String()
	rule := Rule{Hosts: []string{"a.test"}, AnchorCerts: certsOf(l.pki.Root), Pins: []string{bad, bad}, PinsExpire: expire}
	for _, tt := range []struct {
		now      time.Time
		enforced bool
	}{
		{time.Date(2027, 6, 30, 23, 59, 0, 0, east), true},
		{time.Date(2027, 7, 1, 0, 30, 0, 0, east), false},
	} {
		o := l.opts()
		o.Clock = func() time.Time { return tt.now }
		var expired int
		o.Observer = func(e Event) {
			if e.Kind == EventPinsExpired {
				expired++
			}
		}
		p := mustPolicy(t, []Rule{rule}, o)
		eff, _ := p.Lookup("a.test")
		if got := p.PinState(eff.Pins, tt.now) == PinsExpired; got == tt.enforced {
			t.Errorf("at %v: Policy.PinState says expired=%v", tt.now, got)
		}
		_, err := get(l.client(p), at(s, "a.test"))
		if refused := err != nil; refused != tt.enforced {
			t.Errorf("at %v: refused %v (%v), want %v", tt.now, refused, err, tt.enforced)
		}
		if !tt.enforced && expired == 0 {
			t.Errorf("at %v: expired pins not warned about", tt.now)
		}
	}
}

// An empty anchors or certificates list names nothing: it carries no
// server_name or allowance, and never opens the system roots.
func TestEmptyListsNameNothing(t *testing.T) {
	l := newLab(t)
	for _, r := range []Rule{
		{Hosts: []string{"127.0.0.1"}, AnchorCerts: []*x509.Certificate{}, ServerName: "public.test"},
		{Hosts: []string{"127.0.0.1"}, Anchors: []string{}, ServerName: "public.test"},
		{Hosts: []string{"127.0.0.1"}, CertificateCerts: []*x509.Certificate{}, AllowExpired: true},
		{Hosts: []string{"127.0.0.1"}, Certificates: []string{}, AllowNameMismatch: true},
	} {
		if _, err := New([]Rule{r}, &Options{FS: emptyFS{}}); err == nil {
			t.Errorf("rule %+v loads", r)
		}
	}
	// A public certificate for the host, and rules that set the lists to
	// empty: the system roots stay closed.
	s := l.serve(l.public.FullChain(l.public.Leaf(t, "dev.corp.test")), "dev.corp.test")
	for _, narrow := range []Rule{
		{Hosts: []string{"dev.corp.test"}, AnchorCerts: []*x509.Certificate{}},
		{Hosts: []string{"dev.corp.test"}, CertificateCerts: []*x509.Certificate{}},
	} {
		c := l.client(l.policy(Rule{Hosts: []string{"**.corp.test"}, AnchorCerts: certsOf(l.pki.Root)}, narrow))
		e := wantReason(t, c, at(s, "dev.corp.test"), ReasonUnknownAuthority)
		if e.Rule.SystemRoots {
			t.Errorf("%+v: system roots on", narrow)
		}
		alone := l.client(l.policy(narrow))
		wantReason(t, alone, at(s, "dev.corp.test"), ReasonUnknownAuthority)
	}
	// Named, they open.
	c := l.client(l.policy(Rule{Hosts: []string{"dev.corp.test"}, AnchorCerts: []*x509.Certificate{}, SystemRoots: boolp(true)}))
	wantOK(t, c, at(s, "dev.corp.test"))
}

// Override layers a rule over one host with the inheritance of files; it
// never widens what the store says of the host.
func TestOverrideInheritsAndNeverWidens(t *testing.T) {
	l := newLab(t)
	leaf := l.pki.Leaf(t, "api.corp.test", "other.corp.test")
	s := l.serve(l.pki.FullChain(leaf), "api.corp.test", "other.corp.test")
	pub := l.serve(l.public.FullChain(l.public.Leaf(t, "api.corp.test")), "pub.corp.test")
	l.resolve["api.corp.test"] = "127.0.0.1"
	goodPin := certs.SPKIPin(leaf.Cert).String()
	badPin := certs.SPKIPin(l.pki.OtherRoot(t).Cert).String()
	store := l.policy(
		Rule{Hosts: []string{"**.corp.test"}, AnchorCerts: certsOf(l.pki.Root), File: "corp.toml", Line: 1},
		Rule{Hosts: []string{"api.corp.test"}, Pins: []string{badPin, badPin}, Enforce: boolp(false), File: "api.toml", Line: 1},
	)

	// --pin on the command line: enforced whatever the store says.
	p, err := store.Override("api.corp.test", Rule{Pins: []string{badPin}, File: "the command line"})
	if err != nil {
		t.Fatal(err)
	}
	e := wantReason(t, l.client(p), at(s, "api.corp.test"), ReasonPinMismatch)
	if e.Rule.Sources["pins"] != "the command line" || e.Rule.Sources["anchors"] != "corp.toml:1" {
		t.Errorf("sources %v", e.Rule.Sources)
	}
	p, _ = store.Override("api.corp.test", Rule{Pins: []string{goodPin}, File: "the command line"})
	wantOK(t, l.client(p), at(s, "api.corp.test"))
	// The store's anchors and closed system roots stay: a public
	// certificate for the name is refused even with its pin.
	pubPin := certs.SPKIPin(l.public.Root.Cert).String()
	p, _ = store.Override("api.corp.test", Rule{Pins: []string{pubPin}, File: "the command line"})
	l.resolve["api.corp.test"] = "127.0.0.1"
	wantReason(t, l.client(p), "https://api.corp.test:"+pub.Port+"/", ReasonUnknownAuthority)
	// Other hosts are judged as by the store.
	wantOK(t, l.client(p), at(s, "other.corp.test"))
	if store.Version() == p.Version() {
		t.Error("an override shares its parent's version (sessions would cross)")
	}

	// server_name needs something to verify against.
	if _, err := l.policy().Override("api.corp.test", Rule{ServerName: "x.test"}); err == nil {
		t.Error("server_name over the system roots is accepted")
	}
	sn, err := store.Override("127.0.0.1", Rule{ServerName: "api.corp.test"})
	if err == nil {
		t.Errorf("server_name for 127.0.0.1 with no anchors: %v", sn)
	}
	// Isolate: nothing inherited; the command line's CA alone.
	iso, err := store.Isolate("api.corp.test", Rule{AnchorCerts: certsOf(l.public.Root), File: "the command line"})
	if err != nil {
		t.Fatal(err)
	}
	eff, _ := iso.Lookup("api.corp.test")
	if eff.SystemRoots || eff.Pins != nil || len(eff.Anchors) != 1 {
		t.Errorf("isolated rule %+v", eff)
	}
	wantReason(t, l.client(iso), at(s, "api.corp.test"), ReasonUnknownAuthority)
	if _, err := store.Override("**.corp.test", Rule{}); err == nil {
		t.Error("an override of a pattern is accepted")
	}
	var zero *Policy
	if _, err := zero.Override("a.test", Rule{}); err == nil {
		t.Error("Override on a nil policy does not fail")
	}
}

// Judge verifies a captured state without recording anything.
func TestJudgeRecordsNothing(t *testing.T) {
	l := newLab(t)
	dev := l.pki.SelfSigned(t, "dev.test")
	records := &MemoryTOFU{}
	o := l.opts()
	o.TOFU = records
	asked := 0
	o.OnFirstUse = func(TOFURecord, []*x509.Certificate) error { asked++; return nil }
	p := mustPolicy(t, []Rule{{Hosts: []string{"dev.test"}, TOFU: boolp(true)}}, o)
	cs := tls.ConnectionState{PeerCertificates: []*x509.Certificate{dev.Cert}}
	v, err := p.Judge("dev.test:8443", cs)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Trusted() || v.FirstUse == nil || v.FirstUse.HostPort != "dev.test:8443" || v.FirstUse.Pin != certs.SPKIPin(dev.Cert) {
		t.Errorf("verdict %+v", v)
	}
	if _, ok, _ := records.Lookup("dev.test:8443"); ok || asked != 0 {
		t.Errorf("judging recorded (%v) or asked (%d)", ok, asked)
	}
	// A bare tls.Config cannot record a first contact: it refuses it.
	cfg, _ := p.TLSConfigFor("dev.test:8443")
	err = cfg.VerifyConnection(cs)
	if !errors.Is(err, ErrFirstUseNotRecorded) {
		t.Errorf("bare config on a first contact: %v", err)
	}
	// Exact: the leaf is one of the rule's exact certificates.
	p2 := mustPolicy(t, []Rule{{Hosts: []string{"dev.test"}, CertificateCerts: certsOf(dev)}}, l.opts())
	v, _ = p2.Judge("other.test", cs)
	if v.Exact || v.Trusted() {
		t.Errorf("other host: %+v", v)
	}
	v, _ = p2.Judge("dev.test", cs)
	if !v.Exact || !v.Trusted() {
		t.Errorf("dev.test: %+v", v)
	}
}

// A first-use record is written only once the handshake completed: a
// server that presents another device's certificate without its key
// leaves no record, and the real device is then a first contact.
func TestTOFURecordsOnlyAProvenKey(t *testing.T) {
	l := newLab(t)
	real := l.pki.SelfSigned(t, "dev.test")
	thief := l.pki.SelfSigned(t, "dev.test") // its key is not real's
	stolen := tls.Certificate{Certificate: [][]byte{real.DER}, PrivateKey: thief.Key}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			records := &MemoryTOFU{}
			o := l.opts()
			o.TOFU = records
			p := mustPolicy(t, []Rule{{Hosts: []string{"dev.test"}, TOFU: boolp(true)}}, o)
			bad := testpki.StartTLS(t, "127.0.0.1", stolen, nil, func(c *tls.Config) { c.MinVersion, c.MaxVersion = v, v })
			l.resolve["dev.test"] = "127.0.0.1"
			if _, err := get(l.client(p), at(bad, "dev.test")); err == nil {
				t.Fatal("a server without the key was reached")
			}
			if _, ok, _ := records.Lookup("dev.test:" + bad.Port); ok {
				t.Fatal("a record was written for a key the server did not prove it holds")
			}
			// DialTLSContext does the same.
			if c, err := p.DialTLSContext(context.Background(), "tcp", "127.0.0.1:"+bad.Port); err == nil {
				c.Close()
				t.Fatal("DialTLSContext reached a server without the key")
			}
		})
	}
	// The real device, through DialTLSContext: recorded after the handshake.
	records := &MemoryTOFU{}
	o := l.opts()
	o.TOFU = records
	p := mustPolicy(t, []Rule{{Hosts: []string{"127.0.0.1"}, TOFU: boolp(true)}}, o)
	good := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(real), nil)
	c, err := p.DialTLSContext(context.Background(), "tcp", "127.0.0.1:"+good.Port)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if rec, ok, _ := records.Lookup("127.0.0.1:" + good.Port); !ok || rec.Pin != certs.SPKIPin(real.Cert) {
		t.Errorf("record %+v %v after a completed handshake", rec, ok)
	}
}

// The loser of a racing first contact fails before anything is sent on
// its connection.
func TestTOFULoserSendsNothing(t *testing.T) {
	l := newLab(t)
	a, b := l.pki.SelfSigned(t, "dev.test"), l.pki.SelfSigned(t, "dev.test")
	requests := 0
	var mu sync.Mutex
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mu.Lock(); requests++; mu.Unlock() })
	sb := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(b), h)
	records := &MemoryTOFU{}
	// Another writer records a's key while this connection to b verifies:
	// OnFirstUse runs inside the handshake, before the record is written.
	o := l.opts()
	o.TOFU = records
	o.OnFirstUse = func(rec TOFURecord, _ []*x509.Certificate) error {
		records.Record(TOFURecord{HostPort: rec.HostPort, Pin: certs.SPKIPin(a.Cert), CertSHA: certs.CertFingerprint(a.Cert)})
		return nil
	}
	p := mustPolicy(t, []Rule{{Hosts: []string{"dev.test"}, TOFU: boolp(true)}}, o)
	l.resolve["dev.test"] = "127.0.0.1"
	e := wantReason(t, l.client(p), at(sb, "dev.test"), ReasonCertificateChanged)
	if e.FirstUse == nil || e.FirstUse.Pin != certs.SPKIPin(a.Cert) {
		t.Errorf("first use %+v, want the winner's record", e.FirstUse)
	}
	if requests != 0 {
		t.Errorf("the loser's server got %d requests", requests)
	}
}

// tlsProxy is an HTTPS CONNECT proxy with a certificate of its own, for
// the tests: it tunnels to the names of resolve.
type tlsProxy struct {
	url      *url.URL
	mu       sync.Mutex
	clientCA int // handshakes in which the client sent a certificate
}

func startTLSProxy(t *testing.T, cert tls.Certificate, resolve map[string]string, clientCAs *x509.CertPool) *tlsProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &tlsProxy{url: &url.URL{Scheme: "https", Host: ln.Addr().String()}}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert}
	dial := testpki.Dialer(resolve)
	var wg sync.WaitGroup
	conns := map[net.Conn]bool{}
	t.Cleanup(func() {
		ln.Close()
		px.mu.Lock()
		for c := range conns {
			c.Close()
		}
		px.mu.Unlock()
		wg.Wait()
	})
	go func() {
		for {
			raw, err := ln.Accept()
			if err != nil {
				return
			}
			px.mu.Lock()
			conns[raw] = true
			px.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer raw.Close()
				c := tls.Server(raw, cfg)
				if c.HandshakeContext(context.Background()) != nil {
					return
				}
				if len(c.ConnectionState().PeerCertificates) > 0 {
					px.mu.Lock()
					px.clientCA++
					px.mu.Unlock()
				}
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil || req.Method != http.MethodConnect {
					return
				}
				up, err := dial(context.Background(), "tcp", req.Host)
				if err != nil {
					io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
					return
				}
				defer up.Close()
				io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n")
				done := make(chan struct{}, 2)
				go func() { io.Copy(up, br); done <- struct{}{} }()
				go func() { io.Copy(c, up); done <- struct{}{} }()
				<-done
				raw.Close()
				up.Close()
				<-done
			}()
		}
	}()
	return px
}

// An HTTPS proxy is a host of its own: judged under its host's rule, never
// offered the target's client certificate, its key never the target's
// first-use record, its session never resumed as the target.
func TestHTTPSProxyIsAHostOfItsOwn(t *testing.T) {
	l := newLab(t)
	dev := l.pki.SelfSigned(t, "tofu.test")
	target := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(dev), nil)
	proxyCert := l.pki.SelfSigned(t, "127.0.0.1")
	px := startTLSProxy(t, testpki.Chain(proxyCert), map[string]string{"tofu.test": "127.0.0.1"}, nil)
	id := l.pki.ClientCert(t, "me").TLSCertificate(l.pki.Intermediate)
	base := func() *http.Transport {
		return &http.Transport{Proxy: http.ProxyURL(px.url), TLSHandshakeTimeout: 5 * time.Second}
	}
	targetRule := Rule{Hosts: []string{"tofu.test"}, TOFU: boolp(true), ClientIdentity: &id}

	// The proxy's own rule is the defaults (system roots): its self-signed
	// certificate is refused, as the proxy's, and nothing is recorded.
	records := &MemoryTOFU{}
	o := l.opts()
	o.TOFU = records
	p := mustPolicy(t, []Rule{targetRule}, o)
	_, err := get(&http.Client{Transport: p.Transport(base())}, "https://tofu.test:"+target.Port+"/")
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Host != "127.0.0.1" || ve.Reason != ReasonSelfSigned {
		t.Fatalf("through an untrusted HTTPS proxy: %v, want the proxy refused as itself", err)
	}
	if _, ok, _ := records.Lookup("tofu.test:" + target.Port); ok {
		t.Fatal("the proxy's key was recorded for the target")
	}

	// Trusted for its own host, the proxy tunnels; the target's record is
	// the target's key, and the target's client certificate went to no
	// one but... the target, which did not ask.
	p = mustPolicy(t, []Rule{targetRule, {Hosts: []string{"127.0.0.1"}, CertificateCerts: certsOf(proxyCert)}}, o)
	tr := p.Transport(base())
	c := &http.Client{Transport: tr}
	wantOK(t, c, "https://tofu.test:"+target.Port+"/")
	rec, ok, _ := records.Lookup("tofu.test:" + target.Port)
	if !ok || rec.Pin != certs.SPKIPin(dev.Cert) {
		t.Fatalf("record %+v, want the target's key %s", rec, certs.SPKIPin(dev.Cert))
	}
	if rec.Pin == certs.SPKIPin(proxyCert.Cert) {
		t.Fatal("the proxy's key is the target's record")
	}
	px.mu.Lock()
	sent := px.clientCA
	px.mu.Unlock()
	if sent != 0 {
		t.Errorf("the target's client certificate was offered to the proxy (%d times)", sent)
	}
	// Sessions: the proxy's entries are its own host's.
	tr.CloseIdleConnections()
	wantOK(t, c, "https://tofu.test:"+target.Port+"/")
	if target.Handshakes.Load()+target.Resumed.Load() < 2 {
		t.Errorf("the target saw %d+%d handshakes for two connections", target.Handshakes.Load(), target.Resumed.Load())
	}
}

// Credentials stay with their origin: dropped on a redirect to another
// scheme, host or port; kept to the same origin.
func TestCredentialsStayWithTheirOrigin(t *testing.T) {
	l := newLab(t)
	got := map[string]http.Header{}
	var mu sync.Mutex
	record := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got[name+r.URL.Path] = r.Header.Clone()
			mu.Unlock()
			if to := r.URL.Query().Get("to"); to != "" {
				http.Redirect(w, r, to, http.StatusFound)
			}
		})
	}
	leaf := l.pki.FullChain(l.pki.Leaf(t, "a.test", "b.test"))
	one := testpki.StartTLS(t, "127.0.0.1", leaf, record("one"))
	two := testpki.StartTLS(t, "127.0.0.1", leaf, record("two"))
	l.resolve["a.test"], l.resolve["b.test"] = "127.0.0.1", "127.0.0.1"
	c := l.client(l.policy(Rule{Hosts: []string{"a.test", "b.test"}, AnchorCerts: certsOf(l.pki.Root)}))
	for _, tt := range []struct {
		name, to string
		keep     bool
	}{
		{"same origin", "https://a.test:" + one.Port + "/same", true},
		{"another port", "https://a.test:" + two.Port + "/port", false},
		{"another host", "https://b.test:" + one.Port + "/host", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "https://a.test:"+one.Port+"/start?to="+url.QueryEscape(tt.to), nil)
			req.Header.Set("Authorization", "Bearer T0KEN")
			req.Header.Set("Cookie", "session=s3cret")
			req.Header.Set("X-Other", "kept")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			u, _ := url.Parse(tt.to)
			name := "one"
			if u.Port() == two.Port {
				name = "two"
			}
			mu.Lock()
			h := got[name+u.Path]
			mu.Unlock()
			if h == nil {
				t.Fatalf("the redirect target got no request")
			}
			for _, k := range []string{"Authorization", "Cookie"} {
				if has := h.Get(k) != ""; has != tt.keep {
					t.Errorf("%s after a redirect: sent %v, want %v", k, has, tt.keep)
				}
			}
			if h.Get("X-Other") != "kept" {
				t.Errorf("other headers dropped too")
			}
		})
	}
}

// A connection trusted through the all_hosts rule is reported on every
// use, fresh or from the verification cache.
func TestAllHostsReportedOnEveryUse(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "any.test")), "any.test")
	var mu sync.Mutex
	var kinds []EventKind
	o := l.opts()
	o.Observer = func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Kind == EventAllHostsTrusted {
			kinds = append(kinds, e.Kind)
			if e.Rule == nil || !e.Rule.AllHosts || e.Host != "any.test" {
				t.Errorf("event %+v", e)
			}
		}
	}
	p := mustPolicy(t, []Rule{{AllHosts: true, AnchorCerts: certsOf(l.pki.Root)}}, o)
	for i := 0; i < 2; i++ {
		c := l.client(p) // a new transport: a new connection each time
		wantOK(t, c, at(s, "any.test"))
	}
	mu.Lock()
	n := len(kinds)
	mu.Unlock()
	if n != 2 {
		t.Errorf("%d all_hosts events for two connections", n)
	}
	// Two requests over one connection: two uses, two events.
	c := l.client(p)
	wantOK(t, c, at(s, "any.test"))
	wantOK(t, c, at(s, "any.test"))
	mu.Lock()
	n = len(kinds)
	mu.Unlock()
	if n != 4 {
		t.Errorf("%d all_hosts events for four requests", n)
	}
	// A host with a rule of its own is not reported.
	kinds = nil
	p = mustPolicy(t, []Rule{{AllHosts: true, AnchorCerts: certsOf(l.pki.Root)}, {Hosts: []string{"any.test"}, AnchorCerts: certsOf(l.pki.Root)}}, o)
	wantOK(t, l.client(p), at(s, "any.test"))
	if len(kinds) != 0 {
		t.Errorf("a host with its own rule reported as all_hosts")
	}
}

// Remedies marshal for programs: the action's code, the change and the
// commands.
func TestRemedyJSON(t *testing.T) {
	l := newLab(t)
	s := l.serve(testpki.Chain(l.pki.SelfSigned(t, "dev.test")), "dev.test")
	e := wantReason(t, l.client(l.policy()), at(s, "dev.test"), ReasonSelfSigned)
	b, err := json.Marshal(e.Remedy)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "remedy JSON", string(b), `"action":"trust_certificate"`, `"name":"fetch"`, `"out_of_band":false`)
}

// Refusals are crypto/tls's certificate error around the *VerifyError, so
// that code checking for a certificate failure (go-retryablehttp's retry
// policy asserts the type of url.Error.Err) recognises them; they reach
// the observer as EventRefused.
func TestRefusalsLookLikeCertificateErrors(t *testing.T) {
	l := newLab(t)
	s := l.serve(testpki.Chain(l.pki.SelfSigned(t, "dev.test")), "dev.test")
	var refused []*VerifyError
	var mu sync.Mutex
	o := l.opts()
	o.Observer = func(e Event) {
		if e.Kind == EventRefused {
			mu.Lock()
			refused = append(refused, e.Err.(*VerifyError))
			mu.Unlock()
		}
	}
	p := mustPolicy(t, nil, o)
	_, err := get(l.client(p), at(s, "dev.test"))
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("error %T %v", err, err)
	}
	if _, ok := ue.Err.(*tls.CertificateVerificationError); !ok {
		t.Errorf("url.Error.Err is %T, want *tls.CertificateVerificationError", ue.Err)
	}
	var ve *VerifyError
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &ve) || !errors.As(err, &cve) || len(cve.UnverifiedCertificates) != 1 {
		t.Errorf("errors.As: VerifyError %v, CertificateVerificationError %v", ve, cve)
	}
	mu.Lock()
	n := len(refused)
	mu.Unlock()
	if n != 1 || refused[0].Reason != ReasonSelfSigned || refused[0].Remedy.Action == ActionNone {
		t.Errorf("%d refusals observed: %v", n, refused)
	}
	// The bare config: the same error shape, through a plain tls.Dial.
	cfg, err := p.TLSConfigFor("dev.test:" + s.Port)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", "127.0.0.1:"+s.Port, cfg)
	if err == nil {
		conn.Close()
		t.Fatal("reached")
	}
	if !errors.As(err, &cve) || !errors.As(err, &ve) {
		t.Errorf("bare config: %T %v", err, err)
	}
}

// A caller who replaces VerifyConnection instead of wrapping it does not
// open the config: VerifyPeerCertificate still runs the check.
func TestReplacedVerifyConnectionStillVerifies(t *testing.T) {
	l := newLab(t)
	good := l.serve(l.pki.FullChain(l.pki.Leaf(t, "a.test")), "a.test")
	rogue := testpki.StartTLS(t, "127.0.0.1", l.public.FullChain(l.public.Leaf(t, "a.test")), nil)
	p := l.policy(Rule{Hosts: []string{"a.test"}, AnchorCerts: certsOf(l.pki.Root)})
	cfg, err := p.TLSConfigFor("a.test")
	if err != nil {
		t.Fatal(err)
	}
	cfg.VerifyConnection = func(tls.ConnectionState) error { return nil } // a careless "logging" hook
	for _, tt := range []struct {
		port string
		ok   bool
	}{{good.Port, true}, {rogue.Port, false}} {
		conn, err := tls.Dial("tcp", "127.0.0.1:"+tt.port, cfg)
		if err == nil {
			conn.Close()
		}
		if (err == nil) != tt.ok {
			t.Errorf("port %s: err %v, want ok=%v", tt.port, err, tt.ok)
		}
	}
	// TOFU hosts need the port.
	q := mustPolicy(t, []Rule{{Hosts: []string{"dev.test"}, TOFU: boolp(true)}}, &Options{TOFU: &MemoryTOFU{}})
	if _, err := q.TLSConfigFor("dev.test"); err == nil || !strings.Contains(err.Error(), "give the port") {
		t.Errorf("TLSConfigFor without a port under tofu: %v", err)
	}
}
