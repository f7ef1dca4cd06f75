package main

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
)

func TestSplitCertArg(t *testing.T) {
	tests := []struct {
		in, file, password string
	}{
		{"me.p12", "me.p12", ""},
		{"me.p12:s3cret", "me.p12", "s3cret"},
		{"me.p12:", "me.p12", ""},
		{"me.p12:pass:with:colons", "me.p12", "pass:with:colons"},
		{`a\:b.p12:pw`, "a:b.p12", "pw"},
		{`a\\b.p12`, `a\b.p12`, ""},
		{`a\\:pw`, `a\`, "pw"},
		{`a\xb.pem`, `a\xb.pem`, ""},
		{`trailing\`, `trailing\`, ""},
		{":pw", "", "pw"},
		{"", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := splitCertArg(tt.in)
			if got.file != tt.file || got.password != tt.password {
				t.Errorf("splitCertArg(%q) = %q, %q; want %q, %q", tt.in, got.file, got.password, tt.file, tt.password)
			}
		})
	}
}

// escapeCertFile escapes a file name for --cert FILE:PASSWORD as curl's
// documentation says: '\' and ':' get a backslash.
func escapeCertFile(name string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(name)
}

func FuzzSplitCertArg(f *testing.F) {
	for _, s := range []string{"me.p12", `a\:b`, `a\\b`, "c:pw", `x\`, `\:\\:`} {
		f.Add(s, "s3cret")
	}
	f.Fuzz(func(t *testing.T, file, password string) {
		splitCertArg(file) // never panics
		if password == "" {
			return
		}
		got := splitCertArg(escapeCertFile(file) + ":" + password)
		if got.file != file || got.password != password {
			t.Errorf("escaped %q with %q: got %q, %q", file, password, got.file, got.password)
		}
	})
}

func TestParseWriteOut(t *testing.T) {
	vars := map[string]woValue{"http_code": woCode(200), "time_total": woSecs(1500 * time.Millisecond),
		"content_type": woStr("text/plain\x1b[2J"), "size_download": woInt(12)}
	header := http.Header{"Server": {"nginx"}}
	tests := []struct {
		format, out, errOut string
		unknown             []string
	}{
		{`%{http_code}\n`, "200\n", "", nil},
		{`%{http_code} %{time_total}`, "200 1.500000", "", nil},
		{`100%% done\t%{size_download}\r\n`, "100% done\t12\r\n", "", nil},
		{`%{nope}x`, "x", "", []string{"nope"}},
		{`%{`, "%{", "", nil},
		{`%{http_code`, "%{http_code", "", nil},
		{`%header{server}|%header{X-None}|`, "nginx||", "", nil},
		{`%header{server`, "%header{server", "", nil},
		{`\x\\`, `\x\\`, "", nil},
		{`%z`, "%z", "", nil},
		{`a%{stderr}b%{stdout}c`, "ac", "b", nil},
		{`%{content_type}`, `text/plain\x1b[2J`, "", nil},
		{`%{json}`, `{"content_type":"text/plain\u001b[2J","http_code":200,"size_download":12,"time_total":1.500000}`, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var out, errOut bytes.Buffer
			unknown := woRender(parseWriteOut(tt.format), vars, header, &out, &errOut)
			if out.String() != tt.out || errOut.String() != tt.errOut || fmt.Sprint(unknown) != fmt.Sprint(tt.unknown) {
				t.Errorf("%q: stdout %q, stderr %q, unknown %q; want %q, %q, %q", tt.format, out.String(), errOut.String(), unknown, tt.out, tt.errOut, tt.unknown)
			}
		})
	}
	// Without an answer, %{http_code} is 000 (0 in JSON), as curl's.
	if got := woCode(0); got.s != "000" || got.json != "0" {
		t.Errorf("woCode(0) = %+v", got)
	}
}

func FuzzParseWriteOut(f *testing.F) {
	for _, s := range []string{`%{http_code}\n`, `%{json}`, `%%`, `%{`, `%header{a}`, `\n\t\r\\`, `%{stderr}x`, "plain"} {
		f.Add(s)
	}
	vars := map[string]woValue{"http_code": woCode(200)}
	f.Fuzz(func(t *testing.T, format string) {
		var out bytes.Buffer
		woRender(parseWriteOut(format), vars, http.Header{}, &out, io.Discard)
		if !strings.ContainsAny(format, `%\`) && out.String() != format {
			t.Errorf("literal %q printed as %q", format, out.String())
		}
	})
}

func TestNoProxy(t *testing.T) {
	tests := []struct {
		list, url string
		want      bool
	}{
		{"", "https://a.test/", false},
		{"*", "https://a.test/", true},
		{"example.com", "https://example.com/", true},
		{"example.com", "https://www.example.com:8443/", true},
		{".example.com", "https://www.example.com/", true},
		{"example.com", "https://notexample.com/", false},
		{"example.com.", "https://Example.COM./", true},
		{"a.test, b.test", "https://b.test/", true},
		{"a.test b.test", "https://b.test/", true},
		{"127.0.0.1", "https://127.0.0.1:8443/", true},
		{"127.0.0.1", "https://127.0.0.2/", false},
		{"10.0.0.0/8", "https://10.1.2.3/", true},
		{"10.0.0.0/8", "https://11.1.2.3/", false},
		{"::1", "https://[::1]:8443/", true},
		{"[::1]", "https://[::1]/", true},
		{"fd00::/8", "https://[fd12::1]/", true},
		{"a.test:8443", "https://a.test:8443/", true},
		{"a.test:8443", "https://a.test/", false},
		{"a.test:443", "https://a.test/", true},
		{"10.0.0.0/8", "https://ten.test/", false},
	}
	for _, tt := range tests {
		t.Run(tt.list+" "+tt.url, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := parseNoProxy(tt.list).matches(u); got != tt.want {
				t.Errorf("--noproxy %q, %s: %v, want %v", tt.list, tt.url, got, tt.want)
			}
		})
	}
}

func FuzzNoProxy(f *testing.F) {
	f.Add("a.test,.b.test,10.0.0.0/8,[::1]:443,*", "a.test")
	f.Add("", "[fe80::1%25lo]")
	f.Fuzz(func(t *testing.T, list, host string) {
		parseNoProxy(list).matches(&url.URL{Scheme: "https", Host: host}) // never panics
		if parseNoProxy("*").matches(&url.URL{Scheme: "https", Host: host}) != true {
			t.Error("* does not match")
		}
	})
}

// TestProgressMeter: shown for a large body only, redrawn with the rate
// and the time left, each line cleared to its end (or padded on a dumb
// terminal, so that no character of a longer line is left over).
func TestProgressMeter(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }

	var small bytes.Buffer
	p := newProgress(&small, 2048, clock, true)
	p.Write(make([]byte, 2048))
	p.finish()
	if small.Len() != 0 {
		t.Errorf("a small, quick body: %q", small.String())
	}

	var big bytes.Buffer
	p = newProgress(&big, 4<<20, clock, true)
	now = now.Add(time.Second)
	p.Write(make([]byte, 1<<20))
	if got := big.String(); !strings.Contains(got, " 25% [#######") || !strings.Contains(got, "1.0 MiB / 4.0 MiB  1.0 MiB/s  ETA 0:03\x1b[K") {
		t.Errorf("first line: %q", got)
	}
	now = now.Add(3 * time.Second)
	p.Write(make([]byte, 3<<20))
	p.finish()
	if got := big.String(); !strings.HasSuffix(got, "\r100% [##############################] 4.0 MiB / 4.0 MiB  1.0 MiB/s  in 0:04\x1b[K\n") {
		t.Errorf("last line: %q", got)
	}

	// Unknown length, slow: shown after a second; on a dumb terminal a
	// shorter line is padded over the longer one.
	var dumb bytes.Buffer
	now = time.Unix(2000, 0)
	p = newProgress(&dumb, -1, clock, false)
	p.Write(make([]byte, 100))
	if dumb.Len() != 0 {
		t.Errorf("shown at once: %q", dumb.String())
	}
	now = now.Add(2 * time.Second)
	p.Write(make([]byte, 300<<10))
	now = now.Add(100 * time.Second)
	p.Write(make([]byte, 1))
	lines := strings.Split(dumb.String(), "\r")
	if len(lines) != 3 || lines[1] != "300.1 KiB  150.0 KiB/s" || lines[2] != "300.1 KiB  2.9 KiB/s  " || strings.Contains(dumb.String(), "\x1b") {
		t.Errorf("lines %q", lines)
	}
	p.finish()
	if got := dumb.String(); !strings.HasSuffix(got, "\r300.1 KiB  2.9 KiB/s  in 1:42\n") {
		t.Errorf("dumb: %q", got)
	}
}

func TestClockText(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0:00", 5 * time.Second: "0:05", 61 * time.Second: "1:01", 3723 * time.Second: "1:02:03"} {
		if got := clock(d); got != want {
			t.Errorf("clock(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestBinaryOutputGuard: binary data bound for a terminal is refused as
// curl does (exit 23); --output - and -o FILE write it; text is written.
func TestBinaryOutputGuard(t *testing.T) {
	noLeaks(t)
	pki := testpki.New(t)
	srv := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "127.0.0.1")), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/text" {
			io.WriteString(w, "plain text\n")
			return
		}
		w.Write([]byte("\x7fELF\x00\x01\x02"))
	}))
	ca := writeFile(t, "ca.pem", pki.Root.CertPEM())
	tests := []struct {
		args    []string
		code    int
		stdout  string
		inError string
	}{
		{[]string{srv.URL + "/bin"}, exitWrite, "", "binary output can mess up your terminal"},
		{[]string{"--output", "-", srv.URL + "/bin"}, exitOK, "\x7fELF\x00\x01\x02", ""},
		{[]string{srv.URL + "/text"}, exitOK, "plain text\n", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			e, stdout, errb := testEnv(t, "", false)
			e.terminal = func(f any) bool { return f == e.stdout }
			code := e.run(append([]string{"get", "--cacert", ca}, tt.args...))
			if code != tt.code || stdout.String() != tt.stdout {
				t.Fatalf("exit %d, stdout %q; want %d, %q\n%s", code, stdout, tt.code, tt.stdout, errb)
			}
			if tt.inError != "" && (!strings.Contains(errb.String(), tt.inError) || !strings.Contains(errb.String(), "--output -") || !strings.Contains(errb.String(), "--output FILE")) {
				t.Errorf("stderr %q", errb)
			}
		})
	}
}

func TestConnectLimit(t *testing.T) {
	tests := []struct {
		t    timeouts
		want time.Duration
		flag string
	}{
		{timeouts{}, defaultConnectTimeout, "--connect-timeout"},
		{timeouts{maxTime: 20}, 20 * time.Second, "--max-time"},
		{timeouts{connectTimeout: 25}, 25 * time.Second, "--connect-timeout"},
		{timeouts{maxTime: 20, connectTimeout: 3}, 3 * time.Second, "--connect-timeout"},
		{timeouts{maxTime: 0.5}, 500 * time.Millisecond, "--max-time"},
	}
	for _, tt := range tests {
		if got := tt.t.connectLimit(); got != tt.want || tt.t.limitFlag() != tt.flag {
			t.Errorf("%+v: %v %s, want %v %s", tt.t, got, tt.t.limitFlag(), tt.want, tt.flag)
		}
	}
	if err := (timeouts{maxTime: -1}).check(); err == nil {
		t.Error("a negative --max-time accepted")
	}
}

func TestShownHeader(t *testing.T) {
	tests := []struct{ name, value, want string }{
		{"Authorization", "Basic YWxpY2U6czNjcmV0", `Basic (user "alice", password not shown)`},
		{"Proxy-Authorization", "basic YWxpY2U6czNjcmV0", `Basic (user "alice", password not shown)`},
		{"Authorization", "Basic !!!", "Basic (credentials not shown)"},
		{"Authorization", "Bearer T0KEN", "Bearer T0KEN"},
		{"X-Other", "Basic YWxpY2U6czNjcmV0", "Basic YWxpY2U6czNjcmV0"},
	}
	for _, tt := range tests {
		if got := shownHeader(tt.name, tt.value); got != tt.want {
			t.Errorf("shownHeader(%q, %q) = %q, want %q", tt.name, tt.value, got, tt.want)
		}
	}
}

// TestPinnedPubKey reads curl's --pinnedpubkey: pins (';'-separated), or a
// file with a public key (PEM or DER) or a certificate.
func TestPinnedPubKey(t *testing.T) {
	pki := testpki.New(t)
	leaf := pki.Leaf(t, "a.test")
	want := certs.SPKIPin(leaf.Cert).String()
	spki := leaf.Cert.RawSubjectPublicKeyInfo
	files := map[string][]byte{
		"key.pem":  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}),
		"key.der":  spki,
		"cert.pem": leaf.CertPEM(),
		"cert.der": leaf.DER,
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			got, err := parsePinnedPubKey(writeFile(t, name, data))
			if err != nil || len(got) != 1 || got[0] != want {
				t.Errorf("%s: %q, %v; want [%s]", name, got, err, want)
			}
		})
	}
	curl := "sha256//" + strings.TrimPrefix(want, "sha256/") + ";sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	if got, err := parsePinnedPubKey(curl); err != nil || len(got) != 2 || got[0] != want {
		t.Errorf("%s: %q, %v", curl, got, err)
	}
	for _, bad := range []string{"sha256//short", writeFile(t, "junk.txt", []byte("no key here")), "/no/such/file"} {
		if _, err := parsePinnedPubKey(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzPublicKeyPins(f *testing.F) {
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"))
	f.Add([]byte{0x30, 0x59, 0x30, 0x13})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range publicKeyPins(data) {
			if _, err := certs.ParsePin(p); err != nil {
				t.Errorf("pin %q does not parse: %v", p, err)
			}
		}
	})
}

// TestResolveHints: the hint after a name that does not resolve fills in
// the URL's port (and brackets an IPv6 literal).
func TestResolveHints(t *testing.T) {
	e, _, _ := testEnv(t, "", false)
	for raw, want := range map[string]string{
		"https://nas.local:8441/api": "--resolve nas.local:8441:ADDR",
		"https://nas.local/":         "--resolve nas.local:443:ADDR",
		"http://nas.local/":          "--resolve nas.local:80:ADDR",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if h := e.netErrorHints(exitResolve, u); len(h) != 1 || !strings.HasSuffix(h[0], want) {
			t.Errorf("%s: %q, want ... %s", raw, h, want)
		}
	}
}

// TestConnectDeadlineLifted: the connect timeout bounds connecting only.
// Once a connection is handed to a request, an answer that takes longer
// than the connect timeout still arrives: over HTTP/2, HTTP/1.1, plain
// http, and through a CONNECT proxy.
func TestConnectDeadlineLifted(t *testing.T) {
	noLeaks(t)
	pki := testpki.New(t)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(400 * time.Millisecond)
		io.WriteString(w, "late but here\n")
	})
	h2 := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "127.0.0.1")), slow)
	h1 := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "127.0.0.1")), slow,
		func(cfg *tls.Config) { cfg.NextProtos = []string{"http/1.1"} })
	plain := testpki.StartHTTP(t, "127.0.0.1", slow)
	px := testpki.StartProxy(t, nil)
	ca := writeFile(t, "ca.pem", pki.Root.CertPEM())
	for name, args := range map[string][]string{
		"http/2":   {h2.URL},
		"http/1.1": {h1.URL},
		"plain":    {plain.URL},
		"proxy":    {"-x", px.URL.String(), h2.URL},
	} {
		t.Run(name, func(t *testing.T) {
			e, out, errb := testEnv(t, "", false)
			if code := e.run(append([]string{"get", "--cacert", ca, "--connect-timeout", "0.15"}, args...)); code != exitOK || out.String() != "late but here\n" {
				t.Errorf("exit %d, stdout %q\n%s", code, out, errb)
			}
		})
	}
}
