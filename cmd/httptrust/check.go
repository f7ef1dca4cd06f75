package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/diagnose"
	"github.com/httptrust/httptrust/internal/atomicfile"
	"github.com/httptrust/httptrust/probe"
	"github.com/httptrust/httptrust/store"
)

const checkLong = `Check the trust store, or live servers, for monitoring and CI.

With no URL: every anchor, exact certificate, pin set and first-use record
of the store that expires within --days (30 by default) or has expired,
pins without a backup, rules that name missing or unreadable files,
patterns that overlap surprisingly, an all_hosts rule.

With URLs (or --urls FILE, one URL a line, # for comments, - for stdin):
each server's chain, captured without sending a request and judged by the
store as a request would be (nothing is recorded): every certificate it
presents that expires within --days, a chain the store refuses, a server
that cannot be reached. --with-store adds the store's own findings to the
same report (one run, one textfile for cron).

Every finding says what fixes it, with the command when one does. An
expired certificate whose rule says allow_expired is noted once, not a
finding: the rule acknowledges it.

Exit 0 when nothing needs attention, 1 when something does (the findings are
on stdout), 77 when the store cannot be loaded at all (as every other
command refuses it), 2 for a usage error.

--prometheus FILE also writes the expiry of every certificate (the store's
and the servers') and the count of findings by kind for node_exporter's
textfile collector; the file is replaced atomically, so a scrape never sees
half of it.`

const checkExamples = `  httptrust check                                   the store; exit 1 if anything needs attention
  httptrust check --days 60 --json                  for a script or CI
  httptrust check https://intranet.corp.example/ api.corp.example:8443
  httptrust check --days 14 --urls servers.txt --with-store --prometheus /var/lib/node_exporter/textfile/httptrust.prom`

type checkFlags struct {
	probeFlags
	days       int
	prometheus string
	urls       string
	withStore  bool
}

func (e *env) checkCmd() *cobra.Command {
	f := &checkFlags{}
	cmd := &cobra.Command{
		Use:     "check [flags] [URL...]",
		Short:   "Report what in the store, or on live servers, expires soon or needs attention (exit 1 if anything does)",
		Long:    checkLong,
		Example: checkExamples,
		RunE:    func(cmd *cobra.Command, args []string) error { return e.check(cmd.Context(), f, args) },
	}
	fl := cmd.Flags()
	fl.IntVar(&f.days, "days", 30, "report what expires within `N` days")
	fl.StringVar(&f.prometheus, "prometheus", "", "also write a node_exporter textfile-collector `FILE` (replaced atomically)")
	fl.StringVar(&f.urls, "urls", "", "check the servers listed in `FILE`, one URL a line (- for stdin)")
	fl.BoolVar(&f.withStore, "with-store", false, "with URLs: check the store too, into the same report")
	fl.StringArrayVar(&f.resolve, "resolve", nil, "connect to `HOST:PORT:ADDR` for HOST:PORT; every decision is still about HOST")
	fl.Float64Var(&f.maxTime, "max-time", 0, "give up on each server after `SECONDS` (default 10)")
	return cmd
}

// quietExit ends a command with an exit code and no error line: what went
// wrong has been printed already (check's findings).
type quietExit struct{ code int }

func (q *quietExit) Error() string { return fmt.Sprintf("exit status %d", q.code) }

// checkConcurrency bounds the servers probed at once.
const checkConcurrency = 8

