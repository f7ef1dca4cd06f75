package main

// Script commands for diagnose and check (testdata/script/diagnose*.txtar,
// check*.txtar): a port that accepts and never answers, and servers that
// ask for a client certificate.

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/httptrust/httptrust/mint"
)

func init() {
	scriptCmds["silentport"] = cmdSilentPort
	scriptCmds["askcert"] = cmdAskCert
}

// cmdSilentPort listens on a loopback port that accepts connections and
// never sends a byte (a hung device), and sets SILENT_PORT.
func cmdSilentPort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: silentport")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	ts.Defer(func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	ts.Setenv("SILENT_PORT", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
}

// cmdAskCert serves NAME.test (issued by the private CA's intermediate,
// chain sent) on a server that asks for a client certificate:
//
//	askcert NAME [-tls12] [-require]
//
// Without -require it completes the handshake without one and answers 400
// to every request, as nginx does with ssl_verify_client on; with
// -require the handshake fails (TLS 1.2) or the server sends the
// certificate_required alert after it (TLS 1.3). Sets NAME_URL,
// NAME_HOSTURL, NAME_RESOLVE and NAME_PORT as serve does.
func cmdAskCert(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("askcert", flag.ContinueOnError)
	tls12 := fs.Bool("tls12", false, "TLS 1.2 at most")
	require := fs.Bool("require", false, "require a client certificate in the handshake")
	if neg || len(args) < 1 {
		ts.Fatalf("usage: askcert NAME [-tls12] [-require]")
	}
	name := args[0]
	ts.Check(fs.Parse(args[1:]))
	p := pkiOf(ts)
	ts.Check(p.clientFiles())
	leaf, err := mint.New(mint.Template{Names: []string{name + ".test", "127.0.0.1"}}, p.inter)
	ts.Check(err)
	cfg := &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate(p.inter)}, ClientAuth: tls.RequestClientCert,
		ClientCAs: p.clientIssuer.Pool(), NextProtos: []string{"h2", "http/1.1"}}
	if *require {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if *tls12 {
		cfg.MaxVersion = tls.VersionTLS12
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(r.TLS.PeerCertificates) == 0 {
				http.Error(w, "400 No required SSL certificate was sent", http.StatusBadRequest)
				return
			}
			fmt.Fprintln(w, "hello, client")
		})}
	go srv.Serve(tls.NewListener(ln, cfg))
	ts.Defer(func() { srv.Close() })
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	p.present(port, func() []*x509.Certificate { return presentedTLS(&cfg.Certificates[0]) })
	up := strings.ToUpper(name)
	ts.Setenv(up+"_URL", "https://127.0.0.1:"+port+"/")
	ts.Setenv(up+"_HOSTURL", fmt.Sprintf("https://%s.test:%s/", name, port))
	ts.Setenv(up+"_RESOLVE", fmt.Sprintf("%s.test:%s:127.0.0.1", name, port))
	ts.Setenv(up+"_PORT", port)
}
