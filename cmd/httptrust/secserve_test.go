package main

// Script commands for the security scripts (testdata/script/sec_*.txtar):
// a hostile certificate, the headers a server received, HTTPS proxies, and
// checks on what reaches a terminal.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

func init() {
	scriptCmds["headers"] = cmdHeaders
	scriptCmds["termsafe"] = cmdTermSafe
	scriptCmds["lines"] = cmdLines
	scriptCmds["json"] = cmdJSON
	scriptCmds["proxy"] = cmdProxy
	scriptCmds["tunnels"] = cmdTunnels
}

// The text a hostile certificate carries (serve NAME -hostile).
const (
	// hostileForgedSHA256 is the fingerprint a forged "sha256:" line shows.
	hostileForgedSHA256 = "abababababababababababababababababababababababababababababababab"
	// hostileCN hides the rest of its line (SGR 8), forges a line of its
	// own and sets the window title.
	hostileCN = "device\x1b[8m\n      sha256:    " + hostileForgedSHA256 + "\x1b]0;owned\x07"
	// hostileO clears the screen.
	hostileO = "\x1b[2J"
	// hostileOU holds a right-to-left override and a C1 CSI (U+009B),
	// as a UTF8String.
	hostileOU = "unit\u202egnp.exe\u009b31m"
	// hostileSAN is an IA5String DNS name with a colour escape. IA5 is
	// ASCII: x509.CreateCertificate refuses U+202E in a DNS name (and
	// ParseCertificate refuses a certificate with one), so the bidi
	// override is in hostileOU and the CN.
	hostileSAN = "\x1b[31m"
)

// hostileL61 is a locality written as a T61String, which Go decodes as
// Latin-1: the byte 0x9b becomes the C1 CSI U+009B, 0x07 a BEL.
var hostileL61 = []byte("t61\x9b2J\x07")

// hostileLeaf returns a self-signed certificate for names (plus the
// hostile SAN) whose subject and names hold terminal escapes, made with
// crypto/x509 directly (mint refuses such names).
func hostileLeaf(names []string) (*mint.Cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject: pkix.Name{
			CommonName: hostileCN + "\u202e", Organization: []string{hostileO}, OrganizationalUnit: []string{hostileOU},
			ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{2, 5, 4, 7},
				Value: asn1.RawValue{Tag: asn1.TagT61String, Bytes: hostileL61}}},
		},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(90 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{hostileSAN},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("hostile certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("hostile certificate: %w", err)
	}
	if !strings.Contains(cert.Subject.CommonName, "\x1b[8m\n") || !slices.Contains(cert.DNSNames, hostileSAN) ||
		!slices.Contains(cert.Subject.OrganizationalUnit, hostileOU) || !slices.Contains(cert.Subject.Locality, "t61\u009b2J\x07") {
		return nil, fmt.Errorf("hostile certificate: the escapes did not survive encoding: %q %q %q %q", cert.Subject.CommonName, cert.DNSNames, cert.Subject.OrganizationalUnit, cert.Subject.Locality)
	}
	return &mint.Cert{Cert: cert, Key: key, DER: der}, nil
}

// recordHeaders keeps the headers of the last request s answered, with
// its Host.
func (s *scriptServer) recordHeaders(r *http.Request) {
	h := r.Header.Clone()
	h.Set("Host", r.Host)
	s.lastHeaders.Store(&h)
}

