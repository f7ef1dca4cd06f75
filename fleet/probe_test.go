package fleet

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// fleetLab is one loopback fleet with a server for every case of the
// metric table, and the policy that judges them.
type fleetLab struct {
	*lab
	policy  *httptrust.Policy
	known   *httptrust.MemoryTOFU
	servers map[string]*testpki.Server
	leaves  map[string]*mint.Cert
	other   *mint.Cert // a root no rule trusts
	pinsEnd time.Time
}

func newFleetLab(t *testing.T) *fleetLab {
	l := &fleetLab{lab: newLab(t), known: &httptrust.MemoryTOFU{}, servers: map[string]*testpki.Server{}, leaves: map[string]*mint.Cert{}}
	p := l.pki
	l.other = p.OtherRoot(t)
	add := func(name string, leaf *mint.Cert, cert tls.Certificate, h http.Handler) {
		l.leaves[name] = leaf
		l.servers[name] = l.serve(cert, h, name+".test")
	}
	ok := p.Leaf(t, "api.test", "api2.test")
	add("api", ok, p.FullChain(ok), nil)
	l.resolve["api2.test"] = "127.0.0.1"
	old := p.Expired(t, "old.test")
	add("old", old, p.FullChain(old), nil)
	stranger := p.LeafFrom(t, l.other, "stranger.test")
	add("stranger", stranger, testpki.Chain(stranger), nil)
	for _, n := range []string{"pinned", "report", "pinok"} {
		c := p.Leaf(t, n+".test")
		add(n, c, p.FullChain(c), nil)
	}
	dev := p.SelfSigned(t, "dev.test")
	add("dev", dev, testpki.Chain(dev), nil)
	status := p.Leaf(t, "status.test")
	add("status", status, p.FullChain(status), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	hop := p.Leaf(t, "hop.test")
	add("hop", hop, p.FullChain(hop), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, at(l.servers["api"], "api2.test"), http.StatusFound)
	}))
	l.pinsEnd = time.Date(2099, 12, 31, 0, 0, 0, 0, time.Local)
	root := certsOf(p.Root)
	l.policy = l.lab.policy(l.known, false,
		httptrust.Rule{Hosts: []string{"api.test", "old.test", "stranger.test", "status.test", "hop.test"}, AnchorCerts: root, File: "fleet.toml", Line: 1},
		httptrust.Rule{Hosts: []string{"api2.test"}, AnchorCerts: root, File: "other.toml", Line: 7},
		httptrust.Rule{Hosts: []string{"pinned.test"}, AnchorCerts: root, Pins: []string{pinOf(l.other), pinOf(dev)}, PinsExpire: time.Date(2099, 12, 30, 0, 0, 0, 0, time.UTC)},
		httptrust.Rule{Hosts: []string{"report.test"}, AnchorCerts: root, Pins: []string{pinOf(l.other), pinOf(dev)}, Enforce: boolp(false)},
		// The root is not sent by the server: it matches only in the
		// verified chain.
		httptrust.Rule{Hosts: []string{"pinok.test"}, AnchorCerts: root, Pins: []string{pinOf(p.Root), pinOf(l.other)}},
		httptrust.Rule{Hosts: []string{"dev.test"}, TOFU: boolp(true)},
		httptrust.Rule{Hosts: []string{"closed.test", "silent.test"}, AnchorCerts: root},
	)
	return l
}

// A case of the metric table: a target, and what its probe must report.
type metricCase struct {
	name, target string
	module       Module
	ok           bool
	reason       string
	// series that must exist with this value; labels given as k=v;k=v.
	want map[string]float64
	// families that must be absent.
	absent []string
	// series that must not exist.
	absentSeries []string
}

// series parses `name{k=v;k=v}` into a name and labels.
func series(s string) (string, map[string]string) {
	name, rest, ok := strings.Cut(s, "{")
	labels := map[string]string{}
	if ok {
		for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ";") {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = v
		}
	}
	return name, labels
}

