package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/store"
)

const trustAddExamples = `  httptrust trust add corp-root.pem --host '**.corp.example'      a CA: anchor for that domain only
  httptrust trust add chain.p7b --host '**.corp.example'          a chain: its root as anchor, intermediates kept, leaf dropped
  httptrust trust add issuing-ca.pem --intermediate --host '**.corp.example'   for servers that omit it
  httptrust trust add nas.cer --host 192.168.1.20:5001             one service of that address (another port keeps its own)
  httptrust trust add printer.cer --host 192.168.1.20 --allow-name-mismatch
  httptrust trust add api.pem --host api.example.com --pin --pin sha256/BACKUP...=   pin its key and a backup
  httptrust trust add --host 192.168.1.40 --min-tls 1.0            a legacy device (no FILE: fields only)
  httptrust trust add --host mtls.corp.example --client-cert me.p12 --password-env P12_PASSWORD`

const trustAddLong = `Add to the store's own rule for each --host pattern: what FILE holds (PEM,
DER, PKCS#7, PKCS#12), and the fields the flags set. A rule that exists keeps
what it trusts and sets; the output says what was added and what was there.
--replace writes the rule afresh instead.

FILE: a CA certificate (CA:TRUE and keyCertSign) becomes an anchor: it may
issue for those hosts. Anything else — the usual openssl req -x509 device
certificate too — an exact certificate. A chain file (a .p7b exported "with
all certificates", a fullchain.pem) is told apart: the top CA (the root when
the file has it) becomes the anchor, the CAs below it intermediates, and the
server certificate is not written (the anchor vouches for it and its
renewals). --anchor, --certificate and --intermediate say what to trust
instead: --anchor the file's CAs (the top of a chain), --certificate its
server certificates exactly, --intermediate its CAs as intermediates, which
help build chains for servers that omit them and are never trusted by
themselves.

Pins: --pin with no value pins the keys of FILE's certificates (instead of
trusting them; the system roots still vouch); --pin PIN adds a pin (OkHttp's
sha256/..., curl's sha256//...;sha256//..., repeatable); --pins-expire and
--report-only go with pins.

Without FILE, the flags alone are written: --min-tls 1.0 for a legacy device,
--client-cert for mutual TLS (copied into the store, mode 0600; the password
comes from --password-env or --password-file at each use and is never
stored), --tofu, --server-name, --system-roots on|off, --fetch-intermediates.
Every field of a rule file is described in docs/rule-file.md.`

type trustAddFlags struct {
	hosts                             []string
	anchor, certificate, intermediate bool
	replace                           bool
	pins                              []string
	pinsExpire                        string
	reportOnly                        bool
	allowName, allowExpired           bool
	serverName                        string
	tofu                              bool
	minTLS                            string
	fetchIntermediates                bool
	systemRoots                       string
	clientCert, clientKey             string
	pw                                passwordFlags
}

// pinFromFile is --pin given without a value (or --pin=keys): pin the keys
// of the file's certificates.
const pinFromFile = "keys"