// cmdHeaders prints, on stdout, the headers of the last request the server
// NAME received, one "Name: value" line each, sorted; nothing if it has
// received none.
func cmdHeaders(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: headers NAME")
	}
	s := serverOf(ts, args[0])
	out := ts.Stdout()
	h := s.lastHeaders.Load()
	if h == nil {
		return
	}
	var lines []string
	for k, vs := range *h {
		for _, v := range vs {
			lines = append(lines, k+": "+v)
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
}

func serverOf(ts *testscript.TestScript, name string) *scriptServer {
	p := pkiOf(ts)
	p.mu.Lock()
	s := p.servers[name]
	p.mu.Unlock()
	if s == nil {
		ts.Fatalf("no server %s", name)
	}
	return s
}

// cmdTermSafe checks that the last command's stdout or stderr holds
// nothing a terminal would act on: no C0 control but newline and tab (no
// ESC, BEL, CR), no DEL, no C1 control (as a rune or a raw byte), no
// bidirectional control, and only valid UTF-8.
func cmdTermSafe(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 || (args[0] != "stdout" && args[0] != "stderr") {
		ts.Fatalf("usage: termsafe stdout|stderr")
	}
	s := ts.ReadFile(args[0])
	for line, text := range strings.Split(s, "\n") {
		for i := 0; i < len(text); {
			r, n := utf8.DecodeRuneInString(text[i:])
			if bad := unsafeRune(r, n); bad != "" {
				ts.Fatalf("%s line %d, byte %d: %s (%q) in %q", args[0], line+1, i, bad, text[i:i+n], text)
			}
			i += n
		}
	}
}

// unsafeRune names what is wrong with r (n bytes), or returns "".
func unsafeRune(r rune, n int) string {
	switch {
	case r == utf8.RuneError && n == 1:
		return "a byte that is not UTF-8"
	case r == '\t':
		return ""
	case r < 0x20:
		return "a C0 control"
	case r == 0x7f:
		return "DEL"
	case r >= 0x80 && r <= 0x9f:
		return "a C1 control"
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return "a bidirectional control"
	case r == 0x2028 || r == 0x2029:
		return "a line or paragraph separator"
	}
	return ""
}

// cmdLines checks that exactly N lines of the last command's stdout or
// stderr match REGEXP.
func cmdLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 || (args[0] != "stdout" && args[0] != "stderr") {
		ts.Fatalf("usage: lines stdout|stderr REGEXP N")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	want, err := strconv.Atoi(args[2])
	ts.Check(err)
	var got []string
	for _, l := range strings.Split(ts.ReadFile(args[0]), "\n") {
		if re.MatchString(l) {
			got = append(got, l)
		}
	}
	if len(got) != want {
		ts.Fatalf("%s: %d lines match %q, want %d:\n%s", args[0], len(got), args[1], want, strings.Join(got, "\n"))
	}
}

// cmdJSON parses the last command's stdout (or FILE) as JSON, failing if
// it does not parse, and prints on stdout the value at each PATH (keys and
// list indices separated by dots; "." is the whole document): a string as
// it is (-q: Go-quoted), a list one element a line, anything else as JSON.
func cmdJSON(ts *testscript.TestScript, neg bool, args []string) {
	quote := len(args) > 0 && args[0] == "-q"
	if quote {
		args = args[1:]
	}
	if neg || len(args) < 2 {
		ts.Fatalf("usage: json [-q] stdout|FILE PATH...")
	}
	data := ts.ReadFile(args[0])
	var doc any
	if err := json.Unmarshal([]byte(data), &doc); err != nil {
		ts.Fatalf("%s is not JSON: %v\n%s", args[0], err, data)
	}
	var vals []any
	for _, path := range args[1:] {
		vals = append(vals, jsonAt(ts, args[0], doc, path))
	}
	out := ts.Stdout()
	show := func(v any) {
		if s, ok := v.(string); ok {
			if quote {
				s = strconv.Quote(s)
			}
			fmt.Fprintln(out, s)
			return
		}
		b, _ := json.Marshal(v)
		fmt.Fprintln(out, string(b))
	}
	for _, v := range vals {
		if list, ok := v.([]any); ok {
			for _, e := range list {
				show(e)
			}
			continue
		}
		show(v)
	}
}

// jsonAt returns the value at path in v.
func jsonAt(ts *testscript.TestScript, src string, v any, path string) any {
	if path == "." {
		return v
	}
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				ts.Fatalf("%s: no key %q at %s", src, k, path)
			}
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				ts.Fatalf("%s: no element %q at %s", src, k, path)
			}
			v = x[i]
		default:
			ts.Fatalf("%s: %s: %q is below a %T", src, path, k, v)
		}
	}
	return v
}

// cmdProxy starts a CONNECT proxy on 127.0.0.1 that tunnels to the
// targets given as HOST:PORT=ADDR:PORT (loopback IP literals need no
// entry). With -tls it is an HTTPS proxy presenting a self-signed
// certificate of its own for 127.0.0.1 (NAME.pem, NAME_SHA256, NAME_PIN).
// It sets NAME_URL (http:// or https://127.0.0.1:PORT) and NAME_PORT.
func cmdProxy(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	useTLS := fs.Bool("tls", false, "an HTTPS proxy with a self-signed certificate")
	if neg || len(args) < 1 {
		ts.Fatalf("usage: proxy NAME [-tls] [HOST:PORT=ADDR:PORT...]")
	}
	name := args[0]
	ts.Check(fs.Parse(args[1:]))
	resolve := map[string]string{}
	p := pkiOf(ts)
	for _, a := range fs.Args() {
		from, to, ok := strings.Cut(a, "=")
		if !ok {
			ts.Fatalf("proxy: %q: want HOST:PORT=ADDR:PORT", a)
		}
		resolve[from] = to
		p.alias(from, to)
	}
	up := strings.ToUpper(name)
	var cert *tls.Certificate
	if *useTLS {
		c, err := mint.New(mint.Template{Names: []string{"127.0.0.1"}, CommonName: name + " proxy"}, nil)
		ts.Check(err)
		p.export(ts, up, c, nil)
		tc := c.TLSCertificate()
		cert = &tc
	}
	px, err := testpki.ListenProxy("127.0.0.1", resolve, cert)
	ts.Check(err)
	ts.Defer(px.Close)
	ts.Setenv(up+"_URL", px.URL.String())
	ts.Setenv(up+"_PORT", px.URL.Port())
	if cert != nil {
		p.present(px.URL.Port(), func() []*x509.Certificate { return presentedTLS(cert) })
	}
	p.mu.Lock()
	if p.proxies == nil {
		p.proxies = map[string]*testpki.Proxy{}
	}
	p.proxies[name] = px
	p.mu.Unlock()
}

// cmdTunnels checks that the proxy NAME was asked for exactly N tunnels.
func cmdTunnels(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: tunnels NAME N")
	}
	p := pkiOf(ts)
	p.mu.Lock()
	px := p.proxies[args[0]]
	p.mu.Unlock()
	if px == nil {
		ts.Fatalf("no proxy %s", args[0])
	}
	want, err := strconv.ParseInt(args[1], 10, 64)
	ts.Check(err)
	if got := px.Connects.Load(); (got == want) == neg {
		ts.Fatalf("proxy %s was asked for %d tunnels (%q); want %s%d", args[0], got, px.Targets(), map[bool]string{true: "not ", false: ""}[neg], want)
	}
}