func (e *env) check(ctx context.Context, f *checkFlags, args []string) error {
	if f.days < 0 {
		return usagef("--days %d: want 0 or more", f.days)
	}
	if f.maxTime < 0 {
		return usagef("--max-time takes a number of seconds, 0 or more")
	}
	urls, err := e.checkURLs(f, args)
	if err != nil {
		return err
	}
	if f.withStore && len(urls) == 0 {
		return usagef("--with-store adds the store to a check of servers: give URLs, or run httptrust check alone for the store")
	}
	st, err := e.store()
	if err != nil {
		return err
	}
	e.setHintFlags(f.resolve)
	now := e.now()
	within := time.Duration(f.days) * 24 * time.Hour
	var rep *store.Report
	if len(urls) == 0 || f.withStore {
		if rep, err = st.Check(now, within); err != nil {
			return &exitError{code: exitCAFile, reason: reasonStoreNotLoaded, err: err}
		}
	} else {
		rep = store.NewReport(now, within)
	}
	if len(urls) > 0 && !rep.Unloadable() {
		if err := e.checkServers(ctx, f, urls, rep); err != nil {
			return err
		}
	}
	if f.prometheus != "" {
		if err := atomicfile.WriteFile(f.prometheus, promText(rep), 0o644); err != nil {
			return &exitError{code: exitWrite, err: fmt.Errorf("--prometheus: %w", err)}
		}
	}
	code := exitOK
	switch {
	case rep.Unloadable():
		code = exitCAFile
	case len(rep.Findings) > 0:
		code = exitFail
	}
	what := checkedWhat(st.Dir, len(urls), len(urls) == 0 || f.withStore)
	if e.json {
		if err := writeJSON(e.stdout, e.viewCheck(rep, code)); err != nil {
			return err
		}
	} else {
		e.printCheck(e.stdout, what, rep, f.days)
		switch {
		case code == exitCAFile:
			e.errorLine("the store " + st.Dir + " cannot be loaded: every httptrust command refuses it until the file named above is fixed")
		case code == exitFail:
			e.note(countNoun(len(rep.Findings), "finding needs", "findings need") + " attention in " + what)
		}
	}
	if code != exitOK {
		return &quietExit{code: code}
	}
	return nil
}

// checkedWhat names what a check looked at.
func checkedWhat(dir string, servers int, withStore bool) string {
	switch {
	case servers == 0:
		return "the store " + dir
	case withStore:
		return "the store " + dir + " and " + countNoun(servers, "server", "servers")
	}
	return countNoun(servers, "server", "servers")
}

// countNoun is "1 finding needs" or "2 findings need".
func countNoun(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// checkURLs collects the URLs of the arguments and of --urls, in order.
func (e *env) checkURLs(f *checkFlags, args []string) ([]string, error) {
	urls := append([]string{}, args...)
	if f.urls == "" {
		return urls, nil
	}
	var r io.Reader = e.stdin
	if f.urls != "-" {
		file, err := os.Open(f.urls)
		if err != nil {
			return nil, &exitError{code: exitReadFile, err: fmt.Errorf("--urls: %w", err)}
		}
		defer file.Close()
		r = file
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		urls = append(urls, line)
	}
	if err := sc.Err(); err != nil {
		return nil, &exitError{code: exitReadFile, err: fmt.Errorf("--urls %s: %w", f.urls, err)}
	}
	if len(urls) == 0 {
		return nil, usagef("--urls %s lists no URL", f.urls)
	}
	return urls, nil
}

// checkTarget is one server to check.
type checkTarget struct {
	url      string // as shown and put in commands
	hostPort string
	target   probe.Target
}

// checkServers probes every URL (a few at once), judges each chain under
// the store's policy with no side effect, and adds what they present to
// rep, in the order given.
func (e *env) checkServers(ctx context.Context, f *checkFlags, urls []string, rep *store.Report) error {
	var targets []checkTarget
	for _, raw := range urls {
		u, err := parseURL(raw)
		if err != nil {
			return err
		}
		if u.Scheme != "https" {
			return usagef("%s: check looks at https:// servers", u.Redacted())
		}
		t, err := probeTarget(u, &f.probeFlags)
		if err != nil {
			return err
		}
		shown := *u
		shown.User = nil
		targets = append(targets, checkTarget{url: shown.String(), hostPort: net.JoinHostPort(t.Host, t.Port), target: t})
	}
	st, err := e.store()
	if err != nil {
		return err
	}
	_, p, err := e.loadPolicy(&httptrust.Options{TOFU: httptrust.ReadOnlyTOFU(st.KnownHosts()), AIA: e.aia, Clock: e.now})
	if err != nil {
		return err
	}
	bound := seconds(f.maxTime)
	if bound <= 0 {
		bound = diagnose.DefaultTimeout
	}
	served := make([]store.Served, len(targets))
	sem := make(chan struct{}, checkConcurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			served[i] = checkServer(ctx, p, t, bound)
		}()
	}
	wg.Wait()
	for _, s := range served {
		rep.CheckServer(s)
	}
	return nil
}

