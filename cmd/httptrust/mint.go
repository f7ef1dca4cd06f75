package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/mint"
)

const mintExamples = `  httptrust mint localhost 127.0.0.1 ::1     localhost+2.pem, localhost+2-key.pem, signed by your dev CA
  httptrust mint --pkcs12 '*.dev.local'      _wildcard.dev.local.p12 (password "changeit")
  httptrust mint --client alice              alice-client.pem, a client certificate for mutual TLS
  httptrust mint --caroot                    print the dev CA's folder
  httptrust mint --key-only                  backup-key.pem, a backup key pair for pinning, and its pin`

// envCARoot names the environment variable that chooses the dev CA's
// folder, as $CAROOT does for mkcert.
const envCARoot = "HTTPTRUST_CAROOT"

// Validity limits for --days.
const (
	// appleMaxDays is the longest validity Apple platforms accept for a
	// TLS server certificate, whatever its CA (a CA you add yourself too).
	// The 398 days browsers demand apply to publicly trusted CAs only.
	appleMaxDays = 825
	// maxDays is the longest --days mint takes: a hundred years.
	maxDays = 36500
)

type mintFlags struct {
	out, caDir, caCert, caKey, keyType string
	certFile, keyFile, p12File         string
	caOnly, caRoot, client, pkcs12     bool
	keyOnly                            bool
	days                               int
	pw                                 passwordFlags
}

// keyTypes are the values of --key-type; "ecdsa" and "rsa" are short for
// the first of their kind.
var keyTypes = map[string]mint.KeyType{
	"ecdsa": mint.ECDSAP256, "ecdsa-p256": mint.ECDSAP256, "ecdsa-p384": mint.ECDSAP384, "ed25519": mint.Ed25519,
	"rsa": mint.RSA2048, "rsa-2048": mint.RSA2048, "rsa-3072": mint.RSA3072, "rsa-4096": mint.RSA4096,
}

const keyTypeList = "ecdsa (P-256), ecdsa-p384, ed25519, rsa (2048-bit), rsa-3072, rsa-4096"

