package main

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// scriptPKI is one script's certificate authorities: a private CA with an
// intermediate (ca.pem) and a stand-in for the public roots (public-ca.pem,
// the system roots through SSL_CERT_FILE).
type scriptPKI struct {
	dir          string
	ca, inter    *mint.Cert
	public       *mint.Cert
	clientIssuer *mint.Cert

	mu      sync.Mutex
	servers map[string]*scriptServer
	proxies map[string]*testpki.Proxy
	// presented is the chain each server presents now, by port (for
	// the replay of printed commands, printed_test.go).
	presented map[string]func() []*x509.Certificate
	// aliases map a HOST:PORT a proxy reaches to the ADDR:PORT it
	// tunnels to; clientCAs are the issuers, with their keys, whose
	// client certificates a server accepts, by port.
	aliases   map[string]string
	clientCAs map[string]*mint.Cert
}

func newScriptPKI(dir string) (*scriptPKI, error) {
	p := &scriptPKI{dir: dir, servers: map[string]*scriptServer{}}
	var err error
	if p.ca, err = mint.New(mint.Template{CommonName: "Script Corp Root", IsCA: true, MaxPathLen: -1}, nil); err != nil {
		return nil, err
	}
	if p.inter, err = mint.New(mint.Template{CommonName: "Script Corp Intermediate", IsCA: true}, p.ca); err != nil {
		return nil, err
	}
	if p.public, err = mint.New(mint.Template{CommonName: "Script Public Root", IsCA: true, MaxPathLen: -1}, nil); err != nil {
		return nil, err
	}
	if p.clientIssuer, err = mint.New(mint.Template{CommonName: "Script Client CA", IsCA: true, MaxPathLen: -1}, nil); err != nil {
		return nil, err
	}
	for name, c := range map[string]*mint.Cert{"ca.pem": p.ca, "intermediate.pem": p.inter, "public-ca.pem": p.public, "client-ca.pem": p.clientIssuer} {
		if err := os.WriteFile(filepath.Join(dir, name), c.CertPEM(), 0o644); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// scriptServer is a loopback server started by a script.
type scriptServer struct {
	name     string
	cert     atomic.Pointer[tls.Certificate]
	requests atomic.Int64
	srv      *http.Server
	names    []string
	// lastHeaders are the headers of the last request it received.
	lastHeaders atomic.Pointer[http.Header]
	askCert     bool // answer 400 to a request without a client certificate
}

// hang accepts connections on ln and holds them, silent, until ln closes.
func hang(ln net.Listener) {
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		conns = append(conns, c)
	}
}

var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"serve":      cmdServe,
	"swap":       cmdSwap,
	"renew":      cmdRenew,
	"hits":       cmdHits,
	"closedport": cmdClosedPort,
	"has":        cmdHas,
}

// cmdHas checks that the last command's stdout or stderr contains a fixed
// string (pins and fingerprints hold regexp metacharacters).
func cmdHas(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || (args[0] != "stdout" && args[0] != "stderr") {
		ts.Fatalf("usage: has stdout|stderr STRING")
	}
	got := strings.Contains(ts.ReadFile(args[0]), args[1])
	if got == neg {
		ts.Fatalf("%s: contains %q: %v, want %v", args[0], args[1], got, !neg)
	}
}

func pkiOf(ts *testscript.TestScript) *scriptPKI { return ts.Value("pki").(*scriptPKI) }

type serveOpts struct {
	ca, public, intermediate, expired, mtls, plain, tls12, aia bool
	hostile                                                    bool
	names                                                      string
	// certFile and keyFile, if set, are served instead (-certfile,
	// -keyfile); clientCA is the CA file -mtls checks clients against.
	certFile, keyFile, clientCA string
	// askCert asks for a client certificate and, given none, answers 400
	// (as nginx with ssl_verify_client on); slowTLS delays the handshake;
	// hang accepts connections and never answers.
	askCert, hang, tls11 bool
	slowTLS              time.Duration
	// issuerURL is the leaf's AIA caIssuers URL (set by -aia).
	issuerURL string
}

