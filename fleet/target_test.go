package fleet

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseTarget(t *testing.T) {
	cases := []struct {
		in                         string
		scheme, host, port, urlStr string
		err                        string
	}{
		{in: "https://nas.local:5001/health", scheme: "https", host: "nas.local", port: "5001", urlStr: "https://nas.local:5001/health"},
		{in: "https://API.Corp.Example", scheme: "https", host: "api.corp.example", port: "443", urlStr: "https://API.Corp.Example/"},
		{in: "  https://a.test/x?y=1#frag  ", scheme: "https", host: "a.test", port: "443", urlStr: "https://a.test/x?y=1"},
		{in: "HTTPS://a.test/", scheme: "https", host: "a.test", port: "443", urlStr: "https://a.test/"},
		{in: "tls://db.internal:5432", scheme: "tls", host: "db.internal", port: "5432", urlStr: "https://db.internal:5432/"},
		{in: "tls://db.internal", err: "give the port"},
		{in: "192.168.1.20:443", scheme: "tls", host: "192.168.1.20", port: "443", urlStr: "https://192.168.1.20:443/"},
		{in: "[fd00::1]:8443", scheme: "tls", host: "fd00::1", port: "8443", urlStr: "https://[fd00::1]:8443/"},
		{in: "https://[fd00::1]/", scheme: "https", host: "fd00::1", port: "443"},
		{in: "https://bücher.example/", scheme: "https", host: "xn--bcher-kva.example", port: "443"},
		{in: "", err: "empty"},
		{in: "nas.local", err: "give the port"},
		{in: "fd00::1", err: "IPv6 address goes in brackets"},
		{in: "nas.local:", err: "give the port"},
		{in: "nas.local:0443", err: "plain form"},
		{in: "nas.local:70000", err: "1 to 65535"},
		{in: "http://a.test/", err: "plain http"},
		{in: "ftp://a.test/", err: "unknown scheme"},
		{in: "https://user:secret@a.test/", err: "user or password"},
		{in: "https:///path", err: "no host"},
		{in: "tls://a.test:443/path", err: "no path"},
		{in: "a b:443", err: "space or control"},
		{in: "a.test:443\x1b[2J", err: "space or control"},
		{in: ":443", err: "no host"},
		{in: "https://" + strings.Repeat("a", MaxTargetLen), err: "longer than"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			tg, err := ParseTarget(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrTarget) {
					t.Fatalf("err %v, want one with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tg.Scheme != c.scheme || tg.Host != c.host || tg.Port != c.port {
				t.Errorf("got %s %s %s, want %s %s %s", tg.Scheme, tg.Host, tg.Port, c.scheme, c.host, c.port)
			}
			if c.urlStr != "" && tg.URL.String() != c.urlStr {
				t.Errorf("URL %s, want %s", tg.URL, c.urlStr)
			}
		})
	}
}

func TestParseTargets(t *testing.T) {
	in := "# fleet\n\nhttps://a.test/  # the API\ntls://b.test:8443\n  c.test:443\nhttps://d.test/#top\n"
	ts, err := ParseTargets(strings.NewReader(in), "fleet.txt")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range ts {
		got = append(got, tg.Raw)
	}
	if want := "https://a.test/|tls://b.test:8443|c.test:443|https://d.test/#top"; strings.Join(got, "|") != want {
		t.Errorf("targets %q, want %s", got, want)
	}
	_, err = ParseTargets(strings.NewReader("a.test:443\nbad\nhttp://x/\n"), "fleet.txt")
	var te *TargetError
	if !errors.As(err, &te) || te.Line != 2 || !strings.Contains(err.Error(), "fleet.txt:3:") {
		t.Errorf("errors %v", err)
	}
	_, err = ParseTargets(strings.NewReader("a.test:443\n"+strings.Repeat("x", MaxTargetLen+10)+"\n"), "-")
	if err == nil || !strings.Contains(err.Error(), "-:2:") {
		t.Errorf("a long line: %v", err)
	}
}

// FuzzParseTarget: any input parses to a target that round-trips through
// its own form, or fails with ErrTarget; nothing panics.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"https://nas.local:5001/health", "tls://db:5432", "[fd00::1]:8443", "192.168.1.20:443",
		"https://bücher.example/", "https://user@x/", "x:0", "https://[::1", "tls://a:1/b", "https://a.test:65535/?q#f", "%", "https://%zz/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			if !errors.Is(err, ErrTarget) {
				t.Fatalf("%q: error %v is not ErrTarget", s, err)
			}
			return
		}
		if tg.Host == "" || tg.Port == "" || tg.URL == nil || !utf8.ValidString(tg.Host) {
			t.Fatalf("%q: incomplete target %+v", s, tg)
		}
		again, err := ParseTarget(tg.HostPort())
		if err != nil || again.Host != tg.Host || again.Port != tg.Port {
			t.Fatalf("%q: host:port %q does not parse back: %v", s, tg.HostPort(), err)
		}
	})
}

// FuzzParseTargets: a list never panics, and every target it returns parses
// alone.
func FuzzParseTargets(f *testing.F) {
	f.Add("# c\nhttps://a/ # x\nb:1\n")
	f.Add("\n\n#\n  \t\n")
	f.Add("a:1\r\nb:2\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseTargets(strings.NewReader(s), "f")
		if err != nil {
			return
		}
		for _, tg := range ts {
			if _, err := ParseTarget(tg.Raw); err != nil {
				t.Fatalf("%q from the list does not parse alone: %v", tg.Raw, err)
			}
		}
	})
}
