package consent

import (
	"fmt"
	"testing"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
)

// trustKinds are what a host may trust today.
func trustKinds() map[string]*httptrust.Effective {
	rule := &httptrust.Rule{Hosts: []string{"dev.test"}, File: "dev.toml", Line: 1}
	all := &httptrust.Rule{AllHosts: true, File: "corp.toml", Line: 1}
	yes := true
	return map[string]*httptrust.Effective{
		"nothing (defaults)": {},
		"system roots only":  {Rule: &httptrust.Rule{Hosts: []string{"dev.test"}, SystemRoots: &yes}, SystemRoots: true},
		"all_hosts anchor":   {Rule: all, Anchors: []httptrust.CertRef{{File: "corp.pem", Rule: all}}},
		"anchors":            {Rule: rule, Anchors: []httptrust.CertRef{{File: "ca.pem", Rule: rule}}},
		"exact certificate":  {Rule: rule, Certificates: []httptrust.CertRef{{File: "dev.pem", Rule: rule}}},
		"pins":               {Rule: rule, SystemRoots: true, Pins: &httptrust.PinSet{Pins: []certs.Pin{{1}, {2}}, Enforce: true, Rule: rule}},
		"first use":          {Rule: rule, TOFU: true},
		"empty anchors":      {Rule: rule},
	}
}

// trustsSomething is the spec: a host trusts something when a rule of its
// own (not the defaults, not all_hosts) names anchors, exact
// certificates, pins or first use.
var trustsSomething = map[string]bool{
	"anchors": true, "exact certificate": true, "pins": true, "first use": true,
}

type flags struct {
	name                                       string
	fp                                         string // "", "right" or "wrong"
	yes, interactive, widening, exact, relaxed bool
}

func allFlags() []flags {
	var out []flags
	for _, fp := range []string{"", "right", "wrong"} {
		for _, yes := range []bool{false, true} {
			for _, inter := range []bool{false, true} {
				for _, widen := range []bool{false, true} {
					for _, exact := range []bool{false, true} {
						for _, relaxed := range []bool{false, true} {
							out = append(out, flags{fmt.Sprintf("fp=%q yes=%v prompt=%v widen=%v exact=%v relaxed=%v", fp, yes, inter, widen, exact, relaxed),
								fp, yes, inter, widen, exact, relaxed})
						}
					}
				}
			}
		}
	}
	return out
}

// ownDates are the refusals of an exactly trusted certificate that are
// about the certificate itself: allowing them replaces no trust.
var ownDates = map[httptrust.Reason]bool{
	httptrust.ReasonNameMismatch: true, httptrust.ReasonExpired: true, httptrust.ReasonNotYetValid: true,
}

// want is the consent rule, stated on its own.
func want(kind string, reason httptrust.Reason, f flags) Outcome {
	switch {
	case f.fp == "wrong":
		return WrongFingerprint
	case f.widening && f.relaxed:
		return ExactHostOnly // no consent can write an allowance for a pattern
	case f.fp == "right":
		return ByFingerprint
	}
	refused := reason != httptrust.ReasonUnknown
	if trustsSomething[kind] && refused && !(f.exact && ownDates[reason]) {
		return NeedFingerprint // never --yes, never the prompt
	}
	switch {
	case f.widening:
		return NeedFingerprintToWiden
	case f.yes:
		return ByYes
	case f.interactive:
		return Ask
	}
	return NoConsent
}

