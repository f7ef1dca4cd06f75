package httptrust

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
)

// A self-signed certificate trusted for host A vouches for no other host,
// even when it names that host and the same server answers.
func TestExactCertificateIsScopedToItsHost(t *testing.T) {
	l := newLab(t)
	dev := l.pki.SelfSigned(t, "a.test", "b.test")
	s := l.serve(testpki.Chain(dev), "a.test", "b.test")
	c := l.client(l.policy(Rule{Hosts: []string{"a.test"}, CertificateCerts: certsOf(dev)}))
	wantOK(t, c, at(s, "a.test"))
	e := wantReason(t, c, at(s, "b.test"), ReasonSelfSigned)
	mustContain(t, "fix", fixOf(e), "httptrust fetch https://b.test:"+s.Port+"/")
}

// A CA anchored for A vouches for no other host, and the system roots do
// not vouch for A.
func TestAnchorIsScopedToItsHosts(t *testing.T) {
	l := newLab(t)
	sa := l.serve(l.pki.FullChain(l.pki.Leaf(t, "a.test")), "a.test")
	sb := l.serve(l.pki.FullChain(l.pki.Leaf(t, "b.test")), "b.test")
	sp := l.serve(l.public.FullChain(l.public.Leaf(t, "a2.test")), "a2.test")
	c := l.client(l.policy(Rule{Hosts: []string{"a.test", "a2.test"}, AnchorCerts: certsOf(l.pki.Root)}))
	wantOK(t, c, at(sa, "a.test"))
	wantReason(t, c, at(sb, "b.test"), ReasonUnknownAuthority)
	// system_roots defaults to false on a rule with anchors.
	wantReason(t, c, at(sp, "a2.test"), ReasonUnknownAuthority)
}

func TestNoRuleMeansSystemRoots(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.public.FullChain(l.public.Leaf(t, "pub.test")), "pub.test")
	c := l.client(l.policy(Rule{Hosts: []string{"other.test"}, AnchorCerts: certsOf(l.pki.Root)}))
	wantOK(t, c, at(s, "pub.test"))
}

func TestSystemRootsExplicit(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.public.FullChain(l.public.Leaf(t, "a.test")), "a.test")
	c := l.client(l.policy(Rule{Hosts: []string{"a.test"}, AnchorCerts: certsOf(l.pki.Root), SystemRoots: boolp(true)}))
	wantOK(t, c, at(s, "a.test"))
}

// A rule with system roots off that trusts nothing rejects every
// connection to its hosts: the VerifyConnection that runs with
// InsecureSkipVerify fails closed.
func TestRuleTrustingNothingRejectsEverything(t *testing.T) {
	l := newLab(t)
	self := l.pki.SelfSigned(t, "a.test")
	servers := []*testpki.Server{
		l.serve(testpki.Chain(self), "a.test"),
		l.serve(l.pki.ChainWithRoot(l.pki.Leaf(t, "a.test")), "a.test"),
		l.serve(l.public.FullChain(l.public.Leaf(t, "a.test")), "a.test"),
	}
	p := l.policy(Rule{Hosts: []string{"a.test"}, SystemRoots: boolp(false)})
	c := l.client(p)
	for _, s := range servers {
		_, err := get(c, at(s, "a.test"))
		if err == nil {
			t.Fatalf("a rule that trusts nothing accepted %s", s.URL)
		}
	}
	// The bare tls.Config fails closed too.
	cfg, err := p.TLSConfigFor("a.test")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.InsecureSkipVerify || cfg.VerifyConnection == nil {
		t.Fatal("expected VerifyConnection to do the check")
	}
	if err := cfg.VerifyConnection(tlsState(self.Cert)); err == nil {
		t.Fatal("VerifyConnection accepted a certificate under a rule that trusts nothing")
	}
	if err := cfg.VerifyConnection(tlsState()); err == nil {
		t.Fatal("VerifyConnection accepted an empty chain")
	}
}

