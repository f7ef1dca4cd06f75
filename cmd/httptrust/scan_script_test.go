package main

// Script commands for the scan and exporter scripts
// (testdata/script/scan_*.txtar).

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["jsonl"] = cmdJSONL
}

// cmdJSONL parses line N (from 1) of stdout or FILE as JSON and prints the
// values at PATHs, one a line (strings as they are, the rest as JSON). It
// fails unless every line of the output is JSON.
//
//	jsonl stdout|FILE N PATH...
func cmdJSONL(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: jsonl stdout|FILE N PATH...")
	}
	data := ts.ReadFile(args[0])
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	docs := make([]any, len(lines))
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &docs[i]); err != nil {
			ts.Fatalf("%s: line %d is not JSON: %v\n%s", args[0], i+1, err, l)
		}
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 1 || n > len(docs) {
		ts.Fatalf("%s has %d lines; no line %q", args[0], len(docs), args[1])
	}
	out := ts.Stdout()
	for _, path := range args[2:] {
		v := jsonAt(ts, args[0], docs[n-1], path)
		if s, ok := v.(string); ok {
			fmt.Fprintln(out, s)
			continue
		}
		b, _ := json.Marshal(v)
		fmt.Fprintln(out, string(b))
	}
}
