package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/store"
)

const trustAddExamples = `  httptrust trust add corp-root.pem --host '**.corp.example'      a CA: anchor for that domain only
  httptrust trust add printer.cer --host 192.168.1.20 --allow-name-mismatch
  httptrust trust add api.pem --host api.example.com --pin        pin its key; public CAs still vouch
  httptrust trust list
  httptrust trust remove 192.168.1.20`

func (e *env) trustCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "Add, list and remove trusted certificates in the store",
		Long: `Manage the trust store: a folder of certificate files and rule files. httptrust
writes its own rule files (one per host pattern, in the store's managed
folder) and never rewrites a file a person wrote.`,
		Example: trustAddExamples,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown trust command %q; use add, list, remove or forget", args[0])
			}
			return usagef("trust needs a command: add, list, remove or forget")
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	cmd.AddCommand(e.trustAddCmd(), e.trustListCmd(), e.trustRemoveCmd(), e.trustForgetCmd())
	return cmd
}

type trustAddFlags struct {
	hosts                   []string
	anchor, certificate     bool
	pins                    []string
	allowName, allowExpired bool
	serverName              string
	pw                      passwordFlags
}

// pinFromFile is --pin given without a value: pin the file's certificates.
const pinFromFile = "file"

func (e *env) trustAddCmd() *cobra.Command {
	f := &trustAddFlags{}
	cmd := &cobra.Command{
		Use:   "add FILE --host PATTERN... [--anchor | --certificate] [--pin]",
		Short: "Trust the certificates of FILE for the given hosts only",
		Long: `Trust the certificates in FILE (PEM, DER, PKCS#7, PKCS#12) for the --host
patterns only. By default a certificate with CA:TRUE and the keyCertSign
usage becomes an anchor (it may issue for those hosts); anything else —
including the usual openssl req -x509 certificate, CA:TRUE without key usage
— an exact certificate. --pin (no value) trusts the certificates' keys as
pins instead, keeping the system roots; --pin=PIN adds a pin.`,
		Example: trustAddExamples,
		Args:    exactArgs(1, "trust add needs one FILE"),
		RunE:    func(cmd *cobra.Command, args []string) error { return e.trustAdd(cmd, f, args[0]) },
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.hosts, "host", nil, "trust for `PATTERN` (repeatable; exact host, IP, *.domain, **.domain, CIDR)")
	fl.BoolVar(&f.anchor, "anchor", false, "trust as a CA that may issue for these hosts")
	fl.BoolVar(&f.certificate, "certificate", false, "trust exactly these certificates")
	fl.StringArrayVar(&f.pins, "pin", nil, "pin the file's keys (no value), or add `PIN` (--pin=sha256/...)")
	fl.Lookup("pin").NoOptDefVal = pinFromFile
	fl.BoolVar(&f.allowName, "allow-name-mismatch", false, "an exact certificate that does not name the host (exact host only)")
	fl.BoolVar(&f.allowExpired, "allow-expired", false, "an exact certificate outside its validity period (exact host only)")
	fl.StringVar(&f.serverName, "server-name", "", "verify the certificate as `NAME` (exact host only)")
	f.pw.register(fl)
	return cmd
}

func (e *env) trustAdd(cmd *cobra.Command, f *trustAddFlags, file string) error {
	if len(f.hosts) == 0 {
		return usagef("trust add needs --host PATTERN: a certificate is trusted only for the hosts you name")
	}
	if f.anchor && f.certificate {
		return usagef("--anchor and --certificate exclude each other")
	}
	for _, h := range f.hosts {
		if _, err := httptrust.ParsePattern(h); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("--host: %w", err)}
		}
	}
	opts, err := f.pw.options(e)
	if err != nil {
		return err
	}
	cs, _, err := readCertFile(file, opts)
	if err != nil {
		return err
	}
	t, err := f.trust(cs)
	if err != nil {
		return err
	}
	st, err := e.store()
	if err != nil {
		return err
	}
	var added []writtenView
	for _, h := range f.hosts {
		t.Pattern = h
		a, err := st.Add(cmd.Context(), t)
		if err != nil {
			var pe *httptrust.RuleError
			if errors.As(err, &pe) {
				return &exitError{code: exitUsage, err: err}
			}
			return storeError(err)
		}
		added = append(added, viewAdded(a))
	}
	if e.json {
		return writeJSON(e.stdout, added)
	}
	for _, a := range added {
		printf(e.stdout, "trusted %s for %s: %s\n", describeTrust(t), a.Pattern, a.RuleFile)
	}
	return nil
}

