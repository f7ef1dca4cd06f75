package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

// verifyView is a refused connection as --json prints it: the fields of
// *httptrust.VerifyError, with its remedy rendered for this run.
type verifyView struct {
	Host         string           `json:"host"`
	Port         string           `json:"port,omitempty"`
	Reason       httptrust.Reason `json:"reason"`
	ReasonText   string           `json:"reason_text"`
	Detail       string           `json:"detail,omitempty"`
	Rule         string           `json:"rule"`
	RuleFile     string           `json:"rule_file,omitempty"`
	Names        []string         `json:"names,omitempty"`
	Chain        []certs.Info     `json:"chain"`
	ExpectedPins []string         `json:"expected_pins,omitempty"`
	SeenPins     []string         `json:"seen_pins,omitempty"`
	FirstUse     *firstUseView    `json:"first_use,omitempty"`
	Remedy       *remedyView      `json:"remedy,omitempty"`
	Fix          string           `json:"fix,omitempty"`
	ExitCode     int              `json:"exit_code"`
}

// firstUseView is the record a changed key contradicts.
type firstUseView struct {
	HostPort  string    `json:"host_port"`
	Pin       string    `json:"pin"`
	SHA256    string    `json:"sha256,omitempty"`
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
}

// viewVerify builds the view of ve.
func (e *env) viewVerify(ve *httptrust.VerifyError) verifyView {
	v := verifyView{
		Host: ve.Host, Port: ve.Port, Reason: ve.Reason, ReasonText: ve.Reason.String(),
		Detail: ve.Detail, Rule: "no rule (defaults: system roots)", Names: ve.Names,
		Chain: ve.Chain, ExitCode: reasonExit(ve), Remedy: e.viewRemedy(ve.Remedy),
	}
	if v.Chain == nil {
		v.Chain = []certs.Info{}
	}
	v.Fix = v.Remedy.line()
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
	}
	return v
}

// reportVerify prints a refused connection: the reason in words, the
// rule, the chain with fingerprints and pins, and the remedy.
func (e *env) reportVerify(ve *httptrust.VerifyError) int {
	v := e.viewVerify(ve)
	if e.json {
		writeJSON(e.stdout, struct {
			Error verifyView `json:"error"`
		}{v})
	}
	if v.FirstUse != nil {
		e.printKeyChange(v)
	} else {
		where := ve.Host
		if ve.Port != "" || ve.Reason == httptrust.ReasonDowngrade {
			where = ve.URL()
		}
		msg := fmt.Sprintf("%s: %s", where, ve.Reason)
		if ve.Detail != "" {
			msg += ": " + ve.Detail
		}
		e.errorLine(msg)
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
	for _, h := range v.Remedy.hints() {
		e.hint(h)
	}
	return v.ExitCode
}

// printKeyChange prints a key that changed since first use as ssh does: a
// banner, the recorded and the presented key. The remedy follows: the
// deliberate way to accept a new key, never prefilled from this
// connection, never --yes.
func (e *env) printKeyChange(v verifyView) {
	rec := v.FirstUse
	u := "https://" + v.Host + "/"
	if v.Port != "" {
		u = (&httptrust.VerifyError{Host: v.Host, Port: v.Port}).URL()
	}
	e.errorLine(fmt.Sprintf("%s: %s: the server's key is not the one recorded on first use", u, v.ReasonText))
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
