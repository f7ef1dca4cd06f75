package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/store"
)

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

func (e *env) trustListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the store's rules: hosts and ports, what each trusts (certificates, pins), and every field it sets",
		Example: "  httptrust trust list\n  httptrust trust list --json",
		Args:    exactArgs(0, "trust list takes no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			entries, err := st.List()
			if err != nil {
				return &exitError{code: exitCAFile, reason: reasonStoreNotLoaded, err: err}
			}
			recs, err := st.KnownHosts().List()
			if err != nil {
				return &exitError{code: exitCAFile, reason: reasonStoreNotLoaded, err: err}
			}
			for _, r := range recs {
				entries = append(entries, store.Entry{Hosts: []string{r.HostPort}, Kind: "first_use", File: store.KnownHostsFileFor(r.HostPort),
					RuleFile: store.KnownHostsFileFor(r.HostPort), Managed: true, NotAfter: r.NotAfter.UTC().Format(time.RFC3339), SHA256: r.CertSHA.String(),
					Pins: []string{r.Pin.String()}})
			}
			if e.json {
				if entries == nil {
					entries = []store.Entry{}
				}
				return writeJSON(e.stdout, struct {
					Store   string        `json:"store"`
					Entries []store.Entry `json:"entries"`
				}{st.Dir, entries})
			}
			if len(entries) == 0 {
				printf(e.stderr, "httptrust: the store %s trusts nothing yet (every host gets the system roots)\n", st.Dir)
				return nil
			}
			return printEntries(e.stdout, entries)
		},
	}
}

// printEntries prints the store's entries as a table: one line per
// certificate, one for a rule's pins, one for its other fields.
func printEntries(w io.Writer, entries []store.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOSTS\tKIND\tSUBJECT / VALUE\tEXPIRES\tFILE")
	for _, en := range entries {
		what, file := en.Subject, en.File
		switch {
		case en.Error != "":
			what = "ERROR: " + en.Error
		case en.Kind == "pins" || en.Kind == "first_use" && what == "":
			what = strings.Join(en.Pins, " ")
			if en.Kind == "pins" && len(en.Pins) == 0 {
				what = "none (pins = [] lifts the pins of wider rules)"
			}
		case en.Kind == "settings":
			what = en.Text
		}
		if file == "" {
			file = fmt.Sprintf("%s:%d", en.RuleFile, en.Line)
		}
		// A subject (a certificate's author's text) is cut: a column
		// that runs past the terminal's edge could start a forged row.
		var shown any = what // pins (copied: whole) and settings
		if en.Error != "" || en.Subject != "" && what == en.Subject {
			shown = fit(what, 48)
		}
		printf(tw, "%s\t%s\t%s\t%s\t%s\n", strings.Join(en.Hosts, ","), en.Kind, shown, en.NotAfter, file)
	}
	return tw.Flush()
}

func (e *env) trustRemoveCmd() *cobra.Command {
	var certArgs []string
	cmd := &cobra.Command{
		Use:   "remove PATTERN [--cert FILE|SHA256]...",
		Short: "Remove the store's own rule for PATTERN, or one certificate from it",
		Long: `Remove the store's own rule for PATTERN, and the certificate files no rule
names any more. With --cert, take only that certificate (a file, or its
SHA-256 fingerprint) out of the rule's anchors, certificates and
intermediates; the rule goes when it trusts and sets nothing else. A rule in
a file a person wrote is never changed: edit that file.`,
		Example: "  httptrust trust remove 192.168.1.20\n  httptrust trust remove '*.corp.example'\n" +
			"  httptrust trust remove '**.corp.example' --cert old-root.pem\n  httptrust trust remove 192.168.1.20:5001 --cert 5E:3F:...:A1",
		Args: exactArgs(1, "trust remove needs one PATTERN"),
		RunE: func(cmd *cobra.Command, args []string) error { return e.trustRemove(cmd, args[0], certArgs) },
	}
	cmd.Flags().StringArrayVar(&certArgs, "cert", nil, "remove only this certificate: a `FILE` or its SHA-256 (repeatable)")
	return cmd
}

