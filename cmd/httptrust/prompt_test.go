package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"

	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
)

// runOnTerminal runs the CLI with its stdin on a pseudo-terminal, answers
// the prompts with answers, and returns the exit code, stdout and stderr.
// isTerminal is the real check: the pty is a terminal to it.
func runOnTerminal(t *testing.T, store string, answers string, args ...string) (int, string, string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	go io.Copy(io.Discard, ptmx) // the terminal's echo
	if _, err := ptmx.Write([]byte(answers)); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	e := &env{stdin: tty, stdout: &out, stderr: &errb, now: time.Now, terminal: isTerminal,
		getenv: func(k string) string {
			if k == "HTTPTRUST_STORE" {
				return store
			}
			return ""
		}}
	code := e.run(args)
	return code, out.String(), errb.String()
}

func TestPromptOnTerminal(t *testing.T) {
	noLeaks(t)
	pki := testpki.New(t)
	dev := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(pki.SelfSigned(t, "dev.test", "127.0.0.1")), nil)
	printer := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(pki.SelfSigned(t, "localhost")), nil)
	store := filepath.Join(t.TempDir(), "store")
	ruleFile := filepath.Join(store, "managed", "127.0.0.1+"+dev.Port+".toml")

	code, _, errb := runOnTerminal(t, store, "n\n", "fetch", dev.URL)
	if code != exitFail || !strings.Contains(errb, "[y/N]") || !strings.Contains(errb, "declined") {
		t.Fatalf("answer n: exit %d\n%s", code, errb)
	}
	if _, err := os.Stat(ruleFile); err == nil {
		t.Fatal("declined, yet a rule was written")
	}

	code, out, errb := runOnTerminal(t, store, "y\n", "fetch", dev.URL)
	if code != exitOK || !strings.Contains(out, "added certificate") {
		t.Fatalf("answer y: exit %d\n%s\n%s", code, out, errb)
	}
	if _, err := os.Stat(ruleFile); err != nil {
		t.Fatal(err)
	}

	// A name mismatch needs a second yes.
	resolve := "printer.test:" + printer.Port + ":127.0.0.1"
	url := "https://printer.test:" + printer.Port + "/"
	code, _, errb = runOnTerminal(t, store, "y\nn\n", "fetch", "--resolve", resolve, url)
	if code != exitFail || !strings.Contains(errb, "does not name printer.test") {
		t.Fatalf("second answer n: exit %d\n%s", code, errb)
	}
	code, _, errb = runOnTerminal(t, store, "y\ny\n", "fetch", "--resolve", resolve, url)
	if code != exitOK {
		t.Fatalf("y, y: exit %d\n%s", code, errb)
	}
	data, err := os.ReadFile(filepath.Join(store, "managed", "printer.test+"+printer.Port+".toml"))
	if err != nil || !strings.Contains(string(data), "allow_name_mismatch = true") {
		t.Fatalf("rule %q, %v", data, err)
	}

	// Widening with --host is never granted by a yes at the prompt: the
	// pattern may replace what other hosts trust. Only a fingerprint.
	wildCert := pki.SelfSigned(t, "*.corp.test")
	wild := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(wildCert), nil)
	args := []string{"--host", "*.corp.test", "--resolve", "a.corp.test:" + wild.Port + ":127.0.0.1", "https://a.corp.test:" + wild.Port + "/"}
	code, _, errb = runOnTerminal(t, store, "y\n", append([]string{"fetch", "--yes"}, args...)...)
	if code != exitFail || strings.Contains(errb, "[y/N]") || !strings.Contains(errb, "widens the scope") {
		t.Fatalf("widening with a yes: exit %d\n%s", code, errb)
	}
	if _, err := os.Stat(filepath.Join(store, "managed", "one+corp.test.toml")); err == nil {
		t.Fatal("written on a yes")
	}
	code, _, errb = runOnTerminal(t, store, "", append([]string{"fetch", "--fingerprint", certs.CertFingerprint(wildCert.Cert).String()}, args...)...)
	if code != exitOK {
		t.Fatalf("widening with the fingerprint: exit %d\n%s", code, errb)
	}
	if _, err := os.Stat(filepath.Join(store, "managed", "one+corp.test.toml")); err != nil {
		t.Fatal(err)
	}
}

