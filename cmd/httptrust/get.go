package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

const getExamples = `  httptrust get https://192.168.1.20/status
  httptrust get -v https://device.local/            the chain, TLS details and the rule that trusted it
  httptrust get -H 'Accept: application/json' -d @body.json https://api.corp.example/v1/items
  httptrust get --cacert corp-root.pem https://intranet.corp.example/
  httptrust get --pin sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg= https://api.example.com/
  httptrust get --cert me.p12 --password-env P12_PASSWORD https://mtls.corp.example/
  httptrust get --resolve device.local:443:192.168.1.20 https://device.local/
  httptrust get -o firmware.bin -L https://device.local/firmware`

const getLong = `Make an HTTPS request with curl's habits and print the body on stdout.

Every connection is verified under the trust store (see httptrust fetch and
httptrust trust) and the command line: certificates trusted for one host
vouch for no other, on every redirect hop too. There is no -k.

Exit codes follow curl: 0 ok, 6 could not resolve, 7 could not connect,
22 HTTP status >= 400 with --fail, 28 timeout, 35 TLS handshake failed (not
a TLS server, client certificate required), 58 client certificate or key
unusable, 60 server certificate not verified, 77 CA file unusable, 90 pinned
key mismatch; 1 refused (a redirect to plain HTTP), 2 usage.`

// getFlags are the flags of httptrust get.
type getFlags struct {
	method         string
	headers        []string
	data           []string
	output         string
	include        bool
	head           bool
	location       bool
	fail           bool
	silent         bool
	showError      bool
	insecure       bool
	maxTime        float64
	connectTimeout float64
	resolve        []string
	serverName     string
	cacert         string
	pins           []string
	cert, key      string
	allowDowngrade bool
	fetchInter     bool
	tofu           bool
	userAgent      string
	pw             passwordFlags
}

func (e *env) getCmd() *cobra.Command {
	g := &getFlags{}
	cmd := &cobra.Command{
		Use:     "get [flags] URL",
		Short:   "Make a verified HTTPS request, as curl does (body to stdout)",
		Long:    getLong,
		Example: getExamples,
		Args:    exactArgs(1, "get needs one URL"),
		RunE:    func(cmd *cobra.Command, args []string) error { return e.get(cmd.Context(), g, args[0]) },
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVarP(&g.method, "request", "X", "", "request `METHOD` (default GET, or POST with -d)")
	f.StringArrayVarP(&g.headers, "header", "H", nil, "add a request header `'Name: value'` (repeatable)")
	f.StringArrayVarP(&g.data, "data", "d", nil, "send `DATA` as the body (POST); @FILE reads a file, @- stdin (repeatable, joined by &)")
	f.StringVarP(&g.output, "output", "o", "", "write the body to `FILE` instead of stdout")
	f.BoolVarP(&g.include, "include", "i", false, "include the response status and headers in the output")
	f.BoolVarP(&g.head, "head", "I", false, "send HEAD and print the status and headers only")
	f.BoolVarP(&g.location, "location", "L", false, "follow redirects; every hop is verified for its own host")
	f.BoolVarP(&g.fail, "fail", "f", false, "exit 22 without output on an HTTP status >= 400")
	f.BoolVarP(&g.silent, "silent", "s", false, "no progress bar")
	f.BoolVarP(&g.showError, "show-error", "S", false, "accepted for curl compatibility: errors are always shown")
	f.Float64Var(&g.maxTime, "max-time", 0, "give up after `SECONDS` in all (exit 28)")
	f.Float64Var(&g.connectTimeout, "connect-timeout", 0, "give up connecting after `SECONDS` (exit 28)")
	f.StringArrayVar(&g.resolve, "resolve", nil, "connect to `HOST:PORT:ADDR` for HOST:PORT; every decision is still about HOST")
	f.StringVar(&g.serverName, "server-name", "", "verify the certificate as `NAME` (a device reached by IP)")
	f.StringVar(&g.cacert, "cacert", "", "trust the URL's host through exactly the CA certificates in `FILE` (no system roots, its store rule set aside; nothing saved)")
	f.StringArrayVar(&g.pins, "pin", nil, "require `PIN` (sha256/..., sha256//..., pin-sha256=\"...\") in the verified chain (repeatable: at least one must match)")
	f.StringVar(&g.cert, "cert", "", "client certificate `FILE` for mutual TLS (PEM, or PKCS#12 with its key)")
	f.StringVar(&g.key, "key", "", "private key `FILE` for --cert")
	g.pw.register(f)
	f.BoolVar(&g.allowDowngrade, "allow-downgrade", false, "let -L follow a redirect from https to plain http")
	f.BoolVar(&g.fetchInter, "fetch-intermediates", false, "fetch a missing intermediate from the issuer URL the certificate names (AIA); it must still chain to a trusted anchor")
	f.BoolVar(&g.tofu, "tofu", false, "trust the URL's host on first use: record its key now, refuse a different key later (as ssh's known_hosts)")
	f.StringVarP(&g.userAgent, "user-agent", "A", "", "send `NAME` as the User-Agent")
	f.BoolVarP(&g.insecure, "insecure", "k", false, "refused: httptrust never turns verification off")
	f.MarkHidden("insecure")
	return cmd
}

// exactArgs is cobra.ExactArgs with a usage error (exit 2).
func exactArgs(n int, msg string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return &exitError{code: exitUsage, err: fmt.Errorf("%s (got %d arguments)", msg, len(args)),
				hints: []string{"usage: " + cmd.CommandPath() + strings.TrimPrefix(cmd.Use, cmd.Name()) + "; examples: " + cmd.CommandPath() + " --help"}}
		}
		return nil
	}
}

