package fleet

import (
	"bytes"
	"cmp"
	"crypto/x509"
	"io"
	"math"
	"slices"
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
	// rank is each metric's place in the name order of the families.
	rank []int
	// head is each family's HELP and TYPE lines in the text format.
	head []string
}

func newDescs(extra ...string) *descs {
	d := &descs{d: make([]*prometheus.Desc, len(metrics)), labels: make([][]string, len(metrics)), order: make([][]int, len(metrics)),
		rank: make([]int, len(metrics)), head: make([]string, len(metrics))}
	byName := make([]int, len(metrics))
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
		d.head[i] = "# HELP " + m.name + " " + helpEscaper.Replace(m.help) + "\n# TYPE " + m.name + " gauge\n"
		byName[i] = i
	}
	sort.Slice(byName, func(a, b int) bool { return metrics[byName[a]].name < metrics[byName[b]].name })
	for r, i := range byName {
		d.rank[i] = r
	}
	return d
}

// helpEscaper escapes a help text as the text format does.
var helpEscaper = strings.NewReplacer("\\", `\\`, "\n", `\n`)

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
	s := c.samples(nil)
	for _, x := range s.list {
		ch <- prometheus.MustNewConstMetric(s.d.d[x.m], prometheus.GaugeValue, x.v, s.labels[x.lo:x.hi]...)
	}
}

// samples are the metrics of probes before they are encoded: for each,
// its family, its value and its label values (the extra ones first), the
// label values of all kept in one slice, so that a probe's few dozen
// series cost a handful of allocations.
type samples struct {
	d      *descs
	extra  []string
	labels []string
	list   []sample
	names  *certNames // nil: every name is formatted afresh
}

type sample struct {
	m      int
	v      float64
	lo, hi int // the label values, in samples.labels
}

// add records one series: metric m with value v and labels (after the
// extra ones).
func (s *samples) add(m int, v float64, labels ...string) {
	lo := len(s.labels)
	s.labels = append(s.labels, s.extra...)
	s.labels = append(s.labels, labels...)
	s.list = append(s.list, sample{m: m, v: v, lo: lo, hi: len(s.labels)})
}

// samples collects every metric of every result, in the order collect
// emits them.
func (c *Collector) samples(names *certNames) *samples {
	s := &samples{d: c.descs(), names: names, labels: make([]string, 0, 128), list: make([]sample, 0, 48)}
	c.collectInto(s)
	return s
}

// probe collects the metrics of one probe into s, which is empty.
func (s *samples) probe(r *Result, names *certNames) *samples {
	s.d, s.names = probeDescs(), names
	collect(r, s)
	return s
}

// reset empties s for another probe, holding on to nothing.
func (s *samples) reset() {
	clear(s.labels)
	*s = samples{labels: s.labels[:0], list: s.list[:0], extra: s.extra[:0]}
}

func (c *Collector) collectInto(s *samples) {
	for _, r := range c.results {
		s.extra = s.extra[:0]
		if c.scan {
			s.extra = append(s.extra, labelValue(r.Target.Raw), string(r.Module))
		}
		collect(r, s)
	}
}

// sort orders the samples as a registry's Gather does: families by name,
// and within a family by label values, taken in the order of the label
// names (stable: equal ones stay in the order collected).
func (s *samples) sort() {
	d := s.d
	slices.SortStableFunc(s.list, func(a, b sample) int {
		if a.m != b.m {
			return cmp.Compare(d.rank[a.m], d.rank[b.m])
		}
		for _, j := range d.order[a.m] {
			if c := strings.Compare(s.labels[a.lo+j], s.labels[b.lo+j]); c != 0 {
				return c
			}
		}
		return 0
	})
}

// Families returns the metrics as metric families, sorted by name, as
// the Prometheus encoders take them: what a registry's Gather would
// return for c, without a registry.
func (c *Collector) Families() []*dto.MetricFamily {
	return c.samples(nil).families()
}

func (s *samples) families() []*dto.MetricFamily {
	s.sort()
	d := s.d
	gauge := dto.MetricType_GAUGE
	var out []*dto.MetricFamily
	for i, x := range s.list {
		if i == 0 || s.list[i-1].m != x.m {
			out = append(out, &dto.MetricFamily{Name: &metrics[x.m].name, Help: &metrics[x.m].help, Type: &gauge})
		}
		f := out[len(out)-1]
		names := d.labels[x.m]
		labels := s.labels[x.lo:x.hi]
		pairs := make([]*dto.LabelPair, len(labels))
		for k, j := range d.order[x.m] {
			pairs[k] = &dto.LabelPair{Name: &names[j], Value: &labels[j]}
		}
		v := x.v
		f.Metric = append(f.Metric, &dto.Metric{Label: pairs, Gauge: &dto.Gauge{Value: &v}})
	}
	return out
}