func (e *env) trustAddCmd() *cobra.Command {
	f := &trustAddFlags{}
	cmd := &cobra.Command{
		Use:     "add [FILE] --host PATTERN... [--anchor | --certificate | --intermediate] [--pin [PIN]] [flags]",
		Short:   "Add what FILE holds, or a field, to the rule of the given hosts only",
		Long:    trustAddLong,
		Example: trustAddExamples,
		Args:    cobra.ArbitraryArgs,
		RunE:    func(cmd *cobra.Command, args []string) error { return e.trustAdd(cmd, f, args) },
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.hosts, "host", nil, "trust for `PATTERN` (repeatable; exact host, IP, host:port, *.domain, **.domain, CIDR)")
	fl.BoolVar(&f.anchor, "anchor", false, "trust FILE's CAs as anchors that may issue for these hosts (of a chain: its top CA)")
	fl.BoolVar(&f.certificate, "certificate", false, "trust FILE's server certificates exactly")
	fl.BoolVar(&f.intermediate, "intermediate", false, "keep FILE's CAs as intermediates: they help build chains, and are never trusted by themselves")
	fl.BoolVar(&f.replace, "replace", false, "write the rule afresh instead of adding to it")
	fl.StringArrayVar(&f.pins, "pin", nil, "pin the keys of FILE's certificates (no value, or =keys), or add `PIN` (repeatable)")
	fl.Lookup("pin").NoOptDefVal = pinFromFile
	fl.StringVar(&f.pinsExpire, "pins-expire", "", "enforce the pins until `DATE` (YYYY-MM-DD), then only warn")
	fl.BoolVar(&f.reportOnly, "report-only", false, "a pin mismatch is reported, not refused (enforce = false)")
	fl.BoolVar(&f.allowName, "allow-name-mismatch", false, "an exact certificate that does not name the host (exact host only)")
	fl.BoolVar(&f.allowExpired, "allow-expired", false, "an exact certificate outside its validity period (exact host only)")
	fl.StringVar(&f.serverName, "server-name", "", "verify the certificate as `NAME` (exact host only)")
	fl.BoolVar(&f.tofu, "tofu", false, "trust on first use: each host:port's first key is recorded, a different one refused")
	fl.StringVar(&f.minTLS, "min-tls", "", "allow TLS down to `VERSION` (1.0, 1.1, 1.2, 1.3), for a legacy device")
	fl.BoolVar(&f.fetchIntermediates, "fetch-intermediates", false, "fetch a missing intermediate from the issuer URL (AIA); it must still chain to an anchor")
	fl.StringVar(&f.systemRoots, "system-roots", "", "whether the system's public CAs may vouch too: `on|off`")
	fl.StringVar(&f.clientCert, "client-cert", "", "offer the client certificate `FILE` (PKCS#12 or PEM) to these hosts; copied into the store")
	fl.StringVar(&f.clientKey, "client-key", "", "the key `FILE` of --client-cert, when not in it")
	f.pw.register(fl)
	return cmd
}

func (e *env) trustAdd(cmd *cobra.Command, f *trustAddFlags, args []string) error {
	file, err := f.positional(cmd, args)
	if err != nil {
		return err
	}
	if len(f.hosts) == 0 {
		return e.needHost(file)
	}
	var patterns []string
	for _, h := range f.hosts {
		p, err := httptrust.ParsePattern(h)
		if err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("--host: %s", strings.TrimPrefix(err.Error(), "httptrust: ")),
				hints: []string{"a pattern is a host, an IP, host:port, *.domain, **.domain or a CIDR network"}}
		}
		patterns = append(patterns, p.String())
	}
	t, err := f.fields(cmd, e)
	if err != nil {
		return err
	}
	if file != "" {
		if err := f.fromFile(e, &t, file); err != nil {
			return err
		}
	} else if hasPinFromFile(f.pins) {
		return usagef("--pin without a value pins the keys of FILE's certificates; give FILE, or the pin: --pin sha256/...")
	}
	if empty(t) {
		return &exitError{code: exitUsage, err: errors.New("trust add needs FILE, or a field to set"),
			hints: []string{"usage: httptrust trust add [FILE] --host PATTERN [flags]; examples: httptrust trust add --help"}}
	}
	st, err := e.store()
	if err != nil {
		return err
	}
	var ts []store.Trust
	for _, p := range patterns {
		tp := t
		tp.Pattern = p
		ts = append(ts, tp)
	}
	added, err := st.AddAll(cmd.Context(), ts)
	if err != nil {
		return e.storeError(st, err)
	}
	var views []writtenView
	for _, a := range added {
		views = append(views, viewAdded(a))
	}
	if e.json {
		// As fetch's "written": one entry per pattern.
		return writeJSON(e.stdout, struct {
			Written []writtenView `json:"written"`
		}{views})
	}
	for _, a := range added {
		e.printAdded(e.stdout, a)
	}
	return nil
}

