package fleet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// hostileCN holds markup, a terminal escape, a line break and a
// right-to-left override.
const hostileCN = "<script>alert(1)</script>\x1b[2J\nsha256: forged\u202egnp.exe"

func hostileLeaf(t *testing.T, name string) *mint.Cert {
	t.Helper()
	return leafWithCN(t, name, hostileCN)
}

// leafWithCN is a self-signed leaf for name whose subject is cn, as it
// is: UTF8String, with whatever runes it holds.
func leafWithCN(t *testing.T, name, cn string) *mint.Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, DNSNames: []string{name, "<b>\x1b[31m"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &mint.Cert{Cert: c, Key: key, DER: der}
}

type exporterLab struct {
	*fleetLab
	exp *Exporter
	url string
}

func newExporterLab(t *testing.T) *exporterLab {
	fl := newFleetLab(t)
	exp := NewExporter(fl.prober(fl.policy, nil), 0, "test")
	exp.Loaded(nil, time.Unix(1700000000, 0))
	srv := httptest.NewServer(exp)
	t.Cleanup(srv.Close)
	return &exporterLab{fleetLab: fl, exp: exp, url: srv.URL}
}

func (l *exporterLab) get(t *testing.T, path string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, l.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func probePath(target, module string, more ...string) string {
	q := url.Values{"target": {target}}
	if module != "" {
		q.Set("module", module)
	}
	for i := 0; i+1 < len(more); i += 2 {
		q.Set(more[i], more[i+1])
	}
	return "/probe?" + q.Encode()
}

func parseText(t *testing.T, body string) map[string]float64 {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.Metric {
			v := m.GetGauge().GetValue()
			if m.Counter != nil {
				v = m.GetCounter().GetValue()
			}
			out[name] = v
		}
	}
	return out
}

func TestExporterProbe(t *testing.T) {
	l := newExporterLab(t)
	code, body, h := l.get(t, probePath(at(l.servers["api"], "api.test"), "https"))
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %s\n%s", code, h.Get("Content-Type"), body)
	}
	m := parseText(t, body)
	if m["probe_success"] != 1 || m["probe_http_status_code"] != 200 || m["probe_ssl_earliest_cert_expiry"] == 0 {
		t.Errorf("trusted: %v", m)
	}
	// The module follows the target when not given.
	_, body, _ = l.get(t, probePath("old.test:"+l.servers["old"].Port, ""))
	m = parseText(t, body)
	if m["probe_success"] != 0 || m["httptrust_probe_refused"] != 1 || m["probe_ssl_earliest_cert_expiry"] != float64(l.leaves["old"].Cert.NotAfter.Unix()) {
		t.Errorf("refused: %v", m)
	}
	if _, ok := m["probe_http_status_code"]; ok {
		t.Error("a host:port target was probed with the https module")
	}
	if !strings.Contains(body, `httptrust_probe_refused{reason="certificate_expired"} 1`) {
		t.Errorf("no reason label:\n%s", body)
	}
}

func TestExporterErrors(t *testing.T) {
	l := newExporterLab(t)
	for _, c := range []struct{ path, want string }{
		{"/probe", "target parameter is missing"},
		{probePath("nas.local", "tls"), "give the port"},
		{probePath("https://a.test/", "http_2xx"), "unknown module"},
		{probePath("tls://a.test:443", "https"), "module=tls"},
		{probePath("https://a.test/", "https", "hostname", "b.test"), "hostname parameter is not supported"},
	} {
		code, body, _ := l.get(t, c.path)
		if code != http.StatusBadRequest || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %q, want 400 with %q", c.path, code, body, c.want)
		}
	}
	_, body, _ := l.get(t, "/metrics")
	m := parseText(t, body)
	if m["httptrust_exporter_module_unknown_total"] != 1 {
		t.Errorf("unknown modules counted %v", m["httptrust_exporter_module_unknown_total"])
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "httptrust_exporter_store_last_reload_successful",
		"httptrust_exporter_store_last_reload_success_timestamp_seconds", "httptrust_exporter_build_info"} {
		if _, ok := m[name]; !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if m["httptrust_exporter_store_last_reload_successful"] != 1 || m["httptrust_exporter_store_last_reload_success_timestamp_seconds"] != 1700000000 {
		t.Errorf("reload metrics %v %v", m["httptrust_exporter_store_last_reload_successful"], m["httptrust_exporter_store_last_reload_success_timestamp_seconds"])
	}
	l.exp.Loaded(errTest, time.Now())
	_, body, _ = l.get(t, "/metrics")
	if m := parseText(t, body); m["httptrust_exporter_store_last_reload_successful"] != 0 || m["httptrust_exporter_store_last_reload_success_timestamp_seconds"] != 1700000000 {
		t.Errorf("after a failed reload: %v", m)
	}
}

