package fleet

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/httptrust/httptrust/internal/termtext"
)

// Exporter defaults.
const (
	// DefaultTimeoutOffset is taken off Prometheus's scrape timeout, as
	// blackbox_exporter's --timeout-offset, so that the answer arrives in
	// time.
	DefaultTimeoutOffset = 500 * time.Millisecond
	// DefaultHistory is how many recent probes the status page keeps.
	DefaultHistory = 100
)

// An Exporter serves blackbox_exporter's protocol over a Prober:
//
//	GET /probe?target=T&module=M   one probe; its metrics (&debug=true: its log)
//	GET /metrics                   the exporter's own metrics
//	GET /                          the recent probes, as a page
//	GET /-/healthy                 200 OK
//	POST /-/reload                 reload the store now (when Reload is set)
//
// Build one with NewExporter; it is an http.Handler.
type Exporter struct {
	prober *Prober
	// Timeout bounds a probe when Prometheus sends no scrape timeout (a
	// person with curl); 0 means DefaultTimeout.
	Timeout time.Duration
	// TimeoutOffset is taken off the X-Prometheus-Scrape-Timeout-Seconds
	// header; 0 means DefaultTimeoutOffset.
	TimeoutOffset time.Duration
	// Reload, when set, reloads the store for POST /-/reload.
	Reload func() error

	mux                *http.ServeMux
	reg                *prometheus.Registry
	probes             *prometheus.CounterVec
	unknown            prometheus.Counter
	reloadOK, reloadAt prometheus.Gauge

	names *certNames // the label values of certificates seen lately
	// answers are the buffers /probe answers are encoded in (a few KB
	// each); the ResponseWriter copies what it is given, so a buffer is
	// free again once Write returns. samples are collected in the same way.
	answers, samples sync.Pool
	fmu              sync.Mutex
	formats          map[formatKey]negotiated

	mu      sync.Mutex
	history []*Result // a ring, newest at next-1
	next    int
	limit   int
}

// NewExporter returns an exporter over p that keeps history recent probes
// for its page (0 means DefaultHistory). version is reported in
// httptrust_exporter_build_info.
func NewExporter(p *Prober, history int, version string) *Exporter {
	if history <= 0 {
		history = DefaultHistory
	}
	e := &Exporter{prober: p, limit: history, reg: prometheus.NewRegistry(), mux: http.NewServeMux(), names: newCertNames(),
		formats: map[formatKey]negotiated{}}
	e.probes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "httptrust_exporter_probes_total",
		Help: "Probes run, by module and result (success, refused, failed)"}, []string{"module", "result"})
	e.unknown = prometheus.NewCounter(prometheus.CounterOpts{Name: "httptrust_exporter_module_unknown_total",
		Help: "Probes asked for a module that does not exist"})
	e.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{Name: "httptrust_exporter_store_last_reload_successful",
		Help: "Whether the last load of the trust store succeeded (a failed reload keeps the last good policy)"})
	e.reloadAt = prometheus.NewGauge(prometheus.GaugeOpts{Name: "httptrust_exporter_store_last_reload_success_timestamp_seconds",
		Help: "When the trust store last loaded successfully (Unix time)"})
	build := prometheus.NewGauge(prometheus.GaugeOpts{Name: "httptrust_exporter_build_info",
		Help: "The exporter's version", ConstLabels: prometheus.Labels{"version": version}})
	build.Set(1)
	e.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		e.probes, e.unknown, e.reloadOK, e.reloadAt, build)
	for _, m := range []Module{ModuleHTTPS, ModuleTLS} {
		for _, r := range []string{"success", "refused", "failed"} {
			e.probes.WithLabelValues(string(m), r)
		}
	}
	e.mux.HandleFunc("GET /probe", e.serveProbe)
	e.mux.Handle("GET /metrics", promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{}))
	e.mux.HandleFunc("GET /{$}", e.servePage)
	e.mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "OK") })
	e.mux.HandleFunc("POST /-/reload", e.serveReload)
	return e
}

// Loaded records a load of the store: err nil for a success at at.
func (e *Exporter) Loaded(err error, at time.Time) {
	if err != nil {
		e.reloadOK.Set(0)
		return
	}
	e.reloadOK.Set(1)
	e.reloadAt.Set(float64(at.Unix()))
}

// ServeHTTP implements http.Handler.
func (e *Exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	e.mux.ServeHTTP(w, r)
}

