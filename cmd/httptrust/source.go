package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/probe"
)

// probeFlags are the connection flags of the commands that probe a server
// without sending it a request (fetch, inspect, pin).
type probeFlags struct {
	resolve []string
	timeouts
	serverName string
}

func (p *probeFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&p.resolve, "resolve", nil, "connect to `HOST:PORT:ADDR` for HOST:PORT; every decision is still about HOST")
	p.timeouts.register(fs, "give up after `SECONDS` in all, the TLS handshake (and STARTTLS) included (default: the connect timeout, 10; exit 28)")
}

// isURL reports whether arg names a server by URL.
func isURL(arg string) bool { return strings.Contains(arg, "://") }

// isHostPort reports whether arg reads as HOST:PORT (a name, an IPv4
// address or a bracketed IPv6 one, and a port number), the way openssl
// s_client -connect and certigo connect take a server.
func isHostPort(arg string) bool {
	host, port, err := net.SplitHostPort(arg)
	if err != nil || host == "" || strings.ContainsAny(host, "/\\ \t") {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n < 1<<16 && port[0] != '+'
}

// targetSchemes lists the schemes a target may have, for messages.
func targetSchemes() string {
	var names []string
	for _, s := range probe.Schemes() {
		names = append(names, s.Name+"://")
	}
	return strings.Join(names, ", ")
}

// parseTarget reads the server that inspect, pin, fetch and diagnose are
// given: an https:// URL; HOST:PORT, any TLS service (tls://HOST:PORT); a
// URL of another TLS service, tls:// or one that starts in plain text
// (smtp://, submission://, imap://, ldap://, postgres://: STARTTLS), or
// with TLS at once (smtps://, imaps://, ldaps://); or a bare host
// (https://HOST/). http:// is accepted, for the command to say that it is
// not TLS.
func parseTarget(raw string) (*url.URL, error) {
	s := raw
	switch {
	case isURL(s):
	case isHostPort(s):
		s = "tls://" + s
	default:
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, usagef("%q is not a URL: %v", redactURL(raw), errors.Unwrap(err))
	}
	if _, ok := probe.LookupScheme(u.Scheme); !ok && u.Scheme != "http" {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("%q: unknown scheme %q", redactURL(raw), u.Scheme),
			hints: []string{"give an https:// URL, HOST:PORT, or a URL of another TLS service: " + targetSchemes()}}
	}
	if u.Hostname() == "" {
		return nil, usagef("%q has no host", redactURL(raw))
	}
	if _, _, err := urlHostPort(u); err != nil {
		return nil, err
	}
	return u, nil
}

// protocolOf is what the server of u speaks over TLS.
func protocolOf(u *url.URL) probe.Protocol {
	s, _ := probe.LookupScheme(u.Scheme)
	return s.Protocol
}

// probeTarget is where the probe of u connects (--resolve, --server-name)
// and how (STARTTLS).
func probeTarget(u *url.URL, pf *probeFlags) (probe.Target, error) {
	if _, ok := probe.LookupScheme(u.Scheme); !ok {
		return probe.Target{}, &exitError{code: exitUsage, err: fmt.Errorf("%s is plain HTTP: it has no certificate to show", u.Redacted()),
			hints: []string{"use https:// for the same server over TLS"}}
	}
	host, port, err := urlHostPort(u)
	if err != nil {
		return probe.Target{}, err
	}
	rm, err := parseResolve(pf.resolve)
	if err != nil {
		return probe.Target{}, err
	}
	t := probe.Target{Host: host, Port: port, ServerName: pf.serverName, Protocol: protocolOf(u)}
	if to := rm.lookup(net.JoinHostPort(host, port)); to != net.JoinHostPort(host, port) {
		t.Addr = to
	}
	return t, nil
}

// budget is --max-time for a command made of several network steps with
// a person's answer between them: it bounds the steps together, and the
// time spent waiting for the answer does not count.
type budget struct {
	on   bool
	left time.Duration
}

func newBudget(maxTime float64) *budget {
	return &budget{on: maxTime > 0, left: seconds(maxTime)}
}

