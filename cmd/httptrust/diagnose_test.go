package main

import (
	"strings"
	"testing"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/diagnose"
)

func TestDiagnoseExit(t *testing.T) {
	steps := func(name, status string) []diagnose.Step {
		return []diagnose.Step{{Name: "url", Status: diagnose.OK}, {Name: name, Status: status}}
	}
	for _, tt := range []struct {
		name string
		rep  diagnose.Report
		want int
	}{
		{"healthy", diagnose.Report{Fix: diagnose.NothingToFix, Steps: steps("http", diagnose.Warn)}, 0},
		{"resolve", diagnose.Report{Fix: "x", Steps: steps("resolve", diagnose.Fail)}, exitResolve},
		{"connect", diagnose.Report{Fix: "x", Steps: steps("connect", diagnose.Fail)}, exitConnect},
		{"not tls", diagnose.Report{Fix: "x", Steps: steps("tls_versions", diagnose.Fail)}, exitHandshake},
		{"verify", diagnose.Report{Fix: "x", Steps: steps("verify_store", diagnose.Fail),
			Err: &httptrust.VerifyError{Reason: httptrust.ReasonIncompleteChain}}, exitVerify},
		{"pin", diagnose.Report{Fix: "x", Steps: steps("verify_store", diagnose.Fail),
			Err: &httptrust.VerifyError{Reason: httptrust.ReasonPinMismatch}}, exitPin},
		{"warning with a fix", diagnose.Report{Fix: "x", Steps: steps("http", diagnose.Warn)}, exitFail},
		{"other failure", diagnose.Report{Fix: "x", Steps: steps("client_certificate", diagnose.Fail)}, exitFail},
	} {
		if got := diagnoseExit(&tt.rep); got != tt.want {
			t.Errorf("%s: diagnoseExit = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestWithHintFlags(t *testing.T) {
	hc := hintContext{flags: []string{"--resolve a:1:127.0.0.1"}}
	got := withHintFlags("run httptrust get https://a:1/, or httptrust fetch https://a:1/", hc)
	want := "run httptrust get --resolve a:1:127.0.0.1 https://a:1/, or httptrust fetch --resolve a:1:127.0.0.1 https://a:1/"
	if got != want {
		t.Errorf("withHintFlags = %q, want %q", got, want)
	}
	if got := withHintFlags("nothing to fix", hintContext{}); got != "nothing to fix" {
		t.Errorf("withHintFlags without flags = %q", got)
	}
}

func TestDiagnosisColor(t *testing.T) {
	rep := &diagnose.Report{URL: "https://a.test/", Fix: diagnose.NothingToFix,
		Steps: []diagnose.Step{{Name: "connect", Status: diagnose.OK, Summary: "fine", Details: []string{"d"}}}}
	for _, tt := range []struct {
		term    bool
		noColor string
		want    bool
	}{{true, "", true}, {true, "1", false}, {false, "", false}} {
		e, out, _ := testEnv(t, "", tt.term)
		e.getenv = func(k string) string {
			if k == "NO_COLOR" {
				return tt.noColor
			}
			return ""
		}
		e.printDiagnosis(out, rep)
		if got := strings.Contains(out.String(), "\x1b[32mok  \x1b[0m"); got != tt.want {
			t.Errorf("terminal %v NO_COLOR %q: coloured %v, want %v: %q", tt.term, tt.noColor, got, tt.want, out)
		}
		if !strings.Contains(out.String(), "connect") || !strings.Contains(out.String(), "\n         d\n") || !strings.HasSuffix(out.String(), "nothing to fix\n") {
			t.Errorf("diagnosis printed as %q", out)
		}
	}
}