var errTest = &url.Error{Op: "test", URL: "x", Err: io.EOF}

// Prometheus's scrape timeout, less the offset, bounds the probe.
func TestExporterScrapeTimeout(t *testing.T) {
	l := newExporterLab(t)
	silent := testpki.StartSilent(t, "127.0.0.1")
	start := time.Now()
	_, body, _ := l.get(t, probePath("127.0.0.1:"+silent.Port, "tls", "debug", "true"), "X-Prometheus-Scrape-Timeout-Seconds", "1")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("a 1 s scrape timeout took %s", took)
	}
	m := regexp.MustCompile(`beginning probe: module tls, target \S+, timeout (\d+)ms`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no timeout in the log:\n%s", body)
	}
	if ms, _ := strconv.Atoi(m[1]); ms < 400 || ms > 500 {
		t.Errorf("timeout %s ms, want 1 s less the 0.5 s offset", m[1])
	}
	if !strings.Contains(body, `httptrust_probe_failed{reason="timeout"} 1`) {
		t.Errorf("no timeout:\n%s", body)
	}
	// Without the header, the exporter's own timeout.
	l.exp.Timeout = 300 * time.Millisecond
	_, body, _ = l.get(t, probePath("127.0.0.1:"+silent.Port, "tls", "debug", "true"))
	if !regexp.MustCompile(`timeout (2\d\d|300)ms`).MatchString(body) {
		t.Errorf("no 300 ms timeout in the log:\n%s", body)
	}
	code, _, _ := l.get(t, probePath("127.0.0.1:1", "tls"), "X-Prometheus-Scrape-Timeout-Seconds", "soon")
	if code != http.StatusBadRequest {
		t.Errorf("a bad timeout header: %d", code)
	}
}

// debug=true returns the probe's log and the metrics, and the page lists
// the probes; what a certificate says is escaped on both, for a terminal
// and for a browser.
func TestExporterDebugAndPageEscape(t *testing.T) {
	l := newExporterLab(t)
	hostile := l.serve(testpki.Chain(hostileLeaf(t, "evil.test")), nil, "evil.test")
	code, body, h := l.get(t, probePath(at(hostile, "evil.test"), "https", "debug", "true"))
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %s", code, h.Get("Content-Type"))
	}
	for _, want := range []string{"Logs for the probe:", "Metrics that would have been returned:", "refused (self_signed_certificate)",
		`probe_success 0`, `\x1b[2J`, `\u202e`, "remedy: "} {
		if !strings.Contains(body, want) {
			t.Errorf("debug output has no %q:\n%s", want, body)
		}
	}
	if strings.ContainsAny(body, "\x1b\u202e") {
		t.Errorf("raw escapes in the debug output:\n%q", body)
	}
	// The metrics themselves carry the subject as it is, escaped by the
	// text format.
	_, metrics, _ := l.get(t, probePath(at(hostile, "evil.test"), "https"))
	if !strings.Contains(metrics, `subject="CN=\\<script\\>alert(1)`) || strings.Contains(metrics, "\nsha256: forged") {
		t.Errorf("label not in the text format's escaping:\n%s", metrics)
	}
	l.get(t, probePath(at(l.servers["api"], "api.test"), "https"))
	code, page, h := l.get(t, "/")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", code, h.Get("Content-Type"))
	}
	for _, bad := range []string{"<script>", "\x1b", "\u202e"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q raw", bad)
		}
	}
	for _, want := range []string{"&lt;script", `\x1b[2J`, "self_signed_certificate", "success", "api.test", "fleet.toml:1"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %q", want)
		}
	}
	if n := strings.Count(page, "<tr>"); n != 4 {
		t.Errorf("%d rows, want 3 probes and the header", n)
	}
}

// The page keeps the most recent probes only.
func TestExporterHistoryBound(t *testing.T) {
	p, _ := httptrust.New(nil, nil)
	e := NewExporter(&Prober{Policy: func() *httptrust.Policy { return p }}, 3, "test")
	for i := range 5 {
		e.record(&Result{Module: ModuleTLS, Target: Target{Raw: string(rune('a' + i))}})
	}
	var got []string
	for _, r := range e.recent() {
		got = append(got, r.Target.Raw)
	}
	if strings.Join(got, "") != "edc" {
		t.Errorf("recent %v, want e d c", got)
	}
}

// fold is what a terminal cols wide shows for out: each line cut into rows
// of cols runes (the test's subjects are ASCII), with whether a row starts
// a line.
func fold(out string, cols int) (rows []string, first []bool) {
	for _, l := range strings.Split(out, "\n") {
		r := []rune(l)
		for i := 0; ; i += cols {
			rows, first = append(rows, string(r[i:min(i+cols, len(r))])), append(first, i == 0)
			if i+cols >= len(r) {
				break
			}
		}
	}
	return rows, first
}