// run returns ctx bounded by what is left of b, and a function that ends
// that stretch and takes the time it took off b.
func (b *budget) run(ctx context.Context) (context.Context, func()) {
	if !b.on {
		return ctx, func() {}
	}
	start := time.Now()
	c, cancel := context.WithTimeout(ctx, max(b.left, time.Nanosecond))
	var once sync.Once
	return c, func() {
		once.Do(func() {
			b.left -= time.Since(start)
			cancel()
		})
	}
}

// probeURL connects to u and captures its chain without sending a request.
// The caller bounds ctx by --max-time.
func (e *env) probeURL(ctx context.Context, u *url.URL, pf *probeFlags) (*probe.Result, error) {
	t, err := probeTarget(u, pf)
	if err != nil {
		return nil, err
	}
	if err := pf.check(); err != nil {
		return nil, err
	}
	e.resolveMisses(pf.resolve, u)
	ctx, cancel := pf.probeContext(ctx)
	defer cancel()
	res, err := probe.Probe(ctx, t)
	if err != nil {
		host, port, _ := urlHostPort(u)
		return nil, at(e.probeError(err, u), host, port, nil) // the envelope names the server (--json)
	}
	return res, nil
}

// probeError explains a probe that captured no chain.
func (e *env) probeError(err error, u *url.URL) error {
	code := exitCode(err, true)
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		what, hint := "the server does not speak TLS on this port", "check the port"
		switch head := string(rh.RecordHeader[:]); {
		case head == "HTTP/":
			what += " (it answered in plain HTTP)"
			hint = "use http:// if plain HTTP is intended, or check the port"
		case protocolOf(u) == probe.HTTPS || protocolOf(u) == probe.TLS:
			if s := plainGreeting(head); s != "" {
				what += " (it greets like " + s + ", which starts TLS with STARTTLS)"
				hint = "for STARTTLS, give the URL of its protocol: " + targetSchemes()
			}
		}
		return &exitError{code: exitHandshake, err: fmt.Errorf("%s: %s", u.Redacted(), what), hints: []string{hint}}
	}
	var se *probe.StartTLSError
	if errors.As(err, &se) && isTimeout(err) {
		return &exitError{code: exitTimeout, err: fmt.Errorf("%s: the server did not answer in time (%s %s)", u.Redacted(), se.Protocol.Name(), se.Step),
			hints: e.netErrorHints(exitTimeout, u)}
	}
	if se != nil {
		return &exitError{code: exitHandshake, err: fmt.Errorf("%s: %s", u.Redacted(), strings.TrimPrefix(se.Error(), "probe: ")),
			hints: startTLSHints(se)}
	}
	return &exitError{code: code, err: fmt.Errorf("%s: %w", u.Redacted(), err), hints: e.netErrorHints(code, u)}
}

// plainGreeting names the protocol whose greeting starts with head, the
// first five bytes a server sent where TLS was expected, or "".
func plainGreeting(head string) string {
	switch {
	case strings.HasPrefix(head, "220"):
		return "an SMTP server (smtp://, submission://)"
	case strings.HasPrefix(head, "* OK"):
		return "an IMAP server (imap://)"
	}
	return ""
}

// startTLSHints says what to try when a server would not start TLS.
func startTLSHints(se *probe.StartTLSError) []string {
	switch {
	case errors.Is(se, probe.ErrNotProtocol):
		return []string{"the server does not speak " + se.Protocol.Name() + " on this port: check the port, or the scheme (" + targetSchemes() + ")"}
	case errors.Is(se, probe.ErrInjected):
		return []string{"a server (or something in between) that sends data before the handshake may be injecting it: do not trust this connection; check with the server's operator"}
	case errors.Is(se, probe.ErrNoStartTLS) && se.Protocol == probe.Postgres:
		return []string{"the server does not accept TLS: its operator must set ssl = on and give it a certificate"}
	case errors.Is(se, probe.ErrNoStartTLS):
		return []string{"the server does not offer STARTTLS on this port; if it speaks TLS at once (port 465, 993 or 636), use smtps://, imaps:// or ldaps://"}
	}
	return []string{"the server would not start TLS; check with its operator that TLS is configured"}
}

