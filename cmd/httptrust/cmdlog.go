package main

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/httptrust/httptrust"
)

// envCommandLog names a file to which every command line the CLI prints
// for the user to run (a hint, a "now:" line, a fix, a remedy's commands)
// is appended as one JSON object a line: the line as printed, its
// arguments, the placeholders it holds, the commands printed before it
// in the same remedy, and the run that printed it (its program,
// arguments, working folder and environment).
//
// It is for httptrust's own test suite, which runs every command so
// recorded to check that it works as printed (printed_test.go). Unset, as
// it always is outside the tests, nothing is recorded; set, nothing else
// changes. It records the environment: point it only at a file of a test.
const envCommandLog = "HTTPTRUST_TEST_COMMAND_LOG"

// printedCommand is one line of the command log.
type printedCommand struct {
	printedLine
	// After are the commands printed before this one in the same
	// remedy, which it may rely on ("do this; then that").
	After   []printedLine `json:"after,omitempty"`
	Program string        `json:"program"`
	Run     []string      `json:"run"`
	Dir     string        `json:"dir"`
	Env     []string      `json:"env"`
}

// printedLine is a command line as printed and the arguments it stands
// for (after the environment assignments that may start it).
type printedLine struct {
	Line         string   `json:"line"`
	Argv         []string `json:"argv"`
	Placeholders []string `json:"placeholders,omitempty"`
}

// logCommand appends a printed command line to the command log, when the
// test suite asks for one.
func (e *env) logCommand(l printedLine, after []printedLine) {
	name := e.getenv(envCommandLog)
	if name == "" {
		return
	}
	rec := printedCommand{printedLine: l, After: after, Program: filepath.Base(os.Args[0]), Run: os.Args[1:], Env: os.Environ()}
	rec.Dir, _ = os.Getwd()
	data, err := json.Marshal(rec)
	if err != nil {
		return
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	f.Write(append(data, '\n')) // one write: lines of parallel runs do not interleave
}

// placeholders returns the placeholders among args.
func placeholders(args []string) []string {
	var out []string
	for _, a := range args {
		if httptrust.IsPlaceholder(a) {
			out = append(out, a)
		}
	}
	return out
}
