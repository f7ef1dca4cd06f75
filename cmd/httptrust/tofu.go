package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/probe"
	"github.com/httptrust/httptrust/store"
)

// announceTOFU is the store's first-use records, saying on stderr what a
// request recorded: a first contact (accept-new, as ssh's
// StrictHostKeyChecking=accept-new) and a certificate renewed with the
// same key. A key seen again passes silently. Records are written only
// once a handshake has completed.
type announceTOFU struct {
	httptrust.TOFUStore
	e *env
}

// Record implements httptrust.TOFUStore.
func (a announceTOFU) Record(rec httptrust.TOFURecord) (httptrust.TOFURecord, error) {
	old, had, err := a.Lookup(rec.HostPort)
	if err != nil {
		return httptrust.TOFURecord{}, err
	}
	stored, err := a.TOFUStore.Record(rec)
	if err != nil || stored.Pin != rec.Pin {
		return stored, err
	}
	w := a.e.stderr
	switch {
	case !had:
		printf(w, "httptrust: first contact with %s: trusting its key from now on (trust on first use), recorded in %s\n", rec.HostPort, store.KnownHostsFileFor(rec.HostPort))
		printf(w, "  sha256 %s\n  pin    %s\n", rec.CertSHA, rec.Pin)
		a.e.hint(fmt.Sprintf("a different key for %s will be refused; compare the SHA-256 above with the one the server's owner shows you", rec.HostPort))
	case old.CertSHA != rec.CertSHA:
		printf(w, "httptrust: %s presents a renewed certificate with the key recorded on first use (%s): recorded\n  sha256 %s (was %s)\n",
			rec.HostPort, old.FirstSeen.UTC().Format(time.DateOnly), rec.CertSHA, old.CertSHA)
	}
	return stored, nil
}

// fetchFirstUse handles fetch for a host whose rule says tofu = true, or
// fetch --tofu (writeRule): the trust is the first-use record of the
// leaf's key in the store's known_hosts. A new host is recorded with
// consent (--fingerprint of the leaf, --yes, or the prompt); with
// writeRule a managed rule with tofu = true is written for the host too.
// A host recorded with another key is never replaced here: its remedy
// says how (forget it, then a fingerprint obtained out of band).
func (r *fetchRun) fetchFirstUse(ctx context.Context, st *store.Store, res *probe.Result, writeRule bool) error {
	e := r.e
	v := r.verdict
	leaf := res.Chain[0]
	hostPort := net.JoinHostPort(r.host, r.port)
	r.patterns = []string{hostPort}
	eff := v.Effective
	if v.Err != nil && v.Err.FirstUse != nil {
		return r.replaceKey(ctx, st, leaf, hostPort, v.Err)
	}
	if v.Trusted() && v.FirstUse == nil && eff.TOFU && (!writeRule || setByOwnRule(eff, "tofu", r.host) || setByOwnRule(eff, "tofu", hostPort)) {
		if err := r.checkGivenFingerprint(res.Chain); err != nil {
			return err
		}
		r.view.Status = "already_trusted"
		return r.report(fmt.Sprintf("%s is already trusted: its key was recorded on first use", hostPort))
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
	if err := r.consent(pl, v); err != nil {
		return err
	}
	// The rule is for the host and port whose key is recorded; added to
	// what that rule trusts already, it checks the key on top.
	yes := true
	rule := store.Trust{Pattern: hostPort, TOFU: &yes}
	if writeRule {
		// The rule must be writable before the key is recorded.
		if err := st.CanAdd(ctx, rule); err != nil {
			return e.storeError(st, err)
		}
	}
	if err := r.prove(ctx, leaf); err != nil {
		return err
	}
	if err := r.recordKey(st, leaf, hostPort); err != nil {
		return err
	}
	msg := fmt.Sprintf("recorded the key %s of %s for %s in %s", certs.SPKIPin(leaf), leaf.Subject, hostPort, store.KnownHostsFileFor(hostPort))
	if writeRule {
		added, err := st.Add(ctx, rule)
		if err != nil {
			return e.storeError(st, err)
		}
		r.view.Written = append(r.view.Written, viewAdded(added))
		msg += "\n" + strings.Join(addedLines(added), "\n")
	}
	r.view.Status = "recorded"
	return r.report(msg)
}

// replaceKey accepts a key that changed since first use only with
// --fingerprint, obtained out of band, of the certificate presented now,
// and only after the server proved it holds the key; the record is
// replaced in one write, so no first contact slips in between.
func (r *fetchRun) replaceKey(ctx context.Context, st *store.Store, leaf *x509.Certificate, hostPort string, ve *httptrust.VerifyError) error {
	if r.fp == nil || *r.fp != certs.CertFingerprint(leaf) {
		hints := r.e.viewRemedy(ve.Remedy).hints()
		if r.fp != nil {
			return &exitError{code: exitVerify, reason: reasonFingerprintMismatch, err: fmt.Errorf("%s: its key changed since first use, and the fingerprint given is not that of the certificate presented now; nothing written", hostPort), hints: hints}
		}
		return failf(hints, "%s: its key changed since first use (recorded %s, now %s); nothing written (--yes and the prompt cannot replace it)", hostPort, ve.FirstUse.Pin, certs.SPKIPin(leaf))
	}
	if err := r.prove(ctx, leaf); err != nil {
		return err
	}
	now := r.e.now()
	rec := httptrust.TOFURecord{HostPort: hostPort, Pin: certs.SPKIPin(leaf), CertSHA: certs.CertFingerprint(leaf), FirstSeen: now, LastSeen: now, NotAfter: leaf.NotAfter}
	if err := st.KnownHosts().Replace(rec); err != nil {
		return &exitError{code: exitFail, err: err}
	}
	r.view.Status = "recorded"
	return r.report(fmt.Sprintf("replaced the first-use record of %s: key %s (was %s), checked against the fingerprint given", hostPort, rec.Pin, ve.FirstUse.Pin))
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
	for _, line := range strings.Split(msg, "\n") {
		printf(r.e.stdout, "%s\n", line)
	}
	return nil
}

// setByOwnRule reports whether field is set by the rule whose pattern is
// host (a name, or host:port) exactly.
func setByOwnRule(eff *httptrust.Effective, field, host string) bool {
	src := eff.Source(field)
	return src != nil && src == eff.Rule && eff.Pattern == host
}