// TestPromptKeepsAnchorTrust answers yes to every question where the
// store trusts a CA for the host and the server presents a certificate of
// that CA for another name, or an expired one: the prompt cannot replace
// the anchor (only a fingerprint obtained out of band can), so nothing is
// asked and nothing is written.
func TestPromptKeepsAnchorTrust(t *testing.T) {
	noLeaks(t)
	pki := testpki.New(t)
	other := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "attacker.test")), nil)
	expired := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Expired(t, "127.0.0.1")), nil)
	store := filepath.Join(t.TempDir(), "store")
	root := filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(root, pki.Root.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errb := runOnTerminal(t, store, "", "trust", "add", root, "--host", "127.0.0.1"); code != exitOK {
		t.Fatalf("trust add: exit %d\n%s", code, errb)
	}
	ruleFile := filepath.Join(store, "managed", "127.0.0.1.toml")
	before, err := os.ReadFile(ruleFile)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"name mismatch", []string{"fetch", other.URL}},
		{"name mismatch, allowed by flag", []string{"fetch", "--allow-name-mismatch", other.URL}},
		{"expired", []string{"fetch", expired.URL}},
		{"expired, allowed by flag", []string{"fetch", "--allow-expired", expired.URL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errb := runOnTerminal(t, store, "y\ny\n", tt.args...)
			if code != exitFail {
				t.Errorf("exit %d, want %d\n%s\n%s", code, exitFail, out, errb)
			}
			if strings.Contains(errb, "[y/N]") {
				t.Errorf("a question was asked where only a fingerprint may write:\n%s", errb)
			}
			if !strings.Contains(errb, "--yes and the prompt cannot replace it") || !strings.Contains(errb, "--fingerprint '<SHA-256 obtained out of band>'") {
				t.Errorf("the refusal does not ask for a fingerprint obtained out of band:\n%s", errb)
			}
			if strings.Contains("\n"+out, "\ntrusted ") || strings.Contains("\n"+out, "\nadded ") || strings.Contains("\n"+out, "\nreplaced ") {
				t.Errorf("stdout says something was trusted:\n%s", out)
			}
			after, err := os.ReadFile(ruleFile)
			if err != nil || !bytes.Equal(after, before) {
				t.Errorf("the anchor rule changed (%v):\n%s\nwas:\n%s", err, after, before)
			}
			entries, err := os.ReadDir(filepath.Join(store, "managed"))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != "127.0.0.1.toml" && e.Name() != "certs" && !strings.HasPrefix(e.Name(), ".") {
					t.Errorf("fetch wrote managed/%s", e.Name())
				}
			}
		})
	}
}

// TestPromptHostileCertificate asks about a certificate whose subject
// forges a "sha256:" line and hides the rest of its own (see hostileLeaf):
// what is shown before the question is escaped, and the only sha256: line
// is the real one.
func TestPromptHostileCertificate(t *testing.T) {
	noLeaks(t)
	leaf, err := hostileLeaf([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := testpki.StartTLS(t, "127.0.0.1", leaf.TLSCertificate(), nil)
	store := filepath.Join(t.TempDir(), "store")
	code, out, errb := runOnTerminal(t, store, "n\n", "fetch", srv.URL)
	if code != exitFail || !strings.Contains(errb, "[y/N]") {
		t.Fatalf("answer n: exit %d\n%s\n%s", code, out, errb)
	}
	for name, s := range map[string]string{"stdout": out, "stderr": errb} {
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r != '\n' {
				if bad := unsafeRune(r, n); bad != "" {
					t.Fatalf("%s, byte %d: %s (%q):\n%s", name, i, bad, s[i:i+n], s)
				}
			}
			i += n
		}
	}
	want := "sha256:    " + certs.CertFingerprint(leaf.Cert).String()
	var lines []string
	for _, l := range strings.Split(out+errb, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "sha256:") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	if len(lines) != 1 || lines[0] != want {
		t.Errorf("sha256: lines %q, want just %q", lines, want)
	}
}

// TestPromptEndOfInput presses Ctrl-D at the y/N question: the answer is
// no, and the error starts a line of its own, not the prompt's.
func TestPromptEndOfInput(t *testing.T) {
	noLeaks(t)
	pki := testpki.New(t)
	dev := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(pki.SelfSigned(t, "dev.test", "127.0.0.1")), nil)
	store := filepath.Join(t.TempDir(), "store")
	code, _, errb := runOnTerminal(t, store, "\x04", "fetch", dev.URL)
	if code != exitFail {
		t.Fatalf("Ctrl-D: exit %d, want %d\n%s", code, exitFail, errb)
	}
	if !strings.Contains(errb, "[y/N] \nhttptrust: error: declined") {
		t.Errorf("the error is not on a line of its own after the prompt:\n%q", errb)
	}
}

// TestPromptSaysTheScope: the question names what the rule will cover: a
// CA fetched from host:port is an anchor for the host, every port of it;
// a self-signed certificate, that host and port only.
func TestPromptSaysTheScope(t *testing.T) {
	noLeaks(t)
	pki := testpki.New(t)
	corp := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "corp.test")), nil)
	dev := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(pki.SelfSigned(t, "dev.test")), nil)
	store := filepath.Join(t.TempDir(), "store")
	_, _, errb := runOnTerminal(t, store, "n\n", "fetch", "--resolve", "corp.test:"+corp.Port+":127.0.0.1", "https://corp.test:"+corp.Port+"/")
	if !strings.Contains(errb, "Trust this anchor for corp.test (every port)?") {
		t.Errorf("anchor prompt:\n%s", errb)
	}
	_, _, errb = runOnTerminal(t, store, "n\n", "fetch", "--resolve", "dev.test:"+dev.Port+":127.0.0.1", "https://dev.test:"+dev.Port+"/")
	if !strings.Contains(errb, "for dev.test:"+dev.Port+"?") {
		t.Errorf("exact certificate prompt:\n%s", errb)
	}
}