// checkServer captures and judges one server's chain.
func checkServer(ctx context.Context, p *httptrust.Policy, t checkTarget, bound time.Duration) store.Served {
	s := store.Served{URL: t.url, HostPort: t.hostPort}
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	res, err := probe.Probe(ctx, t.target)
	if err != nil {
		s.Err = err
		return s
	}
	s.Chain = res.Chain
	v, err := p.Judge(t.hostPort, res.State)
	if err != nil {
		s.Err = err
		return s
	}
	s.Verdict = v
	return s
}

// checkView is the report as --json prints it: the findings' commands
// rendered for this run, the days left of every date, and the exit code.
type checkView struct {
	*store.Report
	Findings     []findingView    `json:"findings"`
	Notes        []findingView    `json:"notes"`
	Certificates []certStatusView `json:"certificates"`
	ExitCode     int              `json:"exit_code"`
}

type findingView struct {
	store.Finding
	DaysLeft *int     `json:"days_left,omitempty"` // with not_after
	Commands []string `json:"commands,omitempty"`
}

type certStatusView struct {
	store.CertStatus
	DaysLeft int `json:"days_left"`
}

func (e *env) viewCheck(rep *store.Report, code int) checkView {
	v := checkView{Report: rep, Findings: []findingView{}, Notes: []findingView{}, Certificates: []certStatusView{}, ExitCode: code}
	for _, f := range rep.Findings {
		v.Findings = append(v.Findings, e.viewFinding(rep, f))
	}
	for _, f := range rep.Notes {
		v.Notes = append(v.Notes, e.viewFinding(rep, f))
	}
	for _, c := range rep.Certificates {
		v.Certificates = append(v.Certificates, certStatusView{CertStatus: c, DaysLeft: daysLeft(c.NotAfter, rep.Now)})
	}
	return v
}

func (e *env) viewFinding(rep *store.Report, f store.Finding) findingView {
	v := findingView{Finding: f}
	if !f.NotAfter.IsZero() {
		d := daysLeft(f.NotAfter, rep.Now)
		v.DaysLeft = &d
	}
	for _, c := range f.Commands {
		v.Commands = append(v.Commands, e.commandLine(c))
	}
	return v
}

// daysLeft is the number of whole days from now to notAfter, negative
// once it is past.
func daysLeft(notAfter, now time.Time) int {
	return int(math.Floor(notAfter.Sub(now).Hours() / 24))
}

// printCheck prints the report: the findings, what fixes each, the notes,
// then the certificates.
func (e *env) printCheck(w io.Writer, what string, rep *store.Report, days int) {
	if len(rep.Findings) == 0 {
		printf(w, "%s: nothing needs attention within %s\n", what, countNoun(days, "day", "days"))
	} else {
		printf(w, "%s: %s within %s:\n", what, countNoun(len(rep.Findings), "finding", "findings"), countNoun(days, "day", "days"))
		// A message may quote a certificate (a subject, its names): it is
		// wrapped, so that no row of it passes for a finding or a fix.
		t := table{indent: "  ", header: []string{"KIND", "WHERE", "HOSTS", "MESSAGE"}, wrap: true}
		for _, f := range rep.Findings {
			t.add(f.Kind, findingWhere(f), dash(strings.Join(f.Hosts, ",")), oneLine(f.Message))
		}
		t.print(w)
		e.printFixes(w, rep.Findings)
	}
	if len(rep.Notes) > 0 {
		printf(w, "acknowledged (no attention needed):\n")
		for _, f := range rep.Notes {
			printf(w, "%s", wrapLine(ours("  "+termSafe(f.Kind)+"  "+termSafe(findingWhere(f))+"  "), oneLine(f.Message)))
		}
	}
	if len(rep.Certificates) == 0 {
		return
	}
	printf(w, "certificates:\n")
	// A subject is cut to the line: one wrapped by the terminal could
	// start a forged row.
	t := table{indent: "  ", header: []string{"HOSTS", "KIND", "NOT AFTER", "DAYS LEFT", "FROM", "SUBJECT"}}
	for _, c := range rep.Certificates {
		left := daysLeft(c.NotAfter, rep.Now)
		from := c.File
		if c.URL != "" {
			from = c.URL
		}
		t.add(strings.Join(c.Hosts, ","), c.Kind, c.NotAfter.UTC().Format(time.DateOnly), strconv.Itoa(left), dash(from), dash(c.Subject))
	}
	t.print(w)
}

