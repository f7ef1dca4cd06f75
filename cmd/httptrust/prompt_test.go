package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

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
	ruleFile := filepath.Join(store, "managed", "127.0.0.1.toml")

	code, _, errb := runOnTerminal(t, store, "n\n", "fetch", dev.URL)
	if code != exitFail || !strings.Contains(errb, "[y/N]") || !strings.Contains(errb, "declined") {
		t.Fatalf("answer n: exit %d\n%s", code, errb)
	}
	if _, err := os.Stat(ruleFile); err == nil {
		t.Fatal("declined, yet a rule was written")
	}

	code, out, errb := runOnTerminal(t, store, "y\n", "fetch", dev.URL)
	if code != exitOK || !strings.Contains(out, "trusted certificate") {
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
	data, err := os.ReadFile(filepath.Join(store, "managed", "printer.test.toml"))
	if err != nil || !strings.Contains(string(data), "allow_name_mismatch = true") {
		t.Fatalf("rule %q, %v", data, err)
	}

	// Widening with --host is allowed by a yes at the prompt.
	wild := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(pki.SelfSigned(t, "*.corp.test")), nil)
	code, _, errb = runOnTerminal(t, store, "y\n", "fetch", "--yes", "--host", "*.corp.test",
		"--resolve", "a.corp.test:"+wild.Port+":127.0.0.1", "https://a.corp.test:"+wild.Port+"/")
	if code != exitOK || !strings.Contains(errb, "for *.corp.test? ") {
		t.Fatalf("widening with a yes: exit %d\n%s", code, errb)
	}
	if _, err := os.Stat(filepath.Join(store, "managed", "%2A.corp.test.toml")); err != nil {
		t.Fatal(err)
	}
}
