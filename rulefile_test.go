package httptrust

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const designStore = `# corp.toml — written by a person
[[rule]]
hosts   = ["**.corp.example"]
anchors = ["corp-root.pem"]      # system_roots defaults to false here
pins    = ["sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg=",
           "sha256/Vjs8r4z+80wjNcr1YKepWQboSIRi63WsWXhIMN+eWys="]
pins_expire = 2027-06-30
client_certificate = "me.p12"
client_password_env = "CORP_P12_PASSWORD"

[[rule]]
hosts = ["192.168.1.20"]
certificates = ["printer.pem"]   # the printer's own self-signed certificate
allow_name_mismatch = true       # it says CN=localhost
min_tls = "1.0"                  # and it is old
`

func TestParseRuleFileDesignExample(t *testing.T) {
	rules, err := ParseRuleFile("corp.toml", []byte(designStore))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 {
		t.Fatalf("got %d rules, want 2", len(rules))
	}
	r := rules[0]
	if r.Line != 2 || r.Hosts[0] != "**.corp.example" || r.Anchors[0] != "corp-root.pem" || len(r.Pins) != 2 ||
		!r.PinsExpire.Equal(time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)) || r.ClientCertificate != "me.p12" ||
		r.ClientPasswordEnv != "CORP_P12_PASSWORD" || r.SystemRoots != nil {
		t.Errorf("first rule: %+v", r)
	}
	r = rules[1]
	if r.Line != 11 || r.Certificates[0] != "printer.pem" || !r.AllowNameMismatch || r.MinTLS != "1.0" {
		t.Errorf("second rule: %+v", r)
	}
	if _, err := New(rules, &Options{FS: emptyFS{}}); err != nil {
		t.Errorf("the design's example store does not validate: %v", err)
	}
}

func TestParseRuleFileErrors(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"unknown field", "[[rule]]\nhosts = [\"a.example\"]\nanchor = [\"x.pem\"]\n", "x.toml:3: anchor: unknown field"},
		{"wrong type", "[[rule]]\nhosts = \"a.example\"\n", "x.toml:2: hosts: expected a list of strings, found a string"},
		{"twice", "[[rule]]\nhosts = [\"a\"]\nhosts = [\"b\"]\n", "x.toml:3: hosts: set twice"},
		{"outside", "hosts = [\"a\"]\n", "x.toml:1: hosts: a key outside a [[rule]] table"},
		{"table", "[rule]\nhosts = [\"a\"]\n", "x.toml:1: [rule] is a table"},
		{"other table", "[[rules]]\n", "x.toml:1: unknown table [[rules]]"},
		{"syntax", "[[rule]]\nhosts = [\"a\"\n", "x.toml:2: TOML syntax"},
		{"password", "[[rule]]\nhosts = [\"a\"]\nclient_password = \"hunter2\"\n", "never stored in a rule"},
		{"absolute", "[[rule]]\nhosts = [\"a\"]\nanchors = [\"/etc/ssl/x.pem\"]\n", "relative to the rule file"},
		{"escape", "[[rule]]\nhosts = [\"a\"]\ncertificates = [\"../x.pem\"]\n", "outside the store"},
		{"bad date", "[[rule]]\nhosts = [\"a\"]\npins_expire = \"next year\"\n", "expected a date"},
		{"list item", "[[rule]]\nhosts = [\"a\", 3]\n", "item 2: expected a string"},
	}
	for _, tt := range tests {
		_, err := ParseRuleFile("x.toml", []byte(tt.file))
		var re *RuleError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want a *RuleError containing %q", tt.name, err, tt.want)
		}
		if strings.Contains(tt.file, "hunter2") && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error prints the password", tt.name)
		}
	}
}