// printFixes prints what fixes each finding, with its commands.
func (e *env) printFixes(w io.Writer, findings []store.Finding) {
	printed := false
	for _, f := range findings {
		if f.Fix == "" && len(f.Commands) == 0 {
			continue
		}
		if !printed {
			printf(w, "to fix:\n")
			printed = true
		}
		text := f.Fix
		if len(f.Commands) > 0 {
			text += ":"
		}
		printf(w, "%s", wrapRows(ours("  "+termSafe(f.Kind)+" ("+termSafe(findingWhere(f))+"): "), oneLine(text), remedyRows))
		for _, c := range f.Commands {
			printf(w, "      %s\n", e.commandLine(c))
		}
	}
}

// findingWhere is the server's URL, "file:line", the file, or "-".
func findingWhere(f store.Finding) string {
	switch {
	case f.URL != "":
		return f.URL
	case f.RuleFile != "" && f.Line > 0:
		return f.RuleFile + ":" + strconv.Itoa(f.Line)
	case f.RuleFile != "":
		return f.RuleFile
	case f.File != "":
		return f.File
	}
	return "-"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a message on one table row.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// promText renders rep in the Prometheus text exposition format.
func promText(rep *store.Report) []byte {
	var b strings.Builder
	b.WriteString("# HELP httptrust_certificate_not_after_seconds When a certificate the trust store trusts, or a server presents, expires (Unix time).\n")
	b.WriteString("# TYPE httptrust_certificate_not_after_seconds gauge\n")
	seen := map[string]bool{}
	for _, c := range rep.Certificates {
		for _, h := range c.Hosts {
			where := "file=" + promLabel(c.File)
			if c.URL != "" {
				where = "url=" + promLabel(c.URL)
			}
			line := fmt.Sprintf("httptrust_certificate_not_after_seconds{host=%s,kind=%s,%s,sha256=%s,subject=%s} %d\n",
				promLabel(h), promLabel(c.Kind), where, promLabel(c.SHA256), promLabel(c.Subject), c.NotAfter.Unix())
			if !seen[line] {
				seen[line] = true
				b.WriteString(line)
			}
		}
	}
	counts := map[string]int{}
	for _, k := range store.FindingKinds {
		counts[k] = 0
	}
	for _, f := range rep.Findings {
		counts[f.Kind]++
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	b.WriteString("# HELP httptrust_check_findings Findings of httptrust check that need attention, by kind.\n")
	b.WriteString("# TYPE httptrust_check_findings gauge\n")
	for _, k := range kinds {
		fmt.Fprintf(&b, "httptrust_check_findings{kind=%s} %d\n", promLabel(k), counts[k])
	}
	b.WriteString("# HELP httptrust_check_timestamp_seconds When httptrust check ran (Unix time).\n")
	b.WriteString("# TYPE httptrust_check_timestamp_seconds gauge\n")
	fmt.Fprintf(&b, "httptrust_check_timestamp_seconds %d\n", rep.Now.Unix())
	return []byte(b.String())
}

// promLabel quotes a label value as the exposition format says: backslash,
// double quote and line feed escaped; and first, as fleet's label values
// are, escaped for a terminal (termSafe: ESC, CR, U+202E written \x1b,
// \x0d, \u202e as text), since the file is read with cat as often as by
// node_exporter.
func promLabel(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(termSafe(s)) + `"`
}
