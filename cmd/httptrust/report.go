package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
)

// firstUseView is the record a changed key contradicts.
type firstUseView struct {
	HostPort  string    `json:"host_port"`
	Pin       string    `json:"pin"`
	SHA256    string    `json:"sha256,omitempty"`
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
}

// viewVerify builds the envelope of a refused connection from ve: the
// library's reason, detail, rule, chain and remedy, the remedy's commands
// rendered for this run as the hints print them.
func (e *env) viewVerify(ve *httptrust.VerifyError) errorView {
	v := errorView{
		Host: ve.Host, Port: ve.Port, Reason: ve.Reason.Code(),
		Detail: ve.Detail, Rule: "no rule (defaults: system roots)", Names: ve.Names,
		Chain: ve.Chain, ExitCode: reasonExit(ve), Remedy: e.viewRemedy(ve.Remedy),
	}
	if ve.Rule != nil {
		v.Rule = ve.Rule.String()
		if ve.Rule.Rule != nil {
			v.RuleFile = ve.Rule.Rule.Where()
		}
	}
	for _, p := range ve.ExpectedPins {
		v.ExpectedPins = append(v.ExpectedPins, p.String())
	}
	for _, p := range ve.SeenPins {
		v.SeenPins = append(v.SeenPins, p.String())
	}
	if r := ve.FirstUse; r != nil {
		v.FirstUse = &firstUseView{HostPort: r.HostPort, Pin: r.Pin.String(), SHA256: r.CertSHA.String(),
			FirstSeen: r.FirstSeen.UTC(), LastSeen: r.LastSeen.UTC()}
		v.Message = fmt.Sprintf("%s: %s: the server's key is not the one recorded on first use", verifyURL(v.Host, v.Port), ve.Reason)
	} else {
		where := ve.Host
		if ve.Port != "" || ve.Reason == httptrust.ReasonDowngrade {
			where = ve.URL()
		}
		v.Message = fmt.Sprintf("%s: %s", where, ve.Reason)
		if ve.Detail != "" {
			v.Message += ": " + ve.Detail
		}
	}
	v.Hints = v.Remedy.hints()
	return v
}

// verifyURL is the https:// URL of host and port.
func verifyURL(host, port string) string {
	if port == "" {
		return "https://" + host + "/"
	}
	return (&httptrust.VerifyError{Host: host, Port: port}).URL()
}

// printVerify prints a refused connection as text: the reason in words,
// the rule, the chain with fingerprints and pins (or, for a key changed
// since first use, ssh's banner). The hints follow, from the same view.
func (e *env) printVerify(v errorView) {
	if v.FirstUse != nil {
		e.printKeyChange(v)
		return
	}
	e.errorLine(v.Message)
	printf(e.stderr, "  rule: %s\n", v.Rule)
	if len(v.Chain) > 0 {
		printf(e.stderr, "  chain presented by the server:\n")
		printChain(e.stderr, "   ", v.Chain)
	}
	if len(v.ExpectedPins) > 0 {
		printf(e.stderr, "  pins expected: %s\n", strings.Join(v.ExpectedPins, " "))
		printf(e.stderr, "  pins of the verified chain: %s\n", strings.Join(v.SeenPins, " "))
	}
}

// printKeyChange prints a key that changed since first use as ssh does: a
// banner, the recorded and the presented key. The remedy follows: the
// deliberate way to accept a new key, never prefilled from this
// connection, never --yes.
func (e *env) printKeyChange(v errorView) {
	rec := v.FirstUse
	e.errorLine(v.Message)
	w := e.stderr
	bar := strings.Repeat("@", 62)
	printf(w, "  %s\n  @  WARNING: THE KEY OF %s HAS CHANGED\n  %s\n", bar, rec.HostPort, bar)
	printf(w, "  Someone could be intercepting this connection (a man in the middle),\n  or the server's key was replaced. Nothing was sent to the server.\n")
	printf(w, "  recorded on first use")
	if !rec.FirstSeen.IsZero() {
		printf(w, " (first seen %s, last seen %s)", rec.FirstSeen.Format(time.RFC3339), rec.LastSeen.Format(time.RFC3339))
	}
	printf(w, ":\n    pin     %s\n", rec.Pin)
	if rec.SHA256 != "" {
		printf(w, "    sha256  %s\n", rec.SHA256)
	}
	if len(v.Chain) > 0 {
		now := v.Chain[0]
		printf(w, "  presented now:\n    pin     %s\n    sha256  %s\n    subject %s\n", now.Pin, now.SHA256, now.Subject)
	}
	printf(w, "  rule: %s\n", v.Rule)
}
