package main

import (
	"context"
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
)

const getExamples = `  httptrust get https://192.168.1.20/status
  httptrust get -v https://device.local/            the chain, TLS details and the rule that trusted it
  httptrust get -H 'Accept: application/json' -d @body.json https://api.corp.example/v1/items
  httptrust get --cacert corp-root.pem https://intranet.corp.example/
  httptrust get --pinnedpubkey 'sha256//YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg=' https://api.example.com/
  httptrust get -E me.p12 https://mtls.corp.example/   asks for the password on a terminal
  httptrust get -u alice https://nas.local/api        asks for alice's password
  httptrust get -s -o /dev/null -w '%{http_code} %{time_total}\n' https://device.local/
  httptrust get -x socks5h://127.0.0.1:1080 https://intranet.corp.example/
  httptrust get --resolve device.local:443:192.168.1.20 https://device.local/
  httptrust get -o firmware.bin -L https://device.local/firmware
  httptrust get --json https://api.corp.example/v1/items | jq -r .body   the response as one JSON object`

const getLong = `Make an HTTPS request with curl's habits and print the body on stdout.

Every connection is verified under the trust store (see httptrust fetch and
httptrust trust) and the command line: certificates trusted for one host
vouch for no other, on every redirect hop too. There is no -k: --pin and
--pinnedpubkey are checked on top of verification, never instead of it
(--cacert FILE with a server's own certificate trusts exactly it, once).

Credentials (-u, -H Authorization, -H Cookie) never follow a redirect to
another scheme, host or port. Passwords are asked for on a terminal, never
echoed; one given on the command line is warned about.

Timeouts, the same for every command: connecting (name lookup, TCP and the
TLS handshake) is bounded by --connect-timeout (default 10 s, or --max-time
when given); after that, as with curl, nothing is bounded unless --max-time
is given.

Output as curl's: binary data is not written to a terminal (use -o FILE, or
--output - to force it); a progress meter on stderr for a large or slow
body that goes to a file or a pipe (not with -s); -s also silences errors
(-sS shows them).

--json prints the response as one JSON object instead of the body: status,
proto, headers, the body as text (or body_base64 when it is not UTF-8
text; up to 16 MiB, -o FILE for more), the TLS version, cipher, chain and
rule, the redirects followed and duration_seconds; a failure prints
{"error": {...}}. It is not curl's --json DATA: to send JSON as curl does,
use -d DATA -H 'Content-Type: application/json' -H 'Accept: application/json'.

Exit codes follow curl: 0 ok, 6 could not resolve, 7 could not connect,
22 HTTP status >= 400 with --fail, 23 output not written (binary data for a
terminal), 28 timeout, 35 TLS handshake failed (not a TLS server, client
certificate required), 58 client certificate or key unusable, 60 server
certificate not verified, 63 body too large for --json, 77 CA file
unusable, 90 pinned key mismatch; 1 refused (a redirect to plain HTTP),
2 usage.`