func (e *env) mintCmd() *cobra.Command {
	f := &mintFlags{}
	cmd := &cobra.Command{
		Use:   "mint [flags] NAME...",
		Short: "Make certificates for development servers and clients, signed by your own dev CA (as mkcert does)",
		Long: `Make a certificate for the given DNS names and IP addresses, signed by your
development CA, as mkcert does. The CA is made on first use and kept in one
folder for all your projects: $` + envCARoot + `, or <user config dir>/httptrust/dev-ca
(mint --caroot prints it). Its key (mode 0600, in a 0700 folder) never goes
into the current folder or --out, where one "git add" would publish it. A
folder of mkcert's (mkcert -CAROOT) works as --ca-dir too.

The files are named after the first name, "+N" for N more names, as mkcert
names them (localhost+2.pem, localhost+2-key.pem; "-client" for --client,
".p12" for --pkcs12). Keys are written with mode 0600 and never printed.

httptrust never touches the system's or a browser's trust store: mint prints
the httptrust trust add line that trusts the CA for exactly the names minted,
and how to give the CA to curl, Go or a browser.

--days: Apple platforms refuse a server certificate valid for more than 825
days, whatever its CA; the default is 825. (The 398-day limit of browsers
applies to public CAs, not to a CA you add yourself.)

--key-only makes a key pair and no certificate: a backup key whose pin you
publish beside the current one, so that a key rotation does not lock out
clients that pin.`,
		Example: mintExamples,
		RunE:    func(cmd *cobra.Command, args []string) error { return e.mint(cmd, f, args) },
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.caRoot, "caroot", false, "print the dev CA's folder and exit")
	fl.StringVar(&f.caDir, "ca-dir", "", "keep the CA in `DIR` instead (made on first use; env "+envCARoot+")")
	fl.StringVar(&f.caCert, "ca-cert", "", "sign with the CA certificate in `FILE` instead of the dev CA")
	fl.StringVar(&f.caKey, "ca-key", "", "the CA's private key `FILE` (with --ca-cert)")
	fl.BoolVar(&f.caOnly, "ca-only", false, "make (or show) the dev CA only")
	fl.StringVar(&f.out, "out", ".", "write the certificate and key into `DIR`")
	fl.StringVar(&f.certFile, "cert-file", "", "write the certificate to `FILE`")
	fl.StringVar(&f.keyFile, "key-file", "", "write the key to `FILE` (for --key-only, default backup-key.pem)")
	fl.StringVar(&f.p12File, "p12-file", "", "write the PKCS#12 file to `FILE` (implies --pkcs12)")
	fl.BoolVar(&f.pkcs12, "pkcs12", false, "write one .p12 file (certificate, key and CA) instead of PEM files")
	fl.BoolVar(&f.client, "client", false, "make a client certificate (for mutual TLS)")
	fl.BoolVar(&f.keyOnly, "key-only", false, "make only a key pair (a backup key for pinning) and print its pin")
	fl.StringVar(&f.keyType, "key-type", "ecdsa", "key `TYPE`: "+keyTypeList)
	fl.IntVar(&f.days, "days", 0, "validity in `DAYS` (default 825 for a certificate, 10 years for a CA)")
	fl.StringVar(&f.pw.env, "password-env", "", "the .p12's password (and an encrypted --ca-key's) from environment variable `NAME`; default \"changeit\"")
	fl.StringVar(&f.pw.file, "password-file", "", "the .p12's password (and an encrypted --ca-key's) from `FILE` (first line)")
	cmd.RegisterFlagCompletionFunc("key-type", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return slices.Sorted(func(yield func(string) bool) {
			for k := range keyTypes {
				if !yield(k) {
					return
				}
			}
		}), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func (e *env) mint(cmd *cobra.Command, f *mintFlags, names []string) error {
	kt, ok := keyTypes[strings.ToLower(f.keyType)]
	if !ok {
		return usagef("--key-type %q: use %s", f.keyType, keyTypeList)
	}
	if f.p12File != "" {
		f.pkcs12 = true
	}
	if err := f.check(e, cmd, names); err != nil {
		return err
	}
	switch {
	case f.caRoot:
		return e.printCARoot(f)
	case f.keyOnly:
		return e.mintKey(f, kt)
	}
	now := e.now()
	leafT := f.leafTemplate(names, kt, now)
	if err := leafT.Validate(); err != nil && !f.caOnly {
		return e.badNames(err)
	}
	ca, caView, err := e.mintCA(cmd, f, names, kt, now)
	if err != nil {
		return err
	}
	view := mintView{CA: caView}
	if !f.caOnly {
		if view.Certificate, err = e.mintLeaf(f, leafT, ca, now); err != nil {
			return err
		}
	}
	if e.json {
		return writeJSON(e.stdout, view)
	}
	e.printMinted(view)
	e.mintHints(f, view)
	return nil
}

// check refuses flags that do not go together, before anything is made.
func (f *mintFlags) check(e *env, cmd *cobra.Command, names []string) error {
	changed := func(names ...string) string {
		var out []string
		for _, n := range names {
			if cmd.Flags().Changed(n) {
				out = append(out, "--"+n)
			}
		}
		return strings.Join(out, ", ")
	}
	if done, err := f.checkMode(e, names, changed); done || err != nil {
		return err
	}
	switch {
	case (f.caCert == "") != (f.caKey == ""):
		return usagef("--ca-cert and --ca-key go together")
	case f.caCert != "" && f.caDir != "":
		return usagef("sign with --ca-dir DIR or with --ca-cert FILE --ca-key FILE, not both")
	case f.pkcs12 && (f.certFile != "" || f.keyFile != ""):
		return usagef("--pkcs12 writes the certificate and key into one file: give --p12-file FILE, not --cert-file or --key-file")
	case (f.pw.env != "" || f.pw.file != "") && !f.pkcs12 && f.caKey == "":
		return usagef("--password-env and --password-file set the password of the .p12 that --pkcs12 writes (or read an encrypted --ca-key); add --pkcs12")
	case cmd.Flags().Changed("days") && (f.days < 1 || f.days > maxDays):
		return usagef("--days %d: give a number of days from 1 to %d (the default is %d for a certificate)", f.days, maxDays, appleMaxDays)
	}
	return nil
}

// checkMode checks the names and flags of --caroot, --key-only and
// --ca-only, and that a certificate has names; done means nothing else
// needs checking.
func (f *mintFlags) checkMode(e *env, names []string, changed func(...string) string) (done bool, err error) {
	switch {
	case f.caRoot:
		if len(names) > 0 {
			return true, usagef("--caroot prints the CA's folder and takes no names")
		}
		if c := changed("key-only", "ca-only", "ca-cert", "ca-key", "pkcs12", "client"); c != "" {
			return true, usagef("--caroot prints the CA's folder and makes nothing: drop %s", c)
		}
		return true, nil
	case f.keyOnly:
		if len(names) > 0 {
			return true, usagef("--key-only makes a key and no certificate, so it takes no names (got %s)", strings.Join(names, " "))
		}
		if c := changed("ca-only", "ca-dir", "ca-cert", "ca-key", "cert-file", "p12-file", "pkcs12", "client", "days", "password-env", "password-file"); c != "" {
			return true, usagef("--key-only writes only an unencrypted key (0600): drop %s", c)
		}
		return true, nil
	case f.caOnly:
		if len(names) > 0 {
			return true, usagef("--ca-only makes no certificate, so it takes no names (got %s)", strings.Join(names, " "))
		}
		if c := changed("out", "cert-file", "key-file", "p12-file", "pkcs12", "client", "ca-cert", "ca-key", "password-env", "password-file"); c != "" {
			return true, &exitError{code: exitUsage, err: fmt.Errorf("--ca-only makes the dev CA in its own folder: drop %s", c),
				hints: []string{"the CA's key never goes into --out or the current folder; to keep a CA elsewhere, give --ca-dir DIR"}}
		}
	case len(names) == 0:
		return true, &exitError{code: exitUsage, err: errors.New("mint needs the DNS names and IP addresses the certificate is for"),
			hints: []string{"for a local development server:", "  " + e.mintExample(),
				"or: --client NAME for a client certificate, --key-only for a backup key to pin, --caroot for the CA's folder"}}
	}
	return false, nil
}

// baseName is mkcert's file name for a certificate of names: the first
// name ("*" as "_wildcard", ":" as "_"), "+N" for N more names, and
// "-client" for a client certificate.
func baseName(names []string, client bool) string {
	base := strings.NewReplacer("*", "_wildcard", ":", "_", "/", "_", `\`, "_").Replace(names[0])
	if len(names) > 1 {
		base += "+" + strconv.Itoa(len(names)-1)
	}
	if client {
		base += "-client"
	}
	return base
}

// paths returns the files mint writes for names: the certificate and key,
// or the .p12.
func (f *mintFlags) paths(names []string) (certPath, keyPath, p12Path string) {
	base := filepath.Join(f.out, baseName(names, f.client))
	if f.pkcs12 {
		return "", "", cmp(f.p12File, base+".p12")
	}
	return cmp(f.certFile, base+".pem"), cmp(f.keyFile, base+"-key.pem"), ""
}

// outputs returns the files mint writes for names (none for --ca-only),
// and a file in --out, which stands for that folder.
func (f *mintFlags) outputs(names []string) []string {
	out := []string{filepath.Join(f.out, "x")}
	if len(names) > 0 {
		c, k, p := f.paths(names)
		for _, p := range []string{c, k, p} {
			if p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// cmp returns a if it is not empty, else b.
func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// leafTemplate is the certificate mint makes for names.
func (f *mintFlags) leafTemplate(names []string, kt mint.KeyType, now time.Time) mint.Template {
	t := mint.Template{Names: names, KeyType: kt, Client: f.client}
	if f.days > 0 {
		t.NotAfter = now.AddDate(0, 0, f.days)
	}
	return t
}

// badNames is the usage error for names mint refuses.
func (e *env) badNames(err error) error {
	return &exitError{code: exitUsage, err: err,
		hints: []string{"give DNS names (punycode for international ones, *.domain for a wildcard) and IP addresses, without a scheme or port:", "  " + e.mintExample()}}
}

// mintExample is the mint command of a local development server.
func (e *env) mintExample() string {
	return e.commandLine(httptrust.Command{Name: "mint", Args: []string{"localhost", "127.0.0.1", "::1"}})
}

// mintLeaf makes the certificate of t and writes its files.
func (e *env) mintLeaf(f *mintFlags, t mint.Template, ca *mint.Cert, now time.Time) (*mintLeafView, error) {
	names := t.Names
	leaf, err := mint.New(t, ca)
	if err != nil {
		if errors.Is(err, mint.ErrInvalidTemplate) {
			return nil, e.badNames(err)
		}
		return nil, err
	}
	certPath, keyPath, p12Path := f.paths(names)
	for _, p := range []string{certPath, keyPath, p12Path} {
		if p == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, &exitError{code: exitWrite, err: err}
		}
	}
	v := describeLeaf(leaf, names, f.client, now)
	if f.pkcs12 {
		pw, src, err := e.p12Password(f)
		if err != nil {
			return nil, err
		}
		if err := leaf.WritePKCS12(p12Path, pw, ca); err != nil {
			return nil, &exitError{code: exitWrite, err: err}
		}
		v.PKCS12, v.PasswordEnv = p12Path, src
		if src == "" {
			v.Password = mint.DefaultPKCS12Password
		}
	} else {
		if err := leaf.WritePEM(certPath, keyPath); err != nil {
			return nil, &exitError{code: exitWrite, err: err}
		}
		v.Cert, v.Key = certPath, keyPath
	}
	e.leafWarnings(f, leaf, ca, names)
	return v, nil
}

// p12Password returns the .p12's password and where it came from ("" for
// the default, "$NAME" or the file's name).
func (e *env) p12Password(f *mintFlags) (pw, source string, err error) {
	opts, err := f.pw.options(e)
	if err != nil || opts == nil {
		return mint.DefaultPKCS12Password, "", err
	}
	pw, err = opts.Password()
	if err != nil {
		return "", "", &exitError{code: exitUsage, err: err}
	}
	if f.pw.env != "" {
		return pw, "$" + f.pw.env, nil
	}
	return pw, f.pw.file, nil
}

// leafWarnings says what may surprise about the certificate just made.
func (e *env) leafWarnings(f *mintFlags, leaf, ca *mint.Cert, names []string) {
	if days := int(leaf.Cert.NotAfter.Sub(leaf.Cert.NotBefore).Hours()/24 + 0.5); days > appleMaxDays && !f.client {
		e.warn(fmt.Sprintf("valid for %d days: Apple platforms (Safari, iOS, macOS) refuse a server certificate valid for more than %d days, even from your own CA", days, appleMaxDays))
	}
	if leaf.Cert.NotAfter.After(ca.Cert.NotAfter) {
		e.warn("the certificate outlives its CA, which expires on " + ca.Cert.NotAfter.UTC().Format(time.DateOnly) + ": it stops verifying then")
	}
	for _, n := range names {
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			e.note(n + " covers one label below " + rest + " (a." + rest + "), not " + rest + " itself, nor a.b." + rest)
		}
	}
}
