package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/httptrust/httptrust/certs"
	"github.com/spf13/cobra"
)

const inspectExamples = `  httptrust inspect printer.cer                 a certificate in any format: PEM, DER, PKCS#7, PKCS#12
  httptrust inspect --password-env P12_PASSWORD me.p12
  httptrust inspect backup.key                  a key or a CSR: its type, size and pin
  httptrust inspect https://192.168.1.20/       the chain a server presents, and who trusts it
  httptrust inspect 192.168.1.20:8443           any TLS service, by HOST:PORT (tls://HOST:PORT)
  httptrust inspect smtp://mail.corp.example    STARTTLS: smtp, submission, imap, ldap, postgres
  httptrust inspect --short https://device.local:8443/
  httptrust inspect --format pem https://device.local:8443/ > chain.pem
  httptrust inspect --json https://device.local:8443/`

const inspectLong = `Show what a file holds, or the chain a server presents.

A file: every certificate (PEM, DER, PKCS#7, PKCS#12, in any combination),
every private key (PKCS#1, PKCS#8, SEC1, Ed25519, encrypted or not), public
key and certificate request: for each key its type, size and SPKI pin, and
which certificate of the file it belongs to. Key material is never printed.
An encrypted key or PKCS#12 file takes its password from --password-env or
--password-file, or asks for it on a terminal.

A server: https://HOST[:PORT]/, HOST:PORT or tls://HOST:PORT for any TLS
service, smtps://, imaps://, ldaps:// for TLS at once, and smtp:// (25),
submission:// (587), imap:// (143), ldap:// (389), postgres:// (5432) for
servers that start in plain text (STARTTLS; PostgreSQL's SSLRequest). Also
whether the store and the system roots trust it, for that host and port:
what a Go program gets from Policy.TLSConfigFor, for a database as for a
web server. A server is never sent a request: the handshake is aborted once
its chain is seen. A name that is both a file and HOST:PORT is the file.

For each certificate: subject, issuer, names, serial, validity and the days
left, key, signature algorithm, key usage and extended key usage, key
identifiers, issuer (AIA) and CRL URLs, SHA-256 and SHA-1 fingerprints (hex
and DC:FA:49:... form) and SPKI pin, with the warnings that change what to
do (expiring within 30 days, SHA-1, RSA below 2048 bits, a server
certificate that names no host).

--short prints one line per certificate and key. --format pem (or --out
FILE) writes the certificates, as presented, as PEM: a bundle for --cacert
or trust add, or a .p7b, .p12 or DER file converted. A file that holds no
certificate, key or request is described block by block (exit 77).`

// inspectView is what inspect prints; --json prints it as is.
type inspectView struct {
	Source string `json:"source"`
	Format string `json:"format,omitempty"`
	// StartTLS names the plain-text upgrade spoken before TLS
	// ("SMTP STARTTLS"), for a server that starts without it.
	StartTLS     string          `json:"starttls,omitempty"`
	Certificates []certs.Info    `json:"certificates"`
	Keys         []certs.KeyInfo `json:"keys,omitempty"`
	Trust        *judgement      `json:"trust,omitempty"`
	// Notes say what of the file could not be read beside the rest.
	Notes []string `json:"notes,omitempty"`
	// Saved is the file --out wrote the certificates to.
	Saved string `json:"saved,omitempty"`
}

type inspectFlags struct {
	probeFlags
	pw     passwordFlags
	short  bool
	format string
	out    string
}

func (e *env) inspectCmd() *cobra.Command {
	f := &inspectFlags{}
	cmd := &cobra.Command{
		Use:     "inspect [flags] FILE|URL|HOST:PORT",
		Short:   "Show what a file (certificates, keys, CSRs) or a server's chain holds, with warnings",
		Long:    inspectLong,
		Example: inspectExamples,
		Args:    exactArgs(1, "inspect needs one FILE, URL or HOST:PORT"),
		RunE:    func(cmd *cobra.Command, args []string) error { return e.inspect(cmd.Context(), args[0], f) },
	}
	fl := cmd.Flags()
	f.probeFlags.register(fl)
	f.pw.register(fl)
	fl.BoolVar(&f.short, "short", false, "one line per certificate and key")
	fl.StringVar(&f.format, "format", "text", "print as `text`, json (as --json) or pem (the certificates, as presented)")
	fl.StringVar(&f.out, "out", "", "also write the certificates, as presented, to `FILE` as PEM")
	return cmd
}