func (e *env) trustRemove(cmd *cobra.Command, pattern string, certArgs []string) error {
	if _, err := httptrust.ParsePattern(pattern); err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("trust remove: %s", strings.TrimPrefix(err.Error(), "httptrust: "))}
	}
	var fps []certs.Fingerprint
	for _, c := range certArgs {
		got, err := fingerprintsOf(c)
		if err != nil {
			return err
		}
		fps = append(fps, got...)
	}
	st, err := e.store()
	if err != nil {
		return err
	}
	var rm *store.Removed
	if fps == nil {
		rm, err = st.Remove(cmd.Context(), pattern)
	} else {
		rm, err = st.RemoveCerts(cmd.Context(), pattern, fps)
	}
	if err != nil {
		return e.storeError(st, err)
	}
	if e.json {
		return writeJSON(e.stdout, rm)
	}
	switch {
	case fps == nil:
		printf(e.stdout, "removed the rule for %s (it had %s): %s\n", rm.Pattern, orNothing(joinItems(rm.Removed)), rm.RuleFile)
	case rm.RuleGone:
		printf(e.stdout, "removed %s from the rule for %s, which had nothing else, and the rule with it: %s\n", joinItems(rm.Removed), rm.Pattern, rm.RuleFile)
	default:
		printf(e.stdout, "removed %s from the rule for %s: %s\n", joinItems(rm.Removed), rm.Pattern, rm.RuleFile)
		printf(e.stdout, "  the rule still has %s\n", joinItems(rm.Left))
	}
	return nil
}

// fingerprintsOf reads --cert: a certificate file, or a SHA-256
// fingerprint in any common form.
func fingerprintsOf(arg string) ([]certs.Fingerprint, error) {
	if _, err := os.Stat(arg); err != nil {
		if fp, ferr := certs.ParseFingerprint(arg); ferr == nil {
			return []certs.Fingerprint{fp}, nil
		}
	}
	cs, _, err := readCertFile(arg, nil)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) && errors.Is(err, os.ErrNotExist) {
			ee.hints = append(ee.hints, "--cert takes a certificate file or its SHA-256 fingerprint (64 hex digits)")
		}
		return nil, err
	}
	var fps []certs.Fingerprint
	for _, c := range cs {
		fps = append(fps, certs.CertFingerprint(c))
	}
	return fps, nil
}

func (e *env) trustForgetCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "forget HOST:PORT",
		Short:   "Forget the key recorded on first use for HOST:PORT (rules with tofu = true)",
		Example: "  httptrust trust forget 192.168.1.20:443\n  httptrust trust forget '[fd00::1]:8443'",
		Args:    exactArgs(1, "trust forget needs one HOST:PORT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			arg := args[0]
			host, _, perr := net.SplitHostPort(arg)
			if perr != nil {
				host = strings.TrimSuffix(strings.TrimPrefix(arg, "["), "]")
				e.note(fmt.Sprintf("%s without a port means %s (first-use records are per host and port)", arg, net.JoinHostPort(host, "443")))
			}
			if err := st.KnownHosts().Forget(arg); err != nil {
				return e.forgetError(st, host, err)
			}
			hp := arg
			if perr != nil {
				hp = net.JoinHostPort(host, "443")
			}
			if e.json {
				return writeJSON(e.stdout, struct {
					Forgot string `json:"forgot"`
				}{hp})
			}
			printf(e.stdout, "forgot the first-use record of %s\n", hp)
			return nil
		},
	}
}

// forgetError explains a record that is not there, listing the records
// of the host on other ports.
func (e *env) forgetError(st *store.Store, host string, err error) error {
	hints := []string{"the records are in " + store.KnownHostsDir + " in the store; " + e.commandLine(httptrust.Command{Name: "trust list"}) + " shows them"}
	if !errors.Is(err, store.ErrNotFound) {
		return failf(hints, "%w", err)
	}
	want, nerr := httptrust.NormalizeHost(host)
	recs, lerr := st.KnownHosts().List()
	if nerr != nil || lerr != nil {
		return failf(hints, "%w", err)
	}
	var other []string
	for _, r := range recs {
		if h, _, err := net.SplitHostPort(r.HostPort); err == nil && h == want {
			other = append(other, r.HostPort)
		}
	}
	if len(other) == 0 {
		return failf(hints, "%w", err)
	}
	hints = []string{fmt.Sprintf("%s has records for %s:", host, strings.Join(other, ", "))}
	for _, hp := range other {
		hints = append(hints, "  "+e.commandLine(httptrust.Command{Name: "trust forget", Args: []string{hp}}))
	}
	return failf(hints, "%w", err)
}
