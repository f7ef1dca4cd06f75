package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/httptrust/httptrust"
)

// TestCommandLine renders commands for runs with flags of their own: shell
// quoting, --resolve and --store repeated, get's flags repeated unless the
// command sets them, and never a password.
func TestCommandLine(t *testing.T) {
	g := &getFlags{cacert: "corp root.pem", cert: `me\:2.p12:hunter2`, pass: "hunter2", user: "alice:hunter2",
		pins: []string{"sha256/AAAA"}, tofu: true}
	g.proxy.proxy = "http://bob:s3cret@proxy.test:3128"
	g.timeouts.connectTimeout = 2.5
	g.minTLS = "1.0"
	ctx := hintContext{resolve: []string{"[::1]:443:127.0.0.1"}, store: "/tmp/my store", get: g.hintFlags()}
	tests := []struct {
		name string
		c    httptrust.Command
		want string
	}{
		{"fetch: --resolve and --store", httptrust.Command{Name: "fetch", Args: []string{"--host", "*.corp", "https://[::1]/"}},
			`httptrust fetch --resolve '[::1]:443:127.0.0.1' --store '/tmp/my store' --host '*.corp' 'https://[::1]/'`},
		{"trust add: --store only", httptrust.Command{Name: "trust add", Args: []string{httptrust.PlaceholderCAFile, "--host", "a.test"}},
			`httptrust trust add --store '/tmp/my store' '<CA certificate file>' --host a.test`},
		{"get: the run's flags, the password left out", httptrust.Command{Name: "get", Args: []string{"--fetch-intermediates", "https://a.test/"}},
			`httptrust get --resolve '[::1]:443:127.0.0.1' --store '/tmp/my store' --cacert 'corp root.pem' --pin sha256/AAAA --tofu ` +
				`--proxy http://bob@proxy.test:3128 --connect-timeout 2.5 --tlsv1.0 --cert 'me\:2.p12' --fetch-intermediates https://a.test/`},
		{"get: a client certificate of the command's own replaces the run's", httptrust.Command{Name: "get", Args: []string{"--cert", httptrust.PlaceholderClientCert, "https://a.test/"}},
			`httptrust get --resolve '[::1]:443:127.0.0.1' --store '/tmp/my store' --cacert 'corp root.pem' --pin sha256/AAAA --tofu ` +
				`--proxy http://bob@proxy.test:3128 --connect-timeout 2.5 --tlsv1.0 --cert '<client certificate file>' https://a.test/`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, _ := testEnv(t, "", false)
			e.hintCtx = ctx
			if got := e.commandLine(tt.c); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if got := e.commandLine(tt.c); strings.Contains(got, "hunter2") || strings.Contains(got, "s3cret") {
				t.Errorf("a password in %s", got)
			}
		})
	}
}

// TestWithoutPassword drops the password of a proxy URL, with or without
// its scheme.
func TestWithoutPassword(t *testing.T) {
	for in, want := range map[string]string{
		"http://proxy.test:3128":              "http://proxy.test:3128",
		"http://bob@proxy.test:3128":          "http://bob@proxy.test:3128",
		"http://bob:s3cret@proxy.test:3128":   "http://bob@proxy.test:3128",
		"bob:s3cret@proxy.test:3128":          "bob@proxy.test:3128",
		"socks5h://bob:s3cret@127.0.0.1:1080": "socks5h://bob@127.0.0.1:1080",
		"proxy.test:3128":                     "proxy.test:3128",
	} {
		if got := withoutPassword(in); got != want {
			t.Errorf("withoutPassword(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDemoCommands runs the demo and checks what it prints for the user to
// run next against what it runs next (its server is gone when it ends, so
// the replay of the scripts cannot): step 3's hint is step 4's command
// without the fingerprint, and step 4's "now:" line is step 5's command.
func TestDemoCommands(t *testing.T) {
	noLeaks(t)
	e, out, errb := testEnv(t, "", false)
	if code := e.run([]string{"demo"}); code != exitOK {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, errb)
	}
	var ran []string
	var hints, now []string
	for _, l := range strings.Split(out.String(), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "$ "):
			ran = append(ran, strings.TrimPrefix(l, "$ "))
		case strings.HasPrefix(l, "httptrust: hint:   httptrust "):
			hints = append(hints, strings.TrimPrefix(l, "httptrust: hint:   "))
		case strings.HasPrefix(l, "httptrust: now: "):
			now = append(now, strings.TrimPrefix(l, "httptrust: now: "))
		}
	}
	if len(ran) != 4 || len(hints) != 2 || len(now) != 1 {
		t.Fatalf("ran %q, hints %q, now %q\n%s", ran, hints, now, out)
	}
	fp := regexp.MustCompile(` --fingerprint [0-9a-f]{64}`)
	if got := fp.ReplaceAllString(ran[1], ""); got != hints[0] || got == ran[1] {
		t.Errorf("step 3's hint is not what step 4 runs (but the fingerprint):\n  hint %s\n  ran  %s", hints[0], ran[1])
	}
	if now[0] != ran[2] {
		t.Errorf("step 4's now: line is not what step 5 runs:\n  now %s\n  ran %s", now[0], ran[2])
	}
}
