package main

import (
	"strings"
	"testing"
	"time"

	"github.com/httptrust/httptrust/store"
)

func TestPromLabel(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"dev.test", `"dev.test"`},
		{`CN=a "b"`, `"CN=a \"b\""`},
		{`C:\certs`, `"C:\\certs"`},
		// What a terminal would act on is written as text, as in fleet's
		// label values: a CR cannot return to the start of the line and
		// forge a series there, ESC and U+202E do nothing.
		{"two\nlines", `"two\\x0alines"`},
		{"dev\x1b]0;owned\a\x1b[2J\rhttptrust_check_findings 0 \u202e", `"dev\\x1b]0;owned\\x07\\x1b[2J\\x0dhttptrust_check_findings 0 \\u202e"`},
		{"", `""`},
	} {
		if got := promLabel(tt.in); got != tt.want {
			t.Errorf("promLabel(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestPromText(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	rep := &store.Report{Now: now,
		Findings: []store.Finding{{Kind: "expiring"}, {Kind: "expiring"}, {Kind: "new_kind"}},
		Certificates: []store.CertStatus{
			{Hosts: []string{"a.test", "b.test"}, Kind: "anchor", File: "ca.pem", SHA256: "ab", Subject: `CN=x "y"`, NotAfter: now.Add(time.Hour)},
			{Hosts: []string{"a.test"}, Kind: "anchor", File: "ca.pem", SHA256: "ab", Subject: `CN=x "y"`, NotAfter: now.Add(time.Hour)},
			{Hosts: []string{"a.test:8443"}, Kind: "presented", URL: "https://a.test:8443/", SHA256: "cd", Subject: "CN=a.test", NotAfter: now.Add(2 * time.Hour)},
		}}
	got := string(promText(rep))
	for _, want := range []string{
		"httptrust_certificate_not_after_seconds{host=\"a.test\",kind=\"anchor\",file=\"ca.pem\",sha256=\"ab\",subject=\"CN=x \\\"y\\\"\"} 1800003600\n",
		"httptrust_certificate_not_after_seconds{host=\"b.test\",",
		"httptrust_check_findings{kind=\"expiring\"} 2\n",
		"httptrust_check_findings{kind=\"new_kind\"} 1\n",
		"httptrust_check_findings{kind=\"bad_store\"} 0\n",
		"httptrust_check_findings{kind=\"unreachable\"} 0\n",
		"httptrust_certificate_not_after_seconds{host=\"a.test:8443\",kind=\"presented\",url=\"https://a.test:8443/\",sha256=\"cd\",subject=\"CN=a.test\"} 1800007200\n",
		"httptrust_check_timestamp_seconds 1800000000\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("promText lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, `host="a.test"`); n != 1 {
		t.Errorf("a.test has %d series, want 1 (duplicates merged)", n)
	}
}
