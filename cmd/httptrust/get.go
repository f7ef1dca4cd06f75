package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
				hints: []string{"usage: httptrust " + cmd.Use + "; examples: httptrust " + cmd.Name() + " --help"}}
		}
		return nil
	}
}

func (e *env) get(ctx context.Context, g *getFlags, rawURL string) error {
	if g.insecure {
		return &exitError{code: exitUsage, err: errors.New("-k/--insecure is not supported: httptrust never turns verification off"),
			hints: []string{"see why the server is not trusted and trust it for this host only: httptrust fetch " + rawURL}}
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
			return &exitError{code: exitTimeout, err: err, hints: netErrorHints(exitTimeout, u)}
		}
		return err
	}
	return nil
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
	return &exitError{code: code, err: errors.New(msg), hints: netErrorHints(code, u)}
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
	ov, err := g.override(e)
	if err != nil {
		return nil, nil, err
	}
	e.setHintFlags(g.resolve)
	e.hintCtx.cliPins = ov.pins != nil
	base := baseTransport(rm, seconds(g.connectTimeout))
	mk := func(p *httptrust.Policy) http.RoundTripper {
		tr := p.Transport(base)
		tr.AllowDowngrade = g.allowDowngrade
		return tr
	}
	if g.tofu && ov.caCerts != nil {
		return nil, nil, usagef("--tofu and --cacert cannot be used together: trust the host either on first use or through a CA")
	}
	opts := httptrust.Options{Observer: e.observer(), FetchIntermediates: g.fetchInter, AIA: e.aia}
	if st, err := e.store(); err == nil {
		opts.TOFU = announceTOFU{TOFUStore: st.KnownHosts(), e: e}
	}
	rt, policyFor, err := e.transport(ov, host, g.tofu, opts, mk)
	if err != nil {
		return nil, nil, err
	}
	t := &tracer{next: rt, policyFor: policyFor}
	if e.verbose {
		t.verbose = e.stderr
	}
	c := &http.Client{Transport: t, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if !g.location {
			return http.ErrUseLastResponse
		}
		if len(via) >= 50 {
			return &exitError{code: 47, err: errors.New("more than 50 redirects")}
		}
		return nil
	}}
	return c, t, nil
}

// transport returns the verifying RoundTripper and which policy judges a
// host; tofu (--tofu) makes the URL's host trusted on first use. With --cacert the URL's host is judged by the command line alone
// and the store is read only if a redirect leads elsewhere.
func (e *env) transport(ov *override, host string, tofu bool, opts httptrust.Options, mk func(*httptrust.Policy) http.RoundTripper) (http.RoundTripper, func(string) *httptrust.Policy, error) {
	if ov.caCerts != nil {
		mine, err := ov.alone(host, opts)
		if err != nil {
			return nil, nil, usageErr(err)
		}
		load := func() (*httptrust.Policy, error) {
			_, p, err := e.loadPolicy(&opts)
			return p, err
		}
		h := &hostSplit{host: host, mine: mk(mine), minePolicy: mine, load: load, mk: mk}
		return h, h.policyFor, nil
	}
	st, p, err := e.loadPolicy(&opts)
	if err != nil {
		return nil, nil, err
	}
	if p, err = ov.apply(st.Dir, p, host, opts); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return nil, nil, err
		}
		return nil, nil, usageErr(err)
	}
	if tofu {
		if p, err = withTOFU(st.Dir, p, host, opts); err != nil {
			return nil, nil, usageErr(err)
		}
	}
	return mk(p), func(string) *httptrust.Policy { return p }, nil
}

// setHintFlags makes hints repeat --resolve and --store as given.
func (e *env) setHintFlags(resolve []string) {
	e.hintCtx.flags = nil
	for _, r := range resolve {
		e.hintCtx.flags = append(e.hintCtx.flags, "--resolve "+r)
	}
	if e.storeDir != "" {
		e.hintCtx.flags = append(e.hintCtx.flags, "--store "+e.storeDir)
	}
}

// observer prints what the policy reports: always expired pins and
// report-only mismatches; load-time warnings with -v.
func (e *env) observer() func(httptrust.Event) {
	return func(ev httptrust.Event) {
		if ev.Kind == httptrust.EventWarning && !e.verbose {
			return
		}
		e.warn(ev.Message)
	}
}

// override reads --cacert, --pin, --server-name and --cert/--key.
func (g *getFlags) override(e *env) (*override, error) {
	ov := &override{serverName: g.serverName}
	pwOpts, err := g.pw.options(e)
	if err != nil {
		return nil, err
	}
	if g.cacert != "" {
		if ov.caCerts, err = readCAFile(g.cacert, pwOpts); err != nil {
			return nil, err
		}
	}
	for _, p := range g.pins {
		if _, err := certs.ParsePins(p); err != nil {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("--pin: %w", err),
				hints: []string{"httptrust pin FILE|URL prints the pins of a certificate"}}
		}
		ov.pins = append(ov.pins, p)
	}
	if g.serverName != "" {
		if _, err := httptrust.NormalizeHost(g.serverName); err != nil {
			return nil, usagef("--server-name: %v", err)
		}
	}
	if g.key != "" && g.cert == "" {
		return nil, usagef("--key needs --cert")
	}
	if g.cert != "" {
		id, err := certs.LoadIdentity(localFS{}, g.cert, g.key, pwOpts)
		if err != nil {
			return nil, &exitError{code: exitClientCert, err: fmt.Errorf("--cert: %w", err),
				hints: hintsFor(err, "httptrust inspect "+g.cert+" says what the file holds")}
		}
		ov.identity = &id
	}
	return ov, nil
}

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
			return nil, &exitError{code: 26, err: fmt.Errorf("-d %s: %w", d, err)}
		}
		parts = append(parts, strings.NewReplacer("\r", "", "\n", "").Replace(string(data)))
	}
	s := strings.Join(parts, "&")
	return &s, nil
}
