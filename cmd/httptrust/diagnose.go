package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/diagnose"
	"github.com/httptrust/httptrust/probe"
)

const diagnoseLong = `Run, in order, every check a support engineer would run on a TLS server:
name resolution, TCP connect, the TLS versions and cipher suites the server
accepts, the chain as sent (order, a missing intermediate, extra
certificates), the rule that applies and its file, verification by the store
and by the system roots, the expiry of every certificate, pins, whether the
server asks for a client certificate (and refuses the request without one),
clock skew and redirects. Each step is printed as it finishes (on a
terminal, the step being run is shown meanwhile). It ends with the one
command that fixes the problem, or "nothing to fix".

The server is an https:// URL, or any TLS service: HOST:PORT or
tls://HOST:PORT, smtps://, imaps://, ldaps://, and, with STARTTLS, smtp://,
submission://, imap://, ldap:// and postgres:// (see httptrust inspect).
Those get every check but the HTTP request. --max-time bounds the whole
diagnosis.

diagnose only looks: it records nothing in the store (not even a first use)
and sends a request only over a connection that verified.

Every network step gives up after --connect-timeout SECONDS (10 by default);
a server that accepts the connection and never answers is reported as a
timeout after that one step. --max-time SECONDS bounds the whole diagnosis,
handshakes included.

Exit 0 when there is nothing to fix; otherwise the exit code the failure
would cause for httptrust get: 6 could not resolve, 7 could not connect, 28
timeout, 35 not TLS, no common protocol or a client certificate required,
58 the client certificate cannot be used, 60 not verified, 90 pin mismatch;
1 for anything else.`

const diagnoseExamples = `  httptrust diagnose https://device.local/
  httptrust diagnose postgres://db.internal          PostgreSQL, through SSLRequest
  httptrust diagnose 192.168.1.20:8883               any TLS service
  httptrust diagnose --resolve device.local:443:192.168.1.20 https://device.local/
  httptrust diagnose --max-time 20 --connect-timeout 5 https://slow-device.local/
  httptrust diagnose --json https://api.corp.example/ | jq .fix`

type diagnoseFlags struct {
	probeFlags
	fetchIntermediates bool
}

func (e *env) diagnoseCmd() *cobra.Command {
	f := &diagnoseFlags{}
	cmd := &cobra.Command{
		Use:     "diagnose [flags] URL|HOST:PORT",
		Short:   "Check a server step by step and name the one command that fixes it",
		Long:    diagnoseLong,
		Example: diagnoseExamples,
		Args:    exactArgs(1, "diagnose needs one URL or HOST:PORT"),
		RunE:    func(cmd *cobra.Command, args []string) error { return e.diagnose(cmd.Context(), f, args[0]) },
	}
	f.probeFlags.register(cmd.Flags())
	cmd.Flags().Lookup("max-time").Usage = "give up after `SECONDS` in all, every step included (default: no limit; each step has the connect timeout)"
	cmd.Flags().Lookup("connect-timeout").Usage = "give up each network step (a connection, a handshake, the request) after `SECONDS` (default 10, or --max-time when given)"
	cmd.Flags().BoolVar(&f.fetchIntermediates, "fetch-intermediates", false, "fetch a missing intermediate from the issuer URL the unverified certificate names (AIA), to name it for sure")
	return cmd
}

// diagnoseView is the report as --json prints it, with its remedy
// rendered for this run, and the exit code.
type diagnoseView struct {
	*diagnose.Report
	Remedy   *remedyView `json:"remedy,omitempty"`
	Fix      string      `json:"fix"`
	ExitCode int         `json:"exit_code"`
}

