package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/fleet"
	"github.com/httptrust/httptrust/internal/atomicfile"
)

const scanLong = `Check many endpoints against the store's policy: each target gets a
fresh TCP connection and a full TLS handshake judged by the rule for its
host (no session resumption, no keep-alive), as a new client would.

A target is an https:// URL, tls://host:port or host:port; --targets FILE
(or - for standard input) reads one per line, with # comments. The tls
module (the default) completes a handshake and sends nothing; --module
https also sends a GET to the URL through the policy's transport (each
redirect judged for its own host) and wants a 2xx answer.

A refused certificate is still reported: its chain, expiry and the fixed
reason code (certificate_expired, unknown_authority, pin_mismatch, ...), so
an expired certificate is never mistaken for a dead host. A failure that
is not a refusal has a code of its own (connection_failed, timeout,
dns_failed, http_status, ...).

A scan never writes to the store: a first contact with a host under a
tofu rule is reported (first_use: first_contact) and not trusted, unless
--record-first-use records its key once the handshake has completed.

Exit 0 when every target is trusted (and answers 2xx with --module https),
1 when any is not, 2 on a usage error.`

const scanExamples = `  httptrust scan nas.local:5001 https://api.corp.example/
  httptrust scan --targets fleet.txt --concurrency 200 --json > fleet.jsonl
  httptrust scan --targets fleet.txt --prometheus /var/lib/node_exporter/textfile/httptrust_scan.prom   from cron
  httptrust scan --module https --targets urls.txt`

type scanFlags struct {
	targets     string
	concurrency int
	timeout     float64
	module      string
	prometheus  string
	record      bool
	resolve     []string
}

func (e *env) scanCmd() *cobra.Command {
	f := &scanFlags{}
	cmd := &cobra.Command{
		Use:     "scan [flags] [TARGET...]",
		Short:   "Check many endpoints against the trust policy (JSON lines, a Prometheus textfile; exit 1 if any is refused)",
		Long:    scanLong,
		Example: scanExamples,
		RunE:    func(cmd *cobra.Command, args []string) error { return e.scan(cmd.Context(), f, args) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.targets, "targets", "", "read targets from `FILE` (- for standard input), one per line, # comments")
	fl.IntVar(&f.concurrency, "concurrency", fleet.DefaultConcurrency, "probe at most `N` targets at once")
	fl.Float64Var(&f.timeout, "timeout", fleet.DefaultTimeout.Seconds(), "give up on a target after `SECONDS`")
	fl.StringVar(&f.module, "module", "tls", "`MODULE`: tls (a handshake) or https (also a GET, 2xx wanted)")
	fl.StringVar(&f.prometheus, "prometheus", "", "also write the metrics to `FILE` for node_exporter's textfile collector (replaced atomically)")
	fl.BoolVar(&f.record, "record-first-use", false, "record the key of a first contact with a host under a tofu rule (otherwise nothing is written)")
	fl.StringArrayVar(&f.resolve, "resolve", nil, "connect to `HOST:PORT:ADDR` for HOST:PORT; every decision is still about HOST")
	return cmd
}

func (e *env) scan(ctx context.Context, f *scanFlags, args []string) error {
	m, ok := fleet.ParseModule(f.module)
	switch {
	case !ok:
		return usagef("--module %q: want tls or https", f.module)
	case f.concurrency < 1:
		return usagef("--concurrency %d: want 1 or more", f.concurrency)
	case f.timeout <= 0:
		return usagef("--timeout %g: want a number of seconds above 0", f.timeout)
	}
	targets, err := e.scanTargets(f, args)
	if err != nil {
		return err
	}
	rm, err := parseResolve(f.resolve)
	if err != nil {
		return err
	}
	st, err := e.store()
	if err != nil {
		return err
	}
	_, p, err := e.loadPolicy(fleet.PolicyOptions(httptrust.Options{}, st.KnownHosts(), f.record))
	if err != nil {
		return err
	}
	pr := &fleet.Prober{Policy: func() *httptrust.Policy { return p }, Timeout: seconds(f.timeout),
		Dial: rm.dialFunc(&net.Dialer{}), UserAgent: "httptrust/" + version()}
	if f.record {
		pr.Record = st.KnownHosts()
	}
	run := &scanRun{e: e, f: f, total: len(targets), start: time.Now(), pending: map[int]*fleet.Result{},
		progress: e.terminal(e.stderr)}
	if f.prometheus != "" {
		run.all = make([]*fleet.Result, len(targets))
	}
	pr.Scan(ctx, targets, m, f.concurrency, run.add)
	run.finish()
	if f.prometheus != "" {
		if err := run.writeProm(); err != nil {
			return &exitError{code: exitWrite, err: fmt.Errorf("--prometheus: %w", err)}
		}
	}
	if run.ok != len(targets) {
		return &quietExit{code: exitFail}
	}
	return nil
}

// scanTargets gathers the targets of the arguments and --targets, each
// once.
func (e *env) scanTargets(f *scanFlags, args []string) ([]fleet.Target, error) {
	var all []fleet.Target
	for _, a := range args {
		t, err := fleet.ParseTarget(a)
		if err != nil {
			return nil, usagef("%v", err)
		}
		all = append(all, t)
	}
	if f.targets != "" {
		var r io.Reader = e.stdin
		name := "-"
		if f.targets != "-" {
			fh, err := os.Open(f.targets)
			if err != nil {
				return nil, &exitError{code: exitReadFile, err: fmt.Errorf("--targets: %w", err)}
			}
			defer fh.Close()
			r, name = fh, f.targets
		}
		ts, err := fleet.ParseTargets(r, name)
		if err != nil {
			return nil, usageErr(err)
		}
		all = append(all, ts...)
	}
	if len(all) == 0 {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("no targets: give them as arguments or --targets FILE"),
			hints: []string{"httptrust scan nas.local:5001 https://api.corp.example/", "httptrust scan --targets fleet.txt"}}
	}
	seen := make(map[string]bool, len(all))
	out := all[:0]
	for _, t := range all {
		if seen[t.Raw] {
			e.warn(fmt.Sprintf("target %s is listed more than once; it is probed once", t.Raw))
			continue
		}
		seen[t.Raw] = true
		out = append(out, t)
	}
	return out, nil
}

