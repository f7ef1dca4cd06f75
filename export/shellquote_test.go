package export

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHeaderCommandShells: a word of a header's Command line, quoted and
// made comment-safe (XML too), reads back as itself in sh, bash and zsh
// (those installed).
func TestHeaderCommandShells(t *testing.T) {
	words := []string{
		"plain", "=ls", "==", "a=b", "~", "*", "[::1]", "**.corp", "{a,b}", "!", "#x", "a b", "'", `"`,
		"$(id)", "`id`", "$HOME", "-x", "--", "a--b", "-", "x-", "*/", "-----BEGIN", "%1", "x;id", "",
		"/tmp/my--store it's",
	}
	for _, xml := range []bool{false, true} {
		var script strings.Builder
		for _, w := range words {
			script.WriteString("printf '%s\\0' " + commandSafe(shellQuote(w), xml) + "\n")
		}
		for _, sh := range []string{"sh", "bash", "zsh"} {
			path, err := exec.LookPath(sh)
			if err != nil {
				t.Logf("%s is not installed: not checked with it", sh)
				continue
			}
			args := []string{"-c", script.String()}
			if sh == "zsh" {
				args = append([]string{"-f"}, args...)
			}
			out, err := exec.Command(path, args...).Output()
			if err != nil {
				t.Fatalf("%s (xml %t): %v", sh, xml, err)
			}
			got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
			if len(got) != len(words) {
				t.Fatalf("%s (xml %t) printed %d words, want %d: %q", sh, xml, len(got), len(words), got)
			}
			for i, w := range words {
				if got[i] != w {
					t.Errorf("%s (xml %t) reads %s as %q, want %q", sh, xml, commandSafe(shellQuote(w), xml), got[i], w)
				}
			}
		}
	}
}