func TestProbeMetrics(t *testing.T) {
	l := newFleetLab(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := strconv.Itoa(closed.Addr().(*net.TCPAddr).Port)
	closed.Close()
	silent := testpki.StartSilent(t, "127.0.0.1")
	l.resolve["closed.test"], l.resolve["silent.test"] = "127.0.0.1", "127.0.0.1"
	plain := testpki.StartHTTP(t, "127.0.0.1", nil)

	api, old := l.leaves["api"], l.leaves["old"]
	apiFP := certs.CertFingerprint(api.Cert).String()
	oldExpiry := float64(old.Cert.NotAfter.Unix())
	lastChain := float64(min(api.Cert.NotAfter.Unix(), l.pki.Intermediate.Cert.NotAfter.Unix(), l.pki.Root.Cert.NotAfter.Unix()))
	pinsEnd := float64(time.Date(2099, 12, 31, 0, 0, 0, 0, time.Local).Unix())

	cases := []metricCase{
		{name: "trusted/tls", target: "tls://api.test:" + l.servers["api"].Port, module: ModuleTLS, ok: true, want: map[string]float64{
			"probe_success": 1, "httptrust_probe_trusted": 1,
			"probe_ssl_earliest_cert_expiry":                float64(api.Cert.NotAfter.Unix()),
			"probe_ssl_last_chain_expiry_timestamp_seconds": lastChain,
			"probe_ssl_last_chain_info{fingerprint_sha256=" + apiFP + ";subject=CN=api.test;issuer=CN=httptrust Test Intermediate,O=httptrust tests;subjectalternative=api.test,api2.test}": 1,
			"probe_tls_version_info{version=TLS 1.3}":                                                                1,
			"probe_ip_protocol":                                                                                      4,
			"httptrust_probe_rule_info{pattern=api.test;rule=fleet.toml:1}":                                          1,
			"httptrust_cert_not_after_timestamp_seconds{chain=verified;position=0;role=leaf}":                        float64(api.Cert.NotAfter.Unix()),
			"httptrust_cert_not_after_timestamp_seconds{chain=verified;position=1;role=intermediate}":                float64(l.pki.Intermediate.Cert.NotAfter.Unix()),
			"httptrust_cert_not_after_timestamp_seconds{chain=verified;position=2;role=root}":                        float64(l.pki.Root.Cert.NotAfter.Unix()),
			"httptrust_cert_not_after_timestamp_seconds{chain=verified;position=0;fingerprint_sha256=" + apiFP + "}": float64(api.Cert.NotAfter.Unix()),
		}, absent: []string{"httptrust_probe_refused", "httptrust_probe_failed", "probe_http_status_code", "httptrust_pins_state", "httptrust_first_use"},
			absentSeries: []string{"httptrust_cert_not_after_timestamp_seconds{chain=presented}"}},
		{name: "trusted/https", target: at(l.servers["api"], "api.test"), module: ModuleHTTPS, ok: true, want: map[string]float64{
			"probe_success": 1, "probe_http_status_code": 200, "probe_http_ssl": 1, "probe_http_redirects": 0, "probe_http_version": 2,
			"probe_ssl_last_chain_expiry_timestamp_seconds": lastChain,
			"probe_tls_version_info{version=TLS 1.3}":       1,
		}, absent: []string{"httptrust_probe_refused", "httptrust_probe_failed"}},
		{name: "redirect/https", target: at(l.servers["hop"], "hop.test"), module: ModuleHTTPS, ok: true, want: map[string]float64{
			"probe_success": 1, "probe_http_redirects": 1, "probe_http_status_code": 200,
			// The final answer's host and its own rule.
			"httptrust_probe_rule_info{pattern=api2.test;rule=other.toml:7}": 1,
			"probe_ssl_last_chain_info{fingerprint_sha256=" + apiFP + "}":    1,
		}},
		{name: "expired/tls", target: "old.test:" + l.servers["old"].Port, module: ModuleTLS, reason: "certificate_expired", want: map[string]float64{
			"probe_success": 0, "httptrust_probe_trusted": 0,
			"httptrust_probe_refused{reason=certificate_expired}":                              1,
			"probe_ssl_earliest_cert_expiry":                                                   oldExpiry,
			"probe_ssl_last_chain_info{subject=CN=old.test}":                                   1,
			"httptrust_cert_not_after_timestamp_seconds{chain=presented;position=0;role=leaf}": oldExpiry,
			"probe_tls_version_info{version=TLS 1.3}":                                          1,
		}, absent: []string{"probe_ssl_last_chain_expiry_timestamp_seconds", "httptrust_probe_failed"}},
		{name: "expired/https", target: at(l.servers["old"], "old.test"), module: ModuleHTTPS, reason: "certificate_expired", want: map[string]float64{
			"probe_success": 0, "probe_http_status_code": 0,
			"httptrust_probe_refused{reason=certificate_expired}": 1,
			"probe_ssl_earliest_cert_expiry":                      oldExpiry,
		}, absent: []string{"probe_ssl_last_chain_expiry_timestamp_seconds"}},
		{name: "unknown-ca/tls", target: "stranger.test:" + l.servers["stranger"].Port, module: ModuleTLS, reason: "unknown_authority", want: map[string]float64{
			"probe_success": 0, "httptrust_probe_refused{reason=unknown_authority}": 1,
			"probe_ssl_last_chain_info{issuer=CN=httptrust Other Root}": 1,
		}, absent: []string{"probe_ssl_last_chain_expiry_timestamp_seconds"}},
		{name: "unknown-ca/https", target: at(l.servers["stranger"], "stranger.test"), module: ModuleHTTPS, reason: "unknown_authority", want: map[string]float64{
			"probe_success": 0, "httptrust_probe_refused{reason=unknown_authority}": 1,
			"probe_ssl_last_chain_info{issuer=CN=httptrust Other Root}": 1,
		}},
		{name: "pin-mismatch", target: "pinned.test:" + l.servers["pinned"].Port, module: ModuleTLS, reason: "pin_mismatch", want: map[string]float64{
			"probe_success": 0, "httptrust_probe_refused{reason=pin_mismatch}": 1,
			"httptrust_pins_state{state=enforced;rule=code}":     1,
			"httptrust_pins_match{rule=code}":                    0,
			"httptrust_pins_expire_timestamp_seconds{rule=code}": pinsEnd,
			"probe_ssl_earliest_cert_expiry":                     float64(l.leaves["pinned"].Cert.NotAfter.Unix()),
		}},
		{name: "report-only", target: at(l.servers["report"], "report.test"), module: ModuleHTTPS, ok: true, want: map[string]float64{
			"probe_success": 1, "httptrust_pins_state{state=report_only}": 1, "httptrust_pins_match": 0,
		}, absent: []string{"httptrust_pins_expire_timestamp_seconds", "httptrust_probe_refused"}},
		{name: "pin-on-anchor", target: "pinok.test:" + l.servers["pinok"].Port, module: ModuleTLS, ok: true, want: map[string]float64{
			"probe_success": 1, "httptrust_pins_state{state=enforced}": 1, "httptrust_pins_match": 1,
		}},
		{name: "first-contact/tls", target: "dev.test:" + l.servers["dev"].Port, module: ModuleTLS, reason: "first_use_refused", want: map[string]float64{
			"probe_success": 0, "httptrust_first_use{state=first_contact}": 1,
			"httptrust_probe_refused{reason=first_use_refused}": 1,
			"probe_ssl_last_chain_info{subject=CN=dev.test}":    1,
		}},
		{name: "first-contact/https", target: at(l.servers["dev"], "dev.test"), module: ModuleHTTPS, reason: "first_use_refused", want: map[string]float64{
			"probe_success": 0, "httptrust_first_use{state=first_contact}": 1,
			"probe_ssl_last_chain_info{subject=CN=dev.test}": 1,
		}},
		{name: "http-status", target: at(l.servers["status"], "status.test"), module: ModuleHTTPS, reason: FailHTTPStatus, want: map[string]float64{
			"probe_success": 0, "httptrust_probe_trusted": 1, "probe_http_status_code": 503,
			"httptrust_probe_failed{reason=http_status}":    1,
			"probe_ssl_last_chain_expiry_timestamp_seconds": float64(min(l.leaves["status"].Cert.NotAfter.Unix(), l.pki.Intermediate.Cert.NotAfter.Unix(), l.pki.Root.Cert.NotAfter.Unix())),
		}, absent: []string{"httptrust_probe_refused"}},
		{name: "dead-host/tls", target: "closed.test:" + closedPort, module: ModuleTLS, reason: FailConnect, want: map[string]float64{
			"probe_success": 0, "httptrust_probe_failed{reason=connection_failed}": 1,
			"httptrust_probe_rule_info{pattern=closed.test;rule=code}": 1,
		}, absent: []string{"probe_ssl_earliest_cert_expiry", "probe_ssl_last_chain_info", "httptrust_probe_trusted", "probe_tls_version_info", "probe_ip_protocol"}},
		{name: "dead-host/https", target: "https://closed.test:" + closedPort + "/", module: ModuleHTTPS, reason: FailConnect, want: map[string]float64{
			"probe_success": 0, "httptrust_probe_failed{reason=connection_failed}": 1, "probe_http_status_code": 0,
		}, absent: []string{"probe_ssl_earliest_cert_expiry"}},
		{name: "unknown-name", target: "nowhere.test:443", module: ModuleTLS, reason: FailDNS, want: map[string]float64{
			"probe_success": 0, "httptrust_probe_failed{reason=dns_failed}": 1,
		}},
		{name: "not-tls", target: "127.0.0.1:" + plain.Port, module: ModuleTLS, reason: "not_a_tls_server", want: map[string]float64{
			"probe_success": 0, "httptrust_probe_refused{reason=not_a_tls_server}": 1,
			"httptrust_probe_rule_info{pattern=;rule=defaults}": 1,
		}},
	}
	pr := l.prober(l.policy, nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := pr.Probe(context.Background(), target(t, c.target), c.module)
			checkCase(t, r, c)
		})
	}

	t.Run("timeout", func(t *testing.T) {
		pr := l.prober(l.policy, nil)
		pr.Timeout = 300 * time.Millisecond
		r := pr.Probe(context.Background(), target(t, "silent.test:"+silent.Port), ModuleTLS)
		checkCase(t, r, metricCase{reason: FailTimeout, want: map[string]float64{"probe_success": 0, "httptrust_probe_failed{reason=timeout}": 1}})
		if r.Duration > 2*time.Second {
			t.Errorf("timeout took %s", r.Duration)
		}
		r = pr.Probe(context.Background(), target(t, "https://silent.test:"+silent.Port+"/"), ModuleHTTPS)
		checkCase(t, r, metricCase{reason: FailTimeout, want: map[string]float64{"probe_success": 0, "httptrust_probe_failed{reason=timeout}": 1}})
	})
}