// fileContent is what a local file holds: certificates, and the keys
// and certificate requests beside them.
type fileContent struct {
	certs  []*x509.Certificate
	keys   []certs.PublicKey
	format certs.Format
	notes  []string // what could not be read, when the rest could
}

// readInput reads a local file of at most certs.MaxFileSize bytes.
func readInput(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		hints := []string{}
		if errors.Is(err, fs.ErrNotExist) {
			hints = append(hints, "no such file; to look at a server instead, give its URL (https://HOST/) or HOST:PORT")
		}
		return nil, &exitError{code: exitCAFile, err: err, hints: hints}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, certs.MaxFileSize+1))
	if err != nil {
		return nil, &exitError{code: exitCAFile, err: fmt.Errorf("%s: %w", name, err)}
	}
	return data, nil
}

// readCertFile reads every certificate of a local file. A file that holds
// no certificate is explained object by object (exit 77).
func readCertFile(name string, opts *certs.Options) ([]*x509.Certificate, certs.Format, error) {
	data, err := readInput(name)
	if err != nil {
		return nil, 0, err
	}
	cs, err := certs.ParseCertificates(name, data, opts)
	if err == nil {
		return cs, certs.Sniff(data), nil
	}
	return nil, 0, fileError(name, data, err)
}

// fileError is the error of a file that holds nothing usable: what is
// wrong, and what the file holds (exit 77).
func fileError(name string, data []byte, err error) error {
	hints := hintsFor(err)
	if notThisKind(err) {
		var what []string
		for _, o := range certs.Describe(data) {
			w := o.Kind
			if o.Block > 0 {
				w = fmt.Sprintf("block %d (line %d): %s", o.Block, o.Line, o.Kind)
			}
			what = append(what, w)
		}
		hints = append(hints, name+" holds: "+strings.Join(what, "; "))
	}
	return &exitError{code: exitCAFile, err: err, hints: hints}
}