func cmdServe(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! serve")
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var o serveOpts
	fs.BoolVar(&o.ca, "ca", false, "issued by the private CA's intermediate (leaf and intermediate sent)")
	fs.BoolVar(&o.public, "public", false, "issued by the stand-in public root")
	fs.BoolVar(&o.intermediate, "leafonly", false, "with -ca: send the leaf only")
	fs.BoolVar(&o.expired, "expired", false, "an expired certificate")
	fs.BoolVar(&o.mtls, "mtls", false, "require a client certificate from client-ca.pem")
	fs.BoolVar(&o.plain, "plain", false, "plain HTTP")
	fs.BoolVar(&o.tls12, "tls12", false, "TLS 1.2 at most")
	fs.BoolVar(&o.aia, "aia", false, "with -ca: the leaf names its issuer's URL, served by a plain-HTTP server (NAME_ISSUER_URL)")
	fs.BoolVar(&o.hostile, "hostile", false, "a self-signed certificate whose subject and names hold terminal escapes")
	fs.StringVar(&o.names, "names", "", "comma-separated names (default NAME.test,127.0.0.1)")
	fs.StringVar(&o.certFile, "certfile", "", "serve the certificate in this PEM file (with -keyfile)")
	fs.StringVar(&o.keyFile, "keyfile", "", "the key of -certfile")
	fs.StringVar(&o.clientCA, "clientca", "", "with -mtls: check clients against the CA in this PEM file")
	fs.BoolVar(&o.askCert, "askcert", false, "ask for a client certificate from client-ca.pem; without one, answer 400")
	fs.DurationVar(&o.slowTLS, "slowtls", 0, "delay the TLS handshake by this long")
	fs.BoolVar(&o.hang, "hang", false, "accept connections and never answer")
	fs.BoolVar(&o.tls11, "tls11", false, "TLS 1.0 and 1.1 only (a legacy device)")
	if len(args) < 1 {
		ts.Fatalf("usage: serve NAME [flags]")
	}
	name := args[0]
	ts.Check(fs.Parse(args[1:]))
	for _, f := range []*string{&o.certFile, &o.keyFile, &o.clientCA} {
		if *f != "" {
			*f = ts.MkAbs(*f)
		}
	}
	s, err := pkiOf(ts).start(ts, name, o)
	ts.Check(err)
	ts.Defer(func() { s.srv.Close() })
}

func (p *scriptPKI) leaf(names []string, o serveOpts) (*mint.Cert, []*mint.Cert, error) {
	t := mint.Template{Names: names}
	if o.issuerURL != "" {
		t.IssuingCertificateURL = []string{o.issuerURL}
	}
	if o.expired {
		t.NotBefore, t.NotAfter = time.Now().Add(-72*time.Hour), time.Now().Add(-24*time.Hour)
	}
	switch {
	case o.certFile != "":
		tc, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
		if err != nil {
			return nil, nil, err
		}
		return &mint.Cert{Cert: tc.Leaf, Key: tc.PrivateKey.(crypto.Signer), DER: tc.Certificate[0]}, nil, nil
	case o.hostile:
		c, err := hostileLeaf(names)
		return c, nil, err
	case o.ca:
		c, err := mint.New(t, p.inter)
		if o.intermediate {
			return c, nil, err
		}
		return c, []*mint.Cert{p.inter}, err
	case o.public:
		c, err := mint.New(t, p.public)
		return c, nil, err
	}
	c, err := mint.New(t, nil)
	return c, nil, err
}