// positional sorts the arguments: FILE, and the pins of a space-separated
// --pin PIN (pflag reads --pin alone, for FILE's keys, then PIN as an
// argument).
func (f *trustAddFlags) positional(cmd *cobra.Command, args []string) (string, error) {
	bare := 0
	for _, p := range f.pins {
		if p == pinFromFile {
			bare++
		}
	}
	var file string
	var pins []string
	for _, a := range args {
		if len(pins) < bare && isPin(a) {
			pins = append(pins, a)
			continue
		}
		if file != "" {
			return "", &exitError{code: exitUsage, err: fmt.Errorf("trust add takes one FILE (got %q and %q)", file, a),
				hints: []string{"usage: httptrust " + strings.TrimPrefix(cmd.CommandPath(), "httptrust ") + " [FILE] --host PATTERN [flags]; a pin goes after --pin"}}
		}
		file = a
	}
	// Each pin taken from the arguments was the value of one bare --pin.
	for _, p := range pins {
		for i, q := range f.pins {
			if q == pinFromFile {
				f.pins[i] = p
				break
			}
		}
	}
	return file, nil
}

// isPin reports whether s is a pin (or a list of them), not a file name.
func isPin(s string) bool {
	_, err := certs.ParsePins(s)
	return err == nil && !strings.ContainsAny(s, `\`)
}

func hasPinFromFile(pins []string) bool {
	for _, p := range pins {
		if p == pinFromFile {
			return true
		}
	}
	return false
}

// needHost refuses a trust add without --host, and names the hosts the
// file's certificate covers, when it is a server certificate.
func (e *env) needHost(file string) error {
	err := errors.New("trust add needs --host PATTERN: a certificate is trusted only for the hosts you name")
	hints := []string{"name the hosts: --host device.local, --host 192.168.1.20:5001, --host '**.corp.example' (a CA: the domain it issues for)"}
	if file != "" {
		if cs, _, rerr := readCertFile(file, nil); rerr == nil {
			if names := certs.Names(cs[0]); len(names) > 0 && !cs[0].IsCA {
				// The names are the certificate's author's: a device's
				// certificate may name a bank. They are shown, and the
				// command asks for the hosts the user reaches it by.
				shown := names[:min(len(names), 3)]
				list := make([]string, len(shown))
				for i, n := range shown {
					list[i] = string(fit(strconv.Quote(n), 40))
				}
				if more := len(names) - len(shown); more > 0 {
					list = append(list, fmt.Sprintf("and %d more", more))
				}
				hints = append(hints, "the certificate names "+strings.Join(list, ", ")+
					"; its author chose them: name only the hosts you reach this server by:",
					"  "+e.commandLine(httptrust.Command{Name: "trust add", Args: []string{file, "--host", "<host>"}}))
			}
		}
	}
	return &exitError{code: exitUsage, err: err, hints: hints}
}

// fields builds the Trust of the flags that set a field.
func (f *trustAddFlags) fields(cmd *cobra.Command, e *env) (store.Trust, error) {
	t := store.Trust{AllowNameMismatch: f.allowName, AllowExpired: f.allowExpired, Replace: f.replace}
	changed := cmd.Flags().Changed
	flag := func(name string, v bool) *bool {
		if !changed(name) {
			return nil
		}
		return &v
	}
	t.TOFU, t.FetchIntermediates = flag("tofu", f.tofu), flag("fetch-intermediates", f.fetchIntermediates)
	if changed("report-only") {
		enforce := !f.reportOnly
		t.Enforce = &enforce
	}
	if f.systemRoots != "" {
		on, ok := map[string]bool{"on": true, "off": false, "true": true, "false": false, "yes": true, "no": false}[strings.ToLower(f.systemRoots)]
		if !ok {
			return t, usagef("--system-roots takes on or off, not %q", f.systemRoots)
		}
		t.SystemRoots = &on
	}
	if f.pinsExpire != "" {
		d, err := time.Parse(time.DateOnly, f.pinsExpire)
		if err != nil {
			return t, usagef("--pins-expire takes a date like 2027-06-30, not %q", f.pinsExpire)
		}
		t.PinsExpire = d
	}
	if f.serverName != "" {
		if _, err := httptrust.NormalizeHost(f.serverName); err != nil {
			return t, usagef("--server-name: %v", strings.TrimPrefix(err.Error(), "httptrust: "))
		}
		t.ServerName = f.serverName
	}
	t.MinTLS = strings.TrimPrefix(strings.ToLower(f.minTLS), "tls")
	for _, p := range f.pins {
		if p == pinFromFile {
			continue
		}
		ps, err := certs.ParsePins(p)
		if err != nil {
			return t, &exitError{code: exitUsage, err: fmt.Errorf("--pin: %w", err),
				hints: []string{pinHint}}
		}
		for _, pin := range ps {
			t.Pins = append(t.Pins, pin.String())
		}
	}
	if err := f.client(e, &t); err != nil {
		return t, err
	}
	return t, nil
}

// client reads --client-cert (and --client-key), checks that they make an
// identity with the password given, and puts their bytes in t.
func (f *trustAddFlags) client(e *env, t *store.Trust) error {
	if f.clientKey != "" && f.clientCert == "" {
		return usagef("--client-key needs --client-cert")
	}
	if f.clientCert == "" {
		return nil
	}
	if f.pw.env != "" && e.getenv(f.pw.env) == "" {
		return &exitError{code: exitUsage, err: fmt.Errorf("--password-env %s: the variable is not set", f.pw.env),
			hints: []string{fmt.Sprintf("set it first (export %s=...): the rule reads the password from %s at every use, and never stores it", f.pw.env, f.pw.env)}}
	}
	opts, err := f.pw.options(e)
	if err != nil {
		return err
	}
	if _, err := certs.LoadIdentity(localFS{}, f.clientCert, f.clientKey, opts); err != nil {
		return &exitError{code: exitClientCert, err: fmt.Errorf("--client-cert: %w", err),
			hints: hintsFor(err, e.inspectHints(f.clientCert)...)}
	}
	id := &store.ClientIdentity{PasswordEnv: f.pw.env}
	if id.Cert, err = readSmall(f.clientCert); err != nil {
		return err
	}
	id.PKCS12 = certs.Sniff(id.Cert) == certs.FormatPKCS12
	if f.clientKey != "" {
		if id.Key, err = readSmall(f.clientKey); err != nil {
			return err
		}
	}
	if f.pw.file != "" {
		if id.PasswordFile, err = filepath.Abs(f.pw.file); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("--password-file: %w", err)}
		}
	}
	t.Client = id
	return nil
}

// readSmall reads a certificate or key file given on the command line.
func readSmall(name string) ([]byte, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, &exitError{code: exitClientCert, err: err}
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, certs.MaxFileSize+1))
	if err != nil || len(data) > certs.MaxFileSize {
		return nil, &exitError{code: exitClientCert, err: fmt.Errorf("%s: too large or unreadable (%v)", name, err)}
	}
	return data, nil
}

// fromFile adds what FILE holds to t, as the flags say.
func (f *trustAddFlags) fromFile(e *env, t *store.Trust, file string) error {
	kinds := 0
	for _, k := range []bool{f.anchor, f.certificate, f.intermediate} {
		if k {
			kinds++
		}
	}
	if kinds > 1 {
		return usagef("--anchor, --certificate and --intermediate exclude each other")
	}
	if f.pw.env != "" && e.getenv(f.pw.env) == "" {
		return &exitError{code: exitUsage, err: fmt.Errorf("--password-env %s: the variable is not set", f.pw.env),
			hints: []string{fmt.Sprintf("set it first: export %s=...", f.pw.env)}}
	}
	opts, err := f.pw.options(e)
	if err != nil {
		return err
	}
	cs, _, err := readCertFile(file, opts)
	if err != nil {
		return err
	}
	if len(f.pins) > 0 && kinds == 0 {
		// Pins instead of trust: the file's keys, beside the pins given.
		var pins []string
		for _, c := range cs {
			pins = append(pins, certs.SPKIPin(c).String())
		}
		t.Pins = append(pins, t.Pins...)
		return nil
	}
	if hasPinFromFile(f.pins) {
		for _, c := range cs {
			t.Pins = append(t.Pins, certs.SPKIPin(c).String())
		}
	}
	parts := splitChain(cs)
	switch {
	case f.certificate:
		return e.trustExactly(t, parts, cs)
	case f.intermediate:
		return e.trustIntermediates(t, parts)
	case f.anchor && len(parts.anchors) == 0:
		for _, c := range cs {
			if !c.IsCA {
				return failf([]string{"trust it exactly instead: --certificate"},
					"%s is not a CA certificate (no CA:TRUE) and cannot be an anchor", c.Subject)
			}
		}
		t.Kind, t.Certs = store.Anchor, cs
	case len(parts.anchors) == 0:
		t.Kind, t.Certs = store.Certificate, parts.leaves
	default:
		t.Kind, t.Certs, t.Intermediates = store.Anchor, parts.anchors, parts.intermediates
		for _, l := range parts.leaves {
			e.note(file + ": " + droppedLeaf(l, parts.under[l]))
		}
		if parts.isChain() {
			e.note(fmt.Sprintf("%s holds a chain: its top CA is written as the anchor, %s as intermediates", file, plural(len(parts.intermediates), "intermediate")))
		}
	}
	return nil
}

// trustExactly trusts the server certificates of a file exactly (every
// certificate when it holds only CAs).
func (e *env) trustExactly(t *store.Trust, parts chainParts, cs []*x509.Certificate) error {
	t.Kind, t.Certs = store.Certificate, parts.leaves
	if len(parts.leaves) == 0 {
		t.Certs = cs
		return nil
	}
	for _, c := range append(append([]*x509.Certificate{}, parts.anchors...), parts.intermediates...) {
		e.note(fmt.Sprintf("%s: a CA certificate, not written (--certificate trusts the server certificates exactly)", c.Subject))
	}
	return nil
}

// trustIntermediates keeps the CAs of a file below a root as
// intermediates.
func (e *env) trustIntermediates(t *store.Trust, parts chainParts) error {
	for _, c := range append(append([]*x509.Certificate{}, parts.intermediates...), parts.anchors...) {
		if certs.IsSelfSigned(c) {
			e.note(fmt.Sprintf("%s: a root, not written as an intermediate (an anchor or nothing: --anchor)", c.Subject))
			continue
		}
		t.Intermediates = append(t.Intermediates, c)
	}
	for _, l := range parts.leaves {
		if !l.IsCA {
			e.note(fmt.Sprintf("%s: a server certificate, not written as an intermediate", l.Subject))
			continue
		}
		t.Intermediates = append(t.Intermediates, l)
	}
	if len(t.Intermediates) == 0 {
		return failf([]string{"an intermediate is a CA certificate that a root issued, and that issues server certificates"},
			"the file holds no intermediate CA certificate; nothing written")
	}
	return nil
}

// empty reports whether t asks for nothing.
func empty(t store.Trust) bool {
	return len(t.Certs) == 0 && len(t.Intermediates) == 0 && len(t.Pins) == 0 && t.PinsExpire.IsZero() &&
		t.Enforce == nil && t.SystemRoots == nil && t.TOFU == nil && t.FetchIntermediates == nil &&
		!t.AllowNameMismatch && !t.AllowExpired && t.ServerName == "" && t.MinTLS == "" && t.Client == nil
}
