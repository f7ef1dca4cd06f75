package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/mint"
)

func (e *env) demoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "A short tour, fully offline: a self-signed server, refused, explained, trusted for one host",
		Long: `Run a short tour, fully offline, in a temporary store (yours is not touched):
start a local HTTPS server with a self-signed certificate, watch a plain Go
client fail with its raw error and httptrust get fail with the reason,
trust the certificate for that host only, make the request, and see a
second host serving the same certificate still refused.

The tour is for reading and has no JSON form; each command it shows has
one of its own.`,
		Example: "  httptrust demo",
		Args:    exactArgs(0, "demo takes no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if e.json {
				return noJSON("demo", "the demo is a tour to read; run it without --json, and the commands it shows with --json")
			}
			if cmd.Flags().Changed("store") {
				return usagef("demo takes no --store: it always runs in a temporary store of its own (yours is not touched)")
			}
			out := &readerGone{w: e.stdout}
			d := *e
			d.stdout = out
			return d.demo(cmd.Context())
		},
	}
	withoutStoreAndJSON(cmd)
	return cmd
}

// storeAndJSON are the global flags that mean nothing to demo and
// completion.
var storeAndJSON = []string{"store", "json"}

// withoutStoreAndJSON leaves --store and --json out of the help of cmd
// and its subcommands. The flags are the root's, shared by every command:
// they are hidden only while cmd's help is printed (one command a run).
func withoutStoreAndJSON(cmd *cobra.Command) {
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		for _, name := range storeAndJSON {
			if f := c.Root().PersistentFlags().Lookup(name); f != nil {
				f.Hidden = true
				defer func() { f.Hidden = false }()
			}
		}
		c.Root().HelpFunc()(c, args)
	})
}

// readerGone is the demo's stdout. Once its reader has gone (demo | head
// has read enough), the rest of the tour is dropped, and the demo ends as
// if it had been read to the end: exit 0, nothing on stderr.
type readerGone struct {
	w    io.Writer
	gone bool
}

func (r *readerGone) Write(p []byte) (int, error) {
	if r.gone {
		return len(p), nil
	}
	n, err := r.w.Write(p)
	if err != nil && errors.Is(err, syscall.EPIPE) {
		r.gone = true
		return len(p), nil
	}
	return n, err
}

// noJSON refuses --json for a command whose output is not data.
func noJSON(name, hint string) error {
	return &exitError{code: exitUsage, err: fmt.Errorf("%s prints no data: --json is not supported", name), hints: []string{hint}}
}

// demoServer is the demo's self-signed HTTPS server.
type demoServer struct {
	port string
	cert *mint.Cert
	srv  *http.Server
}

func startDemoServer() (*demoServer, error) {
	cert, err := mint.New(mint.Template{Names: []string{"device.demo.test", "other.demo.test"}}, nil)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: a loopback port: %w", err)
	}
	tc := cert.TLSCertificate()
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from %s: this answer came over a verified connection\n", r.Host)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go srv.Serve(tlsListener(ln, tc))
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return &demoServer{port: port, cert: cert, srv: srv}, nil
}

// tlsListener serves cert on ln, HTTP/1.1 and HTTP/2.
func tlsListener(ln net.Listener, cert tls.Certificate) net.Listener {
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
}

