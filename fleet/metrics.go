package fleet

import (
	"bytes"
	"crypto/x509"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/httptrust/httptrust/certs"
)

// A metric is one family a probe reports. The blackbox_exporter names keep
// its meaning and label formats, so that dashboards and alerts written for
// it work; the httptrust_ names say what only a policy knows.
type metric struct {
	name, help string
	labels     []string
}

var metrics = []metric{
	{"probe_success", "Whether the probe succeeded: trusted (and for https a 2xx answer)", nil},
	{"probe_duration_seconds", "How long the probe took", nil},
	{"probe_dns_lookup_time_seconds", "How long resolving the host took", nil},
	{"probe_ip_protocol", "The IP protocol of the address connected to (4 or 6)", nil},
	{"probe_ssl_earliest_cert_expiry", "The earliest expiry of the certificates presented, also when refused", nil},
	{"probe_ssl_last_chain_expiry_timestamp_seconds", "The earliest expiry of the verified chain that lasts longest", nil},
	{"probe_ssl_last_chain_info", "The leaf certificate presented, also when refused", []string{"fingerprint_sha256", "subject", "issuer", "subjectalternative"}},
	{"probe_tls_version_info", "The TLS version negotiated", []string{"version"}},
	{"probe_http_status_code", "The status code of the final answer (0: none)", nil},
	{"probe_http_duration_seconds", "How long each phase of the request took, over all redirects", []string{"phase"}},
	{"probe_http_ssl", "Whether the final answer came over TLS", nil},
	{"probe_http_redirects", "The number of redirects followed", nil},
	{"probe_http_version", "The HTTP version of the final answer", nil},
	{"probe_http_content_length", "The Content-Length of the final answer (-1: none)", nil},
	{"probe_http_uncompressed_body_length", "The length of the body read", nil},
	{"httptrust_probe_trusted", "Whether the policy trusted the connection", nil},
	{"httptrust_probe_refused", "Why the policy refused the connection (a fixed code)", []string{"reason"}},
	{"httptrust_probe_failed", "Why the probe failed, when not refused (a fixed code)", []string{"reason"}},
	{"httptrust_probe_rule_info", "The rule that decided for the host", []string{"pattern", "rule"}},
	{"httptrust_cert_not_after_timestamp_seconds", "The expiry of each certificate of the verified chain (else of the chain presented), by position", []string{"chain", "position", "role", "fingerprint_sha256", "subject", "issuer"}},
	{"httptrust_pins_state", "The state of the deciding rule's pin set", []string{"state", "rule"}},
	{"httptrust_pins_expire_timestamp_seconds", "When the deciding rule's pins stop being enforced", []string{"rule"}},
	{"httptrust_pins_match", "Whether a pin matched the verified chain", []string{"rule"}},
	{"httptrust_first_use", "Where the host stands with its first-use record", []string{"state"}},
}

// Metric names, as the metrics table holds them.
const (
	mSuccess = iota
	mDuration
	mDNS
	mIPProtocol
	mEarliest
	mLastChain
	mChainInfo
	mTLSVersion
	mHTTPStatus
	mHTTPDuration
	mHTTPSSL
	mHTTPRedirects
	mHTTPVersion
	mHTTPContentLength
	mHTTPBodyLength
	mTrusted
	mRefused
	mFailed
	mRule
	mCertNotAfter
	mPinsState
	mPinsExpire
	mPinsMatch
	mFirstUse
)

// MetricNames lists every metric a probe may report, in order.
func MetricNames() []string {
	out := make([]string, len(metrics))
	for i, m := range metrics {
		out[i] = m.name
	}
	return out
}

// descs are the metrics' descriptors, with extra leading labels, and
// for each the order of its labels by name (as the text format sorts
// them).
type descs struct {
	d      []*prometheus.Desc
	labels [][]string
	order  [][]int
}

func newDescs(extra ...string) *descs {
	d := &descs{d: make([]*prometheus.Desc, len(metrics)), labels: make([][]string, len(metrics)), order: make([][]int, len(metrics))}
	for i, m := range metrics {
		names := append(append([]string{}, extra...), m.labels...)
		d.d[i] = prometheus.NewDesc(m.name, m.help, names, nil)
		d.labels[i] = names
		order := make([]int, len(names))
		for j := range order {
			order[j] = j
		}
		sort.Slice(order, func(a, b int) bool { return names[order[a]] < names[order[b]] })
		d.order[i] = order
	}
	return d
}