func (e *env) diagnose(ctx context.Context, f *diagnoseFlags, raw string) error {
	if f.maxTime < 0 || f.connectTimeout < 0 {
		return usagef("--max-time and --connect-timeout take a number of seconds, 0 or more")
	}
	u, err := parseTarget(raw)
	if err != nil {
		return err
	}
	host, port, err := urlHostPort(u)
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
	// diagnose only looks: its request over a verified connection records
	// no first use.
	_, p, err := e.loadPolicy(&httptrust.Options{TOFU: httptrust.ReadOnlyTOFU(st.KnownHosts()), AIA: e.aia, Clock: e.now})
	if err != nil {
		return err
	}
	opts := diagnose.Options{Policy: p, AIA: e.aia, FetchIntermediates: f.fetchIntermediates, Clock: e.now,
		Timeout: f.connectLimit(), MaxTime: seconds(f.maxTime)}
	if opts.AIA == nil {
		opts.AIA = &httptrust.AIAFetcher{}
	}
	if hp := net.JoinHostPort(host, port); rm.lookup(hp) != hp {
		opts.Addr = rm.lookup(hp)
	}
	var sp *stepPrinter
	if !e.json {
		sp = e.newStepPrinter(e.stdout)
		printf(e.stdout, "diagnose %s\n", u.Redacted())
		opts.Start, opts.Step = sp.start, sp.step
	}
	rep := diagnose.Run(ctx, u.String(), opts)
	e.setHintFlags(f.resolve)
	v := diagnoseView{Report: rep, Fix: diagnose.NothingToFix, ExitCode: diagnoseExit(rep)}
	if rep.Remedy != nil {
		v.Remedy = e.viewRemedy(retarget(*rep.Remedy, u, host, port))
		v.Fix = v.Remedy.line()
	}
	if e.json {
		if err := writeJSON(e.stdout, v); err != nil {
			return err
		}
	} else {
		sp.close()
		printDiagnosisEnd(e.stdout, v)
	}
	if v.ExitCode != exitOK {
		return &quietExit{code: v.ExitCode}
	}
	return nil
}

// diagnoseExit is the exit code of a diagnosis: 0 with nothing to fix,
// else the code the first problem would cause for httptrust get: a
// timeout 28, a refusal its reason's code, else the first failed step's.
func diagnoseExit(rep *diagnose.Report) int {
	switch {
	case rep.Remedy == nil:
		return exitOK
	case rep.TimedOut:
		return exitTimeout
	case rep.Cause != httptrust.ReasonUnknown && rep.Err != nil && rep.Err.Reason == rep.Cause:
		return reasonExit(rep.Err)
	case rep.Cause != httptrust.ReasonUnknown:
		return reasonExit(&httptrust.VerifyError{Reason: rep.Cause})
	}
	for _, s := range rep.Steps {
		if s.Status == diagnose.Fail {
			if code, ok := failedStepExit[s.Name]; ok {
				return code
			}
			break
		}
	}
	if rep.Err != nil {
		return reasonExit(rep.Err)
	}
	return exitFail
}

// failedStepExit maps the first failed step to its exit code; a step not
// listed means 1.
var failedStepExit = map[string]int{
	"url": exitUsage, "resolve": exitResolve, "connect": exitConnect,
	"tls_versions": exitHandshake, "cipher_suites": exitHandshake,
}

// statusMarks are the step marks, padded to one width.
var statusMarks = map[string]string{diagnose.OK: "ok  ", diagnose.Warn: "warn", diagnose.Fail: "FAIL", diagnose.Skip: "skip"}

// statusColors are the marks' ANSI colours.
var statusColors = map[string]string{diagnose.OK: "32", diagnose.Warn: "33", diagnose.Fail: "1;31", diagnose.Skip: "2"}

// printDiagnosis prints the whole report at once: the steps with their
// marks and details, the chain, and the remedy.
func (e *env) printDiagnosis(w io.Writer, v diagnoseView) {
	printf(w, "diagnose %s\n", v.Report.URL)
	color := e.colorOn(e.stdout)
	for _, s := range v.Report.Steps {
		printStep(w, s, color)
	}
	printDiagnosisEnd(w, v)
}

// printStep prints one step: its mark, name and summary, then its details.
func printStep(w io.Writer, s diagnose.Step, color bool) {
	mark := statusMarks[s.Status]
	if mark == "" {
		mark = termSafe(s.Status)
	}
	if color {
		mark = "\x1b[" + statusColors[s.Status] + "m" + mark + "\x1b[0m"
	}
	// A summary or a detail may hold a certificate's subject or names: each
	// is laid out in rows that a terminal does not wrap (wrapLine), so that
	// none can start a row that reads as a step, a pin or a fix.
	lead := fmt.Sprintf("  [%s] %-18s ", mark, termSafe(s.Name))
	printf(w, "%s", wrapLine(ours(lead), s.Summary))
	for _, d := range s.Details {
		printf(w, "%s", wrapLine("         ", d))
	}
}

// remedyRows is the most rows a remedy's words take: they are the
// program's own, but for the names a certificate covers (capped).
const remedyRows = 32

