package main

import (
	"strings"
	"testing"
	"time"

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
		{"healthy", diagnose.Report{Steps: steps("http", diagnose.Warn)}, 0},
		{"resolve", diagnose.Report{Remedy: &httptrust.Remedy{Action: httptrust.ActionCheckServer}, Steps: steps("resolve", diagnose.Fail)}, exitResolve},
		{"connect", diagnose.Report{Remedy: &httptrust.Remedy{Action: httptrust.ActionCheckServer}, Steps: steps("connect", diagnose.Fail)}, exitConnect},
		{"not tls", diagnose.Report{Remedy: &httptrust.Remedy{Action: httptrust.ActionCheckServer}, Steps: steps("tls_versions", diagnose.Fail)}, exitHandshake},
		{"verify", diagnose.Report{Remedy: &httptrust.Remedy{Action: httptrust.ActionCheckServer}, Steps: steps("verify_store", diagnose.Fail),
			Err: &httptrust.VerifyError{Reason: httptrust.ReasonIncompleteChain}}, exitVerify},
		{"pin", diagnose.Report{Remedy: &httptrust.Remedy{Action: httptrust.ActionCheckServer}, Steps: steps("verify_store", diagnose.Fail),
			Err: &httptrust.VerifyError{Reason: httptrust.ReasonPinMismatch}}, exitPin},
		{"warning with a fix", diagnose.Report{Remedy: &httptrust.Remedy{Action: httptrust.ActionCheckServer}, Steps: steps("http", diagnose.Warn)}, exitFail},
		{"other failure", diagnose.Report{Remedy: &httptrust.Remedy{Action: httptrust.ActionCheckServer}, Steps: steps("client_certificate", diagnose.Fail)}, exitFail},
	} {
		if got := diagnoseExit(&tt.rep); got != tt.want {
			t.Errorf("%s: diagnoseExit = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestCommandLineRepeatsFlags(t *testing.T) {
	e, _, _ := testEnv(t, "", false)
	e.hintCtx = hintContext{resolve: []string{"a:1:127.0.0.1"}, store: "/tmp/my store"}
	for _, tt := range []struct {
		cmd  httptrust.Command
		want string
	}{
		{httptrust.Command{Name: "get", Args: []string{"https://a:1/"}}, "httptrust get --resolve a:1:127.0.0.1 --store '/tmp/my store' https://a:1/"},
		{httptrust.Command{Name: "trust forget", Args: []string{"a:1"}}, "httptrust trust forget --store '/tmp/my store' a:1"},
		{httptrust.Command{Name: "trust add", Args: []string{"ca.pem", "--host", "*.corp.example"}}, "httptrust trust add --store '/tmp/my store' ca.pem --host '*.corp.example'"},
		{httptrust.Command{Name: "fetch", Args: []string{"--fingerprint", httptrust.PlaceholderFingerprint, "https://[::1]:8443/"}},
			"httptrust fetch --resolve a:1:127.0.0.1 --store '/tmp/my store' --fingerprint '<SHA-256 obtained out of band>' 'https://[::1]:8443/'"},
	} {
		if got := e.commandLine(tt.cmd); got != tt.want {
			t.Errorf("commandLine(%v) = %q, want %q", tt.cmd, got, tt.want)
		}
	}
}

func TestDiagnosisColor(t *testing.T) {
	rep := diagnoseView{Report: &diagnose.Report{URL: "https://a.test/", Fix: diagnose.NothingToFix,
		Steps: []diagnose.Step{{Name: "connect", Status: diagnose.OK, Summary: "fine", Details: []string{"d"}}}}}
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

// On a terminal the step being run is shown, redrawn, and replaced by its
// result; elsewhere only the results are printed, as they finish.
func TestStepPrinter(t *testing.T) {
	noLeaks(t)
	for _, term := range []bool{true, false} {
		e, out, _ := testEnv(t, "", term)
		p := e.newStepPrinter(out)
		p.tick = 5 * time.Millisecond
		p.start("tls_versions")
		time.Sleep(30 * time.Millisecond)
		p.step(diagnose.Step{Name: "tls_versions", Status: diagnose.OK, Summary: "accepts TLS 1.3"})
		p.start("cipher_suites")
		p.close()
		got := out.String()
		progress := strings.Contains(got, "\r\x1b[K  [....] tls_versions")
		if progress != term {
			t.Errorf("terminal %v: progress shown %v: %q", term, progress, got)
		}
		if !strings.Contains(got, "ok  \x1b[0m] tls_versions       accepts TLS 1.3\n") && !strings.Contains(got, "  [ok  ] tls_versions       accepts TLS 1.3\n") {
			t.Errorf("terminal %v: step not printed: %q", term, got)
		}
		if term {
			if n := strings.Count(got, "[....] tls_versions"); n < 2 {
				t.Errorf("the progress line was drawn %d times, want it redrawn: %q", n, got)
			}
			if !strings.HasSuffix(got, "[....] cipher_suites     \r\x1b[K") {
				t.Errorf("the last progress line is not cleared: %q", got)
			}
		} else if got != "  [ok  ] tls_versions       accepts TLS 1.3\n" {
			t.Errorf("not a terminal: %q", got)
		}
	}
}

// The exit code is get's for the same failure: a timeout 28, a client
// certificate required 35 (whichever step found it), an unusable one 58.
func TestDiagnoseExitCauses(t *testing.T) {
	fix := &httptrust.Remedy{Action: httptrust.ActionCheckServer}
	for _, tt := range []struct {
		name string
		rep  diagnose.Report
		want int
	}{
		{"timeout", diagnose.Report{Remedy: fix, TimedOut: true, Steps: []diagnose.Step{{Name: "tls_versions", Status: diagnose.Fail}}}, exitTimeout},
		{"client certificate required", diagnose.Report{Remedy: fix, Cause: httptrust.ReasonClientCertRequired, Steps: []diagnose.Step{{Name: "http", Status: diagnose.Fail}}}, exitHandshake},
		{"client certificate unusable", diagnose.Report{Remedy: fix, Cause: httptrust.ReasonClientCertUnusable}, exitClientCert},
		{"legacy TLS first", diagnose.Report{Remedy: fix, Cause: httptrust.ReasonProtocolMismatch, Err: &httptrust.VerifyError{Reason: httptrust.ReasonSelfSigned}}, exitHandshake},
		{"verification", diagnose.Report{Remedy: fix, Cause: httptrust.ReasonPinMismatch, Err: &httptrust.VerifyError{Reason: httptrust.ReasonPinMismatch}}, exitPin},
	} {
		if got := diagnoseExit(&tt.rep); got != tt.want {
			t.Errorf("%s: diagnoseExit = %d, want %d", tt.name, got, tt.want)
		}
	}
}
