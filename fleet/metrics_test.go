package fleet

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/prometheus/common/expfmt"
)

// WriteProbe, which encodes without a registry, writes what a registry
// gathering the same Collector writes, byte for byte.
func TestWriteProbeIsGather(t *testing.T) {
	l := newFleetLab(t)
	pr := l.prober(l.policy, nil)
	for _, name := range []string{"api", "old", "pinned", "report", "dev", "status"} {
		for _, m := range []Module{ModuleTLS, ModuleHTTPS} {
			r := pr.Probe(context.Background(), target(t, at(l.servers[name], name+".test")), m)
			var direct, gathered bytes.Buffer
			f := expfmt.NewFormat(expfmt.TypeTextPlain)
			if err := WriteProbe(&direct, f, r); err != nil {
				t.Fatal(err)
			}
			if err := WriteMetrics(&gathered, f, NewCollector(r)); err != nil {
				t.Fatal(err)
			}
			if direct.String() != gathered.String() {
				t.Errorf("%s/%s: WriteProbe differs from Gather:\n%s\n----\n%s", name, m, direct.String(), gathered.String())
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