// scanRun prints results in the order of the targets as they complete,
// the progress on a terminal, and the summary.
type scanRun struct {
	e        *env
	f        *scanFlags
	total    int
	start    time.Time
	next     int // the next index to print
	pending  map[int]*fleet.Result
	all      []*fleet.Result // kept for --prometheus
	progress bool
	lastDraw time.Time

	done, ok, refused, failed, firstContacts int
}

func (s *scanRun) add(i int, r *fleet.Result) {
	s.done++
	switch {
	case r.OK:
		s.ok++
	case r.Refusal != nil:
		s.refused++
	default:
		s.failed++
	}
	if r.FirstUse == fleet.FirstUseFirstContact {
		s.firstContacts++
	}
	if s.all != nil {
		s.all[i] = r
	}
	s.pending[i] = r
	for {
		r, ok := s.pending[s.next]
		if !ok {
			break
		}
		delete(s.pending, s.next)
		s.next++
		s.clearProgress()
		s.print(r)
	}
	s.drawProgress(false)
}

func (s *scanRun) print(r *fleet.Result) {
	if s.e.json {
		writeJSONLine(s.e.stdout, newScanView(r))
		return
	}
	w := s.e.stdout
	switch {
	case r.OK:
		printf(w, "ok       %s  %s", r.Target.Raw, ruleText(r))
		if t := r.NotAfter(); !t.IsZero() {
			printf(w, "  expires %s", t.UTC().Format(time.DateOnly))
		}
		if r.FirstUse != "" {
			printf(w, "  first use: %s", r.FirstUse)
		}
		if r.Pins != nil && r.Pins.Matched != nil && !*r.Pins.Matched {
			printf(w, "  pins: %s, none matched", r.Pins.State)
		}
		printf(w, "\n")
	case r.Refusal != nil:
		s.detailLine(fmt.Sprintf("REFUSED  %s  %s  %s: ", termSafe(r.Target.Raw), termSafe(ruleText(r)), r.Reason), oneLine(r.Refusal.Detail))
	default:
		s.detailLine(fmt.Sprintf("FAILED   %s  %s: ", termSafe(r.Target.Raw), r.Reason), oneLine(errText(r.Err)))
	}
}

// detailLine prints lead (escaped already) and text from the network (a
// refusal's detail names certificates): one line for a file or a pipe, as
// the docs say; on a terminal, laid out in rows of 80 columns, each after
// the first marked as a continuation, so that no row the terminal wraps
// starts with the text and passes for a line of its own (a forged "ok").
func (s *scanRun) detailLine(lead, text string) {
	if s.e.terminal(s.e.stdout) {
		printf(s.e.stdout, "%s", wrapLine(ours(lead), text))
		return
	}
	printf(s.e.stdout, "%s%s\n", ours(lead), text)
}

