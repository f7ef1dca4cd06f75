package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/probe"
)

// probeFlags are the connection flags of the commands that probe a URL
// without sending it a request (fetch, inspect, pin).
type probeFlags struct {
	resolve []string
	timeouts
	serverName string
}

func (p *probeFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&p.resolve, "resolve", nil, "connect to `HOST:PORT:ADDR` for HOST:PORT; every decision is still about HOST")
	p.timeouts.register(fs, "give up after `SECONDS` in all (default: the connect timeout, 10; exit 28)")
}

// isURL reports whether arg names a server rather than a file.
func isURL(arg string) bool { return strings.Contains(arg, "://") }

// probeTarget is where the probe of u connects (--resolve, --server-name).
func probeTarget(u *url.URL, pf *probeFlags) (probe.Target, error) {
	if u.Scheme != "https" {
		return probe.Target{}, usagef("%s is not an https:// URL", u.Redacted())
	}
	host, port, err := urlHostPort(u)
	if err != nil {
		return probe.Target{}, err
	}
	rm, err := parseResolve(pf.resolve)
	if err != nil {
		return probe.Target{}, err
	}
	t := probe.Target{Host: host, Port: port, ServerName: pf.serverName}
	if to := rm.lookup(net.JoinHostPort(host, port)); to != net.JoinHostPort(host, port) {
		t.Addr = to
	}
	return t, nil
}

// probeURL connects to u and captures its chain without sending a request.
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
		return nil, e.probeError(err, u)
	}
	return res, nil
}

// probeError explains a probe that captured no chain.
func (e *env) probeError(err error, u *url.URL) error {
	code := exitCode(err, true)
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		what := "the server does not speak TLS on this port"
		if string(rh.RecordHeader[:]) == "HTTP/" {
			what += " (it answered in plain HTTP)"
		}
		return &exitError{code: exitHandshake, err: fmt.Errorf("%s: %s", u.Redacted(), what),
			hints: []string{"use http:// if plain HTTP is intended, or check the port"}}
	}
	return &exitError{code: code, err: fmt.Errorf("%s: %w", u.Redacted(), err), hints: e.netErrorHints(code, u)}
}

// readCertFile reads every certificate of a local file. A file that holds
// no certificate is explained object by object (exit 77).
func readCertFile(name string, opts *certs.Options) ([]*x509.Certificate, certs.Format, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, &exitError{code: exitCAFile, err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, certs.MaxFileSize+1))
	if err != nil {
		return nil, 0, &exitError{code: exitCAFile, err: fmt.Errorf("%s: %w", name, err)}
	}
	cs, err := certs.ParseCertificates(name, data, opts)
	if err == nil {
		return cs, certs.Sniff(data), nil
	}
	hints := hintsFor(err)
	if errors.Is(err, certs.ErrNotCertificate) || errors.Is(err, certs.ErrNoCertificates) || errors.Is(err, certs.ErrUnknownFormat) {
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
	return nil, 0, &exitError{code: exitCAFile, err: err, hints: hints}
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