// Pins are checked against the verified chain, never the raw list: a rogue
// leaf with the pinned certificate appended is refused.
func TestPinOnVerifiedChainOnly(t *testing.T) {
	l := newLab(t)
	pinned := certs.SPKIPin(l.pki.Intermediate.Cert).String()
	backup := certs.SPKIPin(l.pki.Root.Cert).String()
	good := l.serve(l.pki.FullChain(l.pki.Leaf(t, "api.test")), "api.test")
	rogue := l.serve(testpki.Chain(l.public.Leaf(t, "api.test"), l.public.Intermediate, l.pki.Intermediate), "api.test")
	c := l.client(l.policy(Rule{Hosts: []string{"api.test"}, AnchorCerts: certsOf(l.pki.Root), SystemRoots: boolp(true), Pins: []string{pinned, backup}}))
	wantOK(t, c, at(good, "api.test"))
	e := wantReason(t, c, at(rogue, "api.test"), ReasonPinMismatch)
	if len(e.ExpectedPins) != 2 || len(e.SeenPins) == 0 {
		t.Errorf("pins expected %v seen %v", e.ExpectedPins, e.SeenPins)
	}
	for _, p := range e.SeenPins {
		if p.String() == pinned {
			t.Errorf("the appended pinned certificate counted as seen: %v", e.SeenPins)
		}
	}
	if strings.Contains(e.Error(), "\n") {
		t.Errorf("error %q spans lines", e.Error())
	}
	mustContain(t, "pin report", e.PinReport(), "Peer certificate chain:", "Pinned certificates for api.test:", pinned)
	mustContain(t, "fix", fixOf(e), "out of band")
	notContain(t, "fix", fixOf(e), "--yes", "--fingerprint "+e.Chain[0].SHA256)
}

// Inheritance keeps the domain's pins on an exact rule that does not set
// its own.
func TestExactRuleKeepsDomainPins(t *testing.T) {
	l := newLab(t)
	other := testpki.New(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "api.corp.test")), "api.corp.test")
	p := l.policy(
		Rule{Hosts: []string{"**.corp.test"}, AnchorCerts: certsOf(l.pki.Root), Pins: []string{certs.SPKIPin(other.Root.Cert).String(), certs.SPKIPin(other.Intermediate.Cert).String()}},
		Rule{Hosts: []string{"api.corp.test"}, MinTLS: "1.2"},
	)
	wantReason(t, l.client(p), at(s, "api.corp.test"), ReasonPinMismatch)
}

// A pin rotated between two connections of a resumed session is enforced
// on the resumed one: VerifyConnection runs on resumption.
func TestPinRotationOnResumedSession(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "api.test")), "api.test")
	good := Rule{Hosts: []string{"api.test"}, AnchorCerts: certsOf(l.pki.Root), Pins: []string{certs.SPKIPin(l.pki.Intermediate.Cert).String(), pinA}}
	bad := good
	bad.Pins = []string{pinB, pinC}
	p1, p2 := l.policy(good), l.policy(bad)

	cache := tlsSessionCache()
	dial := func(p *Policy) (resumed bool, err error) {
		cfg, err := p.TLSConfigFor("api.test")
		if err != nil {
			t.Fatal(err)
		}
		cfg.ClientSessionCache = cache
		return handshake(t, s.Addr, cfg)
	}
	if _, err := dial(p1); err != nil {
		t.Fatal(err)
	}
	if resumed, err := dial(p1); err != nil || !resumed {
		t.Fatalf("control: resumed %v, err %v; want a resumed session", resumed, err)
	}
	_, err := dial(p2)
	var ve *VerifyError
	if !asVerifyError(err, &ve) || ve.Reason != ReasonPinMismatch {
		t.Fatalf("resumed session under rotated pins: %v, want pin mismatch", err)
	}

	// Through the transport, a new policy retires the old connections.
	cur := p1
	var mu sync.Mutex
	tr := NewTransport(func() *Policy { mu.Lock(); defer mu.Unlock(); return cur }, l.base())
	c := &http.Client{Transport: tr}
	wantOK(t, c, at(s, "api.test"))
	mu.Lock()
	cur = p2
	mu.Unlock()
	wantReason(t, c, at(s, "api.test"), ReasonPinMismatch)
}

