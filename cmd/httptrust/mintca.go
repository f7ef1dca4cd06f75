package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/mint"
)

// caRootDir returns the dev CA's folder: --ca-dir, $HTTPTRUST_CAROOT or
// <user config dir>/httptrust/dev-ca, as an absolute path.
func (e *env) caRootDir(f *mintFlags) (string, error) {
	dir := f.caDir
	if dir == "" {
		dir = e.getenv(envCARoot)
	}
	if dir == "" {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", &exitError{code: exitUsage, err: fmt.Errorf("no folder for the dev CA: %w", err),
				hints: []string{"choose one: " + envCARoot + "=DIR, or --ca-dir DIR"}}
		}
		dir = filepath.Join(d, "httptrust", "dev-ca")
	}
	return filepath.Abs(dir)
}

func (e *env) printCARoot(f *mintFlags) error {
	dir, err := e.caRootDir(f)
	if err != nil {
		return err
	}
	if e.json {
		type caDir struct {
			Dir string `json:"dir"`
		}
		return writeJSON(e.stdout, struct {
			CA caDir `json:"ca"`
		}{caDir{dir}})
	}
	printf(e.stdout, "%s\n", dir)
	return nil
}

// mintCA returns the CA to sign with: --ca-cert and --ca-key, or the dev CA
// in its folder, made now if it does not exist yet.
func (e *env) mintCA(cmd *cobra.Command, f *mintFlags, names []string, kt mint.KeyType, now time.Time) (*mint.Cert, *mintCAView, error) {
	if f.caCert != "" {
		ca, err := e.loadCA(f)
		if err != nil {
			return nil, nil, err
		}
		if err := e.checkOutputs(f, names, "", []string{f.caCert, f.caKey}); err != nil {
			return nil, nil, err
		}
		return ca, describeCA(ca, "", f.caCert, f.caKey, false), e.checkCAValidity(ca, f.caCert, now)
	}
	dir, err := e.caRootDir(f)
	if err != nil {
		return nil, nil, err
	}
	if err := e.checkOutputs(f, names, dir, nil); err != nil {
		return nil, nil, err
	}
	t := mint.Template{CommonName: "httptrust development CA (" + userAtHost() + ")", Organization: "httptrust development CA",
		IsCA: true, MaxPathLen: 0}
	if f.caOnly {
		t.KeyType = kt // otherwise the key type is the leaf's; the CA is P-256, which every client accepts
		if f.days > 0 {
			t.NotAfter = now.AddDate(0, 0, f.days)
		}
	}
	ca, created, err := mint.OpenCA(dir, t)
	if err != nil {
		code := exitCAFile
		if errors.Is(err, os.ErrPermission) {
			code = exitWrite
		}
		return nil, nil, &exitError{code: code, err: err, hints: []string{"the dev CA's folder is " + dir + " (" + envCARoot + " or --ca-dir choose another)"}}
	}
	certPath, keyPath := mint.CAFiles(dir)
	if created && f.caOnly && cmd.Flags().Changed("key-type") {
		e.note("the CA's key is " + kt.String())
	} else if !created && f.caOnly && (cmd.Flags().Changed("key-type") || cmd.Flags().Changed("days")) {
		e.warn("the CA in " + dir + " exists already: --key-type and --days apply only when it is made")
	}
	e.checkCAModes(dir, keyPath)
	if !f.caOnly {
		e.warnOldLayout(f, dir)
	}
	return ca, describeCA(ca, dir, certPath, keyPath, created), e.checkCAValidity(ca, certPath, now)
}

// checkOutputs refuses a CA folder that is the current folder or a folder
// mint writes into, and output files that are the CA's own.
func (e *env) checkOutputs(f *mintFlags, names []string, caDir string, caFiles []string) error {
	if caDir != "" {
		cwd, err := os.Getwd()
		if err == nil && sameDir(caDir, cwd) {
			return &exitError{code: exitUsage, err: fmt.Errorf("the dev CA's folder %s is the current folder: its key would sit in your project", caDir),
				hints: []string{"run mint from another folder, or keep the CA elsewhere: " + envCARoot + "=DIR or --ca-dir DIR"}}
		}
	}
	for _, out := range f.outputs(names) {
		if caDir != "" && sameDir(filepath.Dir(out), caDir) {
			return &exitError{code: exitUsage, err: fmt.Errorf("%s is in the dev CA's folder %s: mint writes certificates next to your project, never beside the CA's key", out, caDir),
				hints: []string{"give --out DIR (or --cert-file, --key-file, --p12-file) outside " + caDir}}
		}
		for _, c := range caFiles {
			if sameFile(out, c) {
				return usagef("%s is the CA's own file (--ca-cert or --ca-key): give another --out, --cert-file, --key-file or --p12-file", out)
			}
		}
	}
	return nil
}