// TestRuleValidation pins the load errors of the trust model.
func TestRuleValidation(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"allow_expired on an anchor rule", "[[rule]]\nhosts = [\"a.example\"]\nanchors = [\"ca.pem\"]\nallow_expired = true\n", "allow_expired: only allowed in a rule that names certificates"},
		{"allow_name_mismatch without certificates", "[[rule]]\nhosts = [\"a.example\"]\nallow_name_mismatch = true\n", "allow_name_mismatch: only allowed in a rule that names certificates"},
		{"allow_expired on a wildcard", "[[rule]]\nhosts = [\"*.corp.example\"]\ncertificates = [\"c.pem\"]\nallow_expired = true\n", "allow_expired: only allowed on exact host or IP patterns"},
		{"allow_expired on a CIDR", "[[rule]]\nhosts = [\"10.0.0.0/8\"]\ncertificates = [\"c.pem\"]\nallow_expired = true\n", "only allowed on exact"},
		{"allow_name_mismatch mixed patterns", "[[rule]]\nhosts = [\"a.example\", \"**.corp.example\"]\ncertificates = [\"c.pem\"]\nallow_name_mismatch = true\n", "only allowed on exact"},
		{"server_name without trust", "[[rule]]\nhosts = [\"10.0.0.1\"]\nserver_name = \"printer.local\"\n", "server_name: only allowed in a rule that names anchors or certificates"},
		{"server_name on a wildcard", "[[rule]]\nhosts = [\"*.corp.example\"]\nanchors = [\"ca.pem\"]\nserver_name = \"x.corp.example\"\n", "server_name: only allowed on exact"},
		{"**.com", "[[rule]]\nhosts = [\"**.com\"]\nanchors = [\"ca.pem\"]\n", "public suffix"},
		{"*", "[[rule]]\nhosts = [\"*\"]\nanchors = [\"ca.pem\"]\n", "all_hosts = true"},
		{"*.co.uk", "[[rule]]\nhosts = [\"*.co.uk\"]\n", "public suffix"},
		{"no hosts", "[[rule]]\nanchors = [\"ca.pem\"]\n", "a rule needs hosts"},
		{"all_hosts with hosts", "[[rule]]\nall_hosts = true\nhosts = [\"a\"]\n", "names no hosts"},
		{"all_hosts with allow_expired", "[[rule]]\nall_hosts = true\ncertificates = [\"c.pem\"]\nallow_expired = true\n", "not allowed with all_hosts"},
		{"all_hosts with tofu", "[[rule]]\nall_hosts = true\ntofu = true\n", "x.toml:3: tofu: not allowed with all_hosts"},
		{"all_hosts with min_tls", "[[rule]]\nall_hosts = true\nanchors = [\"ca.pem\"]\nmin_tls = \"1.0\"\n", "min_tls: not allowed with all_hosts"},
		{"all_hosts with a client certificate", "[[rule]]\nall_hosts = true\nanchors = [\"ca.pem\"]\nclient_certificate = \"me.p12\"\n", "client_certificate: not allowed with all_hosts"},
		{"all_hosts with pins", "[[rule]]\nall_hosts = true\npins = [\"sha256/AAAA\"]\n", "pins: not allowed with all_hosts"},
		{"CIDR wider than /8", "[[rule]]\nhosts = [\"0.0.0.0/1\"]\n", "public suffix or every host"},
		{"IPv6 CIDR wider than /32", "[[rule]]\nhosts = [\"2000::/3\"]\n", "wider than /32"},
		{"bad pin", "[[rule]]\nhosts = [\"a.example\"]\npins = [\"sha256/abc\"]\n", "x.toml:3: pins"},
		{"bad min_tls", "[[rule]]\nhosts = [\"a.example\"]\nmin_tls = \"1.4\"\n", "min_tls: \"1.4\" is not a TLS version"},
		{"key without cert", "[[rule]]\nhosts = [\"a.example\"]\nclient_key = \"k.pem\"\n", "client_key and client passwords need client_certificate"},
	}
	for _, tt := range tests {
		rules, err := ParseRuleFile("x.toml", []byte(tt.file))
		if err == nil {
			_, err = New(rules, &Options{FS: emptyFS{}})
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func FuzzParseRuleFile(f *testing.F) {
	f.Add(designStore)
	f.Add("[[rule]]\nhosts = [\"a\"]\npins = \"sha256//AAAA;sha256//BBBB\"\n")
	f.Add("[[rule]]\nall_hosts = true\nanchors = ['x.pem']\nsystem_roots = true\n")
	f.Add("[[rule]]\nhosts = [\"10.0.0.0/8\"]\ntofu = true\nenforce = false\n[[rule]]\n")
	f.Add("[[rule]]\nhosts = [[\"a\"]]\n")
	f.Fuzz(func(t *testing.T, s string) {
		rules, err := ParseRuleFile("f.toml", []byte(s))
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) || re.File != "f.toml" {
				t.Fatalf("error %v is not a *RuleError naming the file", err)
			}
			return
		}
		for _, r := range rules {
			if r.File != "f.toml" || r.Line < 1 {
				t.Fatalf("rule without its place: %+v", r)
			}
		}
		_, _ = New(rules, &Options{FS: emptyFS{}})
	})
}
