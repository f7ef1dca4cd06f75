package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

// commandLineRule is the File of the rule built from the command line.
const commandLineRule = "the command line"

// override reads --cacert/--capath, --pin/--pinnedpubkey, --server-name,
// --cert/--key, --tofu and --tlsv1.x into the rule the command line adds
// for the URL's host; nil when none is given. isolate says --cacert or
// --capath sets the store's rules for the host aside.
func (g *getFlags) override(e *env) (rule *httptrust.Rule, isolate bool, err error) {
	r := httptrust.Rule{File: commandLineRule}
	set := false
	if g.cacert != "" || g.capath != "" {
		if r.AnchorCerts, err = g.caCerts(e); err != nil {
			return nil, false, err
		}
		set, isolate = true, true
	}
	pins, err := g.allPins()
	if err != nil {
		return nil, false, err
	}
	if len(pins) > 0 {
		// A pin set of the command line's own: enforced, whatever
		// pins_expire or enforce a store rule says.
		r.Pins, set = pins, true
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
		if r.ClientIdentity, err = g.clientIdentity(e); err != nil {
			return nil, false, err
		}
		set = true
	}
	if g.tofu {
		yes := true
		r.TOFU, set = &yes, true
	}
	if g.minTLS != "" {
		r.MinTLS, set = g.minTLS, true
	}
	if !set {
		return nil, false, nil
	}
	return &r, isolate, nil
}

// allPins returns --pin and --pinnedpubkey as pins.
func (g *getFlags) allPins() ([]string, error) {
	var out []string
	for _, p := range g.pins {
		if _, err := certs.ParsePins(p); err != nil {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("--pin: %w", err),
				hints: []string{pinHint}}
		}
		out = append(out, p)
	}
	for _, p := range g.pinnedPubKeys {
		pins, err := parsePinnedPubKey(p)
		if err != nil {
			return nil, err
		}
		out = append(out, pins...)
	}
	return out, nil
}

// parsePinnedPubKey reads curl's --pinnedpubkey: pins (sha256//...;
// sha256//..., and the other forms --pin takes), or a FILE holding a
// public key (PEM or DER) or certificates, whose keys are pinned.
func parsePinnedPubKey(s string) ([]string, error) {
	if pins, err := certs.ParsePins(s); err == nil {
		out := make([]string, len(pins))
		for i, p := range pins {
			out[i] = p.String()
		}
		return out, nil
	} else if looksLikePins(s) {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("--pinnedpubkey: %w", err),
			hints: []string{pinHint}}
	}
	data, err := os.ReadFile(s)
	if err != nil {
		return nil, &exitError{code: exitCAFile, err: fmt.Errorf("--pinnedpubkey: %w", err),
			hints: []string{"give pins (sha256//<base64>;sha256//<base64>) or a file with a public key or a certificate"}}
	}
	if pins := publicKeyPins(data); len(pins) > 0 {
		return pins, nil
	}
	cs, err := certs.ParseCertificates(s, data, nil)
	if err != nil {
		return nil, &exitError{code: exitCAFile, err: fmt.Errorf("--pinnedpubkey: %w", err),
			hints: []string{"give a file with a public key (PEM or DER) or a certificate, or pins: sha256//<base64>"}}
	}
	var out []string
	for _, c := range cs {
		out = append(out, certs.SPKIPin(c).String())
	}
	return out, nil
}

// looksLikePins reports whether s is meant as pins rather than a file.
func looksLikePins(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(l, "sha256/") || strings.HasPrefix(l, "pin-sha256")
}

// publicKeyPins returns the pins of the public keys in data: PEM PUBLIC
// KEY blocks, or one DER SubjectPublicKeyInfo.
func publicKeyPins(data []byte) []string {
	var out []string
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "PUBLIC KEY" {
			if _, err := x509.ParsePKIXPublicKey(b.Bytes); err == nil {
				out = append(out, certs.Pin(sha256.Sum256(b.Bytes)).String())
			}
		}
	}
	if len(out) == 0 {
		if _, err := x509.ParsePKIXPublicKey(data); err == nil {
			out = append(out, certs.Pin(sha256.Sum256(data)).String())
		}
	}
	return out
}

// caCerts reads --cacert FILE and --capath DIR: the certificates the URL's
// host is trusted through, alone (exit 77 when they cannot be read).
func (g *getFlags) caCerts(e *env) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	if g.cacert != "" {
		cs, err := g.readCAFile(e, "--cacert", g.cacert)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	if g.capath != "" {
		files, err := caPathFiles(g.capath)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			cs, err := g.readCAFile(e, "--capath", f)
			if err != nil {
				return nil, err
			}
			out = append(out, cs...)
		}
	}
	return dedupe(out), nil
}

// readCAFile reads every certificate of a CA file (a PKCS#12 trust store
// may ask for its password).
func (g *getFlags) readCAFile(e *env, flag, name string) ([]*x509.Certificate, error) {
	opts, err := g.pw.options(e)
	if err != nil {
		return nil, err
	}
	var cs []*x509.Certificate
	err = e.withPassword(name, opts, func(o *certs.Options) error {
		var err error
		cs, err = certs.ReadCertificates(localFS{}, name, o)
		return err
	})
	if err == nil {
		return cs, nil
	}
	hints := append(hintsFor(err), e.inspectHints(name)...)
	return nil, &exitError{code: exitCAFile, err: fmt.Errorf("%s: %w", flag, err), hints: hints}
}