// getFlags are the flags of httptrust get.
type getFlags struct {
	method         string
	headers        []string
	data           []string
	output         string
	createDirs     bool
	include        bool
	head           bool
	location       bool
	fail           bool
	silent         bool
	showError      bool
	insecure       bool
	timeouts       timeouts
	resolve        []string
	serverName     string
	cacert, capath string
	pins           []string
	pinnedPubKeys  []string
	cert, key      string
	certType       string
	keyType        string
	pass           string
	user           string
	writeOut       string
	proxy          proxyFlags
	minTLS, tlsMax string
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
		Args:    e.getArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("noproxy") {
				np := cmd.Flags().Lookup("noproxy").Value.String()
				g.proxy.noproxy = &np
			}
			return e.get(cmd.Context(), g, args[0])
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVarP(&g.method, "request", "X", "", "request `METHOD` (default GET, or POST with -d)")
	f.StringArrayVarP(&g.headers, "header", "H", nil, "add a request header `'Name: value'` (repeatable)")
	f.StringArrayVarP(&g.data, "data", "d", nil, "send `DATA` as the body (POST); @FILE reads a file, @- stdin (repeatable, joined by &)")
	f.StringVarP(&g.user, "user", "u", "", "Basic credentials `USER[:PASSWORD]`; without :PASSWORD it is asked for on a terminal")
	f.StringVarP(&g.output, "output", "o", "", "write the body to `FILE` instead of stdout (- for stdout, even binary data to a terminal)")
	f.BoolVar(&g.createDirs, "create-dirs", false, "create the folders of -o FILE")
	f.BoolVarP(&g.include, "include", "i", false, "include the response status and headers in the output")
	f.BoolVarP(&g.head, "head", "I", false, "send HEAD and print the status and headers only")
	f.BoolVarP(&g.location, "location", "L", false, "follow redirects; every hop is verified for its own host")
	f.BoolVarP(&g.fail, "fail", "f", false, "exit 22 without output on an HTTP status >= 400")
	f.StringVarP(&g.writeOut, "write-out", "w", "", "print `FORMAT` after the transfer: %{http_code}, %{time_total}, %{json}... (curl's variables; @FILE reads it)")
	f.BoolVarP(&g.silent, "silent", "s", false, "no progress meter, no error lines (the exit code says it)")
	f.BoolVarP(&g.showError, "show-error", "S", false, "with -s, still print errors")
	g.timeouts.register(f, "give up after `SECONDS` in all (default: no limit once connected; exit 28)")
	f.StringArrayVar(&g.resolve, "resolve", nil, "connect to `HOST:PORT:ADDR` for HOST:PORT; every decision is still about HOST")
	f.StringVarP(&g.proxy.proxy, "proxy", "x", "", "use the proxy `URL` (http://, https://, socks5://, socks5h://); an https:// proxy's own certificate is judged under its host's rule")
	f.String("noproxy", "", "no proxy for the hosts in `LIST` (comma-separated names, which cover the names below them, IPs, CIDRs; * for all)")
	f.StringVar(&g.serverName, "server-name", "", "verify the certificate as `NAME` (a device reached by IP)")
	f.StringVar(&g.cacert, "cacert", "", "trust the URL's host through exactly the CA certificates in `FILE` (no system roots, its store rule set aside; nothing saved)")
	f.StringVar(&g.capath, "capath", "", "as --cacert, with every certificate file (.pem, .crt, .cer, hashed names) of `DIR`")
	f.StringArrayVar(&g.pins, "pin", nil, "require `PIN` (sha256/..., sha256//..., pin-sha256=\"...\") in the verified chain (repeatable: at least one must match)")
	f.StringArrayVar(&g.pinnedPubKeys, "pinnedpubkey", nil, "as --pin: `PINS` (sha256//A;sha256//B) or a FILE with a public key or certificate; checked on top of verification")
	f.StringVarP(&g.cert, "cert", "E", "", "client certificate `FILE[:PASSWORD]` for mutual TLS (PEM, or PKCS#12 with its key); as curl, '\\:' is a ':' in the name")
	f.StringVar(&g.certType, "cert-type", "", "`TYPE` of --cert: PEM, DER or P12 (the format is read from the file)")
	f.StringVar(&g.key, "key", "", "private key `FILE` for --cert")
	f.StringVar(&g.keyType, "key-type", "", "`TYPE` of --key: PEM or DER (the format is read from the file)")
	f.StringVar(&g.pass, "pass", "", "the `PASSWORD` of --cert or --key (visible to other users: prefer --password-env, or the prompt)")
	g.pw.register(f)
	g.registerTLS(f)
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
	if e.json && g.writeOut != "" {
		return usagef("--json and -w/--write-out both print the transfer on stdout: use one (--json has the status, headers, TLS and duration)")
	}
	run := &getRun{e: e, g: g}
	err := run.do(ctx, rawURL)
	if run.hop != nil {
		// A failure names the server of the hop it happened on (--json).
		if host, port, herr := urlHostPort(run.hop); herr == nil {
			err = at(err, host, port, nil)
		}
	}
	if g.writeOut != "" {
		if werr := run.writeOut(err); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil && g.silent && !g.showError && !e.json && exitCode(err, false) != exitUsage {
		return &quietExit{code: exitCode(err, false)}
	}
	return err
}

// getRun is one httptrust get.
type getRun struct {
	e   *env
	g   *getFlags
	u   *url.URL
	hop *url.URL // the URL of the request that failed, once one was sent
	// failedURL is the URL of the request a refusal stopped (url.Error).
	failedURL string
	tracer    *tracer
	resp      *http.Response
	body      *counter // what was read of the body
}

func (r *getRun) do(ctx context.Context, rawURL string) error {
	e, g := r.e, r.g
	if g.insecure {
		return &exitError{code: exitUsage, err: errors.New("-k/--insecure is not supported: httptrust never turns verification off"),
			hints: []string{"see why the server is not trusted and trust it for this host only:", "  " + e.commandLine(httptrust.Command{Name: "fetch", Args: []string{redactURL(rawURL)}}),
				"or, for one request, trust exactly the CA (or the server's own certificate) in a file: --cacert FILE"}}
	}
	if err := g.timeouts.check(); err != nil {
		return err
	}
	u, err := parseURL(rawURL)
	if err != nil {
		return err
	}
	r.u = u
	req, err := g.request(ctx, e, u)
	if err != nil {
		return err
	}
	client, tr, err := e.client(g, u)
	if err != nil {
		return err
	}
	r.tracer = tr
	defer client.CloseIdleConnections()
	if g.timeouts.maxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, seconds(g.timeouts.maxTime))
		defer cancel()
		req = req.WithContext(ctx)
	}
	r.hop = u
	resp, err := client.Do(req)
	if err != nil {
		return r.requestError(ctx, err)
	}
	defer resp.Body.Close()
	r.resp, r.hop = resp, resp.Request.URL
	if g.fail && resp.StatusCode >= 400 {
		return &exitError{code: exitHTTP, err: fmt.Errorf("%s: the server answered %s", resp.Request.URL.Redacted(), resp.Status),
			hints: r.clientCertHints(resp)}
	}
	r.body = &counter{r: resp.Body}
	write := func() error { return e.writeResponse(g, resp, r.body) }
	if e.json {
		write = func() error { return r.writeJSONResponse(resp) }
	}
	if err := write(); err != nil {
		if isTimeout(err) {
			return r.timeout(ctx, resp.Request.URL.Redacted())
		}
		return err
	}
	return nil
}

