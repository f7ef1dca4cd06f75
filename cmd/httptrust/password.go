package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/httptrust/httptrust/certs"
)

// passwordFlags are --password-env and --password-file, taken by every
// command that reads a PKCS#12 file or an encrypted key. A password is
// never taken on the command line itself.
type passwordFlags struct {
	env, file string
}

func (p *passwordFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&p.env, "password-env", "", "read the PKCS#12 or key password from environment variable `NAME`")
	fs.StringVar(&p.file, "password-file", "", "read the PKCS#12 or key password from `FILE` (first line)")
}

// options returns certs.Options that ask for the password only when a
// file needs one.
func (p *passwordFlags) options(e *env) (*certs.Options, error) {
	if p.env != "" && p.file != "" {
		return nil, usagef("give the password by --password-env or --password-file, not both")
	}
	if p.env == "" && p.file == "" {
		return nil, nil
	}
	return &certs.Options{Password: func() (string, error) {
		if p.env != "" {
			pw := e.getenv(p.env)
			if pw == "" {
				return "", fmt.Errorf("the environment variable %s (--password-env) is empty or not set", p.env)
			}
			return pw, nil
		}
		data, err := os.ReadFile(p.file)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		line, _, _ := strings.Cut(string(data), "\n")
		return strings.TrimRight(line, "\r"), nil
	}}, nil
}

// passwordHint says what to do about a password problem in err, or "".
func passwordHint(err error) string {
	switch {
	case errors.Is(err, certs.ErrPasswordRequired):
		return "the file is encrypted: give its password with --password-env NAME or --password-file FILE"
	case errors.Is(err, certs.ErrWrongPassword):
		return "the password does not decrypt the file: check --password-env or --password-file"
	}
	return ""
}

// hintsFor returns passwordHint(err) as a list, and extra after it.
func hintsFor(err error, extra ...string) []string {
	if h := passwordHint(err); h != "" {
		return append([]string{h}, extra...)
	}
	return extra
}