// hashedName is the name c_rehash gives a certificate: its subject hash
// and a sequence number.
var hashedName = regexp.MustCompile(`^[0-9a-f]{8}\.[0-9]+$`)

// caPathFiles lists the certificate files of --capath DIR: every .pem,
// .crt and .cer file, and the hashed names of an OpenSSL CA folder
// (c_rehash), in name order.
func caPathFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, &exitError{code: exitCAFile, err: fmt.Errorf("--capath: %w", err),
			hints: []string{"give a folder of CA certificate files (.pem, .crt, .cer)"}}
	}
	var out []string
	for _, ent := range entries {
		name := ent.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if ext != ".pem" && ext != ".crt" && ext != ".cer" && !hashedName.MatchString(name) {
			continue
		}
		path := filepath.Join(dir, name)
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		out = append(out, path)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, &exitError{code: exitCAFile, err: fmt.Errorf("--capath %s: no certificate file (.pem, .crt, .cer) in the folder", dir)}
	}
	return out, nil
}

// dedupe drops repeated certificates (a hashed folder links each file
// twice).
func dedupe(cs []*x509.Certificate) []*x509.Certificate {
	seen := map[certs.Fingerprint]bool{}
	out := cs[:0:0]
	for _, c := range cs {
		if fp := certs.CertFingerprint(c); !seen[fp] {
			seen[fp] = true
			out = append(out, c)
		}
	}
	return out
}

// tlsVersions are the values of --tlsv1.x and --tls-max.
var tlsVersions = map[string]uint16{"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

// setFlag is a flag without a value that sets a string: curl's
// --tlsv1.0 ... --tlsv1.3 all set the minimum version, the last one wins.
type setFlag struct {
	dst *string
	val string
}

// String is "true" for the flag that set the value last (of --tlsv1.2
// --tlsv1.3, --tlsv1.3), so that a printed command repeats only that one.
func (f setFlag) String() string {
	if f.dst != nil && *f.dst == f.val {
		return "true"
	}
	return "false"
}
func (f setFlag) Type() string     { return "bool" }
func (f setFlag) IsBoolFlag() bool { return true }
func (f setFlag) Set(s string) error {
	if s != "true" {
		return fmt.Errorf("takes no value")
	}
	*f.dst = f.val
	return nil
}

// registerTLS adds --tlsv1 and --tlsv1.0 ... --tlsv1.3 and --tls-max.
func (g *getFlags) registerTLS(fs *pflag.FlagSet) {
	for _, f := range []struct{ name, val, usage string }{
		{"tlsv1", "1.0", "as --tlsv1.0"},
		{"tlsv1.0", "1.0", "allow TLS 1.0 and later, for the URL's host only (a legacy device; httptrust's default is 1.2)"},
		{"tlsv1.1", "1.1", "allow TLS 1.1 and later, for the URL's host only"},
		{"tlsv1.2", "1.2", "use TLS 1.2 or later (the default)"},
		{"tlsv1.3", "1.3", "use TLS 1.3 only (with every host)"},
	} {
		fl := fs.VarPF(setFlag{dst: &g.minTLS, val: f.val}, f.name, "", f.usage)
		fl.NoOptDefVal = "true"
	}
	fs.StringVar(&g.tlsMax, "tls-max", "", "use TLS `VERSION` at most (1.0, 1.1, 1.2, 1.3), with every host")
}

// baseTLS is the base transport's TLS settings: the --tls-max ceiling for
// every host, and the --tlsv1.x minimum (the library takes the higher of
// it and each host's own, so it can only raise others' minimum).
func (g *getFlags) baseTLS(p *httptrust.Policy, host string) (*tls.Config, error) {
	if g.tlsMax == "" && g.minTLS == "" {
		return nil, nil
	}
	cfg := &tls.Config{}
	if g.minTLS != "" {
		cfg.MinVersion = tlsVersions[g.minTLS]
	}
	if g.tlsMax != "" {
		v, ok := tlsVersions[g.tlsMax]
		if !ok {
			return nil, usagef("--tls-max %s: want 1.0, 1.1, 1.2 or 1.3", g.tlsMax)
		}
		cfg.MaxVersion = v
		lowest := cfg.MinVersion
		if eff, err := p.Lookup(host); err == nil && eff.MinTLS != 0 {
			lowest = eff.MinTLS
		}
		if lowest > v {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("--tls-max %s is below TLS %s, the lowest version allowed for %s", g.tlsMax, tlsName(lowest), host),
				hints: []string{"allow a lower version for this host too, e.g. --tlsv" + g.tlsMax + " --tls-max " + g.tlsMax}}
		}
	}
	return cfg, nil
}

// tlsName is "1.2" for tls.VersionTLS12.
func tlsName(v uint16) string {
	for k, x := range tlsVersions {
		if x == v {
			return k
		}
	}
	return tls.VersionName(v)
}
