package httptrust

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// docs/rule-file.md documents every key the rule file parser accepts, and
// no other: each under a "### `key`" heading, with its type, default,
// inheritance, who may carry it, the CLI command that writes it, and an
// example rule that loads and sets it.
func TestRuleFileReference(t *testing.T) {
	data, err := os.ReadFile("docs/rule-file.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	var documented []string
	heading := regexp.MustCompile("(?m)^### `([a-z_]+)`$")
	locs := heading.FindAllStringSubmatchIndex(string(data), -1)
	for i, loc := range locs {
		name := string(data[loc[2]:loc[3]])
		end := len(data)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		documented = append(documented, name)
		sections[name] = string(data[loc[1]:end])
	}
	known := ruleFieldNames()
	for _, k := range known {
		if !slices.Contains(documented, k) {
			t.Errorf("the parser accepts %q, which docs/rule-file.md does not document", k)
		}
	}
	for _, d := range documented {
		if !slices.Contains(known, d) {
			t.Errorf("docs/rule-file.md documents %q, which the parser does not know", d)
		}
	}
	if !slices.Equal(documented, known) {
		t.Errorf("docs/rule-file.md lists the fields in the order\n%v\nwant the parser's (ruleFields)\n%v", documented, known)
	}
	example := regexp.MustCompile("(?s)```toml\n(.*?)```")
	for name, body := range sections {
		t.Run(name, func(t *testing.T) {
			for _, item := range []string{"- type: ", "- default: ", "- inherited: ", "- who may carry it: ", "- CLI: "} {
				if !strings.Contains(body, "\n"+item) {
					t.Errorf("no %q line", strings.TrimSpace(item))
				}
			}
			m := example.FindStringSubmatch(body)
			if m == nil {
				t.Fatal("no ```toml example")
			}
			rules, err := ParseRuleFile("example.toml", []byte(m[1]))
			if err != nil {
				t.Fatalf("the example does not parse: %v", err)
			}
			if len(rules) != 1 || !slices.ContainsFunc(rules[0].lines, func(l fieldLine) bool { return l.field == name }) {
				t.Fatalf("the example is not one rule that sets %s:\n%s", name, m[1])
			}
			if _, err := New(rules, &Options{FS: fstest.MapFS{}}); err != nil {
				t.Fatalf("the example does not load: %v", err)
			}
		})
	}
}