// A redirect from A to B is verified with B's rule: A's exact certificate
// does not follow the request.
func TestRedirectUsesTheNewHostsRule(t *testing.T) {
	l := newLab(t)
	dev := l.pki.SelfSigned(t, "a.test", "b.test")
	var s *testpki.Server
	s = testpki.StartTLS(t, "127.0.0.1", testpki.Chain(dev), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host == "a.test:"+s.Port {
			http.Redirect(w, r, at(s, "b.test"), http.StatusFound)
			return
		}
		w.Write([]byte("b"))
	}))
	l.resolve["a.test"], l.resolve["b.test"] = "127.0.0.1", "127.0.0.1"
	c := l.client(l.policy(Rule{Hosts: []string{"a.test"}, CertificateCerts: certsOf(dev)}))
	e := wantReason(t, c, at(s, "a.test"), ReasonSelfSigned)
	if e.Host != "b.test" {
		t.Errorf("refused host %q, want b.test", e.Host)
	}
}

func TestDowngradeRedirectRefused(t *testing.T) {
	l := newLab(t)
	plain := testpki.StartHTTP(t, "127.0.0.1", nil)
	s := testpki.StartTLS(t, "127.0.0.1", l.pki.FullChain(l.pki.Leaf(t, "a.test")), http.RedirectHandler(plain.URL+"/x", http.StatusFound))
	l.resolve["a.test"] = "127.0.0.1"
	p := l.policy(Rule{Hosts: []string{"a.test"}, AnchorCerts: certsOf(l.pki.Root)})
	c := l.client(p)
	wantReason(t, c, at(s, "a.test"), ReasonDowngrade)
	if plain.Requests.Load() != 0 {
		t.Error("the plain-HTTP hop was requested")
	}
	tr := p.Transport(l.base())
	tr.AllowDowngrade = true
	wantOK(t, &http.Client{Transport: tr}, at(s, "a.test"))
}

// A client certificate configured for A is offered to A only.
func TestClientCertificateOnlyForItsHost(t *testing.T) {
	l := newLab(t)
	id := l.pki.ClientCert(t, "me")
	idCert := id.TLSCertificate()
	requireCert := func(cfg *tls.Config) {
		cfg.ClientAuth = tls.RequestClientCert
	}
	var mu sync.Mutex
	got := map[string]int{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Host] += len(r.TLS.PeerCertificates)
		mu.Unlock()
	})
	s := testpki.StartTLS(t, "127.0.0.1", l.pki.FullChain(l.pki.Leaf(t, "a.test", "b.test")), handler, requireCert)
	l.resolve["a.test"], l.resolve["b.test"] = "127.0.0.1", "127.0.0.1"
	c := l.client(l.policy(
		Rule{Hosts: []string{"a.test"}, AnchorCerts: certsOf(l.pki.Root), ClientIdentity: &idCert},
		Rule{Hosts: []string{"b.test"}, AnchorCerts: certsOf(l.pki.Root)},
	))
	wantOK(t, c, at(s, "a.test"))
	wantOK(t, c, at(s, "b.test"))
	mu.Lock()
	defer mu.Unlock()
	if got["a.test:"+s.Port] != 1 || got["b.test:"+s.Port] != 0 {
		t.Errorf("client certificates seen per host: %v", got)
	}
}

func TestClientCertificateRequired(t *testing.T) {
	l := newLab(t)
	s := testpki.StartTLS(t, "127.0.0.1", l.pki.FullChain(l.pki.Leaf(t, "a.test")), nil, func(cfg *tls.Config) {
		cfg.ClientAuth = tls.RequireAnyClientCert
	})
	l.resolve["a.test"] = "127.0.0.1"
	c := l.client(l.policy(Rule{Hosts: []string{"a.test"}, AnchorCerts: certsOf(l.pki.Root)}))
	e := wantReason(t, c, at(s, "a.test"), ReasonClientCertRequired)
	mustContain(t, "fix", fixOf(e), "--cert")
}

func TestNotATLSServer(t *testing.T) {
	l := newLab(t)
	plain := testpki.StartHTTP(t, "127.0.0.1", nil)
	l.resolve["a.test"] = "127.0.0.1"
	c := l.client(l.policy())
	wantReason(t, c, at(plain, "a.test"), ReasonNotTLS)
}