// The debug log and metrics lay out every line in rows that fit an
// 80-column terminal: a subject padded, by spaces or by letters, to the
// point where the terminal would wrap it cannot start a row that reads
// as a fingerprint line or a metric.
func TestExporterDebugNoForgedRows(t *testing.T) {
	real := "sha256/REALPINoftheREALserverFROMtheOPERATOR0000000="
	fake := "sha256 " + real + " (matches the pin of the rule)"
	for _, tt := range []struct{ name, cn string }{
		{"spaces", "dev" + strings.Repeat(" ", 200) + fake},
		// "12:00:00.000 certificate 0: subject CN=" is 39 columns.
		{"letters", "dev" + strings.Repeat("x", 80-39-3) + fake},
		{"metric", "dev" + strings.Repeat("y", 80-3) + "httptrust_probe_trusted 1"},
		{"long", "dev" + strings.Repeat("z", 3000) + fake},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newExporterLab(t)
			srv := l.serve(testpki.Chain(leafWithCN(t, "evil.test", tt.cn)), nil, "evil.test")
			_, body, _ := l.get(t, probePath(at(srv, "evil.test"), "tls", "debug", "true"))
			rows, first := fold(body, 80)
			for i, row := range rows {
				if !first[i] {
					t.Errorf("a line wider than 80 columns, wrapped at %q", row)
				}
				t2 := strings.TrimLeft(row, " ")
				if strings.HasPrefix(t2, "sha256") || strings.HasPrefix(t2, "httptrust_probe_trusted 1") {
					t.Errorf("row %d reads as a line of its own: %q", i, row)
				}
			}
			if !strings.Contains(body, "certificate 0: sha256") || !strings.Contains(body, "certificate 0 subject:") {
				t.Errorf("no certificate lines:\n%s", body)
			}
			if t.Failed() {
				t.Logf("debug output:\n%s", body)
			}
		})
	}
}

// A remedy's commands on the page and in the probe log: as CommandLines
// renders them; with no CommandLines, none when the prober dials its own
// way (the command, typed at a shell, could reach another server), and
// Remedy.Lines when it dials as DNS says.
func TestExporterRemedyCommands(t *testing.T) {
	l := newExporterLab(t)
	dev := at(l.serve(testpki.Chain(l.pki.SelfSigned(t, "self.test")), nil, "self.test"), "self.test")
	debug := func() string {
		_, body, _ := l.get(t, probePath(dev, "tls", "debug", "true"))
		return body
	}
	page := func() string {
		_, body, _ := l.get(t, "/")
		return body
	}
	if log, p := debug(), page(); strings.Contains(log, "httptrust fetch") || strings.Contains(p, "httptrust fetch") {
		t.Errorf("a command with Dial set and no CommandLines:\n%s\n%s", log, p)
	}
	if log := debug(); !strings.Contains(log, "remedy: if this is the server you expect") {
		t.Errorf("no remedy in words:\n%s", log)
	}
	l.exp.prober.CommandLines = func(cs []httptrust.Command) []string {
		var out []string
		for _, c := range cs {
			out = append(out, "httptrust "+c.Name+" --resolve self.test:1:127.0.0.1 "+strings.Join(c.Args, " "))
		}
		return out
	}
	want := "httptrust fetch --resolve self.test:1:127.0.0.1 " + dev
	if log := debug(); !strings.Contains(log, "remedy command: "+want+"\n") {
		t.Errorf("the log has no %q:\n%s", want, log)
	}
	if p := page(); !strings.Contains(p, "<code>"+want+"</code>") {
		t.Errorf("the page has no %q:\n%s", want, p)
	}

	// Dialling as DNS says (here an IP address): Remedy.Lines.
	pr := &Prober{Policy: l.exp.prober.Policy, Timeout: 5 * time.Second}
	ip := "https://127.0.0.1:" + testpki.StartTLS(t, "127.0.0.1", testpki.Chain(l.pki.SelfSigned(t, "127.0.0.1")), nil).Port + "/"
	r := pr.ProbeLog(context.Background(), target(t, ip), ModuleTLS)
	if got := pr.RemedyLines(r.Remedy()); len(got) != 1 || got[0] != "httptrust fetch "+ip {
		t.Errorf("RemedyLines = %q, want httptrust fetch %s", got, ip)
	}
	if !strings.Contains(strings.Join(r.Log, "\n"), "remedy command: httptrust fetch "+ip) {
		t.Errorf("the log has no command:\n%s", strings.Join(r.Log, "\n"))
	}
}