// printDiagnosisEnd prints what follows the steps: the chain and the
// remedy, or "nothing to fix".
func printDiagnosisEnd(w io.Writer, v diagnoseView) {
	rep := v.Report
	if len(rep.Chain) > 0 {
		printf(w, "chain presented by the server:\n")
		printChain(w, "  ", rep.Chain)
	}
	if v.Remedy == nil {
		printf(w, "%s\n", diagnose.NothingToFix)
		return
	}
	// The remedy's words may name what the certificate covers: they are
	// wrapped; its commands, the program's own, are printed whole.
	text := v.Remedy.Text
	if len(v.Remedy.Commands) > 0 {
		text += ":"
	}
	printf(w, "%s", wrapRows("fix: ", text, remedyRows))
	for _, c := range v.Remedy.Commands {
		printf(w, "       %s\n", c)
	}
	if v.Remedy.Change != "" {
		printf(w, "%s", wrapLine("     ", "in the store instead: "+v.Remedy.Change))
	}
}

// retarget fits a remedy's commands to a server that is not HTTPS: the
// library writes them for https://HOST:PORT/, so that URL becomes the
// target as given, and get (HTTP only) becomes diagnose when all it
// carries is --resolve, and is dropped otherwise (its text still says
// what to do).
func retarget(rem httptrust.Remedy, u *url.URL, host, port string) httptrust.Remedy {
	if protocolOf(u) == probe.HTTPS && u.Scheme == "https" {
		return rem
	}
	httpsURL := (&httptrust.VerifyError{Host: host, Port: port}).URL()
	target := u.Redacted()
	var cmds []httptrust.Command
	for _, c := range rem.Commands {
		args := make([]string, len(c.Args))
		onlyResolve := true
		for i, a := range c.Args {
			if a == httpsURL || a == u.String() {
				a = target
			}
			args[i] = a
			if strings.HasPrefix(a, "-") && a != "--resolve" {
				onlyResolve = false
			}
		}
		switch {
		case c.Name != "get":
		case onlyResolve:
			c.Name = "diagnose"
		default:
			continue
		}
		c.Args = args
		cmds = append(cmds, c)
	}
	rem.Commands = cmds
	return rem
}

// stepPrinter prints the steps of a diagnosis as they finish. On a
// terminal it shows the step being run on a line of its own, "  [....]
// tls_versions 3 s", redrawn every second and replaced by the step's
// result.
type stepPrinter struct {
	w     io.Writer
	live  bool // a terminal: draw the running step
	color bool
	tick  time.Duration

	mu      sync.Mutex
	running string    // the step being run, "" for none
	since   time.Time // when it began
	drawn   bool      // the progress line is on the screen
	stop    chan struct{}
	done    chan struct{}
}

func (e *env) newStepPrinter(w io.Writer) *stepPrinter {
	return &stepPrinter{w: w, live: e.terminal(w) && e.getenv("TERM") != "dumb", color: e.colorOn(w), tick: time.Second}
}

// start shows that the step name runs.
func (p *stepPrinter) start(name string) {
	if !p.live {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running, p.since = name, time.Now()
	p.draw()
	if p.stop == nil {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.redraw(p.stop, p.done)
	}
}

// redraw updates the progress line every tick until close.
func (p *stepPrinter) redraw(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(p.tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.running != "" {
				p.draw()
			}
			p.mu.Unlock()
		}
	}
}

// draw writes the progress line over the current one (p.mu held).
func (p *stepPrinter) draw() {
	line := fmt.Sprintf("\r\x1b[K  [....] %-18s", termSafe(p.running))
	if s := int(time.Since(p.since).Seconds()); s > 0 {
		line += fmt.Sprintf(" %d s", s)
	}
	io.WriteString(p.w, line)
	p.drawn = true
}

// clear removes the progress line (p.mu held).
func (p *stepPrinter) clear() {
	if p.drawn {
		io.WriteString(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// step prints a finished step in place of the progress line.
func (p *stepPrinter) step(s diagnose.Step) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	p.running = ""
	printStep(p.w, s, p.color)
}

// close stops the redrawing and removes the progress line.
func (p *stepPrinter) close() {
	p.mu.Lock()
	stop, done := p.stop, p.done
	p.stop = nil
	p.running = ""
	p.clear()
	p.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}
