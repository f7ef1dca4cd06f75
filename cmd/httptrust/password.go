package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/httptrust/httptrust/certs"
)

// passwordFlags are --password-env and --password-file, taken by every
// command that reads a PKCS#12 file or an encrypted key. Only get also
// takes one on the command line (curl's --cert FILE:PASSWORD and --pass),
// with a warning.
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
				return "", &unsetEnvError{name: p.env}
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

// unsetEnvError is a --password-env variable that is empty or not set.
type unsetEnvError struct{ name string }

func (e *unsetEnvError) Error() string {
	return fmt.Sprintf("the environment variable %s (--password-env) is empty or not set", e.name)
}

// passwordHint says what to do about a password problem in err, or "".
func passwordHint(err error) string {
	var unset *unsetEnvError
	switch {
	case errors.As(err, &unset):
		return fmt.Sprintf("set it first: export %s=... (read -rs %s; export %s keeps it out of your shell history)", unset.name, unset.name, unset.name)
	case errors.Is(err, certs.ErrPasswordRequired):
		return "the file is encrypted: give its password with --password-env NAME or --password-file FILE (httptrust get asks for it on a terminal)"
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

// askPassword asks for a password on the terminal of stdin, after prompt
// on stderr, and reads it without echo. ok is false when stdin is not a
// terminal. An interrupt restores the terminal before the program ends.
func (e *env) askPassword(prompt string) (pw string, ok bool, err error) {
	f, isFile := e.stdin.(*os.File)
	if !isFile || !e.terminal(e.stdin) {
		return "", false, nil
	}
	fd := int(f.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return "", false, fmt.Errorf("reading the password: %w", err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sig; ok {
			term.Restore(fd, state)
			fmt.Fprintln(e.stderr)
			os.Exit(130)
		}
	}()
	defer func() {
		signal.Stop(sig)
		close(sig)
	}()
	fmt.Fprint(e.stderr, termSafe(prompt))
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", false, fmt.Errorf("reading the password: %w", err)
	}
	return string(b), true, nil
}
