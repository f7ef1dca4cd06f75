package main

import (
	"regexp"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["joined"] = cmdJoined
}

// cmdJoined matches a regular expression (multi-line, as stdout's) against
// stdout or stderr as it reads unwrapped: every row that continues a line
// (wrapLine's contMark) joined to the one before by a space.
//
//	joined stdout|stderr REGEXP
func cmdJoined(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || (args[0] != "stdout" && args[0] != "stderr") {
		ts.Fatalf("usage: [!] joined stdout|stderr REGEXP")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	text := unwrapRows(ts.ReadFile(args[0]))
	switch ok := re.MatchString(text); {
	case ok && neg:
		ts.Fatalf("unexpected match for %q in %s (joined):\n%s", args[1], args[0], text)
	case !ok && !neg:
		ts.Fatalf("no match for %q in %s (joined):\n%s", args[1], args[0], text)
	}
}

// unwrapRows joins the rows wrapLine made of each line.
func unwrapRows(s string) string { return strings.ReplaceAll(s, "\n"+contMark, " ") }