// inspect reads a file or probes a server, and prints what it holds.
func (e *env) inspect(ctx context.Context, arg string, f *inspectFlags) error {
	switch f.format {
	case "text", "pem":
	case "json":
		e.json = true
	default:
		return usagef("--format %q: want text, json or pem", f.format)
	}
	if f.format == "pem" && (f.short || e.json) {
		return usagef("--format pem writes PEM only: it goes with neither --short nor --json")
	}
	c, err := e.source(ctx, "inspect", arg, &f.probeFlags, &f.pw, true)
	if err != nil {
		return err
	}
	v := c.view
	v.Certificates = viewChain(c.chain, e.now())
	for _, k := range c.keys {
		v.Keys = append(v.Keys, certs.InspectKey(k, c.chain))
	}
	if f.format == "pem" || f.out != "" {
		if len(c.chain) == 0 {
			return &exitError{code: exitCAFile, err: fmt.Errorf("%s holds no certificate to write as PEM (keys are never written)", v.Source)}
		}
	}
	if f.out != "" {
		if err := writePEMFile(f.out, certs.EncodeCertificatesPEM(c.chain)); err != nil {
			return err
		}
		v.Saved = f.out
	}
	if !e.json {
		for _, n := range v.Notes {
			e.warn(n)
		}
	}
	switch {
	case f.format == "pem":
		_, err = e.stdout.Write(certs.EncodeCertificatesPEM(c.chain))
		if err != nil {
			return &exitError{code: exitWrite, err: err}
		}
	case e.json:
		err = writeJSON(e.stdout, v)
	case f.short:
		printInspectShort(e.stdout, v)
	default:
		printInspect(e.stdout, v)
	}
	if err != nil {
		return err
	}
	if v.Saved != "" && !e.json {
		e.note(fmt.Sprintf("wrote %s to %s", plural(len(c.chain), "certificate"), v.Saved))
	}
	if (f.format == "pem" || f.out != "") && v.Trust != nil && !v.Trust.Store && !v.Trust.System {
		e.note("these are the certificates as the server presented them, and nothing verified them: compare their SHA-256 with one from the server's operator before trusting them")
	}
	return nil
}

// writePEMFile writes data to name through a temporary file in the same
// folder, so that a reader never sees half a bundle (exit 23 on failure).
func writePEMFile(name string, data []byte) error {
	fail := func(err error) error {
		return &exitError{code: exitWrite, err: fmt.Errorf("--out %s: %w", name, err)}
	}
	if st, err := os.Stat(name); err == nil && !st.Mode().IsRegular() {
		return fail(fmt.Errorf("not a regular file"))
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".httptrust-out-*")
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fail(err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fail(err)
	}
	return nil
}

// plural is "1 certificate", "2 certificates".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// summary says what v holds: "2 certificates, 1 private key, PEM".
func (v *inspectView) summary() string {
	var parts []string
	if len(v.Certificates) > 0 || len(v.Keys) == 0 {
		parts = append(parts, plural(len(v.Certificates), "certificate"))
	}
	counts := map[string]int{}
	var kinds []string
	for _, k := range v.Keys {
		if counts[k.Kind] == 0 {
			kinds = append(kinds, k.Kind)
		}
		counts[k.Kind]++
	}
	for _, k := range kinds {
		parts = append(parts, plural(counts[k], k))
	}
	if v.Format != "" {
		parts = append(parts, v.Format)
	}
	if v.StartTLS != "" {
		parts = append(parts, "after "+v.StartTLS)
	}
	return strings.Join(parts, ", ")
}