// appendText appends the samples in the Prometheus text format, byte for
// byte what expfmt's encoder writes for the families a registry gathers
// (TestWriteProbeIsGather): every name here is a valid legacy name, so
// no escaping scheme changes one.
func (s *samples) appendText(b []byte) []byte {
	s.sort()
	d := s.d
	for i, x := range s.list {
		if i == 0 || s.list[i-1].m != x.m {
			b = append(b, d.head[x.m]...)
		}
		b = append(b, metrics[x.m].name...)
		if x.hi > x.lo {
			names := d.labels[x.m]
			for k, j := range d.order[x.m] {
				if k == 0 {
					b = append(b, '{')
				} else {
					b = append(b, ',')
				}
				b = append(b, names[j]...)
				b = append(b, '=', '"')
				b = appendLabelValue(b, s.labels[x.lo+j])
				b = append(b, '"')
			}
			b = append(b, '}')
		}
		b = append(b, ' ')
		b = appendFloat(b, x.v)
		b = append(b, '\n')
	}
	return b
}

// appendLabelValue escapes a label value as the text format does:
// backslash, double quote and line feed.
func appendLabelValue(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '"':
			b = append(b, '\\', '"')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendFloat writes a sample value as the text format does.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case f == 1:
		return append(b, '1')
	case f == 0:
		return append(b, '0')
	case f == -1:
		return append(b, "-1"...)
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, +1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// WriteProbe writes the metrics of one probe to w in format, as the
// exporter answers /probe.
func WriteProbe(w io.Writer, format expfmt.Format, r *Result) error {
	b, err := appendProbe(make([]byte, 0, 8<<10), format, r, nil)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// appendProbe appends what WriteProbe writes to b; names, when not nil,
// keeps the label values of certificates between probes.
func appendProbe(b []byte, format expfmt.Format, r *Result, names *certNames) ([]byte, error) {
	s := NewCollector(r).samples(names)
	if format.FormatType() == expfmt.TypeTextPlain {
		return s.appendText(b), nil
	}
	buf := bytes.NewBuffer(b)
	enc := expfmt.NewEncoder(buf, format)
	for _, mf := range s.families() {
		if err := enc.Encode(mf); err != nil {
			return buf.Bytes(), err
		}
	}
	if cl, ok := enc.(expfmt.Closer); ok {
		if err := cl.Close(); err != nil {
			return buf.Bytes(), err
		}
	}
	return buf.Bytes(), nil
}

// certNames keeps the label values of the certificates seen lately, by
// fingerprint: their hex fingerprint, subject and issuer, each a function
// of the certificate's bytes alone. A fleet presents the same few
// certificates over and over, and formatting a name costs a dozen
// allocations.
type certNames struct {
	mu sync.Mutex
	m  map[certs.Fingerprint]*certLabels
}

type certLabels struct {
	fingerprint, subject, issuer string
}

// certNamesSize bounds the certificates kept.
const certNamesSize = 4096

func newCertNames() *certNames { return &certNames{m: map[certs.Fingerprint]*certLabels{}} }

// of returns c's label values.
func (n *certNames) of(c *x509.Certificate) *certLabels {
	fp := certs.CertFingerprint(c)
	if n == nil {
		return newCertLabels(fp, c)
	}
	n.mu.Lock()
	l, ok := n.m[fp]
	n.mu.Unlock()
	if ok {
		return l
	}
	l = newCertLabels(fp, c)
	n.mu.Lock()
	if len(n.m) >= certNamesSize {
		clear(n.m)
	}
	n.m[fp] = l
	n.mu.Unlock()
	return l
}

func newCertLabels(fp certs.Fingerprint, c *x509.Certificate) *certLabels {
	return &certLabels{fingerprint: fp.String(), subject: labelValue(c.Subject.String()), issuer: labelValue(c.Issuer.String())}
}

// collect emits r's metrics.
func collect(r *Result, s *samples) {
	emit := s.add
	emit(mSuccess, b2f(r.OK))
	emit(mDuration, r.Duration.Seconds())
	emit(mDNS, r.Phases.Resolve.Seconds())
	if r.IPProtocol != 0 {
		emit(mIPProtocol, float64(r.IPProtocol))
	}
	if r.Effective != nil {
		emit(mRule, 1, labelValue(r.RulePattern()), labelValue(r.RuleWhere()))
	}
	collectTLS(r, s)
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
func collectTLS(r *Result, s *samples) {
	emit := s.add
	if len(r.Chain) > 0 {
		leaf := r.Chain[0]
		l := s.names.of(leaf)
		emit(mEarliest, float64(r.NotAfter().Unix()))
		emit(mChainInfo, 1, l.fingerprint, l.subject, l.issuer, labelValue(strings.Join(leaf.DNSNames, ",")))
	}
	if best := r.BestChain(); best != nil {
		emit(mLastChain, float64(r.LastChainExpiry().Unix()))
		certMetrics(s, "verified", best)
	} else if len(r.Chain) > 0 {
		certMetrics(s, "presented", r.Chain)
	}
	if v := r.TLSVersionName(); v != "" {
		emit(mTLSVersion, 1, v)
	}
}

func certMetrics(s *samples, chain string, cs []*x509.Certificate) {
	for i, c := range cs {
		l := s.names.of(c)
		s.add(mCertNotAfter, float64(c.NotAfter.Unix()), chain, strconv.Itoa(i), role(c, i, len(cs)),
			l.fingerprint, l.subject, l.issuer)
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