// trust builds what to write from the file's certificates and the flags.
func (f *trustAddFlags) trust(cs []*x509.Certificate) (store.Trust, error) {
	t := store.Trust{AllowNameMismatch: f.allowName, AllowExpired: f.allowExpired, ServerName: f.serverName}
	pinOnly := len(f.pins) > 0 && !f.anchor && !f.certificate
	for _, p := range f.pins {
		if p == pinFromFile {
			for _, c := range cs {
				t.Pins = append(t.Pins, certs.SPKIPin(c).String())
			}
			continue
		}
		if _, err := certs.ParsePins(p); err != nil {
			return t, &exitError{code: exitUsage, err: fmt.Errorf("--pin: %w", err)}
		}
		t.Pins = append(t.Pins, p)
	}
	if pinOnly {
		return t, nil
	}
	t.Certs = cs
	isAuthority := cs[0].IsCA && cs[0].KeyUsage&x509.KeyUsageCertSign != 0
	if f.anchor || (!f.certificate && isAuthority) {
		t.Kind = store.Anchor
		for _, c := range cs {
			if !c.IsCA {
				return t, failf([]string{"trust it exactly instead: --certificate"},
					"%s is not a CA certificate (no CA:TRUE) and cannot be an anchor", c.Subject)
			}
		}
	}
	return t, nil
}

// describeTrust says what a Trust trusts, in a few words.
func describeTrust(t store.Trust) string {
	var parts []string
	for _, c := range t.Certs {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", t.Kind, certs.CertFingerprint(c), c.Subject))
	}
	if len(t.Pins) > 0 {
		parts = append(parts, "pins "+strings.Join(t.Pins, " "))
	}
	return strings.Join(parts, ", ")
}

func (e *env) trustListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the store's rules: hosts, kind, subject, expiry, file",
		Example: "  httptrust trust list\n  httptrust trust list --json",
		Args:    exactArgs(0, "trust list takes no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			entries, err := st.List()
			if err != nil {
				return &exitError{code: exitCAFile, err: err}
			}
			recs, err := st.KnownHosts().List()
			if err != nil {
				return &exitError{code: exitCAFile, err: err}
			}
			for _, r := range recs {
				entries = append(entries, store.Entry{Hosts: []string{r.HostPort}, Kind: "first_use", File: store.KnownHostsFileFor(r.HostPort),
					RuleFile: store.KnownHostsFileFor(r.HostPort), Managed: true, NotAfter: r.NotAfter.UTC().Format(time.RFC3339), SHA256: r.CertSHA.String()})
			}
			if e.json {
				if entries == nil {
					entries = []store.Entry{}
				}
				return writeJSON(e.stdout, entries)
			}
			if len(entries) == 0 {
				fmt.Fprintf(e.stderr, "httptrust: the store %s trusts nothing yet (every host gets the system roots)\n", st.Dir)
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "HOSTS\tKIND\tSUBJECT\tEXPIRES\tFILE")
			for _, en := range entries {
				subject, file := en.Subject, en.File
				if en.Error != "" {
					subject = "ERROR: " + en.Error
				}
				if file == "" {
					file = fmt.Sprintf("%s:%d", en.RuleFile, en.Line)
				}
				printf(tw, "%s\t%s\t%s\t%s\t%s\n", strings.Join(en.Hosts, ","), en.Kind, subject, en.NotAfter, file)
			}
			return tw.Flush()
		},
	}
}

func (e *env) trustRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "remove PATTERN",
		Short:   "Remove the store's own rule for PATTERN",
		Example: "  httptrust trust remove 192.168.1.20\n  httptrust trust remove '*.corp.example'",
		Args:    exactArgs(1, "trust remove needs one PATTERN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			err = st.Remove(cmd.Context(), args[0])
			switch {
			case errors.Is(err, store.ErrNotFound):
				return failf([]string{"httptrust trust list shows the patterns in the store"}, "%v", err)
			case err != nil:
				var pe *httptrust.RuleError
				if errors.As(err, &pe) {
					return &exitError{code: exitUsage, err: err}
				}
				return storeError(err)
			}
			fmt.Fprintf(e.stdout, "removed the rule for %s\n", args[0])
			return nil
		},
	}
}

func (e *env) trustForgetCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "forget HOST:PORT",
		Short:   "Forget the key recorded on first use for HOST:PORT (rules with tofu = true)",
		Example: "  httptrust trust forget 192.168.1.20:443",
		Args:    exactArgs(1, "trust forget needs one HOST:PORT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			if err := st.KnownHosts().Forget(args[0]); err != nil {
				return failf([]string{"the records are in " + store.KnownHostsDir + " in the store"}, "%v", err)
			}
			printf(e.stdout, "forgot the first-use record of %s\n", args[0])
			return nil
		},
	}
}
