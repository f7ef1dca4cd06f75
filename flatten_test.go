package httptrust

import (
	"strings"
	"testing"
)

// TestPatternRules: each pattern's effective rule is what a host that
// pattern decides gets, inheritance included; "**.s" has a separate apex
// where a "*." rule one label up matches s too; narrower patterns keep
// their own exceptions.
func TestPatternRules(t *testing.T) {
	pin := "sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg="
	sys := true
	p := mustPolicy(t, []Rule{
		{Hosts: []string{"**.corp.example"}, Pins: []string{pin}, File: "a.toml", Line: 1},
		{Hosts: []string{"a.corp.example"}, Pins: []string{}, File: "a.toml", Line: 5},
		{Hosts: []string{"*.corp.example"}, SystemRoots: &sys, File: "a.toml", Line: 9},
		{Hosts: []string{"**.x.corp.example"}, MinTLS: "1.3", File: "a.toml", Line: 13},
		{Hosts: []string{"10.0.0.0/8"}, Pins: []string{pin}, File: "a.toml", Line: 17},
		{Hosts: []string{"10.1.0.0/16"}, MinTLS: "1.3", File: "a.toml", Line: 21},
		{Hosts: []string{"nas.corp.example:5001"}, MinTLS: "1.3", File: "a.toml", Line: 25},
	}, nil)
	got := map[string]PatternRule{}
	var order []string
	for _, pr := range p.PatternRules() {
		got[pr.Pattern.String()] = pr
		order = append(order, pr.Pattern.String())
	}
	if want := "**.corp.example **.x.corp.example *.corp.example 10.0.0.0/8 10.1.0.0/16 a.corp.example nas.corp.example:5001"; strings.Join(order, " ") != want {
		t.Fatalf("patterns %q, want %q", strings.Join(order, " "), want)
	}
	for _, tc := range []struct {
		pattern, field, source string
	}{
		{"**.corp.example", "pins", "a.toml:1"},
		{"a.corp.example", "pins", "a.toml:5"},
		{"*.corp.example", "pins", "a.toml:1"},
		{"*.corp.example", "system_roots", "a.toml:9"},
		{"**.x.corp.example", "pins", "a.toml:1"},
		{"**.x.corp.example", "min_tls", "a.toml:13"},
		{"10.1.0.0/16", "pins", "a.toml:17"},
		{"10.1.0.0/16", "min_tls", "a.toml:21"},
		{"nas.corp.example:5001", "pins", "a.toml:1"},
	} {
		if s := got[tc.pattern].Effective.Sources[tc.field]; s != tc.source {
			t.Errorf("%s: %s from %q, want %q", tc.pattern, tc.field, s, tc.source)
		}
	}
	if got["a.corp.example"].Effective.Pins != nil {
		t.Errorf("a.corp.example lifts the pins")
	}
	// x.corp.example itself matches "*.corp.example" after its own
	// "**.x.corp.example": its apex gets system_roots from there; the names
	// below it do not.
	x := got["**.x.corp.example"]
	if x.Apex == nil || x.Apex.Sources["system_roots"] != "a.toml:9" || x.Effective.Sources["system_roots"] == "a.toml:9" {
		t.Errorf("**.x.corp.example: apex %v, below %v", x.Apex, x.Effective.Sources["system_roots"])
	}
	if got["**.corp.example"].Apex == nil {
		t.Errorf("**.corp.example has no apex")
	}
	if d := p.Defaults(); d.Rule != nil || !d.SystemRoots {
		t.Errorf("defaults %v", d)
	}
}
