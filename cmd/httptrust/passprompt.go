package main

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/term"

	"github.com/httptrust/httptrust/certs"
)

// passwordOptions returns the certs.Options of --password-env and
// --password-file; without either, on a terminal, a prompt for the
// password of the file name (read without echo). The password is asked
// for only when the file needs one, and at most once for all the parsers
// that read it.
func (e *env) passwordOptions(p *passwordFlags, name string) (*certs.Options, error) {
	opts, err := p.options(e)
	if err != nil {
		return nil, err
	}
	if opts == nil && e.terminal(e.stdin) {
		opts = &certs.Options{Password: func() (string, error) { return e.readPassword(name) }}
	}
	if opts != nil {
		opts.Password = sync.OnceValues(opts.Password)
	}
	return opts, nil
}

// readPassword asks for the password of name on the terminal that stdin
// is, without echo.
func (e *env) readPassword(name string) (string, error) {
	f, ok := e.stdin.(*os.File)
	if !ok {
		return "", errors.New("no terminal to ask for the password on")
	}
	printf(e.stderr, "httptrust: password for %s: ", name)
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	return string(pw), nil
}