func (p *scriptPKI) start(ts *testscript.TestScript, name string, o serveOpts) (*scriptServer, error) {
	names := []string{name + ".test", "127.0.0.1"}
	if o.names != "" {
		names = strings.Split(o.names, ",")
	}
	s := &scriptServer{name: name, names: names, askCert: o.askCert}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	up := strings.ToUpper(name)
	s.srv = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	scheme := "https"
	if o.hang {
		go hang(ln)
		ts.Defer(func() { ln.Close() })
	} else if o.plain {
		scheme = "http"
		go s.srv.Serve(ln)
	} else {
		if o.aia {
			if o.issuerURL, err = p.serveIssuer(ts, up); err != nil {
				return nil, err
			}
		}
		leaf, chain, err := p.leaf(names, o)
		if err != nil {
			return nil, err
		}
		p.export(ts, up, leaf, chain)
		if o.ca {
			p.exportChain(ts, up, leaf)
		}
		tc := leaf.TLSCertificate(chain...)
		s.cert.Store(&tc)
		p.present(port, func() []*x509.Certificate { return presentedTLS(s.cert.Load()) })
		cfg := &tls.Config{
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
				time.Sleep(o.slowTLS)
				return s.cert.Load(), nil
			},
			NextProtos: []string{"h2", "http/1.1"},
		}
		if o.tls12 {
			cfg.MaxVersion = tls.VersionTLS12
		}
		if o.tls11 {
			cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
			cfg.NextProtos = []string{"http/1.1"} // HTTP/2 needs TLS 1.2
		}
		if o.mtls {
			if err := p.clientFiles(); err != nil {
				return nil, err
			}
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
			cfg.ClientCAs = p.clientIssuer.Pool()
			if o.clientCA != "" {
				data, err := os.ReadFile(o.clientCA)
				if err != nil {
					return nil, err
				}
				cfg.ClientCAs = x509.NewCertPool()
				cfg.ClientCAs.AppendCertsFromPEM(data)
				p.clientCA(port, o.clientCA)
			}
		}
		if o.askCert {
			if err := p.clientFiles(); err != nil {
				return nil, err
			}
			cfg.ClientAuth = tls.VerifyClientCertIfGiven
			cfg.ClientCAs = p.clientIssuer.Pool()
		}
		go s.srv.Serve(tls.NewListener(ln, cfg))
	}
	ts.Setenv(up+"_URL", fmt.Sprintf("%s://127.0.0.1:%s/", scheme, port))
	ts.Setenv(up+"_HOSTURL", fmt.Sprintf("%s://%s.test:%s/", scheme, name, port))
	ts.Setenv(up+"_RESOLVE", fmt.Sprintf("%s.test:%s:127.0.0.1", name, port))
	ts.Setenv(up+"_PORT", port)
	p.mu.Lock()
	p.servers[name] = s
	p.mu.Unlock()
	return s, nil
}

// serveIssuer serves the intermediate's DER over plain HTTP on loopback,
// as a CA publishes it for AIA, and returns its URL (also NAME_ISSUER_URL).
// Its requests are counted as the server NAME-issuer (hits NAME-issuer N).
func (p *scriptPKI) serveIssuer(ts *testscript.TestScript, up string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	der := p.inter.DER
	s := &scriptServer{name: strings.ToLower(up) + "-issuer"}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.requests.Add(1)
			w.Header().Set("Content-Type", "application/pkix-cert")
			w.Write(der)
		})}
	s.srv = srv
	go srv.Serve(ln)
	ts.Defer(func() { srv.Close() })
	p.mu.Lock()
	p.servers[s.name] = s
	p.mu.Unlock()
	u := fmt.Sprintf("http://%s/intermediate.der", ln.Addr())
	ts.Setenv(up+"_ISSUER_URL", u)
	ts.Setenv(up+"_ISSUER_SHA256", certs.CertFingerprint(p.inter.Cert).String())
	return u, nil
}

// export writes NAME.pem (the leaf) and sets NAME_SHA256 and NAME_PIN.
func (p *scriptPKI) export(ts *testscript.TestScript, up string, leaf *mint.Cert, chain []*mint.Cert) {
	lower := strings.ToLower(up)
	ts.Check(os.WriteFile(filepath.Join(p.dir, lower+".pem"), leaf.CertPEM(), 0o644))
	ts.Check(os.WriteFile(filepath.Join(p.dir, lower+".der"), leaf.DER, 0o644))
	ts.Setenv(up+"_SHA256", certs.CertFingerprint(leaf.Cert).String())
	ts.Setenv(up+"_PIN", certs.SPKIPin(leaf.Cert).String())
	for i, c := range chain {
		ts.Setenv(fmt.Sprintf("%s_CHAIN%d_SHA256", up, i+1), certs.CertFingerprint(c.Cert).String())
	}
}

// exportChain writes, for a server under the private CA, the files a
// browser's "export with chain" and a CA's bundle give: NAME-chain.p7b
// (PKCS#7: leaf, intermediate, root) and NAME-fullchain.pem (the same, PEM).
func (p *scriptPKI) exportChain(ts *testscript.TestScript, up string, leaf *mint.Cert) {
	lower := strings.ToLower(up)
	chain := []*x509.Certificate{leaf.Cert, p.inter.Cert, p.ca.Cert}
	ts.Check(os.WriteFile(filepath.Join(p.dir, lower+"-chain.p7b"), certs.EncodePKCS7(chain), 0o644))
	ts.Check(os.WriteFile(filepath.Join(p.dir, lower+"-fullchain.pem"), certs.EncodeCertificatesPEM(chain), 0o644))
}