func ruleText(r *fleet.Result) string {
	if r.RulePattern() == "" {
		return "(" + r.RuleWhere() + ")"
	}
	return r.RulePattern() + " (" + r.RuleWhere() + ")"
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// drawProgress redraws the progress line on a terminal, at most ten times
// a second (always when final).
func (s *scanRun) drawProgress(final bool) {
	if !s.progress {
		return
	}
	now := time.Now()
	if !final && now.Sub(s.lastDraw) < 100*time.Millisecond {
		return
	}
	s.lastDraw = now
	fmt.Fprintf(s.e.stderr, "\rscanning: %d/%d, %d refused, %d failed", s.done, s.total, s.refused, s.failed)
}

func (s *scanRun) clearProgress() {
	if s.progress && !s.lastDraw.IsZero() {
		fmt.Fprint(s.e.stderr, "\r\x1b[K")
		s.lastDraw = time.Time{}
	}
}

// finish prints the summary line on stderr.
func (s *scanRun) finish() {
	s.clearProgress()
	d := time.Since(s.start)
	rate := float64(s.total) / max(d.Seconds(), 1e-9)
	msg := fmt.Sprintf("scanned %s in %s (%.0f/s): %d trusted, %d refused, %d failed",
		plural(s.total, "target"), d.Round(time.Millisecond), rate, s.ok, s.refused, s.failed)
	if s.firstContacts > 0 {
		msg += fmt.Sprintf("; %s under tofu rules not recorded (--record-first-use records them)", plural(s.firstContacts, "first contact"))
	}
	s.e.note(msg)
}

// writeProm writes the textfile: every target's metrics, labelled with
// target and module, and the scan's own.
func (s *scanRun) writeProm() error {
	reg := func(name, help string, v float64) prometheus.Collector {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		g.Set(v)
		return g
	}
	var buf bytes.Buffer
	err := fleet.WriteMetrics(&buf, expfmt.NewFormat(expfmt.TypeTextPlain), fleet.NewScanCollector(s.all),
		reg("httptrust_scan_targets", "Targets scanned", float64(s.total)),
		reg("httptrust_scan_trusted", "Targets trusted", float64(s.ok)),
		reg("httptrust_scan_duration_seconds", "How long the scan took", time.Since(s.start).Seconds()),
		reg("httptrust_scan_timestamp_seconds", "When the scan started (Unix time)", float64(s.start.Unix())))
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(s.f.prometheus, buf.Bytes(), 0o644)
}

// scanView is one target as --json prints it, on one line.
type scanView struct {
	Target    string            `json:"target"`
	Module    string            `json:"module"`
	Host      string            `json:"host"`
	Port      string            `json:"port"`
	OK        bool              `json:"ok"`
	Reason    string            `json:"reason,omitempty"`
	Error     string            `json:"error,omitempty"`
	Rule      string            `json:"rule,omitempty"`
	RuleFile  string            `json:"rule_file,omitempty"`
	Chain     []certs.Info      `json:"chain"`
	NotAfter  *time.Time        `json:"not_after,omitempty"`
	Verified  *time.Time        `json:"verified_chain_not_after,omitempty"`
	TLS       string            `json:"tls_version,omitempty"`
	Cipher    string            `json:"cipher_suite,omitempty"`
	Duration  float64           `json:"duration_seconds"`
	Pins      *pinsView         `json:"pins,omitempty"`
	FirstUse  string            `json:"first_use,omitempty"`
	HTTP      *httpView         `json:"http,omitempty"`
	Remedy    *httptrust.Remedy `json:"remedy,omitempty"`
	Timestamp time.Time         `json:"time"`
}

type pinsView struct {
	State   httptrust.PinState `json:"state"`
	Until   *time.Time         `json:"enforced_until,omitempty"`
	Matched *bool              `json:"matched,omitempty"`
	Rule    string             `json:"rule_file"`
}

type httpView struct {
	Status    int    `json:"status"`
	Proto     string `json:"proto,omitempty"`
	Redirects int    `json:"redirects"`
}

func newScanView(r *fleet.Result) scanView {
	v := scanView{Target: r.Target.Raw, Module: string(r.Module), Host: r.Host, Port: r.Port, OK: r.OK, Reason: r.Reason,
		Rule: r.RulePattern(), RuleFile: r.RuleWhere(), Chain: certs.InspectChain(r.Chain, r.Start), TLS: r.TLSVersionName(),
		Duration: r.Duration.Seconds(), FirstUse: string(r.FirstUse), Timestamp: r.Start.UTC()}
	if r.Err != nil {
		v.Error = r.Err.Error()
	}
	if r.CipherSuite != 0 {
		v.Cipher = tls.CipherSuiteName(r.CipherSuite)
	}
	if t := r.NotAfter(); !t.IsZero() {
		t = t.UTC()
		v.NotAfter = &t
	}
	if t := r.LastChainExpiry(); !t.IsZero() {
		t = t.UTC()
		v.Verified = &t
	}
	if ps := r.Pins; ps != nil {
		v.Pins = &pinsView{State: ps.State, Matched: ps.Matched, Rule: ps.Rule.Where()}
		if !ps.End.IsZero() {
			t := ps.End.UTC()
			v.Pins.Until = &t
		}
	}
	if h := r.HTTP; h != nil {
		v.HTTP = &httpView{Status: h.Status, Proto: h.Proto, Redirects: h.Redirects}
	}
	if rem := r.Remedy(); rem.Action != httptrust.ActionNone {
		v.Remedy = &rem
	}
	return v
}

// writeJSONLine prints v as one line of JSON, escaped for a terminal as
// writeJSON escapes.
func writeJSONLine(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(jsonSafe(buf.Bytes()))
	return err
}
