package main

import (
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/probe"
	"github.com/httptrust/httptrust/store"
)

// fetchFirstUse handles fetch for a host whose rule says tofu = true: the
// trust is the first-use record of the leaf's key in the store's
// known_hosts, not a managed rule. A new host is recorded with consent
// (--fingerprint of the leaf, --yes, or the prompt); a host recorded with
// another key is never replaced here: forget it first.
func (r *fetchRun) fetchFirstUse(st *store.Store, res *probe.Result, port string) error {
	e := r.e
	leaf := res.Chain[0]
	hostPort := net.JoinHostPort(r.host, port)
	old, ok, err := st.KnownHosts().Lookup(hostPort)
	if err != nil {
		return &exitError{code: exitCAFile, err: err}
	}
	pin := certs.SPKIPin(leaf)
	switch {
	case ok && old.Pin == pin:
		r.view.Status = "already_trusted"
		return r.report(fmt.Sprintf("%s is already trusted: its key was recorded on first use (%s)", hostPort, old.FirstSeen.UTC().Format(time.RFC3339)))
	case ok:
		return failf([]string{fmt.Sprintf("if the change is expected, forget the old key and accept the new one with a fingerprint obtained out of band: httptrust trust forget %s, then httptrust fetch%s --fingerprint <SHA-256 obtained out of band> %s",
			hostPort, r.flags(), r.u.Redacted())}, "%s: its key changed since first use (recorded %s, now %s); nothing written", hostPort, old.Pin, pin)
	}
	pl := &plan{Kind: store.Certificate, Cert: leaf, Why: "the rule for this host trusts on first use: record the key of this certificate"}
	r.view.Plan = pl.view()
	r.view.Plan.Kind = "first_use"
	if !e.json {
		r.printState(e.stdout)
	}
	if err := r.consent(pl, r.view.Trust, nil); err != nil {
		return err
	}
	now := e.now()
	rec := httptrust.TOFURecord{HostPort: hostPort, Pin: pin, CertSHA: certs.CertFingerprint(leaf), FirstSeen: now, LastSeen: now, NotAfter: leaf.NotAfter}
	stored, err := st.KnownHosts().Record(rec)
	if err != nil {
		return &exitError{code: exitFail, err: err}
	}
	if stored.Pin != pin {
		return failf(nil, "%s: another process recorded a different key first (%s); nothing written", hostPort, stored.Pin)
	}
	r.view.Status = "recorded"
	return r.report(fmt.Sprintf("recorded the key %s of %s for %s in %s", pin, leaf.Subject, hostPort, store.KnownHostsFile))
}

// report prints the outcome, or the view as JSON.
func (r *fetchRun) report(msg string) error {
	if r.e.json {
		return writeJSON(r.e.stdout, r.view)
	}
	fmt.Fprintln(r.e.stdout, msg)
	return nil
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
				return failf([]string{"the records are in " + store.KnownHostsFile + " in the store"}, "%v", err)
			}
			fmt.Fprintf(e.stdout, "forgot the first-use record of %s\n", args[0])
			return nil
		},
	}
}
