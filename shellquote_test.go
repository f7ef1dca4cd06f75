package httptrust

import (
	"os/exec"
	"strings"
	"testing"
)

// TestShellQuoteShells: every word ShellQuote prints reads back as itself
// in sh, bash and zsh (those installed), hostile words included: zsh's
// =cmd expansion, ~, globs, braces, history, command substitution.
func TestShellQuoteShells(t *testing.T) {
	words := []string{
		"plain", "=ls", "==", "a=b", "~", "~root", "*", "[::1]", "https://[::1]:8443/", "*.corp", "**.corp",
		"{a,b}", "!", "!!", "#x", "a b", "'", `"`, "$(id)", "`id`", "$HOME", "-x", "--", "%1", "a\tb", "\\",
		"x;id", "x|id", "x&", "(x)", "<x>", "^x", "", "é.test",
	}
	var script strings.Builder
	for _, w := range words {
		script.WriteString("printf '%s\\0' " + ShellQuote(w) + "\n")
	}
	ran := 0
	for _, sh := range []string{"sh", "bash", "zsh"} {
		path, err := exec.LookPath(sh)
		if err != nil {
			t.Logf("%s is not installed: not checked with it", sh)
			continue
		}
		ran++
		t.Run(sh, func(t *testing.T) {
			args := []string{"-c", script.String()}
			if sh == "zsh" {
				args = []string{"-f", "-c", script.String()} // no rc files: zsh as installed
			}
			out, err := exec.Command(path, args...).Output()
			if err != nil {
				t.Fatalf("%s: %v", sh, err)
			}
			got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
			if len(got) != len(words) {
				t.Fatalf("%s printed %d words, want %d: %q", sh, len(got), len(words), got)
			}
			for i, w := range words {
				if got[i] != w {
					t.Errorf("%s reads %s as %q, want %q", sh, ShellQuote(w), got[i], w)
				}
			}
		})
	}
	if ran == 0 {
		t.Skip("no shell installed")
	}
}
