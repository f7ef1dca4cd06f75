package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/probe"
	"github.com/httptrust/httptrust/store"
)

// fetchFirstUse handles fetch for a host whose rule says tofu = true, or
// fetch --tofu (writeRule): the trust is the first-use record of the
// leaf's key in the store's known_hosts. A new host is recorded with
// consent (--fingerprint of the leaf, --yes, or the prompt); with
// writeRule a managed rule with tofu = true is written for the host too.
// A host recorded with another key is never replaced here: forget it first.
func (r *fetchRun) fetchFirstUse(ctx context.Context, st *store.Store, res *probe.Result, port string, eff *httptrust.Effective, writeRule bool) error {
	e := r.e
	leaf := res.Chain[0]
	hostPort := net.JoinHostPort(r.host, port)
	old, ok, err := st.KnownHosts().Lookup(hostPort)
	if err != nil {
		return &exitError{code: exitCAFile, err: err}
	}
	pin := certs.SPKIPin(leaf)
	switch {
	case ok && old.Pin == pin && !writeRule:
		r.view.Status = "already_trusted"
		return r.report(fmt.Sprintf("%s is already trusted: its key was recorded on first use (%s)", hostPort, old.FirstSeen.UTC().Format(time.RFC3339)))
	case ok && old.Pin != pin:
		return failf([]string{fmt.Sprintf("if the change is expected, forget the old key and accept the new one with a fingerprint obtained out of band: httptrust trust forget %s, then httptrust fetch%s --fingerprint <SHA-256 obtained out of band> %s",
			hostPort, r.flags(), r.u.Redacted())}, "%s: its key changed since first use (recorded %s, now %s); nothing written", hostPort, old.Pin, pin)
	}
	why := "the rule for this host trusts on first use: record the key of this certificate"
	if writeRule {
		why = "trust this host on first use (--tofu): record the key of this certificate, and refuse a different key later"
	}
	pl := &plan{Kind: store.Certificate, Cert: leaf, Why: why}
	r.view.Plan = pl.view()
	r.view.Plan.Kind = "first_use"
	if !e.json {
		r.printState(e.stdout)
	}
	if err := r.consent(pl, r.view.Trust, eff); err != nil {
		return err
	}
	if err := r.recordKey(st, leaf, hostPort); err != nil {
		return err
	}
	msg := fmt.Sprintf("recorded the key %s of %s for %s in %s", pin, leaf.Subject, hostPort, store.KnownHostsFile)
	if writeRule {
		added, err := st.Add(ctx, store.Trust{Pattern: r.host, TOFU: true})
		if err != nil {
			return storeError(err)
		}
		r.view.Written = append(r.view.Written, viewAdded(added))
		msg += fmt.Sprintf("\ntrusted %s on first use (tofu = true): %s", added.Pattern, added.RuleFile)
	}
	r.view.Status = "recorded"
	return r.report(msg)
}

// recordKey records leaf's key for hostPort, unless another process
// recorded a different key first.
func (r *fetchRun) recordKey(st *store.Store, leaf *x509.Certificate, hostPort string) error {
	now := r.e.now()
	pin := certs.SPKIPin(leaf)
	rec := httptrust.TOFURecord{HostPort: hostPort, Pin: pin, CertSHA: certs.CertFingerprint(leaf), FirstSeen: now, LastSeen: now, NotAfter: leaf.NotAfter}
	stored, err := st.KnownHosts().Record(rec)
	if err != nil {
		return &exitError{code: exitFail, err: err}
	}
	if stored.Pin != pin {
		return failf(nil, "%s: another process recorded a different key first (%s); nothing written", hostPort, stored.Pin)
	}
	return nil
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
