package fleet

import (
	"bytes"
	"crypto/x509"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
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
	{"probe_success", "Whether the probe succeeded: the policy trusted the connection (and, for https, a 2xx answer)", nil},
	{"probe_duration_seconds", "How long the probe took, in seconds", nil},
	{"probe_dns_lookup_time_seconds", "How long resolving the host took, in seconds", nil},
	{"probe_ip_protocol", "The IP protocol of the address connected to: 4 or 6", nil},
	{"probe_ssl_earliest_cert_expiry", "The earliest expiry (Unix time) of the certificates the server presented, also when refused", nil},
	{"probe_ssl_last_chain_expiry_timestamp_seconds", "Over the chains the policy verified, the latest of each chain's earliest expiry (Unix time); absent when nothing was verified", nil},
	{"probe_ssl_last_chain_info", "The leaf certificate the server presented, also when refused", []string{"fingerprint_sha256", "subject", "issuer", "subjectalternative"}},
	{"probe_tls_version_info", "The TLS version negotiated", []string{"version"}},
	{"probe_http_status_code", "The status code of the final answer; 0 when none came", nil},
	{"probe_http_duration_seconds", "How long each phase of the request took, summed over redirects, in seconds", []string{"phase"}},
	{"probe_http_ssl", "Whether the final answer came over TLS", nil},
	{"probe_http_redirects", "The number of redirects followed", nil},
	{"probe_http_version", "The HTTP version of the final answer", nil},
	{"probe_http_content_length", "The Content-Length of the final answer; -1 when not given", nil},
	{"probe_http_uncompressed_body_length", "The length of the body read", nil},
	{"httptrust_probe_trusted", "Whether the policy trusted the connection; absent when no verdict was reached (no connection)", nil},
	{"httptrust_probe_refused", "Why the policy refused the connection: one of the fixed reason codes", []string{"reason"}},
	{"httptrust_probe_failed", "Why the probe failed when the policy did not refuse: one of the fixed failure codes", []string{"reason"}},
	{"httptrust_probe_rule_info", "The rule that decided for the host: its pattern and where it is written (file:line, defaults)", []string{"pattern", "rule"}},
	{"httptrust_cert_not_after_timestamp_seconds", "The expiry (Unix time) of each certificate: of the chain presented and of the chain verified, with its position (0 is the leaf)", []string{"chain", "position", "role", "fingerprint_sha256", "subject", "issuer"}},
	{"httptrust_pins_state", "The state of the deciding rule's pin set: enforced, expiring_soon, report_only or expired", []string{"state", "rule"}},
	{"httptrust_pins_expire_timestamp_seconds", "When the deciding rule's pins stop being enforced (Unix time: the start of the day after pins_expire)", []string{"rule"}},
	{"httptrust_pins_match", "Whether a pin of the deciding rule matched the verified chain (0 with report-only pins: a mismatch let through)", []string{"rule"}},
	{"httptrust_first_use", "Where the host stands with its first-use record: known, first_contact, recorded or changed", []string{"state"}},
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

// descs are the metrics' descriptors, with extra leading labels.
type descs []*prometheus.Desc

func newDescs(extra ...string) descs {
	d := make(descs, len(metrics))
	for i, m := range metrics {
		d[i] = prometheus.NewDesc(m.name, m.help, append(append([]string{}, extra...), m.labels...), nil)
	}
	return d
}

var (
	probeDescs = sync.OnceValue(func() descs { return newDescs() })
	scanDescs  = sync.OnceValue(func() descs { return newDescs("target", "module") })
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

func (c *Collector) descs() descs {
	if c.scan {
		return scanDescs()
	}
	return probeDescs()
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs() {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	d := c.descs()
	for _, r := range c.results {
		var extra []string
		if c.scan {
			extra = []string{labelValue(r.Target.Raw), string(r.Module)}
		}
		emit := func(m int, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d[m], prometheus.GaugeValue, v, append(append([]string{}, extra...), labels...)...)
		}
		collect(r, emit)
	}
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
// chain whenever there is one, from the verified chain when there is one.
// The −62135596800 of blackbox_exporter's unverified chain is never sent.
func collectTLS(r *Result, emit func(m int, v float64, labels ...string)) {
	if len(r.Chain) > 0 {
		leaf := r.Chain[0]
		emit(mEarliest, float64(r.NotAfter().Unix()))
		emit(mChainInfo, 1, certs.CertFingerprint(leaf).String(), labelValue(leaf.Subject.String()),
			labelValue(leaf.Issuer.String()), labelValue(strings.Join(leaf.DNSNames, ",")))
		certMetrics(emit, "presented", r.Chain)
	}
	if best := r.BestChain(); best != nil {
		emit(mLastChain, float64(r.LastChainExpiry().Unix()))
		certMetrics(emit, "verified", best)
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

// labelValue makes a certificate's string a valid, bounded label value.
// The text format escapes what it must; the exporter's HTML and the CLI
// escape for their own readers.
func labelValue(s string) string {
	if len(s) > MaxLabelLen {
		s = s[:MaxLabelLen] + "..."
	}
	return strings.ToValidUTF8(s, "\uFFFD")
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