// IP hosts: Go sends no SNI, the host is bound when the config is built.
func TestIPHosts(t *testing.T) {
	l := newLab(t)
	dev := l.pki.SelfSigned(t, "127.0.0.1")
	s := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(dev), nil)
	c := l.client(l.policy(Rule{Hosts: []string{"127.0.0.1"}, CertificateCerts: certsOf(dev)}))
	wantOK(t, c, s.URL+"/")
	for _, n := range s.ServerNames() {
		if n != "" {
			t.Errorf("SNI %q sent for an IP host", n)
		}
	}
	// The same certificate on another loopback IP is refused.
	s2 := testpki.StartTLS(t, "127.0.0.2", testpki.Chain(dev), nil)
	wantReason(t, c, s2.URL+"/", ReasonSelfSigned)
}

// A device reached by IP whose certificate names it: server_name.
func TestServerNameForIPHost(t *testing.T) {
	l := newLab(t)
	s := testpki.StartTLS(t, "127.0.0.3", l.pki.FullChain(l.pki.Leaf(t, "printer.test")), nil)
	without := l.client(l.policy(Rule{Hosts: []string{"127.0.0.3"}, AnchorCerts: certsOf(l.pki.Root)}))
	e := wantReason(t, without, s.URL+"/", ReasonNameMismatch)
	mustContain(t, "detail", e.Detail, "printer.test")
	// The name is the connection's: in words, never in the command.
	mustContain(t, "fix", fixOf(e), "covers printer.test", "--server-name '"+PlaceholderName+"'")
	notContain(t, "remedy commands", strings.Join(e.Remedy.Lines(), " "), "printer.test")
	with := l.client(l.policy(Rule{Hosts: []string{"127.0.0.3"}, AnchorCerts: certsOf(l.pki.Root), ServerName: "printer.test"}))
	wantOK(t, with, s.URL+"/")
}

// The typical old printer: self-signed, CN=localhost, expired.
func TestExactCertificateRelaxations(t *testing.T) {
	l := newLab(t)
	clock := time.Now().Add(400 * 24 * time.Hour)
	dev := l.pki.SelfSigned(t, "localhost")
	s := testpki.StartTLS(t, "127.0.0.4", testpki.Chain(dev), nil)
	rule := Rule{Hosts: []string{"127.0.0.4"}, CertificateCerts: certsOf(dev)}
	mk := func(r Rule, now time.Time) *http.Client {
		o := l.opts()
		o.Clock = func() time.Time { return now }
		return l.client(mustPolicy(t, []Rule{r}, o))
	}
	wantReason(t, mk(rule, time.Now()), s.URL+"/", ReasonNameMismatch)
	rule.AllowNameMismatch = true
	wantOK(t, mk(rule, time.Now()), s.URL+"/")
	e := wantReason(t, mk(rule, clock), s.URL+"/", ReasonExpired)
	if !e.NotAfter.Equal(dev.Cert.NotAfter) || !e.Now.Equal(clock) {
		t.Errorf("expiry dates: not after %v now %v", e.NotAfter, e.Now)
	}
	mustContain(t, "fix", fixOf(e), "--allow-expired")
	rule.AllowExpired = true
	wantOK(t, mk(rule, clock), s.URL+"/")
}

// An exact rule whose certificate was replaced reports a changed
// certificate and asks for a fingerprint obtained out of band.
func TestExactCertificateChanged(t *testing.T) {
	l := newLab(t)
	old, now := l.pki.SelfSigned(t, "dev.test"), l.pki.SelfSigned(t, "dev.test")
	s := l.serve(testpki.Chain(now), "dev.test")
	e := wantReason(t, l.client(l.policy(Rule{Hosts: []string{"dev.test"}, CertificateCerts: certsOf(old)})), at(s, "dev.test"), ReasonCertificateChanged)
	mustContain(t, "fix", fixOf(e), "--fingerprint '<SHA-256 obtained out of band>'")
	notContain(t, "fix", fixOf(e), "--yes", certs.CertFingerprint(now.Cert).String())
}