func (e *env) get(ctx context.Context, g *getFlags, rawURL string) error {
	if g.insecure {
		return &exitError{code: exitUsage, err: errors.New("-k/--insecure is not supported: httptrust never turns verification off"),
			hints: []string{"see why the server is not trusted and trust it for this host only:", "  " + e.commandLine(httptrust.Command{Name: "fetch", Args: []string{redactURL(rawURL)}})}}
	}
	u, err := parseURL(rawURL)
	if err != nil {
		return err
	}
	req, err := g.request(ctx, e, u)
	if err != nil {
		return err
	}
	client, tr, err := e.client(g, u)
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	if g.maxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, seconds(g.maxTime))
		defer cancel()
		req = req.WithContext(ctx)
	}
	resp, err := client.Do(req)
	if err != nil {
		return e.requestError(err, tr.handshakeFailed(), u)
	}
	defer resp.Body.Close()
	if g.fail && resp.StatusCode >= 400 {
		return &exitError{code: exitHTTP, err: fmt.Errorf("%s: the server answered %s", resp.Request.URL.Redacted(), resp.Status)}
	}
	if err := e.writeResponse(g, resp); err != nil {
		if isTimeout(err) {
			return &exitError{code: exitTimeout, err: err, hints: e.netErrorHints(exitTimeout, u)}
		}
		return err
	}
	return nil
}

// redactURL hides a password in raw, as url.URL.Redacted does.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "URL"
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// requestError turns a failed request into its exit code and hints.
func (e *env) requestError(err error, handshake bool, u *url.URL) error {
	var ve *httptrust.VerifyError
	if errors.As(err, &ve) {
		return ve
	}
	code := exitCode(err, handshake)
	var ue *url.Error
	msg := err.Error()
	if errors.As(err, &ue) {
		where := u.Redacted()
		if hop, perr := url.Parse(ue.URL); perr == nil {
			where = hop.Redacted()
		}
		msg = fmt.Sprintf("%s: %v", where, ue.Err)
	}
	return &exitError{code: code, err: errors.New(msg), hints: e.netErrorHints(code, u)}
}

// client builds the verifying client for this run.
func (e *env) client(g *getFlags, u *url.URL) (*http.Client, *tracer, error) {
	host, _, err := urlHostPort(u)
	if err != nil {
		return nil, nil, err
	}
	rm, err := parseResolve(g.resolve)
	if err != nil {
		return nil, nil, err
	}
	rule, isolate, err := g.override(e)
	if err != nil {
		return nil, nil, err
	}
	if g.tofu && isolate {
		return nil, nil, usagef("--tofu and --cacert cannot be used together: trust the host either on first use or through a CA")
	}
	e.setHintFlags(g.resolve)
	opts := httptrust.Options{Observer: e.observer(), FetchIntermediates: g.fetchInter, AIA: e.aia}
	if st, err := e.store(); err == nil {
		opts.TOFU = announceTOFU{TOFUStore: st.KnownHosts(), e: e}
	}
	_, p, err := e.loadPolicy(&opts)
	if err != nil {
		return nil, nil, err
	}
	if p, err = overridden(p, host, rule, isolate); err != nil {
		return nil, nil, err
	}
	tr := p.Transport(baseTransport(rm, seconds(g.connectTimeout)))
	tr.AllowDowngrade = g.allowDowngrade
	t := &tracer{next: tr, policy: p}
	if e.verbose {
		t.verbose = e.stderr
	}
	c := &http.Client{Transport: t, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if !g.location {
			return http.ErrUseLastResponse
		}
		if len(via) >= 50 {
			return &exitError{code: exitTooManyRedirects, err: errors.New("more than 50 redirects")}
		}
		return nil
	}}
	return c, t, nil
}

// overridden applies the command line's rule for host to the store's
// policy: on top of the store's rules (--pin, --server-name, --cert,
// --tofu), or alone (--cacert: exactly those CAs, whatever the store says).
// The library does the inheritance; nothing is saved.
func overridden(p *httptrust.Policy, host string, rule *httptrust.Rule, isolate bool) (*httptrust.Policy, error) {
	if rule == nil {
		return p, nil
	}
	var err error
	if isolate {
		p, err = p.Isolate(host, *rule)
	} else {
		p, err = p.Override(host, *rule)
	}
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err,
			hints: []string{"give the CA with --cacert FILE, or see the server's chain and trust it first: httptrust fetch URL"}}
	}
	return p, nil
}