// notThisKind reports whether err says only that the input holds
// something else than what was looked for.
func notThisKind(err error) bool {
	for _, s := range []error{certs.ErrNotCertificate, certs.ErrNoCertificates, certs.ErrUnknownFormat, certs.ErrNoKey} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// readContent reads the certificates, keys and certificate requests of
// a local file. It fails only when the file holds none of them, or when
// what it holds cannot be read; a key it cannot read beside certificates
// (an encrypted key without its password) is a note.
func readContent(name string, opts *certs.Options) (*fileContent, error) {
	data, err := readInput(name)
	if err != nil {
		return nil, err
	}
	cs, cerr := certs.ParseCertificates(name, data, opts)
	keys, kerr := certs.ParsePublicKeys(name, data, opts)
	c := &fileContent{certs: cs, keys: keys, format: certs.Sniff(data)}
	switch {
	case cerr == nil && (kerr == nil || notThisKind(kerr)):
		return c, nil
	case kerr == nil && notThisKind(cerr):
		return c, nil
	case cerr == nil:
		c.notes = append(c.notes, strings.TrimPrefix(kerr.Error(), "certs: "))
		if passwordHint(kerr) != "" {
			c.notes = append(c.notes, "to see that key as well, give its password with --password-env NAME or --password-file FILE")
		}
		return c, nil
	case kerr == nil:
		c.notes = append(c.notes, strings.TrimPrefix(cerr.Error(), "certs: "))
		return c, nil
	case notThisKind(cerr) && !notThisKind(kerr):
		return nil, fileError(name, data, kerr)
	}
	return nil, fileError(name, data, cerr)
}

// content is what a file or a server holds, and the view inspect prints
// of it with everything but the certificates and keys filled in.
type content struct {
	chain []*x509.Certificate
	keys  []certs.PublicKey
	view  *inspectView
	// verdict is the store's decision on a server's chain (judge only).
	verdict *httptrust.Verdict
}

// source reads arg, a file or a server (see parseTarget); judge says to
// check a server's chain against the store and the system roots. A name
// that could be a file or HOST:PORT is the file when it exists; the
// other reading is then offered in a hint.
func (e *env) source(ctx context.Context, cmd, arg string, pf *probeFlags, pw *passwordFlags, judgeTrust bool) (*content, error) {
	_, statErr := os.Stat(arg)
	if !isURL(arg) && (!isHostPort(arg) || statErr == nil) {
		return e.sourceFile(cmd, arg, pw)
	}
	u, err := parseTarget(arg)
	if err != nil {
		return nil, err
	}
	ctx, done := newBudget(pf.maxTime).run(ctx)
	defer done()
	v := &inspectView{Source: u.Redacted()}
	res, err := e.probeURL(ctx, u, pf)
	if err != nil {
		var ee *exitError
		if !isURL(arg) && errors.As(err, &ee) {
			ee.hints = append(ee.hints, fmt.Sprintf("%s was read as a server (tls://%s): there is no file of that name", arg, arg))
		}
		return nil, err
	}
	if p := res.Protocol; p.StartsPlain() {
		v.StartTLS = p.String()
	}
	if !judgeTrust {
		return &content{chain: res.Chain, view: v}, nil
	}
	_, port, _ := urlHostPort(u)
	_, p, err := e.loadPolicy(nil)
	if err != nil {
		return nil, err
	}
	var verdict *httptrust.Verdict
	if v.Trust, verdict, err = judge(p, res, port); err != nil {
		return nil, err
	}
	return &content{chain: res.Chain, view: v, verdict: verdict}, nil
}

// sourceFile reads a local file for source.
func (e *env) sourceFile(cmd, name string, pw *passwordFlags) (*content, error) {
	opts, err := e.passwordOptions(pw, name)
	if err != nil {
		return nil, err
	}
	fc, err := readContent(name, opts)
	if err != nil {
		return nil, err
	}
	if isHostPort(name) {
		e.hint("read the file " + name + "; for the server of that name instead: " +
			e.commandLine(httptrust.Command{Name: cmd, Args: []string{"tls://" + name}}))
	}
	v := &inspectView{Source: name, Format: fc.format.String(), Notes: fc.notes}
	return &content{chain: fc.certs, keys: fc.keys, view: v}, nil
}

// judgement says whether a captured chain is trusted today, by the store
// and by the system roots alone. Nothing is sent to the server, and nothing
// is recorded: the library judges the chain the probe captured as a
// connection would be judged (Policy.Judge).
type judgement struct {
	Store       bool             `json:"trusted_by_store"`
	StoreRule   string           `json:"store_rule"`
	StoreReason httptrust.Reason `json:"store_reason,omitempty"`
	StoreDetail string           `json:"store_detail,omitempty"`
	System      bool             `json:"trusted_by_system_roots"`
	SystemWhy   httptrust.Reason `json:"system_reason,omitempty"`
	TLSVersion  string           `json:"tls_version"`
	CipherSuite string           `json:"cipher_suite"`
}

// judge checks res for its host and port under the store's policy p and
// under the system roots alone.
func judge(p *httptrust.Policy, res *probe.Result, port string) (*judgement, *httptrust.Verdict, error) {
	j := &judgement{TLSVersion: tls.VersionName(res.State.Version), CipherSuite: tls.CipherSuiteName(res.State.CipherSuite)}
	hostPort := net.JoinHostPort(res.Host, port)
	v, err := p.Judge(hostPort, res.State)
	if err != nil {
		return nil, nil, err
	}
	j.StoreRule, j.Store = v.Effective.String(), v.Trusted()
	if v.Err != nil {
		j.StoreReason, j.StoreDetail = v.Err.Reason, v.Err.Detail
	}
	sys, err := httptrust.New(nil, nil)
	if err != nil {
		return nil, nil, err
	}
	sv, err := sys.Judge(hostPort, res.State)
	if err != nil {
		return nil, nil, err
	}
	j.System = sv.Trusted()
	if sv.Err != nil {
		j.SystemWhy = sv.Err.Reason
	}
	return j, v, nil
}
