package fleet

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// WriteProbe, which encodes without a registry, writes what a registry
// gathering the same Collector writes, byte for byte, in every format the
// exporter may negotiate; and so does the exporter's own encoding, which
// keeps certificates' label values between probes.
func TestWriteProbeIsGather(t *testing.T) {
	l := newFleetLab(t)
	pr := l.prober(l.policy, nil)
	var rs []*Result
	var names []string
	for _, name := range []string{"api", "old", "stranger", "pinned", "report", "pinok", "dev", "status", "hop"} {
		for _, m := range []Module{ModuleTLS, ModuleHTTPS} {
			rs = append(rs, pr.Probe(context.Background(), target(t, at(l.servers[name], name+".test")), m))
			names = append(names, name+"/"+string(m))
		}
	}
	// A certificate's names may hold what the text format escapes.
	odd, err := mint.New(mint.Template{CommonName: "quote \" back \\ slash\nnew line", Names: []string{"odd.test", "x.odd.test"}}, l.pki.Intermediate)
	if err != nil {
		t.Fatal(err)
	}
	r := &Result{Target: target(t, "https://odd.test/"), Module: ModuleHTTPS, Host: "odd.test", Port: "443", OK: true, Judged: true, Trusted: true,
		Chain: []*x509.Certificate{odd.Cert, l.pki.Intermediate.Cert}, Verified: [][]*x509.Certificate{{odd.Cert, l.pki.Intermediate.Cert, l.pki.Root.Cert}},
		TLSVersion: tls.VersionTLS13, HTTP: &HTTP{Status: 200, Proto: "HTTP/2.0", ContentLength: -1, BodyBytes: 3, TLS: true},
		Duration: 1234567 * time.Nanosecond, Phases: Phases{Connect: time.Millisecond, TLS: 3 * time.Millisecond / 7}}
	rs, names = append(rs, r), append(names, "odd")
	cache, reused := newCertNames(), &samples{}
	for _, f := range []expfmt.Format{
		expfmt.NewFormat(expfmt.TypeTextPlain),
		expfmt.Negotiate(http.Header{}),
		expfmt.Negotiate(http.Header{"Accept": {"text/plain;version=1.0.0;escaping=allow-utf-8"}}),
		expfmt.Negotiate(http.Header{"Accept": {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"}}),
		expfmt.NewFormat(expfmt.TypeOpenMetrics),
	} {
		for i, r := range rs {
			var direct, gathered bytes.Buffer
			if err := WriteProbe(&direct, f, r); err != nil {
				t.Fatal(err)
			}
			if err := WriteMetrics(&gathered, f, NewCollector(r)); err != nil {
				t.Fatal(err)
			}
			if direct.Len() == 0 || direct.String() != gathered.String() {
				t.Errorf("%s, %s: WriteProbe differs from Gather:\n%q\n----\n%q", names[i], f, direct.String(), gathered.String())
			}
			for range 2 { // the second time from the cache
				b, err := appendProbe(nil, f, r, cache)
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != gathered.String() {
					t.Errorf("%s, %s: the exporter's encoding differs from Gather:\n%q\n----\n%q", names[i], f, b, gathered.String())
				}
				if f.FormatType() != expfmt.TypeTextPlain {
					continue
				}
				// As /probe writes the text format, with samples reused.
				b = reused.probe(r, cache).appendText(nil)
				reused.reset()
				if string(b) != gathered.String() {
					t.Errorf("%s, %s: /probe's encoding differs from Gather:\n%q\n----\n%q", names[i], f, b, gathered.String())
				}
			}
		}
	}
}

// Every metric a probe can report is in the table, with its labels.
func TestMetricNames(t *testing.T) {
	names := MetricNames()
	for _, want := range []string{"probe_success", "probe_duration_seconds", "probe_ssl_earliest_cert_expiry",
		"probe_ssl_last_chain_expiry_timestamp_seconds", "probe_ssl_last_chain_info", "probe_tls_version_info",
		"probe_http_status_code", "probe_http_duration_seconds", "httptrust_probe_refused"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s", want)
		}
	}
	if !slices.Equal(metrics[mChainInfo].labels, []string{"fingerprint_sha256", "subject", "issuer", "subjectalternative"}) {
		t.Errorf("probe_ssl_last_chain_info labels %v", metrics[mChainInfo].labels)
	}
}

// A certificate's subject, issuer and names reach label values escaped for
// a terminal (ESC, BEL, CR, U+202E written \x1b, \x07, \x0d, \u202e), in
// /probe's answer and in a scan's textfile alike, and WriteProbe still
// writes what a registry's Gather writes.
func TestLabelValuesTerminalSafe(t *testing.T) {
	const cn = "dev\x1b]0;owned\x07\x1b[2J\rhttptrust_probe_trusted 1 \u202e\u2028"
	l := newFleetLab(t)
	srv := l.serve(testpki.Chain(leafWithCN(t, "evil.test", cn)), nil, "evil.test")
	r := l.prober(l.policy, nil).Probe(context.Background(), target(t, at(srv, "evil.test")), ModuleTLS)
	if len(r.Chain) == 0 {
		t.Fatalf("no chain: %v", r.Err)
	}
	f := expfmt.NewFormat(expfmt.TypeTextPlain)
	var direct, gathered, scan bytes.Buffer
	if err := WriteProbe(&direct, f, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteMetrics(&gathered, f, NewCollector(r)); err != nil {
		t.Fatal(err)
	}
	if err := WriteMetrics(&scan, f, NewScanCollector([]*Result{r})); err != nil {
		t.Fatal(err)
	}
	if direct.String() != gathered.String() {
		t.Errorf("WriteProbe differs from Gather:\n%s\n----\n%s", direct.String(), gathered.String())
	}
	want := `CN=dev\x1b]0\;owned\x07\x1b[2J\x0dhttptrust_probe_trusted 1 \u202e\u2028`
	for name, out := range map[string]string{"probe": direct.String(), "scan": scan.String()} {
		for i, c := range out {
			if (c < 0x20 && c != '\n') || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u202e' || c == '\u2028' {
				t.Errorf("%s: %U raw at byte %d", name, c, i)
			}
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := parser.TextToMetricFamilies(strings.NewReader(out))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		if _, ok := value(mfs, "probe_ssl_last_chain_info", map[string]string{"subject": want, "issuer": want}); !ok {
			t.Errorf("%s: no probe_ssl_last_chain_info with subject %s: %s", name, want, labelsOf(mfs, "probe_ssl_last_chain_info"))
		}
		if _, ok := value(mfs, "httptrust_cert_not_after_timestamp_seconds", map[string]string{"subject": want, "position": "0"}); !ok {
			t.Errorf("%s: no httptrust_cert_not_after_timestamp_seconds with subject %s", name, want)
		}
	}
}