// setHintFlags makes printed commands repeat --resolve and --store as
// given.
func (e *env) setHintFlags(resolve []string) {
	e.hintCtx = hintContext{resolve: resolve, store: e.storeDir}
}

// observer prints what the policy reports: always expired pins,
// report-only mismatches and trust through an all_hosts rule (once per
// request); load-time warnings with -v. A refusal is said by the report
// of the error.
func (e *env) observer() func(httptrust.Event) {
	return func(ev httptrust.Event) {
		switch {
		case ev.Kind == httptrust.EventRefused:
		case ev.Kind == httptrust.EventWarning && !e.verbose:
		default:
			e.warn(ev.Message)
		}
	}
}

// commandLineRule is the File of the rule built from the command line.
const commandLineRule = "the command line"

// override reads --cacert, --pin, --server-name, --cert/--key and --tofu
// into the rule the command line adds for the URL's host; nil when none is
// given. isolate says --cacert sets the store's rules for the host aside.
func (g *getFlags) override(e *env) (rule *httptrust.Rule, isolate bool, err error) {
	r := httptrust.Rule{File: commandLineRule}
	set := false
	pwOpts, err := g.pw.options(e)
	if err != nil {
		return nil, false, err
	}
	if g.cacert != "" {
		if r.AnchorCerts, err = readCAFile(g.cacert, pwOpts); err != nil {
			return nil, false, err
		}
		set, isolate = true, true
	}
	for _, p := range g.pins {
		if _, err := certs.ParsePins(p); err != nil {
			return nil, false, &exitError{code: exitUsage, err: fmt.Errorf("--pin: %w", err),
				hints: []string{"httptrust pin FILE|URL prints the pins of a certificate"}}
		}
		// A pin set of the command line's own: enforced, whatever
		// pins_expire or enforce a store rule says.
		r.Pins, set = append(r.Pins, p), true
	}
	if g.serverName != "" {
		if _, err := httptrust.NormalizeHost(g.serverName); err != nil {
			return nil, false, usagef("--server-name: %v", err)
		}
		r.ServerName, set = g.serverName, true
	}
	if g.key != "" && g.cert == "" {
		return nil, false, usagef("--key needs --cert")
	}
	if g.cert != "" {
		id, err := certs.LoadIdentity(localFS{}, g.cert, g.key, pwOpts)
		if err != nil {
			return nil, false, &exitError{code: exitClientCert, err: fmt.Errorf("--cert: %w", err),
				hints: hintsFor(err, "httptrust inspect "+g.cert+" says what the file holds")}
		}
		r.ClientIdentity, set = &id, true
	}
	if g.tofu {
		yes := true
		r.TOFU, set = &yes, true
	}
	if !set {
		return nil, false, nil
	}
	return &r, isolate, nil
}

// readCAFile reads --cacert: every certificate in it (exit 77 otherwise).
func readCAFile(name string, opts *certs.Options) ([]*x509.Certificate, error) {
	cs, err := certs.ReadCertificates(localFS{}, name, opts)
	if err != nil {
		return nil, &exitError{code: exitCAFile, err: fmt.Errorf("--cacert: %w", err),
			hints: []string{"httptrust inspect " + name + " says what the file holds"}}
	}
	return cs, nil
}

// localFS opens local paths as typed on the command line (relative to the
// working directory, or absolute), so that errors name them as typed.
type localFS struct{}

func (localFS) Open(name string) (fs.File, error) { return os.Open(name) }

// request builds the request from -X, -H, -d.
func (g *getFlags) request(ctx context.Context, e *env, u *url.URL) (*http.Request, error) {
	body, err := g.body(e)
	if err != nil {
		return nil, err
	}
	method := g.method
	switch {
	case method != "":
	case g.head:
		method = http.MethodHead
	case body != nil:
		method = http.MethodPost
	default:
		method = http.MethodGet
	}
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(*body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, usagef("%v", err)
	}
	req.Header.Set("User-Agent", "httptrust/"+version())
	if g.userAgent != "" {
		req.Header.Set("User-Agent", g.userAgent)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, h := range g.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, usagef("-H %q: want 'Name: value'", h)
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if strings.EqualFold(name, "Host") {
			req.Host = value
			continue
		}
		req.Header.Set(name, value)
	}
	return req, nil
}

// body returns the -d data joined by '&', or nil without -d. As curl's
// -d, @FILE and @- have their newlines removed.
func (g *getFlags) body(e *env) (*string, error) {
	if g.data == nil {
		return nil, nil
	}
	parts := make([]string, 0, len(g.data))
	for _, d := range g.data {
		if !strings.HasPrefix(d, "@") {
			parts = append(parts, d)
			continue
		}
		var data []byte
		var err error
		if d == "@-" {
			data, err = io.ReadAll(e.stdin)
		} else {
			data, err = os.ReadFile(d[1:])
		}
		if err != nil {
			return nil, &exitError{code: exitReadFile, err: fmt.Errorf("-d %s: %w", d, err)}
		}
		parts = append(parts, strings.NewReplacer("\r", "", "\n", "").Replace(string(data)))
	}
	s := strings.Join(parts, "&")
	return &s, nil
}