// TestDecide runs every current trust × reason × flag combination.
func TestDecide(t *testing.T) {
	pki := testpki.New(t)
	leaf := pki.SelfSigned(t, "dev.test").Cert
	right := certs.CertFingerprint(leaf)
	wrong := certs.CertFingerprint(pki.Root.Cert)
	reasons := append([]httptrust.Reason{httptrust.ReasonUnknown}, httptrust.Reasons()...) // Unknown: trusted today
	n := 0
	for kind, eff := range trustKinds() {
		for _, reason := range reasons {
			for _, f := range allFlags() {
				v := &httptrust.Verdict{Effective: eff, Exact: f.exact}
				if reason != httptrust.ReasonUnknown {
					v.Err = &httptrust.VerifyError{Host: "dev.test", Reason: reason, Rule: eff}
				}
				in := Input{Verdict: v, Write: leaf, Yes: f.yes, Interactive: f.interactive, Widening: f.widening, Relaxed: f.relaxed}
				switch f.fp {
				case "right":
					in.Fingerprint = &right
				case "wrong":
					in.Fingerprint = &wrong
				}
				got := Decide(in)
				if w := want(kind, reason, f); got != w {
					t.Errorf("%s, %v, %s: %v, want %v", kind, reason, f.name, got, w)
				}
				if got.Granted() && got != ByFingerprint && trustsSomething[kind] && v.Err != nil && !(f.exact && ownDates[reason]) {
					t.Errorf("%s, %v, %s: consent without a fingerprint replaces trust", kind, reason, f.name)
				}
				n++
			}
		}
	}
	t.Logf("%d combinations", n)
}

// The cases the security review found, by name.
func TestDecideReviewCases(t *testing.T) {
	pki := testpki.New(t)
	leaf := pki.Leaf(t, "attacker.test").Cert
	kinds := trustKinds()
	for _, tt := range []struct {
		name   string
		eff    *httptrust.Effective
		reason httptrust.Reason
		exact  bool
		in     Input
		want   Outcome
	}{
		{"anchor, name mismatch, --yes", kinds["anchors"], httptrust.ReasonNameMismatch, false, Input{Yes: true}, NeedFingerprint},
		{"anchor, name mismatch, two yes at the prompt", kinds["anchors"], httptrust.ReasonNameMismatch, false, Input{Interactive: true}, NeedFingerprint},
		{"anchor, long-expired leaf of the CA, --yes", kinds["anchors"], httptrust.ReasonExpired, false, Input{Yes: true}, NeedFingerprint},
		{"exact certificate, itself expired, --yes", kinds["exact certificate"], httptrust.ReasonExpired, true, Input{Yes: true}, ByYes},
		{"exact certificate changed, --yes", kinds["exact certificate"], httptrust.ReasonCertificateChanged, false, Input{Yes: true}, NeedFingerprint},
		{"pins, mismatch, prompt", kinds["pins"], httptrust.ReasonPinMismatch, false, Input{Interactive: true}, NeedFingerprint},
		{"exact certificate with pins, mismatch, --yes", kinds["exact certificate"], httptrust.ReasonPinMismatch, true, Input{Yes: true}, NeedFingerprint},
		{"first-use key changed, --yes", kinds["first use"], httptrust.ReasonCertificateChanged, false, Input{Yes: true}, NeedFingerprint},
		{"new self-signed device, --yes", kinds["nothing (defaults)"], httptrust.ReasonSelfSigned, false, Input{Yes: true}, ByYes},
		{"under an inspection root, --yes", kinds["all_hosts anchor"], httptrust.ReasonSelfSigned, false, Input{Yes: true}, ByYes},
		{"widening, --yes, no terminal", kinds["nothing (defaults)"], httptrust.ReasonUnknownAuthority, false, Input{Yes: true, Widening: true}, NeedFingerprintToWiden},
		{"widening, a yes at the prompt", kinds["nothing (defaults)"], httptrust.ReasonSelfSigned, false, Input{Interactive: true, Widening: true}, NeedFingerprintToWiden},
		{"widening a name mismatch, no consent yet", kinds["nothing (defaults)"], httptrust.ReasonNameMismatch, false, Input{Widening: true, Relaxed: true}, ExactHostOnly},
		{"widening an expired certificate, a host that trusts a CA", kinds["anchors"], httptrust.ReasonExpired, false, Input{Widening: true, Relaxed: true}, ExactHostOnly},
		{"an allowance for the URL's host, with --yes", kinds["nothing (defaults)"], httptrust.ReasonNameMismatch, false, Input{Yes: true, Relaxed: true}, ByYes},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Write = leaf
			in.Verdict = &httptrust.Verdict{Effective: tt.eff, Exact: tt.exact,
				Err: &httptrust.VerifyError{Host: "dev.test", Reason: tt.reason, Rule: tt.eff}}
			if got := Decide(in); got != tt.want {
				t.Errorf("Decide = %v, want %v", got, tt.want)
			}
		})
	}
}