func (e *env) demo(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "httptrust-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := startDemoServer()
	if err != nil {
		return err
	}
	defer s.srv.Close()
	d := &demoRun{e: e, store: filepath.Join(dir, "store"), port: s.port}
	device := d.url("device.demo.test")
	fp := certs.CertFingerprint(s.cert.Cert).String()

	d.say("1. A local HTTPS server with a self-signed certificate listens on 127.0.0.1:%s,\n   as device.demo.test (--resolve points the name there; nothing leaves this machine).", s.port)
	d.say("2. A plain Go client (net/http, default settings) refuses it, with its raw error:")
	d.say("     %v", plainGoError(ctx, device, s.port))
	d.say("3. httptrust get refuses it too, and says why and what to do (exit 60, as curl):")
	if err := d.step(exitVerify, "get", "--resolve", d.resolve("device.demo.test"), device); err != nil {
		return err
	}
	d.say("4. Trust it for device.demo.test only. The fingerprint is the one the device shows\n   on its screen or label (here the demo made the certificate, so it knows):")
	if err := d.step(exitOK, "fetch", "--resolve", d.resolve("device.demo.test"), "--fingerprint", fp, device); err != nil {
		return err
	}
	d.say("5. Now the request succeeds, verified:")
	if err := d.step(exitOK, "get", "--resolve", d.resolve("device.demo.test"), device); err != nil {
		return err
	}
	d.say("6. other.demo.test serves the very same certificate, and is still refused:\n   the certificate was trusted for one host, not as a root for every host.")
	if err := d.step(exitVerify, "get", "--resolve", d.resolve("other.demo.test"), d.url("other.demo.test")); err != nil {
		return err
	}
	d.say(`Try it on your own servers (your store: --store DIR, $HTTPTRUST_STORE, or the default):
  httptrust inspect https://192.168.1.20/          the chain, and who trusts it
  httptrust fetch https://192.168.1.20/            see it, compare the fingerprint, trust it for that host
  httptrust get -v https://192.168.1.20/status     curl's job, verified
  httptrust trust add corp-root.pem --host '**.corp.example'
  httptrust trust list`)
	return nil
}

// demoRun runs the CLI's own commands against the demo server.
type demoRun struct {
	e     *env
	store string
	port  string
}

func (d *demoRun) url(host string) string { return "https://" + host + ":" + d.port + "/" }

func (d *demoRun) resolve(host string) string { return host + ":" + d.port + ":127.0.0.1" }

func (d *demoRun) say(format string, args ...any) {
	fmt.Fprintf(d.e.stdout, "\n"+format+"\n", args...)
}

// step shows and runs one httptrust command in the demo's store, with
// everything it prints on stdout so that the tour reads in order, and
// checks its exit code.
func (d *demoRun) step(want int, args ...string) error {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = httptrust.ShellQuote(a)
	}
	fmt.Fprintf(d.e.stdout, "\n   $ httptrust %s\n", strings.Join(quoted, " "))
	w := &indent{w: d.e.stdout, prefix: "   "}
	getenv := func(k string) string {
		switch k {
		case "HTTPTRUST_STORE":
			return d.store
		case envCommandLog:
			// What the steps print works only while the demo's server
			// runs: TestDemoCommands checks it instead.
			return ""
		case "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy":
			// The demo's server is on loopback: nothing goes through a
			// proxy, and nothing leaves this machine.
			return ""
		}
		return d.e.getenv(k)
	}
	sub := &env{stdin: strings.NewReader(""), stdout: w, stderr: w, getenv: getenv, now: d.e.now,
		terminal: func(any) bool { return false }}
	code := sub.run(args)
	fmt.Fprintf(d.e.stdout, "   (exit %d)\n", code)
	if code != want {
		return fmt.Errorf("demo: httptrust %s exited %d, not %d as expected", args[0], code, want)
	}
	return nil
}

// plainGoError makes the request a plain Go program would and returns its
// error (a self-signed certificate: "x509: certificate signed by unknown
// authority").
func plainGoError(ctx context.Context, url, port string) error {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, "127.0.0.1:"+port)
	}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err == nil {
		resp.Body.Close()
		return errors.New("(no error: this machine's system roots trust the demo's certificate?)")
	}
	return err
}

// indent prefixes every line written through it.
type indent struct {
	w       io.Writer
	prefix  string
	midLine bool
}

func (in *indent) Write(p []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line == "" {
			continue
		}
		if !in.midLine {
			if _, err := io.WriteString(in.w, in.prefix); err != nil {
				return 0, err
			}
		}
		if _, err := io.WriteString(in.w, line); err != nil {
			return 0, err
		}
		in.midLine = !strings.HasSuffix(line, "\n")
	}
	return len(p), nil
}
