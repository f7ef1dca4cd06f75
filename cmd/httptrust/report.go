package main

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/httptrust/httptrust"
)

// verifyView is a refused connection as --json prints it: the fields of
// *httptrust.VerifyError.
type verifyView struct {
	Host         string     `json:"host"`
	Port         string     `json:"port,omitempty"`
	Reason       string     `json:"reason"`
	ReasonText   string     `json:"reason_text"`
	Detail       string     `json:"detail,omitempty"`
	Rule         string     `json:"rule"`
	RuleFile     string     `json:"rule_file,omitempty"`
	Names        []string   `json:"names,omitempty"`
	Chain        []certView `json:"chain"`
	ExpectedPins []string   `json:"expected_pins,omitempty"`
	SeenPins     []string   `json:"seen_pins,omitempty"`
	Fix          string     `json:"fix,omitempty"`
	ExitCode     int        `json:"exit_code"`
}

// viewVerify builds the view of ve; fix is the hint as the CLI prints it.
func (e *env) viewVerify(ve *httptrust.VerifyError, fix string) verifyView {
	v := verifyView{
		Host: ve.Host, Port: ve.Port, Reason: ve.Reason.Code(), ReasonText: ve.Reason.String(),
		Detail: ve.Detail, Rule: "no rule (defaults: system roots)", Names: ve.Names,
		Fix: fix, ExitCode: reasonExit(ve), Chain: []certView{},
	}
	if ve.Rule != nil {
		v.Rule = ve.Rule.String()
		if ve.Rule.Rule != nil {
			v.RuleFile = ve.Rule.Rule.Where()
		}
	}
	var chain []*x509.Certificate
	for _, c := range ve.Chain {
		if c.Certificate != nil {
			chain = append(chain, c.Certificate)
		}
	}
	v.Chain = viewChain(chain, e.now())
	for _, p := range ve.ExpectedPins {
		v.ExpectedPins = append(v.ExpectedPins, p.String())
	}
	for _, p := range ve.SeenPins {
		v.SeenPins = append(v.SeenPins, p.String())
	}
	return v
}

// hintContext adjusts the library's fix for how this command was run.
type hintContext struct {
	// flags are inserted after "httptrust fetch" and "httptrust get" in a
	// fix, so that the command shown works as typed (--resolve, --store).
	flags []string
	// cliPins says the pins came from --pin on the command line.
	cliPins bool
}

// fixText returns the hint for ve. After a pin mismatch or a changed
// certificate it never offers --yes and never a fingerprint from the
// connection (the library's fix already says so).
func fixText(ve *httptrust.VerifyError, hc hintContext) string {
	fix := ve.Fix
	if ve.Reason == httptrust.ReasonPinMismatch && hc.cliPins {
		fix = "the server's key matches none of the --pin values given; if its key was rotated on purpose, get the new pin from its operator (out of band, not from this connection); until then, do not trust this connection"
	}
	if len(hc.flags) > 0 {
		extra := " " + strings.Join(hc.flags, " ")
		fix = strings.ReplaceAll(fix, "httptrust fetch ", "httptrust fetch"+extra+" ")
		fix = strings.ReplaceAll(fix, "httptrust get ", "httptrust get"+extra+" ")
	}
	return fix
}

// reportVerify prints a refused connection: the reason in words, the
// rule, the chain with fingerprints and pins, and the fix.
func (e *env) reportVerify(ve *httptrust.VerifyError) int {
	fix := fixText(ve, e.hintCtx)
	v := e.viewVerify(ve, fix)
	if e.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(struct {
			Error verifyView `json:"error"`
		}{v})
	}
	where := ve.Host
	if ve.Port != "" {
		where = ve.URL()
	}
	msg := fmt.Sprintf("%s: %s", where, ve.Reason)
	if ve.Detail != "" {
		msg += ": " + ve.Detail
	}
	e.errorLine(msg)
	fmt.Fprintf(e.stderr, "  rule: %s\n", v.Rule)
	if len(v.Chain) > 0 {
		fmt.Fprintf(e.stderr, "  chain presented by the server:\n")
		printChain(e.stderr, "   ", v.Chain)
	}
	if len(v.ExpectedPins) > 0 {
		fmt.Fprintf(e.stderr, "  pins expected: %s\n", strings.Join(v.ExpectedPins, " "))
		fmt.Fprintf(e.stderr, "  pins of the verified chain: %s\n", strings.Join(v.SeenPins, " "))
	}
	if fix != "" {
		e.hint(fix)
	}
	return v.ExitCode
}
