package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

// override is what the command line says about the URL's host for this run:
// --cacert, --pin, --server-name, --cert. Nothing is saved.
type override struct {
	caCerts    []*x509.Certificate // --cacert: trust exactly these CAs
	pins       []string            // --pin
	serverName string              // --server-name
	identity   *tls.Certificate    // --cert/--key
}

func (o *override) empty() bool {
	return o.caCerts == nil && o.pins == nil && o.serverName == "" && o.identity == nil
}

// commandLine is the File of the rule built from the command line. It has
// no slash, so the store paths it names resolve from the store's root.
const commandLine = "command line"

// apply returns a policy for the store's rules with the host's exact rule
// replaced by one that carries the command line's settings (--pin,
// --server-name, --cert): the new rule keeps what the store's rule said,
// changes only what was given, and inherits the rest from wider rules.
// (--cacert sets the store aside for the host: see alone.)
func (o *override) apply(storeDir string, p *httptrust.Policy, host string, opts httptrust.Options) (*httptrust.Policy, error) {
	if o.empty() {
		return p, nil
	}
	return withHostRule(storeDir, p, host, opts, func(r *httptrust.Rule) error { return o.set(r, p, host) })
}

// withHostRule returns p with the exact rule for host replaced by edit's
// version of it: the new rule starts from what the store's rule for the
// host said (or from nothing), and inherits the rest from wider rules,
// all_hosts included.
func withHostRule(storeDir string, p *httptrust.Policy, host string, opts httptrust.Options, edit func(*httptrust.Rule) error) (*httptrust.Policy, error) {
	var rules []httptrust.Rule
	var exact *httptrust.Rule
	for _, r := range p.Rules() {
		kept, mine := splitHosts(r, host)
		if mine && exact == nil {
			c := *r
			exact = &c
		}
		if len(kept) > 0 || r.AllHosts {
			c := *r
			c.Hosts = kept
			rules = append(rules, c)
		}
	}
	r := httptrust.Rule{Hosts: []string{host}, File: commandLine}
	if exact != nil {
		r = resolved(*exact, host)
	}
	if err := edit(&r); err != nil {
		return nil, err
	}
	rules = append(rules, r)
	opts.FS = os.DirFS(storeDir)
	return httptrust.New(rules, &opts)
}

// alone returns a policy of the command line's rule only, for --cacert:
// the host is trusted through exactly those CAs, whatever the store says.
func (o *override) alone(host string, opts httptrust.Options) (*httptrust.Policy, error) {
	r := httptrust.Rule{Hosts: []string{host}, File: commandLine}
	if err := o.set(&r, nil, host); err != nil {
		return nil, err
	}
	return httptrust.New([]httptrust.Rule{r}, &opts)
}

// set writes the command line's settings into r.
func (o *override) set(r *httptrust.Rule, p *httptrust.Policy, host string) error {
	if o.caCerts != nil {
		r.AnchorCerts, r.Anchors = o.caCerts, nil
		r.Certificates, r.ExactCerts = []string{}, nil
		no := false
		r.SystemRoots = &no
		r.Pins = []string{}
	}
	if o.pins != nil {
		r.Pins = o.pins
	}
	if o.identity != nil {
		r.ClientIdentity = o.identity
		r.ClientCertificate, r.ClientKey, r.ClientPasswordEnv, r.ClientPasswordFile = "", "", "", ""
	}
	if o.serverName != "" {
		r.ServerName = o.serverName
		if r.Anchors == nil && r.AnchorCerts == nil && r.Certificates == nil && r.ExactCerts == nil {
			return inheritCerts(r, p, host)
		}
	}
	return nil
}

// inheritCerts copies into r the anchors or certificates the host gets
// from a wider rule, so that --server-name has something to verify with.
func inheritCerts(r *httptrust.Rule, p *httptrust.Policy, host string) error {
	eff, err := p.Lookup(host)
	if err != nil {
		return err
	}
	for _, a := range eff.Anchors {
		if a.Cert != nil {
			r.AnchorCerts = append(r.AnchorCerts, a.Cert)
		} else {
			r.Anchors = append(r.Anchors, a.File)
		}
	}
	for _, c := range eff.Certificates {
		if c.Cert != nil {
			r.ExactCerts = append(r.ExactCerts, c.Cert)
		} else {
			r.Certificates = append(r.Certificates, c.File)
		}
	}
	if len(r.Anchors)+len(r.AnchorCerts)+len(r.Certificates)+len(r.ExactCerts) == 0 {
		return &exitError{code: exitUsage, err: fmt.Errorf("--server-name needs anchors or certificates for %s, and it is trusted through the system roots", host),
			hints: []string{"give the CA with --cacert FILE, or trust the server first: httptrust fetch URL"}}
	}
	return nil
}

// splitHosts returns r's host patterns other than host's exact pattern,
// and whether r had that exact pattern.
func splitHosts(r *httptrust.Rule, host string) (kept []string, mine bool) {
	for _, h := range r.Hosts {
		if pat, err := httptrust.ParsePattern(h); err == nil && pat.IsExact() && pat.String() == host {
			mine = true
			continue
		}
		kept = append(kept, h)
	}
	return kept, mine
}

// resolved copies a store rule for use from the command line: only host,
// and every file it names as a path from the store's root.
func resolved(r httptrust.Rule, host string) httptrust.Rule {
	dir := path.Dir(r.File)
	join := func(name string) string {
		if name == "" || path.IsAbs(name) {
			return name
		}
		return path.Join(dir, name)
	}
	joinAll := func(names []string) []string {
		if names == nil {
			return nil
		}
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = join(n)
		}
		return out
	}
	r.Anchors, r.Certificates = joinAll(r.Anchors), joinAll(r.Certificates)
	r.ClientCertificate, r.ClientKey = join(r.ClientCertificate), join(r.ClientKey)
	if r.ClientPasswordFile != "" && !filepath.IsAbs(r.ClientPasswordFile) {
		r.ClientPasswordFile = join(r.ClientPasswordFile)
	}
	r.Hosts, r.File, r.Line = []string{host}, commandLine, 0
	return r
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