func checkCase(t *testing.T, r *Result, c metricCase) {
	t.Helper()
	if r.OK != c.ok || r.Reason != c.reason {
		t.Errorf("ok %v reason %q (%v), want ok %v reason %q", r.OK, r.Reason, r.Err, c.ok, c.reason)
	}
	mfs := families(t, r)
	for s, want := range c.want {
		name, labels := series(s)
		got, ok := value(mfs, name, labels)
		if !ok || got != want {
			t.Errorf("%s = %v (found %v), want %v; series: %s", s, got, ok, want, labelsOf(mfs, name))
		}
	}
	for _, s := range c.absentSeries {
		name, labels := series(s)
		if mf, ok := mfs[name]; ok {
			for _, m := range mf.Metric {
				if hasLabels(m, labels) {
					t.Errorf("%s present: %s", s, labelsOf(mfs, name))
				}
			}
		}
	}
	for _, name := range c.absent {
		if _, ok := mfs[name]; ok {
			t.Errorf("%s present: %s", name, labelsOf(mfs, name))
		}
	}
	if _, ok := mfs["probe_ssl_last_chain_expiry_timestamp_seconds"]; ok {
		if v, _ := value(mfs, "probe_ssl_last_chain_expiry_timestamp_seconds", nil); v <= 0 {
			t.Errorf("last chain expiry %v: the sentinel of an unverified chain", v)
		}
	}
}

