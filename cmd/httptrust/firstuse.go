package main

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/store"
)

// announceTOFU is the store's first-use records, saying on stderr what a
// request recorded: a first contact (accept-new, as ssh's
// StrictHostKeyChecking=accept-new) and a certificate renewed with the
// same key. A key seen again passes silently.
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
	switch {
	case !had:
		fmt.Fprintf(a.e.stderr, "httptrust: first contact with %s: trusting its key from now on (trust on first use), recorded in %s\n", rec.HostPort, store.KnownHostsFile)
		fmt.Fprintf(a.e.stderr, "  sha256 %s\n  pin    %s\n", rec.CertSHA, rec.Pin)
		fmt.Fprintf(a.e.stderr, "httptrust: hint: a different key for %s will be refused; compare the SHA-256 above with the one the server's owner shows you\n", rec.HostPort)
	case old.CertSHA != rec.CertSHA:
		fmt.Fprintf(a.e.stderr, "httptrust: %s presents a renewed certificate with the key recorded on first use (%s): recorded\n  sha256 %s (was %s)\n",
			rec.HostPort, old.FirstSeen.UTC().Format(time.DateOnly), rec.CertSHA, old.CertSHA)
	}
	return stored, nil
}

// withTOFU returns p with the host's exact rule replaced by one that trusts
// on first use (get --tofu): the new rule keeps what the store's rule for
// the host said and inherits the rest from wider rules, but the host is
// judged by the continuity of its key.
func withTOFU(storeDir string, p *httptrust.Policy, host string, opts httptrust.Options) (*httptrust.Policy, error) {
	return withHostRule(storeDir, p, host, opts, func(r *httptrust.Rule) error {
		yes := true
		r.TOFU = &yes
		return nil
	})
}

// firstUseView is the record a changed key contradicts, as --json prints it.
type firstUseView struct {
	HostPort  string    `json:"host_port"`
	Pin       string    `json:"pin"`
	SHA256    string    `json:"sha256,omitempty"`
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
}

// isKeyChange reports whether ve is a key that changed since first use.
func isKeyChange(ve *httptrust.VerifyError) bool {
	return ve.Reason == httptrust.ReasonCertificateChanged && ve.Rule != nil && ve.Rule.TOFU && len(ve.ExpectedPins) > 0
}

// recordOf returns the first-use record ve contradicts, from the store's
// known_hosts; failing that, what ve carries.
func (e *env) recordOf(ve *httptrust.VerifyError) firstUseView {
	port := ve.Port
	if port == "" {
		port = "443"
	}
	hp := net.JoinHostPort(ve.Host, port)
	v := firstUseView{HostPort: hp, Pin: ve.ExpectedPins[0].String()}
	if st, err := e.store(); err == nil {
		if rec, ok, err := st.KnownHosts().Lookup(hp); err == nil && ok && rec.Pin == ve.ExpectedPins[0] {
			v.SHA256, v.FirstSeen, v.LastSeen = rec.CertSHA.String(), rec.FirstSeen.UTC(), rec.LastSeen.UTC()
		}
	}
	return v
}

// reportKeyChange prints a key that changed since first use as ssh does:
// a banner, the recorded and the presented key, and the deliberate way to
// accept a new one (never prefilled from this connection, never --yes).
func (e *env) reportKeyChange(ve *httptrust.VerifyError) int {
	rec := e.recordOf(ve)
	hints := keyChangeHints(rec.HostPort, ve.URL(), e.hintCtx)
	v := e.viewVerify(ve, strings.Join(hints, " "))
	if e.json {
		writeJSON(e.stdout, struct {
			Error    verifyView   `json:"error"`
			FirstUse firstUseView `json:"first_use"`
		}{v, rec})
	}
	e.errorLine(fmt.Sprintf("%s: %s: the server's key is not the one recorded on first use", ve.URL(), ve.Reason))
	w := e.stderr
	bar := strings.Repeat("@", 62)
	fmt.Fprintf(w, "  %s\n  @  WARNING: THE KEY OF %s HAS CHANGED\n  %s\n", bar, rec.HostPort, bar)
	fmt.Fprintf(w, "  Someone could be intercepting this connection (a man in the middle),\n  or the server's key was replaced. Nothing was sent to the server.\n")
	fmt.Fprintf(w, "  recorded on first use")
	if !rec.FirstSeen.IsZero() {
		fmt.Fprintf(w, " (first seen %s, last seen %s)", rec.FirstSeen.Format(time.RFC3339), rec.LastSeen.Format(time.RFC3339))
	}
	fmt.Fprintf(w, ":\n    pin     %s\n", rec.Pin)
	if rec.SHA256 != "" {
		fmt.Fprintf(w, "    sha256  %s\n", rec.SHA256)
	}
	if len(v.Chain) > 0 {
		now := v.Chain[0]
		fmt.Fprintf(w, "  presented now:\n    pin     %s\n    sha256  %s\n    subject %s\n", now.Pin, now.SHA256, now.Subject)
	}
	fmt.Fprintf(w, "  rule: %s\n", v.Rule)
	for _, h := range hints {
		e.hint(h)
	}
	return v.ExitCode
}

// keyChangeHints are the commands that accept a new key deliberately.
func keyChangeHints(hostPort, u string, hc hintContext) []string {
	var storeFlag string
	for _, f := range hc.flags {
		if strings.HasPrefix(f, "--store ") {
			storeFlag = " " + f
		}
	}
	fetch := "httptrust fetch"
	if len(hc.flags) > 0 {
		fetch += " " + strings.Join(hc.flags, " ")
	}
	return []string{
		"if the change is expected, get the new certificate's SHA-256 out of band (from the device or its operator, not from this connection), then:",
		"  httptrust trust forget" + storeFlag + " " + hostPort,
		"  " + fetch + " --fingerprint <SHA-256 obtained out of band> " + u,
	}
}