var (
	probeDescs = sync.OnceValue(func() *descs { return newDescs() })
	scanDescs  = sync.OnceValue(func() *descs { return newDescs("target", "module") })
)

// Collector reports probe results as Prometheus metrics: one probe's (the
// exporter's /probe answer) or many (a scan's textfile), each then labelled
// with its target and module.
type Collector struct {
	results []*Result
	scan    bool
}

// NewCollector returns the metrics of one probe.
func NewCollector(r *Result) *Collector { return &Collector{results: []*Result{r}} }

// NewScanCollector returns the metrics of many probes, each labelled with
// target and module.
func NewScanCollector(rs []*Result) *Collector { return &Collector{results: rs, scan: true} }

func (c *Collector) descs() *descs {
	if c.scan {
		return scanDescs()
	}
	return probeDescs()
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs().d {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	d := c.descs()
	c.each(func(m int, v float64, labels []string) {
		ch <- prometheus.MustNewConstMetric(d.d[m], prometheus.GaugeValue, v, labels...)
	})
}

// each emits every metric of every result, with the extra labels first.
func (c *Collector) each(emit func(m int, v float64, labels []string)) {
	for _, r := range c.results {
		var extra []string
		if c.scan {
			extra = []string{labelValue(r.Target.Raw), string(r.Module)}
		}
		collect(r, func(m int, v float64, labels ...string) {
			emit(m, v, append(append([]string{}, extra...), labels...))
		})
	}
}

// Families returns the metrics as metric families, sorted by name, as
// the Prometheus encoders take them: what a registry's Gather would
// return for c, without a registry.
func (c *Collector) Families() []*dto.MetricFamily {
	d := c.descs()
	fams := make([]*dto.MetricFamily, len(metrics))
	gauge := dto.MetricType_GAUGE
	c.each(func(m int, v float64, labels []string) {
		f := fams[m]
		if f == nil {
			f = &dto.MetricFamily{Name: &metrics[m].name, Help: &metrics[m].help, Type: &gauge}
			fams[m] = f
		}
		names := d.labels[m]
		pairs := make([]*dto.LabelPair, len(labels))
		for i, j := range d.order[m] {
			pairs[i] = &dto.LabelPair{Name: &names[j], Value: &labels[j]}
		}
		f.Metric = append(f.Metric, &dto.Metric{Label: pairs, Gauge: &dto.Gauge{Value: &v}})
	})
	out := make([]*dto.MetricFamily, 0, len(fams))
	for _, f := range fams {
		if f == nil {
			continue
		}
		// As a registry orders them: by label values.
		sort.SliceStable(f.Metric, func(i, j int) bool {
			a, b := f.Metric[i].Label, f.Metric[j].Label
			for k := range a {
				if a[k].GetValue() != b[k].GetValue() {
					return a[k].GetValue() < b[k].GetValue()
				}
			}
			return false
		})
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}

// WriteProbe writes the metrics of one probe to w in format, as the
// exporter answers /probe.
func WriteProbe(w io.Writer, format expfmt.Format, r *Result) error {
	enc := expfmt.NewEncoder(w, format)
	for _, mf := range NewCollector(r).Families() {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	if cl, ok := enc.(expfmt.Closer); ok {
		return cl.Close()
	}
	return nil
}

// collect emits r's metrics.
func collect(r *Result, emit func(m int, v float64, labels ...string)) {
	emit(mSuccess, b2f(r.OK))
	emit(mDuration, r.Duration.Seconds())
	emit(mDNS, r.Phases.Resolve.Seconds())
	if r.IPProtocol != 0 {
		emit(mIPProtocol, float64(r.IPProtocol))
	}
	if r.Effective != nil {
		emit(mRule, 1, labelValue(r.RulePattern()), labelValue(r.RuleWhere()))
	}
	collectTLS(r, emit)
	switch {
	case r.Refusal != nil:
		emit(mRefused, 1, r.Reason)
	case !r.OK:
		emit(mFailed, 1, r.Reason)
	}
	if r.Judged {
		emit(mTrusted, b2f(r.Trusted))
	}
	if ps := r.Pins; ps != nil {
		where := labelValue(ps.Rule.Where())
		emit(mPinsState, 1, ps.State.String(), where)
		if !ps.End.IsZero() {
			emit(mPinsExpire, float64(ps.End.Unix()), where)
		}
		if ps.Matched != nil {
			emit(mPinsMatch, b2f(*ps.Matched), where)
		}
	}
	if r.FirstUse != "" {
		emit(mFirstUse, 1, string(r.FirstUse))
	}
	if h := r.HTTP; h != nil {
		emit(mHTTPStatus, float64(h.Status))
		for _, ph := range []struct {
			name string
			v    float64
		}{{"resolve", r.Phases.Resolve.Seconds()}, {"connect", r.Phases.Connect.Seconds()}, {"tls", r.Phases.TLS.Seconds()},
			{"processing", r.Phases.Processing.Seconds()}, {"transfer", r.Phases.Transfer.Seconds()}} {
			emit(mHTTPDuration, ph.v, ph.name)
		}
		emit(mHTTPSSL, b2f(h.TLS))
		emit(mHTTPRedirects, float64(h.Redirects))
		emit(mHTTPVersion, httpVersion(h.Proto))
		emit(mHTTPContentLength, float64(h.ContentLength))
		emit(mHTTPBodyLength, float64(h.BodyBytes))
	}
}

// collectTLS emits the certificate and TLS metrics: from the presented
// chain whenever there is one (also when refused), and every
// certificate's expiry from the verified chain when there is one, else
// from the presented chain. The −62135596800 of blackbox_exporter's
// unverified chain is never sent.
func collectTLS(r *Result, emit func(m int, v float64, labels ...string)) {
	if len(r.Chain) > 0 {
		leaf := r.Chain[0]
		emit(mEarliest, float64(r.NotAfter().Unix()))
		emit(mChainInfo, 1, certs.CertFingerprint(leaf).String(), labelValue(leaf.Subject.String()),
			labelValue(leaf.Issuer.String()), labelValue(strings.Join(leaf.DNSNames, ",")))
	}
	if best := r.BestChain(); best != nil {
		emit(mLastChain, float64(r.LastChainExpiry().Unix()))
		certMetrics(emit, "verified", best)
	} else if len(r.Chain) > 0 {
		certMetrics(emit, "presented", r.Chain)
	}
	if v := r.TLSVersionName(); v != "" {
		emit(mTLSVersion, 1, v)
	}
}

func certMetrics(emit func(m int, v float64, labels ...string), chain string, cs []*x509.Certificate) {
	for i, c := range cs {
		emit(mCertNotAfter, float64(c.NotAfter.Unix()), chain, strconv.Itoa(i), role(c, i, len(cs)),
			certs.CertFingerprint(c).String(), labelValue(c.Subject.String()), labelValue(c.Issuer.String()))
	}
}

// role names a certificate's place: the leaf (position 0), a root (a
// self-issued certificate at the end) or an intermediate.
func role(c *x509.Certificate, i, n int) string {
	switch {
	case i == 0:
		return "leaf"
	case i == n-1 && bytes.Equal(c.RawIssuer, c.RawSubject):
		return "root"
	}
	return "intermediate"
}

// MaxLabelLen bounds a label value taken from a certificate.
const MaxLabelLen = 4096

// labelValue makes a certificate's string a bounded label value that is
// safe at a terminal: the text format escapes only backslash, double quote
// and line feed, and its readers include people with curl. So the value is
// escaped as SafeText does (controls, DEL, bidirectional and other format
// characters, line separators, invalid UTF-8 and runs of blanks written
// \x1b, \u202e, \x20 as text) before it reaches either encoder, so that
// the text and protobuf formats, and a registry's Gather, carry the same
// value. Its first MaxLabelLen bytes are kept.
func labelValue(s string) string {
	cut := ""
	if len(s) > MaxLabelLen {
		s, cut = s[:MaxLabelLen], "..."
	}
	return SafeText(s) + cut
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// httpVersion turns "HTTP/1.1" into 1.1, as blackbox_exporter does.
func httpVersion(proto string) float64 {
	v, err := strconv.ParseFloat(strings.TrimPrefix(proto, "HTTP/"), 64)
	if err != nil {
		return 0
	}
	return v
}

// WriteMetrics writes the collectors' metrics to w in format
// (expfmt.NewFormat(expfmt.TypeTextPlain) for the text format).
func WriteMetrics(w io.Writer, format expfmt.Format, cs ...prometheus.Collector) error {
	reg := prometheus.NewRegistry()
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
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