// counter counts the bytes read through it.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// redactURL hides a password in raw, as url.URL.Redacted does.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "URL"
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

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
	e.resolveMisses(g.resolve, u)
	proxy, err := g.proxy.proxyFunc(e.getenv)
	if err != nil {
		return nil, nil, err
	}
	rule, isolate, err := g.override(e)
	if err != nil {
		return nil, nil, err
	}
	if g.tofu && isolate {
		return nil, nil, usagef("--tofu and --cacert (or --capath) cannot be used together: trust the host either on first use or through a CA")
	}
	e.setHintFlags(g.resolve)
	e.hintCtx.get = g.hintFlags()
	e.hintCtx.proxy = viaProxy(proxy, u)
	t := &tracer{}
	if e.verbose {
		t.verbose = e.stderr
	}
	opts := httptrust.Options{Observer: e.observer(t), FetchIntermediates: g.fetchInter, AIA: e.aia}
	if st, err := e.store(); err == nil {
		opts.TOFU = announceTOFU{TOFUStore: st.KnownHosts(), e: e}
		t.sayStore(st.Dir)
	}
	_, p, err := e.loadPolicy(&opts)
	if err != nil {
		return nil, nil, err
	}
	if p, err = e.overridden(p, u, host, rule, isolate); err != nil {
		return nil, nil, err
	}
	tlsCfg, err := g.baseTLS(p, host)
	if err != nil {
		return nil, nil, err
	}
	tr := p.Transport(baseTransport(rm, g.timeouts.connectLimit(), proxy, tlsCfg))
	tr.AllowDowngrade = g.allowDowngrade
	t.next, t.policy = tr, p
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
func (e *env) overridden(p *httptrust.Policy, u *url.URL, host string, rule *httptrust.Rule, isolate bool) (*httptrust.Policy, error) {
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
			hints: []string{"give the CA with --cacert FILE, or see the server's chain and trust it first:",
				"  " + e.commandLine(httptrust.Command{Name: "fetch", Args: []string{u.Redacted()}})}}
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
// of the error; a request for a client certificate goes to the tracer
// (said with -v, and after a 4xx with -f).
func (e *env) observer(t *tracer) func(httptrust.Event) {
	return func(ev httptrust.Event) {
		switch {
		case ev.Kind == httptrust.EventRefused:
		case ev.Kind == httptrust.EventClientCertRequested:
			t.clientCertRequested(ev)
		case ev.Kind == httptrust.EventWarning && !e.verbose:
		default:
			e.warn(ev.Message)
		}
	}
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
	if err := g.basicAuth(e, req); err != nil {
		return nil, err
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
