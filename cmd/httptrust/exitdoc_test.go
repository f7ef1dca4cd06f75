package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestExitCodesDocumented checks the exit-code table of README.md against
// the constants of exit.go, both ways, and that the top README's summary
// names every code.
func TestExitCodesDocumented(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "exit.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	code := map[string]string{} // value -> constant
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && strings.HasPrefix(n.Name, "exit") {
					code[lit.Value] = n.Name
				}
			}
		}
	}
	if len(code) < 10 {
		t.Fatalf("found %d exit codes in exit.go", len(code))
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "## Exit codes")
	if !ok {
		t.Fatal("README.md has no exit code section")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \|`).FindAllStringSubmatch(table, -1) {
		documented[m[1]] = true
		if code[m[1]] == "" {
			t.Errorf("README.md documents exit %s, which exit.go does not define", m[1])
		}
	}
	top, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, summary, _ := strings.Cut(string(top), "Exit codes follow")
	summary, _, _ = strings.Cut(summary, "The full table")
	for v, name := range code {
		if !documented[v] {
			t.Errorf("exit %s (%s) is not in README.md's table", v, name)
		}
		if !regexp.MustCompile(`\b` + v + `\b`).MatchString(summary) {
			t.Errorf("exit %s (%s) is not in the top README's summary of exit codes", v, name)
		}
	}
}
