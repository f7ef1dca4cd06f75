package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust/internal/atomicfile"
	"github.com/httptrust/httptrust/store"
)

const checkLong = `Check the trust store for monitoring and CI: every anchor, exact
certificate, pin set and first-use record that expires within --days (30 by
default) or has expired, pins without a backup, rules that name missing or
unreadable files, patterns that overlap surprisingly, an all_hosts rule.

Exit 0 when nothing needs attention, 1 when something does (the findings are
on stdout), 77 when the store cannot be read at all.

--prometheus FILE also writes the expiry of every certificate and the count
of findings by kind for node_exporter's textfile collector; the file is
replaced atomically, so a scrape never sees half of it.`

const checkExamples = `  httptrust check                         findings and certificates, exit 1 if anything needs attention
  httptrust check --days 60 --json        for a script or CI
  httptrust check --prometheus /var/lib/node_exporter/textfile/httptrust.prom     from cron`

type checkFlags struct {
	days       int
	prometheus string
}

func (e *env) checkCmd() *cobra.Command {
	f := &checkFlags{}
	cmd := &cobra.Command{
		Use:     "check [flags]",
		Short:   "Report what in the trust store expires soon or needs attention (exit 1 if anything does)",
		Long:    checkLong,
		Example: checkExamples,
		Args:    exactArgs(0, "check takes no arguments"),
		RunE:    func(cmd *cobra.Command, args []string) error { return e.check(f) },
	}
	fl := cmd.Flags()
	fl.IntVar(&f.days, "days", 30, "report what expires within `N` days")
	fl.StringVar(&f.prometheus, "prometheus", "", "also write a node_exporter textfile-collector `FILE` (replaced atomically)")
	return cmd
}

// quietExit ends a command with an exit code and no error line: what went
// wrong has been printed already (check's findings).
type quietExit struct{ code int }

func (q *quietExit) Error() string { return fmt.Sprintf("exit status %d", q.code) }

func (e *env) check(f *checkFlags) error {
	if f.days < 0 {
		return usagef("--days %d: want 0 or more", f.days)
	}
	st, err := e.store()
	if err != nil {
		return err
	}
	now := e.now()
	rep, err := st.Check(now, time.Duration(f.days)*24*time.Hour)
	if err != nil {
		return &exitError{code: exitCAFile, err: err}
	}
	if f.prometheus != "" {
		if err := atomicfile.WriteFile(f.prometheus, promText(rep), 0o644); err != nil {
			return &exitError{code: exitWrite, err: fmt.Errorf("--prometheus: %w", err)}
		}
	}
	if e.json {
		if err := writeJSON(e.stdout, rep); err != nil {
			return err
		}
	} else {
		printCheck(e.stdout, st.Dir, rep, f.days)
	}
	if len(rep.Findings) == 0 {
		return nil
	}
	if !e.json {
		fmt.Fprintf(e.stderr, "httptrust: %d finding(s) need attention in the store %s\n", len(rep.Findings), st.Dir)
	}
	return &quietExit{code: exitFail}
}

// printCheck prints the report as two tables: findings, then certificates.
func printCheck(w io.Writer, dir string, rep *store.Report, days int) {
	if len(rep.Findings) == 0 {
		fmt.Fprintf(w, "store %s: nothing needs attention within %d days\n", dir, days)
	} else {
		fmt.Fprintf(w, "store %s: %d finding(s) within %d days:\n", dir, len(rep.Findings), days)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  KIND\tWHERE\tHOSTS\tMESSAGE")
		for _, f := range rep.Findings {
			printf(tw, "  %s\t%s\t%s\t%s\n", f.Kind, findingWhere(f), dash(strings.Join(f.Hosts, ",")), oneLine(f.Message))
		}
		tw.Flush()
	}
	if len(rep.Certificates) == 0 {
		return
	}
	fmt.Fprintf(w, "certificates:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  HOSTS\tKIND\tNOT AFTER\tDAYS LEFT\tFILE\tSUBJECT")
	for _, c := range rep.Certificates {
		left := int(math.Floor(c.NotAfter.Sub(rep.Now).Hours() / 24))
		printf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\n", strings.Join(c.Hosts, ","), c.Kind, c.NotAfter.UTC().Format(time.DateOnly), left, c.File, dash(c.Subject))
	}
	tw.Flush()
}

// findingWhere is "file:line", the file, or "-".
func findingWhere(f store.Finding) string {
	switch {
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

// findingKinds are the kinds store.Check reports; each gets a series, so a
// kind with no finding reads 0 rather than missing.
var findingKinds = []string{"all_hosts", "bad_file", "bad_store", "expired", "expiring", "missing_file",
	"no_backup_pin", "overlap", "pins_expired", "pins_expiring", "tofu_expiring"}

// promText renders rep in the Prometheus text exposition format.
func promText(rep *store.Report) []byte {
	var b strings.Builder
	b.WriteString("# HELP httptrust_certificate_not_after_seconds When a certificate the trust store trusts expires (Unix time).\n")
	b.WriteString("# TYPE httptrust_certificate_not_after_seconds gauge\n")
	seen := map[string]bool{}
	for _, c := range rep.Certificates {
		for _, h := range c.Hosts {
			line := fmt.Sprintf("httptrust_certificate_not_after_seconds{host=%s,kind=%s,file=%s,sha256=%s,subject=%s} %d\n",
				promLabel(h), promLabel(c.Kind), promLabel(c.File), promLabel(c.SHA256), promLabel(c.Subject), c.NotAfter.Unix())
			if !seen[line] {
				seen[line] = true
				b.WriteString(line)
			}
		}
	}
	counts := map[string]int{}
	for _, k := range findingKinds {
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
// double quote and line feed escaped.
func promLabel(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
