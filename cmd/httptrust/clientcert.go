package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/httptrust/httptrust/certs"
)

// certArg is --cert as curl reads it: FILE[:PASSWORD].
type certArg struct {
	file, password string
}

// splitCertArg splits curl's -E/--cert FILE[:PASSWORD] as curl does: the
// first ':' not escaped by a backslash ends the file name, "\:" is a ':'
// and "\\" a '\' within it, any other backslash is kept; what follows the
// ':' is the password (none when empty).
func splitCertArg(s string) certArg {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == ':' || s[i+1] == '\\') {
				i++
				b.WriteByte(s[i])
				continue
			}
			b.WriteByte(c)
		case ':':
			return certArg{file: b.String(), password: s[i+1:]}
		default:
			b.WriteByte(c)
		}
	}
	return certArg{file: b.String()}
}

// certFlagTypes are the --cert-type and --key-type values curl knows that
// httptrust reads (it reads the format from the bytes; the type is
// checked only for being one of these).
var certFlagTypes = map[string]bool{"PEM": true, "DER": true, "P12": true}

// clientIdentity loads -E/--cert and --key. The password comes from
// --cert FILE:PASSWORD or --pass (with a warning: the command line is
// visible to other users), --password-env or --password-file, or else, for
// a file that needs one, from a prompt on the terminal, never echoed.
func (g *getFlags) clientIdentity(e *env) (*tls.Certificate, error) {
	for _, t := range []struct{ flag, v string }{{"--cert-type", g.certType}, {"--key-type", g.keyType}} {
		if t.v != "" && !certFlagTypes[strings.ToUpper(t.v)] {
			return nil, usagef("%s %s: want PEM, DER or P12 (the format is read from the file itself)", t.flag, t.v)
		}
	}
	if strings.HasPrefix(strings.ToLower(g.cert), "pkcs11:") {
		return nil, usagef("--cert: PKCS#11 URIs are not supported; give a PEM or PKCS#12 file")
	}
	arg := splitCertArg(g.cert)
	if _, err := os.Stat(g.cert); err == nil {
		arg = certArg{file: g.cert} // a file whose name holds a ':'
	}
	given := arg.password
	if g.pass != "" {
		if given != "" && given != g.pass {
			return nil, usagef("--cert FILE:PASSWORD and --pass give two passwords; give one")
		}
		given = g.pass
	}
	opts, err := g.pw.options(e)
	if err != nil {
		return nil, err
	}
	if given != "" {
		if opts != nil {
			return nil, usagef("a password on the command line and --password-env or --password-file: give one")
		}
		e.warn("a password on the command line is visible to other users of this machine (ps) and stays in your shell history; use --password-env NAME or --password-file FILE, or leave it out to be asked for it on a terminal")
		opts = &certs.Options{Password: func() (string, error) { return given, nil }}
	}
	var id tls.Certificate
	err = e.withPassword(arg.file, opts, func(o *certs.Options) error {
		var err error
		id, err = certs.LoadIdentity(localFS{}, arg.file, g.key, o)
		return err
	})
	if err != nil {
		return nil, &exitError{code: exitClientCert, err: fmt.Errorf("--cert: %w", err), hints: e.identityHints(err, arg.file, g.key)}
	}
	return &id, nil
}

// identityHints says what to do about a client identity that cannot be
// loaded. No hint holds a password.
func (e *env) identityHints(err error, certFile, keyFile string) []string {
	var hints []string
	var fe *certs.FileError
	isCertFile := errors.As(err, &fe) && fe.File == certFile
	switch {
	case passwordHint(err) != "":
		hints = append(hints, passwordHint(err))
	case errors.Is(err, certs.ErrNotPrivateKey) && keyFile == "" && isCertFile && !isPKCS12File(certFile):
		hints = append(hints, certFile+" holds no private key: give the key with --key FILE (or a PEM file with the certificate and its key, or a PKCS#12 file)")
	case errors.Is(err, certs.ErrNotPrivateKey) && keyFile == "" && isCertFile:
		hints = append(hints, certFile+" is a PKCS#12 file without its private key: export it again with the key")
	}
	what := certFile
	if fe != nil && fe.File != "" {
		what = fe.File
	}
	return append(hints, e.inspectHints(what)...)
}

// isPKCS12File reports whether name holds PKCS#12 data.
func isPKCS12File(name string) bool {
	data, err := os.ReadFile(name)
	return err == nil && certs.Sniff(data) == certs.FormatPKCS12
}

// withPassword runs load with opts; when it fails for want of a password
// and no password was given, it asks for one on the terminal and runs
// load again with it.
func (e *env) withPassword(name string, opts *certs.Options, load func(*certs.Options) error) error {
	err := load(opts)
	if opts != nil || !errors.Is(err, certs.ErrPasswordRequired) {
		return err
	}
	var fe *certs.FileError
	if errors.As(err, &fe) && fe.File != "" {
		name = fe.File
	}
	pw, ok, perr := e.askPassword("Enter the password for " + name + ": ")
	if perr != nil {
		return perr
	}
	if !ok {
		return err
	}
	return load(&certs.Options{Password: func() (string, error) { return pw, nil }})
}