// sameDir reports whether a and b name the same folder.
func sameDir(a, b string) bool {
	if absA, err := filepath.Abs(a); err == nil {
		if absB, err := filepath.Abs(b); err == nil && absA == absB {
			return true
		}
	}
	return sameFile(a, b)
}

// sameFile reports whether a and b exist and are the same file.
func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// checkCAModes warns when other users can read the CA's key, or replace
// the CA in its folder (and so learn the key of a CA you trust).
func (e *env) checkCAModes(dir, keyPath string) {
	if runtime.GOOS == "windows" {
		return
	}
	if fi, err := os.Stat(keyPath); err == nil && fi.Mode().Perm()&0o077 != 0 {
		e.warn(fmt.Sprintf("the CA's key %s has mode %04o: other users can read it, and sign certificates you trust", keyPath, fi.Mode().Perm()))
		e.hint("chmod 600 " + httptrust.ShellQuote(keyPath))
	}
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o022 != 0 {
		e.warn(fmt.Sprintf("the CA's folder %s has mode %04o: other users can replace the CA with one whose key they know", dir, fi.Mode().Perm()))
		e.hint("chmod 700 " + httptrust.ShellQuote(dir) + ", or keep the CA in a folder of your own (" + envCARoot + " or --ca-dir)")
	}
}

// warnOldLayout warns about a CA an older mint left in the current folder
// or in --out: this run signs with the dev CA instead.
func (e *env) warnOldLayout(f *mintFlags, caDir string) {
	seen := map[string]bool{}
	for _, d := range []string{".", f.out} {
		abs, err := filepath.Abs(d)
		if err != nil || seen[abs] || sameDir(abs, caDir) {
			continue
		}
		seen[abs] = true
		key := filepath.Join(d, mint.CAKeyFile)
		if _, err := os.Stat(key); err != nil {
			continue
		}
		e.warn(key + " is a CA key left by an older httptrust mint; the CA now lives in " + caDir + ", and this certificate is signed by that one")
		e.hint("a CA key does not belong in a project folder: delete " + httptrust.ShellQuote(key) + " and " +
			httptrust.ShellQuote(filepath.Join(d, mint.CACertFile)) + ", or keep signing with that CA from a folder of its own (--ca-dir DIR)")
	}
}

// checkCAValidity refuses a CA that is expired or not yet valid.
func (e *env) checkCAValidity(ca *mint.Cert, file string, now time.Time) error {
	c := ca.Cert
	switch {
	case now.After(c.NotAfter):
		return &exitError{code: exitCAFile, err: fmt.Errorf("the CA %s expired on %s", file, c.NotAfter.UTC().Format(time.DateOnly)),
			hints: []string{"move its folder away and run mint again to make a new CA, then trust the new one (certificates it signed stop verifying)"}}
	case now.Before(c.NotBefore):
		return &exitError{code: exitCAFile, err: fmt.Errorf("the CA %s is valid only from %s (check the clock)", file, c.NotBefore.UTC().Format(time.RFC3339))}
	}
	return nil
}

// loadCA reads --ca-cert and --ca-key.
func (e *env) loadCA(f *mintFlags) (*mint.Cert, error) {
	opts, err := f.pw.options(e)
	if err != nil {
		return nil, err
	}
	cs, _, err := readCertFile(f.caCert, opts)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(f.caKey)
	if err != nil {
		return nil, &exitError{code: exitCAFile, err: err}
	}
	key, err := certs.ParsePrivateKey(f.caKey, data, opts)
	if err != nil {
		return nil, &exitError{code: exitCAFile, err: err, hints: hintsFor(err)}
	}
	if !cs[0].IsCA {
		return nil, &exitError{code: exitCAFile, err: fmt.Errorf("%s: %s is not a CA certificate", f.caCert, cs[0].Subject)}
	}
	return &mint.Cert{Cert: cs[0], Key: key, DER: cs[0].Raw}, nil
}

// userAtHost returns "user@host" for the CA's name, as mkcert does, so
// that a browser's list of authorities says whose dev CA it is.
func userAtHost() string {
	host, _ := os.Hostname()
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return name + "@" + host
}