func TestMinTLS(t *testing.T) {
	l := newLab(t)
	s := testpki.StartTLS(t, "127.0.0.1", l.pki.FullChain(l.pki.Leaf(t, "old.test")), nil, func(cfg *tls.Config) {
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS10
		cfg.NextProtos = []string{"http/1.1"} // as a legacy device: HTTP/2 needs TLS 1.2
	})
	l.resolve["old.test"] = "127.0.0.1"
	rule := Rule{Hosts: []string{"old.test"}, AnchorCerts: certsOf(l.pki.Root)}
	e := wantReason(t, l.client(l.policy(rule)), at(s, "old.test"), ReasonProtocolMismatch)
	mustContain(t, "fix", fixOf(e), "operator confirms", "min_tls")
	rule.MinTLS = "1.0"
	wantOK(t, l.client(l.policy(rule)), at(s, "old.test"))
}

func TestPinsExpireAndReportOnly(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "api.test")), "api.test")
	var mu sync.Mutex
	var events []Event
	mk := func(r Rule, now time.Time) *http.Client {
		o := l.opts()
		o.Clock = func() time.Time { return now }
		o.Observer = func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }
		return l.client(mustPolicy(t, []Rule{r}, o))
	}
	now := time.Now()
	rule := Rule{Hosts: []string{"api.test"}, AnchorCerts: certsOf(l.pki.Root), Pins: []string{pinA, pinB},
		PinsExpire: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 10)}
	wantReason(t, mk(rule, now), at(s, "api.test"), ReasonPinMismatch)
	if !hasEvent(&mu, &events, EventPinsExpiringSoon) {
		t.Error("no warning ahead of pins_expire")
	}
	wantOK(t, mk(rule, now.AddDate(0, 0, 12)), at(s, "api.test"))
	if !hasEvent(&mu, &events, EventPinsExpired) {
		t.Error("no warning for expired pins")
	}
	rule.PinsExpire = time.Time{}
	rule.Enforce = boolp(false)
	wantOK(t, mk(rule, now), at(s, "api.test"))
	if !hasEvent(&mu, &events, EventPinMismatchReported) {
		t.Error("report-only mismatch not reported")
	}
	// Report-only relaxes pins only: the chain is still checked.
	other := l.serve(l.public.FullChain(l.public.Leaf(t, "api2.test")), "api2.test")
	rule.Hosts = []string{"api2.test"}
	wantReason(t, mk(rule, now), at(other, "api2.test"), ReasonUnknownAuthority)
}

func hasEvent(mu *sync.Mutex, events *[]Event, k EventKind) bool {
	mu.Lock()
	defer mu.Unlock()
	for _, e := range *events {
		if e.Kind == k {
			return true
		}
	}
	return false
}