func printInspect(w io.Writer, v *inspectView) {
	printf(w, "%s: %s\n", v.Source, v.summary())
	for i, c := range v.Certificates {
		printCertView(w, "  ", i, c, true)
	}
	for _, k := range v.Keys {
		printKey(w, "  ", k, v.Certificates)
	}
	printTrust(w, v.Trust)
}

// printTrust writes whether the store and the system roots trust a
// server's chain.
func printTrust(w io.Writer, t *judgement) {
	if t == nil {
		return
	}
	printf(w, "  connection: %s, %s\n", t.TLSVersion, t.CipherSuite)
	if t.Store {
		printf(w, "  store: trusted (%s)\n", t.StoreRule)
	} else {
		printf(w, "  store: NOT trusted (%s): %s: %s\n", t.StoreRule, t.StoreReason.Code(), t.StoreDetail)
	}
	if t.System {
		printf(w, "  system roots: trusted\n")
	} else {
		printf(w, "  system roots: NOT trusted (%s)\n", t.SystemWhy.Code())
	}
}

// printKey writes a key or certificate request as indented lines.
func printKey(w io.Writer, prefix string, k certs.KeyInfo, chain []certs.Info) {
	what := k.Key + ", " + k.Encoding
	if k.Encrypted {
		what += ", encrypted"
	}
	if k.Block > 0 {
		what += fmt.Sprintf(", block %d (line %d)", k.Block, k.Line)
	}
	printf(w, "%s%s: %s\n", ours(prefix), k.Kind, what)
	p := ours(prefix + "   ")
	if k.Subject != "" || k.Kind == "certificate request" {
		printf(w, "%ssubject:   %s\n", p, k.Subject)
	}
	if len(k.Names) > 0 {
		printf(w, "%snames:     %s\n", p, strings.Join(k.Names, ", "))
	}
	if k.SignatureAlgorithm != "" {
		printf(w, "%ssigned:    %s\n", p, k.SignatureAlgorithm)
	}
	printf(w, "%spin:       %s\n", p, k.Pin)
	for _, i := range k.Matches {
		printf(w, "%skey of:    certificate %d (%s)\n", p, i, chain[i].Subject)
	}
	for _, warn := range k.Warnings {
		printf(w, "%swarning:   %s\n", p, warn)
	}
}

// printInspectShort writes one line per certificate and key, and one for
// the trust of a server.
func printInspectShort(w io.Writer, v *inspectView) {
	for i, c := range v.Certificates {
		names := ""
		if len(c.Names) > 0 {
			names = "  [" + strings.Join(c.Names, ", ") + "]"
			if c.MoreNames > 0 {
				names = fmt.Sprintf("  [%s and %d more]", strings.Join(c.Names, ", "), c.MoreNames)
			}
		}
		var flags []string
		if c.IsCA {
			flags = append(flags, "CA")
		}
		if c.SelfSigned {
			flags = append(flags, "self-signed")
		}
		if n := len(c.Warnings); n > 0 {
			flags = append(flags, plural(n, "warning"))
		}
		extra := ""
		if len(flags) > 0 {
			extra = "  " + strings.Join(flags, ", ")
		}
		printf(w, "%d  %s%s  %s  until %s (%s)%s  sha256 %s\n", i, c.Subject, names, c.Key,
			c.NotAfter.Format("2006-01-02"), daysText(c.DaysLeft), extra, c.SHA256)
	}
	for _, k := range v.Keys {
		of := ""
		for _, i := range k.Matches {
			of += fmt.Sprintf("  key of certificate %d", i)
		}
		subject := ""
		if k.Subject != "" {
			subject = " " + k.Subject
		}
		printf(w, "%s%s  %s  %s%s\n", k.Kind, subject, k.Key, k.Pin, of)
	}
	if t := v.Trust; t != nil {
		store, system := "trusted", "trusted"
		if !t.Store {
			store = "NOT trusted (" + t.StoreReason.Code() + ")"
		}
		if !t.System {
			system = "NOT trusted (" + t.SystemWhy.Code() + ")"
		}
		printf(w, "store: %s; system roots: %s\n", store, system)
	}
}
