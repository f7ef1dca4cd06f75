package httptrust_test

import (
	"crypto/x509"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/httptrust/httptrust"
)

// A store can ship inside the binary: the Go form of an app's bundled
// certificates folder. Every rule file is validated when it loads.
//
//go:embed testdata/example-store
var bundled embed.FS

func ExampleLoadFS() {
	store, err := fs.Sub(bundled, "testdata/example-store")
	if err != nil {
		log.Fatal(err)
	}
	policy, err := httptrust.LoadFS(store, nil)
	if err != nil {
		log.Fatal(err) // never fall back to wider trust
	}
	for _, host := range []string{"api.corp.example", "legacy.corp.example", "example.com"} {
		eff, err := policy.Lookup(host)
		if err != nil {
			log.Fatal(err)
		}
		pins := 0
		if eff.Pins != nil {
			pins = len(eff.Pins.Pins)
		}
		fmt.Printf("%s: rule %q, %d pins from %s, system roots %v\n",
			host, eff.Pattern, pins, eff.Sources["pins"], eff.SystemRoots)
	}
	client := policy.Client() // verifies every host under its own rule
	_ = client
	// Output:
	// api.corp.example: rule "**.corp.example", 2 pins from trust.toml:3, system roots true
	// legacy.corp.example: rule "legacy.corp.example", 2 pins from trust.toml:3, system roots true
	// example.com: rule "", 0 pins from default, system roots true
}

func ExampleParsePattern() {
	for _, s := range []string{"Device.Local.", "*.corp.example", "**.com", "192.168.1.0/24"} {
		p, err := httptrust.ParsePattern(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(p)
	}
	// Output:
	// device.local
	// *.corp.example
	// error: httptrust: host pattern "**.com": pattern covers a public suffix or every host ("com" is a public suffix); name a domain you control
	// 192.168.1.0/24
}

// A refused connection says why, as a Reason a program branches on, and
// what resolves it, as data. A self-signed server, then trusted exactly
// for its address only.
func ExampleVerifyError() {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake, on the server's side
	srv.StartTLS()
	defer srv.Close()

	policy, err := httptrust.New(nil, &httptrust.Options{SystemRoots: x509.NewCertPool()})
	if err != nil {
		log.Fatal(err)
	}
	_, err = policy.Client().Get(srv.URL)
	var ve *httptrust.VerifyError
	if errors.As(err, &ve) {
		switch ve.Reason {
		case httptrust.ReasonSelfSigned, httptrust.ReasonUnknownAuthority:
			fmt.Println("refused:", ve.Reason.Code(), "- remedy:", ve.Remedy.Action)
		case httptrust.ReasonPinMismatch, httptrust.ReasonCertificateChanged:
			fmt.Println("possible attack: ask the operator, out of band")
		}
	}

	// Trusted exactly, for this address only, in code.
	policy, err = httptrust.New([]httptrust.Rule{{
		Hosts:            []string{"127.0.0.1"},
		CertificateCerts: []*x509.Certificate{srv.Certificate()},
	}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := policy.Client().Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println("trusted:", string(body))
	// Output:
	// refused: self_signed_certificate - remedy: trust_certificate
	// trusted: hello
}

// A policy built in code: a private CA for a domain, with pins and a
// backup pin, and a legacy device allowed down to TLS 1.0 by its own rule.
func ExampleNew() {
	yes := true
	policy, err := httptrust.New([]httptrust.Rule{
		{
			Hosts: []string{"**.corp.example"},
			// AnchorCerts: []*x509.Certificate{corpRoot},
			Pins: []string{"sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg=",
				"sha256/Vjs8r4z+80wjNcr1YKepWQboSIRi63WsWXhIMN+eWys="},
			SystemRoots: &yes,
		},
		{Hosts: []string{"printer.corp.example"}, MinTLS: "1.0"},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	eff, _ := policy.Lookup("printer.corp.example")
	fmt.Println(eff.Pattern, "min_tls from", eff.Sources["min_tls"], "pins from", eff.Sources["pins"])
	// Output:
	// printer.corp.example min_tls from code pins from code
}

// A reloading store: the policy in effect follows the folder (a Kubernetes
// ConfigMap mount included); a change that does not load keeps the last
// good policy.
func ExampleWatchDir() {
	dir, err := os.MkdirTemp("", "store")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	write := func(rule string) {
		if err := os.WriteFile(filepath.Join(dir, "trust.toml"), []byte(rule), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	write("[[rule]]\nhosts = [\"api.corp.example\"]\npins = [\"sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg=\", \"sha256/Vjs8r4z+80wjNcr1YKepWQboSIRi63WsWXhIMN+eWys=\"]\n")
	r, err := httptrust.WatchDir(dir, nil, &httptrust.ReloadOptions{Poll: -1})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	client := r.Client() // always verifies under the policy in effect
	_ = client
	write("[[rule]]\nhosts = [\"api.corp.example\"]\nmin_tls = \"1.3\"\n")
	if err := r.Reload(); err != nil { // WatchDir notices by itself; Reload says so at once
		log.Fatal(err)
	}
	eff, _ := r.Policy().Lookup("api.corp.example")
	fmt.Println("pins:", eff.Pins != nil, "min_tls from", eff.Sources["min_tls"])
	write("[[rule]]\nhosts = [\"api.corp.example\"\n") // broken
	fmt.Println("bad reload:", r.Reload() != nil)
	eff, _ = r.Policy().Lookup("api.corp.example")
	fmt.Println("still in effect: min_tls from", eff.Sources["min_tls"])
	// Output:
	// pins: false min_tls from trust.toml:1
	// bad reload: true
	// still in effect: min_tls from trust.toml:1
}

// The caller's own *http.Transport keeps its settings: here a proxy (HTTP,
// HTTPS or SOCKS5), whose own TLS is judged under the proxy host's rule,
// and the target's under the target's.
func ExamplePolicy_Transport() {
	policy, err := httptrust.LoadDir("/etc/myapp/trust", nil)
	if err != nil {
		log.Fatal(err)
	}
	proxy, _ := url.Parse("https://proxy.corp.example:3128")
	base := &http.Transport{
		Proxy:               http.ProxyURL(proxy),
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 4, // per host: each host has a transport of its own
		ForceAttemptHTTP2:   true,
	}
	client := &http.Client{Transport: policy.Transport(base), Timeout: 30 * time.Second}
	_ = client
	// (No output: it needs the proxy and the store it names.)
}