// clientFiles writes a client identity: client.pem + client-key.pem, and
// client.p12 with the password "secret".
func (p *scriptPKI) clientFiles() error {
	c, err := mint.New(mint.Template{Names: []string{"client.test"}, Client: true}, p.clientIssuer)
	if err != nil {
		return err
	}
	key, err := c.KeyPEM()
	if err != nil {
		return err
	}
	p12, err := pkcs12.Modern.Encode(c.Key, c.Cert, nil, "secret")
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{"client.pem": c.CertPEM(), "client-key.pem": key, "client.p12": p12} {
		if err := os.WriteFile(filepath.Join(p.dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// handler answers "hello from NAME"; /status/N answers N; /redirect?to=URL
// redirects; /big sends 1 MiB. The headers of the last request are kept
// (headers NAME).
func (s *scriptServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		fmt.Fprintf(w, "hello from %s (%s %s)\n", s.name, r.Method, r.URL.Path)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		fmt.Fprintf(w, "%s %s\n", r.Method, r.Header.Get("Content-Type"))
		buf := make([]byte, 1<<16)
		n, _ := r.Body.Read(buf)
		fmt.Fprintf(w, "body=%s\nx-test=%s\n", buf[:n], r.Header.Get("X-Test"))
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.WriteHeader(code)
		fmt.Fprintf(w, "status %d\n", code)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/slowbody", func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		w.Write([]byte("start\n"))
		w.(http.Flusher).Flush()
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		w.Write(make([]byte, 1<<20))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.recordHeaders(r)
		if s.askCert && r.TLS != nil && len(r.TLS.PeerCertificates) == 0 {
			s.requests.Add(1)
			http.Error(w, "400 No required SSL certificate was sent", http.StatusBadRequest)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func cmdSwap(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 || (len(args) == 2 && args[1] != "-public") {
		ts.Fatalf("usage: swap NAME [-public]")
	}
	p := pkiOf(ts)
	p.mu.Lock()
	s := p.servers[args[0]]
	p.mu.Unlock()
	if s == nil {
		ts.Fatalf("no server %s", args[0])
	}
	var parent *mint.Cert
	if len(args) == 2 {
		parent = p.public
	}
	c, err := mint.New(mint.Template{Names: s.names}, parent)
	ts.Check(err)
	tc := c.TLSCertificate()
	s.cert.Store(&tc)
	p.export(ts, strings.ToUpper(args[0])+"_NEW", c, nil)
}

// cmdRenew serves a new self-signed certificate with the key of the one
// served now (a renewal), and sets NAME_RENEWED_SHA256 and _PIN.
func cmdRenew(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: renew NAME")
	}
	p := pkiOf(ts)
	p.mu.Lock()
	s := p.servers[args[0]]
	p.mu.Unlock()
	if s == nil {
		ts.Fatalf("no server %s", args[0])
	}
	key, ok := s.cert.Load().PrivateKey.(crypto.Signer)
	if !ok {
		ts.Fatalf("server %s: its key is not a crypto.Signer", args[0])
	}
	c, err := mint.New(mint.Template{Names: s.names, Key: key, NotBefore: time.Now().Add(-time.Minute)}, nil)
	ts.Check(err)
	tc := c.TLSCertificate()
	s.cert.Store(&tc)
	p.export(ts, strings.ToUpper(args[0])+"_RENEWED", c, nil)
}

// runAIALoopback runs the CLI as main does, with AIA fetches allowed to
// loopback (the issuer servers of serve -aia).
func runAIALoopback(args []string) int {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, terminal: isTerminal, now: time.Now,
		aia: &httptrust.AIAFetcher{AllowLoopback: true}}
	return e.run(args)
}

func cmdHits(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: hits NAME N")
	}
	p := pkiOf(ts)
	p.mu.Lock()
	s := p.servers[args[0]]
	p.mu.Unlock()
	if s == nil {
		ts.Fatalf("no server %s", args[0])
	}
	want, err := strconv.ParseInt(args[1], 10, 64)
	ts.Check(err)
	got := s.requests.Load()
	if (got == want) == neg {
		ts.Fatalf("server %s answered %d requests; want %s%d", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

func cmdClosedPort(ts *testscript.TestScript, neg bool, args []string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ts.Check(ln.Close())
	ts.Setenv("CLOSED_PORT", port)
}