// A certificate file that cannot be parsed fails its hosts closed, and
// other hosts are unaffected.
func TestBadCertificateFileFailsClosed(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "a.test")), "a.test")
	pub := l.serve(l.public.FullChain(l.public.Leaf(t, "b.test")), "b.test")
	key, err := l.pki.Root.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{
		"corp.toml": {Data: []byte("[[rule]]\nhosts = [\"a.test\"]\nanchors = [\"root.pem\"]\nsystem_roots = true\n")},
		"root.pem":  {Data: key},
	}
	// A store built into the program is validated at load.
	if _, err := LoadFS(fsys, l.opts()); err == nil || !strings.Contains(err.Error(), "root.pem") {
		t.Fatalf("LoadFS of an in-memory store with a bad certificate: %v", err)
	}
	// On disk, certificates are read on first use: the bad one fails its
	// hosts closed, and only those.
	dir := t.TempDir()
	for name, f := range fsys {
		if err := os.WriteFile(filepath.Join(dir, name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := LoadDir(dir, l.opts())
	if err != nil {
		t.Fatal(err)
	}
	c := l.client(p)
	e := wantReason(t, c, at(s, "a.test"), ReasonBadConfig)
	mustContain(t, "detail", e.Detail, "root.pem")
	wantOK(t, c, at(pub, "b.test"))
	if err := p.Validate(); err == nil {
		t.Error("Validate passed a store with a key where a certificate belongs")
	}
	// The remedy's command names the file from where it runs, never as
	// a flag: a file named like one is a path in the store.
	rem := e.Remedy
	if len(rem.Commands) != 1 || rem.Commands[0].Name != "inspect" || rem.Commands[0].Args[0] != filepath.Join(dir, "root.pem") {
		t.Errorf("remedy commands %+v, want inspect %s", rem.Commands, filepath.Join(dir, "root.pem"))
	}
	flagLike := t.TempDir()
	os.WriteFile(filepath.Join(flagLike, "corp.toml"), []byte("[[rule]]\nhosts = [\"a.test\"]\nanchors = [\"--out=x.pem\"]\n"), 0o644)
	os.WriteFile(filepath.Join(flagLike, "--out=x.pem"), key, 0o644)
	p2, err := LoadDir(flagLike, l.opts())
	if err != nil {
		t.Fatal(err)
	}
	e2 := wantReason(t, l.client(p2), at(s, "a.test"), ReasonBadConfig)
	if c := e2.Remedy.Commands; len(c) != 1 || c[0].Args[0] != filepath.Join(flagLike, "--out=x.pem") {
		t.Errorf("remedy commands %+v", c)
	}
	if _, ok := fileArg("--out=x.pem", &Policy{}); !ok {
		t.Error("fileArg refused a relative name")
	}
	if got, _ := fileArg("--out=x.pem", &Policy{}); got != "."+string(filepath.Separator)+"--out=x.pem" {
		t.Errorf("fileArg without a store folder: %q", got)
	}
}

func TestIncompleteChainAndUntrustedRoot(t *testing.T) {
	l := newLab(t)
	aia := l.pki.WithIssuerURL(t, "http://127.0.0.1:1/int.der", "a.test")
	incomplete := l.serve(testpki.LeafOnly(aia), "a.test")
	c := l.client(l.policy(Rule{Hosts: []string{"a.test"}, AnchorCerts: certsOf(l.pki.Root)}))
	e := wantReason(t, c, at(incomplete, "a.test"), ReasonIncompleteChain)
	mustContain(t, "fix", fixOf(e), "--fetch-intermediates")
	// The root a server sends is never an anchor by itself.
	withRoot := l.serve(l.pki.ChainWithRoot(l.pki.Leaf(t, "b.test")), "b.test")
	wantReason(t, c, at(withRoot, "b.test"), ReasonUnknownAuthority)
}

func TestNameMismatchListsNames(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "right.test", "also.test")), "wrong.test")
	c := l.client(l.policy(Rule{Hosts: []string{"wrong.test"}, AnchorCerts: certsOf(l.pki.Root)}))
	e := wantReason(t, c, at(s, "wrong.test"), ReasonNameMismatch)
	if len(e.Names) != 2 || e.Names[0] != "right.test" {
		t.Errorf("names %v", e.Names)
	}
}

func TestExpiredAndNotYetValidChains(t *testing.T) {
	l := newLab(t)
	exp := l.serve(l.pki.FullChain(l.pki.Expired(t, "a.test")), "a.test")
	nyv := l.serve(l.pki.FullChain(l.pki.NotYetValid(t, "b.test")), "b.test")
	c := l.client(l.policy(Rule{Hosts: []string{"a.test", "b.test"}, AnchorCerts: certsOf(l.pki.Root)}))
	e := wantReason(t, c, at(exp, "a.test"), ReasonExpired)
	if e.NotAfter.IsZero() || e.Now.IsZero() {
		t.Errorf("expired without dates: %+v", e)
	}
	wantReason(t, c, at(nyv, "b.test"), ReasonNotYetValid)
}

func tlsSessionCache() tls.ClientSessionCache { return tls.NewLRUClientSessionCache(16) }

func notContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			t.Errorf("%s %q contains %q", what, s, sub)
		}
	}
}

func asVerifyError(err error, target **VerifyError) bool { return errors.As(err, target) }

// tlsState is a connection state presenting chain.
func tlsState(chain ...*x509.Certificate) tls.ConnectionState {
	return tls.ConnectionState{PeerCertificates: chain}
}

// handshake dials addr with cfg and reports whether the session resumed.
func handshake(t *testing.T, addr string, cfg *tls.Config) (bool, error) {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	// Read the session ticket TLS 1.3 sends after the handshake.
	conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	conn.Read(make([]byte, 1))
	return conn.ConnectionState().DidResume, nil
}