// Under trust on first use, a probe records nothing unless asked; asked,
// it records the key once the handshake completed, then knows it, and a
// new key is a change.
func TestProbeFirstUse(t *testing.T) {
	l := newLab(t)
	dev := l.pki.SelfSigned(t, "dev.test")
	s := l.serve(testpki.Chain(dev), nil, "dev.test")
	known := &httptrust.MemoryTOFU{}
	for _, m := range []Module{ModuleTLS, ModuleHTTPS} {
		t.Run(string(m), func(t *testing.T) {
			tg := target(t, at(s, "dev.test"))
			if m == ModuleTLS {
				tg = target(t, "dev.test:"+s.Port)
			}
			hp := "dev.test:" + s.Port
			// Looking only: nothing recorded.
			look := l.prober(l.policy(known, false, httptrust.Rule{Hosts: []string{"dev.test"}, TOFU: boolp(true)}), nil)
			r := look.Probe(context.Background(), tg, m)
			if r.OK || r.FirstUse != FirstUseFirstContact {
				t.Fatalf("first contact: ok %v, state %q (%v)", r.OK, r.FirstUse, r.Err)
			}
			if _, ok, _ := known.Lookup(hp); ok {
				t.Fatal("a probe that only looks recorded a key")
			}
			rec := l.prober(l.policy(known, true, httptrust.Rule{Hosts: []string{"dev.test"}, TOFU: boolp(true)}), known)
			r = rec.Probe(context.Background(), tg, m)
			if !r.OK || r.FirstUse != FirstUseRecorded {
				t.Fatalf("recording: ok %v, state %q (%v)", r.OK, r.FirstUse, r.Err)
			}
			if got, ok, _ := known.Lookup(hp); !ok || got.Pin != certs.SPKIPin(dev.Cert) {
				t.Fatalf("record %+v %v", got, ok)
			}
			for _, p := range []*Prober{look, rec} {
				if r = p.Probe(context.Background(), tg, m); !r.OK || r.FirstUse != FirstUseKnown {
					t.Errorf("known: ok %v, state %q (%v)", r.OK, r.FirstUse, r.Err)
				}
			}
			// A record of another key: changed.
			other := l.pki.SelfSigned(t, "dev.test")
			mem := &httptrust.MemoryTOFU{}
			mem.Record(httptrust.TOFURecord{HostPort: hp, Pin: certs.SPKIPin(other.Cert), FirstSeen: time.Now(), LastSeen: time.Now()})
			ch := l.prober(l.policy(mem, true, httptrust.Rule{Hosts: []string{"dev.test"}, TOFU: boolp(true)}), mem)
			r = ch.Probe(context.Background(), tg, m)
			checkCase(t, r, metricCase{reason: "certificate_changed", want: map[string]float64{
				"httptrust_first_use{state=changed}": 1, "httptrust_probe_refused{reason=certificate_changed}": 1,
				"probe_ssl_last_chain_info{subject=CN=dev.test}": 1,
			}})
			if !r.Refusal.Remedy.OutOfBand {
				t.Errorf("a changed key's remedy takes from the connection: %+v", r.Refusal.Remedy)
			}
		})
		known = &httptrust.MemoryTOFU{}
	}
}

