package fleet

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

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
			if err := writeGathered(&gathered, f, NewCollector(r)); err != nil {
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

// writeGathered is WriteMetrics in any format, OpenMetrics included.
func writeGathered(w io.Writer, format expfmt.Format, c prometheus.Collector) error {
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return err
	}
	enc := expfmt.NewEncoder(w, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	if cl, ok := enc.(expfmt.Closer); ok {
		return cl.Close()
	}
	return nil
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
