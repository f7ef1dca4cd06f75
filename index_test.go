package httptrust

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func boolp(b bool) *bool { return &b }

func mustPolicy(t testing.TB, rules []Rule, opts *Options) *Policy {
	t.Helper()
	p, err := New(rules, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrecedence pins "the most specific matching rule applies: exact host
// or IP, then the longest fixed suffix, then *. before **. at equal suffix,
// then the narrowest CIDR", with all_hosts below every pattern.
func TestPrecedence(t *testing.T) {
	p := mustPolicy(t, []Rule{
		{Hosts: []string{"a.b.corp.example"}, MinTLS: "1.3"},
		{Hosts: []string{"**.b.corp.example"}, MinTLS: "1.3"},
		{Hosts: []string{"*.b.corp.example"}, MinTLS: "1.3"},
		{Hosts: []string{"*.corp.example"}, MinTLS: "1.3"},
		{Hosts: []string{"**.corp.example"}, MinTLS: "1.3"},
		{Hosts: []string{"**.x.b.corp.example"}, MinTLS: "1.3"},
		{Hosts: []string{"10.1.2.3"}, MinTLS: "1.3"},
		{Hosts: []string{"10.1.2.0/24"}, MinTLS: "1.3"},
		{Hosts: []string{"10.1.0.0/16"}, MinTLS: "1.3"},
		{Hosts: []string{"fd00::/64"}, MinTLS: "1.3"},
		{AllHosts: true, SystemRoots: boolp(true)},
	}, nil)
	tests := []struct{ host, want string }{
		{"a.b.corp.example", "a.b.corp.example"},
		{"A.B.Corp.Example.", "a.b.corp.example"},
		{"c.b.corp.example", "*.b.corp.example"},    // *. before **. at equal suffix
		{"d.c.b.corp.example", "**.b.corp.example"}, // *. is one label only
		{"b.corp.example", "**.b.corp.example"},     // longer suffix beats *.corp.example
		{"x.b.corp.example", "**.x.b.corp.example"}, // the domain itself, longest suffix
		{"y.corp.example", "*.corp.example"},
		{"corp.example", "**.corp.example"}, // ** covers the domain itself
		{"z.y.corp.example", "**.corp.example"},
		{"10.1.2.3", "10.1.2.3"},
		{"10.1.2.4", "10.1.2.0/24"},
		{"10.1.3.4", "10.1.0.0/16"},
		{"fd00::5", "fd00::/64"},
		{"10.2.0.1", "all_hosts"},
		{"other.example", "all_hosts"},
	}
	for _, tt := range tests {
		eff, err := p.Lookup(tt.host)
		if err != nil {
			t.Fatal(err)
		}
		if eff.Pattern != tt.want {
			t.Errorf("Lookup(%q).Pattern = %q, want %q", tt.host, eff.Pattern, tt.want)
		}
	}
}

func TestNoRuleGetsDefaults(t *testing.T) {
	p := mustPolicy(t, []Rule{{Hosts: []string{"device.local"}, CertificateCerts: nil, Certificates: nil, SystemRoots: boolp(false)}}, nil)
	eff, _ := p.Lookup("example.com")
	if eff.Rule != nil || !eff.SystemRoots || len(eff.Anchors) != 0 {
		t.Errorf("a host with no rule: %+v, want the defaults (system roots)", eff)
	}
}

// TestInheritance pins "every field it does not set is inherited from the
// next less specific matching rule", with sources.
func TestInheritance(t *testing.T) {
	rules := []Rule{
		{Hosts: []string{"**.corp.example"}, AnchorCerts: nil, Anchors: nil, Pins: []string{pinA, pinB}, MinTLS: "1.3", File: "corp.toml", Line: 1},
		{Hosts: []string{"api.corp.example"}, Pins: []string{pinC, pinA}, File: "api.toml", Line: 4},
		{Hosts: []string{"legacy.corp.example"}, MinTLS: "1.0", File: "legacy.toml", Line: 2},
		{Hosts: []string{"open.corp.example"}, Pins: []string{}, SystemRoots: boolp(true), File: "open.toml", Line: 7},
	}
	p := mustPolicy(t, rules, nil)

	eff, _ := p.Lookup("legacy.corp.example")
	if eff.Pins == nil || len(eff.Pins.Pins) != 2 || eff.Sources["pins"] != "corp.toml:1" {
		t.Errorf("legacy keeps the domain's pins: pins %v from %q", eff.Pins, eff.Sources["pins"])
	}
	if eff.MinTLS != 0x0301 || eff.Sources["min_tls"] != "legacy.toml:2" {
		t.Errorf("legacy min_tls = %x from %q", eff.MinTLS, eff.Sources["min_tls"])
	}
	eff, _ = p.Lookup("api.corp.example")
	if eff.Sources["pins"] != "api.toml:4" || eff.Sources["min_tls"] != "corp.toml:1" {
		t.Errorf("api: pins from %q, min_tls from %q", eff.Sources["pins"], eff.Sources["min_tls"])
	}
	eff, _ = p.Lookup("open.corp.example")
	if eff.Pins != nil || eff.Sources["pins"] != "open.toml:7" || !eff.SystemRoots {
		t.Errorf("open lifts pins by name: %v from %q, system roots %v", eff.Pins, eff.Sources["pins"], eff.SystemRoots)
	}
}

func TestDuplicatePatternIsLoadError(t *testing.T) {
	_, err := New([]Rule{
		{Hosts: []string{"Device.Local"}, File: "a.toml", Line: 1},
		{Hosts: []string{"device.local."}, File: "b.toml", Line: 3},
	}, nil)
	if err == nil {
		t.Fatal("two rules with the same pattern loaded")
	}
	for _, want := range []string{"a.toml:1", "b.toml:3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// Pins for tests that need only their form.
var (
	pinA = testPin(0xa)
	pinB = testPin(0xb)
	pinC = testPin(0xc)
)

func testPin(b byte) string {
	return "sha256/" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}