// The tls module sets InsecureSkipVerify (through TLSConfigFor) and judges
// in VerifyConnection: a rule that trusts nothing, with system roots off,
// refuses every connection, and the https module sends no request.
func TestTLSModuleFailsClosed(t *testing.T) {
	l := newLab(t)
	leaf := l.pki.Leaf(t, "locked.test")
	s := l.serve(l.pki.FullChain(leaf), nil, "locked.test")
	p := l.policy(nil, false, httptrust.Rule{Hosts: []string{"locked.test"}, AnchorCerts: nil, SystemRoots: boolp(false), Pins: []string{}})
	pr := l.prober(p, nil)
	for _, m := range []Module{ModuleTLS, ModuleHTTPS} {
		r := pr.Probe(context.Background(), target(t, at(s, "locked.test")), m)
		if r.OK || r.Reason != "unknown_authority" || r.Trusted {
			t.Errorf("%s: ok %v reason %q trusted %v", m, r.OK, r.Reason, r.Trusted)
		}
	}
	if n := s.Requests.Load(); n != 0 {
		t.Errorf("the server answered %d requests over a refused connection", n)
	}
	if n := s.Handshakes.Load(); n != 0 {
		t.Errorf("%d handshakes completed with a refused server", n)
	}
}

// Every probe is a new connection and a full handshake: nothing is
// resumed or kept alive across probes.
func TestFreshHandshakePerProbe(t *testing.T) {
	l := newLab(t)
	leaf := l.pki.Leaf(t, "api.test")
	s := l.serve(l.pki.FullChain(leaf), nil, "api.test")
	pr := l.prober(l.policy(nil, false, httptrust.Rule{Hosts: []string{"api.test"}, AnchorCerts: certsOf(l.pki.Root)}), nil)
	for i := 0; i < 3; i++ {
		for _, m := range []Module{ModuleTLS, ModuleHTTPS} {
			if r := pr.Probe(context.Background(), target(t, at(s, "api.test")), m); !r.OK {
				t.Fatalf("%s: %v", m, r.Err)
			}
		}
	}
	// The server ends its side of a handshake after the client has: wait
	// for it to count the last one.
	eventually(t, func() bool { return s.Handshakes.Load() >= 6 })
	if h, res, c := s.Handshakes.Load(), s.Resumed.Load(), s.Conns.Load(); h != 6 || res != 0 || c != 6 {
		t.Errorf("handshakes %d, resumed %d, connections %d; want 6, 0, 6", h, res, c)
	}
	// At once, to the same server: each probe its own connection, timed
	// into its own result.
	var wg sync.WaitGroup
	const n = 8
	results := make([]*Result, n)
	for i := range n {
		wg.Go(func() { results[i] = pr.Probe(context.Background(), target(t, at(s, "api.test")), ModuleHTTPS) })
	}
	wg.Wait()
	for i, r := range results {
		if !r.OK || r.Phases.Connect <= 0 || r.Phases.TLS <= 0 || r.IPProtocol != 4 {
			t.Errorf("probe %d: ok %v (%v), phases %+v, IP protocol %d", i, r.OK, r.Err, r.Phases, r.IPProtocol)
		}
	}
	if h, res, c := s.Handshakes.Load(), s.Resumed.Load(), s.Conns.Load(); h != 6+n || res != 0 || c != 6+n {
		t.Errorf("handshakes %d, resumed %d, connections %d; want %d, 0, %d", h, res, c, 6+n, 6+n)
	}
}