func (e *Exporter) serveProbe(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	raw := q.Get("target")
	if raw == "" {
		http.Error(w, "the target parameter is missing: /probe?target=https://host/&module=https", http.StatusBadRequest)
		return
	}
	t, err := ParseTarget(raw)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m, err := e.module(q.Get("module"), t)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if q.Has("hostname") {
		http.Error(w, "the hostname parameter is not supported: every decision is about the target's own host; name the host in the target and give it a rule (server_name for a device reached by IP)", http.StatusBadRequest)
		return
	}
	timeout, err := e.timeout(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	debug := q.Get("debug") == "true"
	var res *Result
	if debug {
		res = e.prober.ProbeLog(ctx, t, m)
	} else {
		res = e.prober.Probe(ctx, t, m)
	}
	e.record(res)
	if debug {
		e.writeDebug(w, res)
		return
	}
	format, text := e.negotiate(r.Header)
	bp, _ := e.answers.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	defer e.answers.Put(bp)
	var b []byte
	if text {
		s, _ := e.samples.Get().(*samples)
		if s == nil {
			s = &samples{}
		}
		b = s.probe(res, e.names).appendText((*bp)[:0])
		s.reset()
		e.samples.Put(s)
	} else {
		b, err = appendProbe((*bp)[:0], format, res, e.names)
	}
	*bp = b[:0]
	if err != nil {
		http.Error(w, "fleet: encoding the metrics: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", string(format))
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// negotiated is a format expfmt.Negotiate chose, and whether it is the
// text format.
type negotiated struct {
	format expfmt.Format
	text   bool
}

// maxFormats bounds the Accept headers whose format is kept.
const maxFormats = 64

// negotiate is expfmt.Negotiate, which parses the Accept header and every
// format it knows, kept by Accept header (the only header it reads) and
// name escaping scheme: Prometheus sends the same header on every scrape.
func (e *Exporter) negotiate(h http.Header) (expfmt.Format, bool) {
	key := formatKey{h.Get("Accept"), model.NameEscapingScheme}
	e.fmu.Lock()
	n, ok := e.formats[key]
	e.fmu.Unlock()
	if ok {
		return n.format, n.text
	}
	f := expfmt.Negotiate(h)
	n = negotiated{format: f, text: f.FormatType() == expfmt.TypeTextPlain}
	e.fmu.Lock()
	if len(e.formats) >= maxFormats {
		clear(e.formats)
	}
	e.formats[key] = n
	e.fmu.Unlock()
	return n.format, n.text
}

type formatKey struct {
	accept string
	scheme model.EscapingScheme
}

// module picks the module: the one named, or https for an https:// URL
// and tls for the other targets.
func (e *Exporter) module(name string, t Target) (Module, error) {
	if name == "" {
		if t.Scheme == "https" {
			return ModuleHTTPS, nil
		}
		return ModuleTLS, nil
	}
	m, ok := ParseModule(name)
	if !ok {
		e.unknown.Inc()
		return "", fmt.Errorf("unknown module %q: the modules are https (a GET of the URL) and tls (a handshake)", name)
	}
	if m == ModuleHTTPS && t.Scheme == "tls" && strings.HasPrefix(strings.ToLower(t.Raw), "tls://") {
		return "", fmt.Errorf("a tls:// target is probed with module=tls")
	}
	return m, nil
}

// timeout is Prometheus's scrape timeout less the offset, or the default.
func (e *Exporter) timeout(r *http.Request) (time.Duration, error) {
	def := e.Timeout
	if def <= 0 {
		def = DefaultTimeout
	}
	h := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds")
	if h == "" {
		return def, nil
	}
	secs, err := strconv.ParseFloat(h, 64)
	if err != nil || secs <= 0 || secs > 24*3600 {
		return 0, fmt.Errorf("X-Prometheus-Scrape-Timeout-Seconds %q is not a number of seconds", h)
	}
	off := e.TimeoutOffset
	if off <= 0 {
		off = DefaultTimeoutOffset
	}
	d := time.Duration(secs * float64(time.Second))
	if d-off > 0 {
		d -= off
	}
	return d, nil
}

// record counts a probe and keeps it for the page.
func (e *Exporter) record(r *Result) {
	result := "success"
	switch {
	case r.Refusal != nil:
		result = "refused"
	case !r.OK:
		result = "failed"
	}
	e.probes.WithLabelValues(string(r.Module), result).Inc()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.history) < e.limit {
		e.history = append(e.history, r)
	} else {
		e.history[e.next] = r
	}
	e.next = (e.next + 1) % e.limit
}

// recent returns the kept probes, newest first.
func (e *Exporter) recent() []*Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Result, 0, len(e.history))
	for i := 1; i <= len(e.history); i++ {
		out = append(out, e.history[(e.next-i+len(e.history))%len(e.history)])
	}
	return out
}

// writeDebug answers debug=true: the probe's log and the metrics it would
// have returned, as blackbox_exporter does, made safe for a terminal: each
// line escaped (SafeText) and laid out in rows of at most 80 columns, every
// row after a line's first starting with "  … ", so that a terminal wraps
// none of them and no row that starts with text from a certificate can
// pass for a line of the log; a line is cut after 8 rows. A remedy's
// command, the program's own, is printed whole.
func (e *Exporter) writeDebug(w http.ResponseWriter, r *Result) {
	var b bytes.Buffer
	b.WriteString("Logs for the probe:\n")
	for i, l := range r.Log {
		if r.commands[i] {
			b.WriteString(l + "\n") // a command, escaped, whole to be copied
			continue
		}
		b.WriteString(termtext.Wrap("", l))
	}
	b.WriteString("\n\n\nMetrics that would have been returned:\n")
	var m bytes.Buffer
	if err := WriteProbe(&m, expfmt.NewFormat(expfmt.TypeTextPlain), r); err != nil {
		fmt.Fprintf(&m, "error encoding the metrics: %v\n", err)
	}
	for _, line := range strings.SplitAfter(m.String(), "\n") {
		if line = strings.TrimSuffix(line, "\n"); line != "" {
			b.WriteString(termtext.Wrap("", line))
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(b.Bytes())
}

func (e *Exporter) serveReload(w http.ResponseWriter, _ *http.Request) {
	if e.Reload == nil {
		http.Error(w, "reloading is not available", http.StatusNotImplemented)
		return
	}
	if err := e.Reload(); err != nil {
		http.Error(w, "the store did not load; the last good policy stays in effect: "+err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "reloaded")
}
