package fleet

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// lab is a loopback test bed: a private CA, servers, and names resolved
// to them.
type lab struct {
	t       *testing.T
	pki     *testpki.PKI
	mu      sync.Mutex
	resolve map[string]string
}

func newLab(t *testing.T) *lab {
	t.Helper()
	return &lab{t: t, pki: testpki.New(t), resolve: map[string]string{}}
}

// serve starts a TLS server for cert, reachable as each of names.
func (l *lab) serve(cert tls.Certificate, handler http.Handler, names ...string) *testpki.Server {
	l.t.Helper()
	s := testpki.StartTLS(l.t, "127.0.0.1", cert, handler)
	l.mu.Lock()
	for _, n := range names {
		l.resolve[n] = "127.0.0.1"
	}
	l.mu.Unlock()
	return s
}

func (l *lab) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	l.mu.Lock()
	d := testpki.Dialer(l.resolve)
	l.mu.Unlock()
	return d(ctx, network, addr)
}

// policy builds a policy from rules given in code, with no system roots.
func (l *lab) policy(known httptrust.TOFUStore, record bool, rules ...httptrust.Rule) *httptrust.Policy {
	l.t.Helper()
	opts := PolicyOptions(httptrust.Options{SystemRoots: x509.NewCertPool()}, known, record)
	p, err := httptrust.New(rules, opts)
	if err != nil {
		l.t.Fatal(err)
	}
	return p
}

func (l *lab) prober(p *httptrust.Policy, record httptrust.TOFUStore) *Prober {
	return &Prober{Policy: func() *httptrust.Policy { return p }, Record: record, Dial: l.dial, Timeout: 5 * time.Second}
}

func target(t *testing.T, s string) Target {
	t.Helper()
	tg, err := ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func at(s *testpki.Server, host string) string { return "https://" + host + ":" + s.Port + "/" }

func certsOf(cs ...*mint.Cert) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range cs {
		out = append(out, c.Cert)
	}
	return out
}

func boolp(b bool) *bool { return &b }

func pinOf(c *mint.Cert) string { return certs.SPKIPin(c.Cert).String() }

// families renders r's metrics in the text format and parses them back.
func families(t *testing.T, r *Result) map[string]*dto.MetricFamily {
	t.Helper()
	var b bytes.Buffer
	if err := WriteMetrics(&b, expfmt.NewFormat(expfmt.TypeTextPlain), NewCollector(r)); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(&b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return mfs
}

// value returns the value of the series of name whose labels include
// want, and whether there is exactly one.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
	var found []float64
	for _, m := range mf.Metric {
		if hasLabels(m, want) {
			found = append(found, m.GetGauge().GetValue())
		}
	}
	if len(found) != 1 {
		return 0, false
	}
	return found[0], true
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		ok := false
		for _, l := range m.Label {
			if l.GetName() == k && l.GetValue() == v {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// labelsOf lists the label sets of name, for failure messages.
func labelsOf(mfs map[string]*dto.MetricFamily, name string) string {
	mf, ok := mfs[name]
	if !ok {
		return "(absent)"
	}
	var out []string
	for _, m := range mf.Metric {
		var ls []string
		for _, l := range m.Label {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(ls)
		out = append(out, "{"+strings.Join(ls, ",")+"}")
	}
	return strings.Join(out, " ")
}