// eventually waits up to 5 s for done, for what a server does after the
// client has moved on.
func eventually(t *testing.T, done func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !done() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

// Probes offer X25519 and P-256 unless told otherwise; KeyExchanges
// changes what is offered.
func TestProbeKeyExchanges(t *testing.T) {
	l := newLab(t)
	leaf := l.pki.Leaf(t, "api.test")
	var mu sync.Mutex
	var seen []tls.CurveID
	s := testpki.StartTLS(t, "127.0.0.1", l.pki.FullChain(leaf), nil, func(c *tls.Config) {
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			mu.Lock()
			seen = append(seen, cs.CurveID)
			mu.Unlock()
			return nil
		}
	})
	l.resolve["api.test"] = "127.0.0.1"
	p := l.policy(nil, false, httptrust.Rule{Hosts: []string{"api.test"}, AnchorCerts: certsOf(l.pki.Root)})
	pr := l.prober(p, nil)
	for _, m := range []Module{ModuleTLS, ModuleHTTPS} {
		if r := pr.Probe(context.Background(), target(t, at(s, "api.test")), m); !r.OK {
			t.Fatal(r.Err)
		}
	}
	pr.KeyExchanges = []tls.CurveID{tls.X25519MLKEM768, tls.X25519}
	for _, m := range []Module{ModuleTLS, ModuleHTTPS} {
		if r := pr.Probe(context.Background(), target(t, at(s, "api.test")), m); !r.OK {
			t.Fatal(r.Err)
		}
	}
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) >= 3 })
	mu.Lock()
	defer mu.Unlock()
	if want := []tls.CurveID{tls.X25519, tls.X25519, tls.X25519MLKEM768, tls.X25519MLKEM768}; !slices.Equal(seen, want) {
		t.Errorf("key exchanges %v, want %v", seen, want)
	}
}
