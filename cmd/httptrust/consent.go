package main

import (
	"bufio"
	"fmt"
	"slices"
	"strings"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/consent"
)

// consent asks internal/consent whether fetch may write pl, then asks the
// person where it says so, and checks the relaxations pl needs.
func (r *fetchRun) consent(pl *plan, v *httptrust.Verdict) error {
	in := consent.Input{Verdict: v, Write: pl.Cert, Fingerprint: r.fp, Yes: r.f.yes,
		Interactive: r.interactive(), Widening: r.widening, Relaxed: pl.relaxed()}
	var prompt *bufio.Reader
	if in.Interactive {
		prompt = bufio.NewReader(r.e.stdin)
	}
	switch consent.Decide(in) {
	case consent.ByFingerprint, consent.ByYes:
	case consent.WrongFingerprint:
		return r.wrongFingerprint(pl, consent.Protected(v))
	case consent.ExactHostOnly:
		return r.exactHostOnly(pl)
	case consent.NeedFingerprint:
		return r.needFingerprint(v.Err, pl)
	case consent.NeedFingerprintToWiden:
		return &exitError{code: exitFail,
			err: fmt.Errorf("--host %s widens the scope beyond %s, which may replace or shadow what other hosts trust: neither --yes nor the prompt is enough; nothing written", strings.Join(r.patterns, ", "), r.host),
			hints: []string{"widening needs the certificate's SHA-256, compared with the one its owner shows you:",
				"  " + r.e.commandLine(r.fetchCommand("--fingerprint", httptrust.PlaceholderFingerprint))}}
	case consent.NoConsent:
		above := "the SHA-256 above"
		if r.e.json {
			above = fmt.Sprintf("the SHA-256 of %s (%s)", pl.Cert.Subject, certs.CertFingerprint(pl.Cert))
		}
		return withReason(reasonNoConsent, failf([]string{
			"compare " + above + " with the one the server's owner shows you, then:",
			"  " + r.e.commandLine(r.fetchCommand("--fingerprint", httptrust.PlaceholderFingerprint)),
			"or accept what is shown:",
			"  " + r.e.commandLine(r.fetchCommand("--yes")),
		}, "no consent to trust %s: not a terminal, and neither --yes nor --fingerprint was given; nothing written", r.host))
	case consent.Ask:
		q := fmt.Sprintf("Trust this %s for %s? Compare its SHA-256 with the one the server's owner shows you. [y/N] ", pl.Kind, scopeWords(r.patterns))
		if !r.ask(prompt, q) {
			return withReason(reasonNoConsent, failf(nil, "declined; nothing written"))
		}
	}
	return r.relaxations(pl, prompt, consent.ByPrompt(v))
}

// needFingerprint refuses a write that would replace trust an attacker
// could defeat: the remedy is the verifier's own (an out-of-band
// fingerprint, never --yes), and where it has no fetch --fingerprint, the
// one way fetch may still write pl is added.
func (r *fetchRun) needFingerprint(se *httptrust.VerifyError, pl *plan) error {
	what := "the store trusts something else for this host"
	var hints []string
	offered := false
	if se != nil {
		what = fmt.Sprintf("%s: %s (%s)", se.Reason, what, se.Rule)
		hints = r.e.viewRemedy(pl.relaxRemedy(se.Remedy)).hints()
		for _, c := range se.Remedy.Commands {
			offered = offered || (c.Name == "fetch" && slices.Contains(c.Args, "--fingerprint"))
		}
	}
	if !offered {
		hints = append(hints, fmt.Sprintf("to trust this %s for %s all the same, get its SHA-256 fingerprint out of band (from the device or its operator, not from this connection), then:", pl.Kind, r.host),
			"  "+r.e.commandLine(r.fetchCommand("--fingerprint", httptrust.PlaceholderFingerprint)))
	}
	return &exitError{code: exitFail, err: fmt.Errorf("%s: %s; nothing written (--yes and the prompt cannot replace it)", r.host, what), hints: hints}
}

// wrongFingerprint refuses --fingerprint that is not that of the
// certificate to write (exit 60). Where the host already trusts
// something, the chain is an attacker's as likely as not: the fingerprint
// is not matched against it, and no other one is asked for.
func (r *fetchRun) wrongFingerprint(pl *plan, protected bool) error {
	hints := []string{"check the fingerprint with the server's owner; nothing was written"}
	for i, v := range r.view.Chain {
		if protected {
			break
		}
		if v.SHA256 == r.fp.String() {
			hints = append(hints, fmt.Sprintf("it is the fingerprint of certificate %d (%s), but fetch writes the %s %s; give that one's fingerprint, or trust the file itself:",
				i, v.Subject, pl.Kind, pl.Cert.Subject),
				"  "+r.e.commandLine(httptrust.Command{Name: "trust add", Args: []string{httptrust.PlaceholderCAFile, "--host", r.host}}))
		}
	}
	return &exitError{code: exitVerify, reason: reasonFingerprintMismatch, err: fmt.Errorf("%s: the fingerprint given (%s) is not that of the certificate to trust (%s)", r.host, r.fp, certs.CertFingerprint(pl.Cert)), hints: hints}
}

// relaxations checks that a name mismatch or expiry is allowed by its flag,
// or by a second yes at the prompt where a prompt may grant it.
func (r *fetchRun) relaxations(pl *plan, prompt *bufio.Reader, byPrompt bool) error {
	need := []struct {
		needed  bool
		allowed bool
		flag    string
		what    string
	}{
		{pl.NameMismatch, r.f.allowNameMismatch, "--allow-name-mismatch", "does not name " + r.host},
		{pl.Expired, r.f.allowExpired, "--allow-expired", "is outside its validity period"},
	}
	for _, n := range need {
		if !n.needed || n.allowed {
			continue
		}
		// (Never with --host: consent.Decide refused that already.)
		if prompt != nil && byPrompt && r.ask(prompt, fmt.Sprintf("The certificate %s. Trust it anyway, for %s only? [y/N] ", n.what, r.host)) {
			continue
		}
		args := []string{n.flag}
		if r.f.yes {
			args = append(args, "--yes")
		}
		if r.fp != nil {
			args = append(args, "--fingerprint", r.fp.String()) // the operator's, given on this command line
		}
		return failf([]string{"if you trust it all the same:", "  " + r.e.commandLine(r.fetchCommand(args...))},
			"the certificate %s; nothing written", n.what)
	}
	return nil
}

// fetchCommand is "fetch ... ARGS URL" with this run's own flags kept
// (--host, --server-name, --tofu, --allow-*, --fetch-intermediates), and
// the allowances the plan needs (--allow-name-mismatch, --allow-expired),
// so that the command printed does what this one meant and can succeed.
func (r *fetchRun) fetchCommand(args ...string) httptrust.Command {
	return r.fetchCommandFor(r.f.hosts, args...)
}

// fetchCommandFor is fetchCommand with hosts for --host.
func (r *fetchRun) fetchCommandFor(hosts []string, args ...string) httptrust.Command {
	var all []string
	add := func(flag string, on bool, value ...string) {
		if on && !slices.Contains(args, flag) {
			all = append(append(all, flag), value...)
		}
	}
	for _, h := range hosts {
		all = append(all, "--host", h)
	}
	add("--server-name", r.f.serverName != "", r.f.serverName)
	add("--tofu", r.f.tofu)
	add("--allow-name-mismatch", r.f.allowNameMismatch || r.plan != nil && r.plan.NameMismatch)
	add("--allow-expired", r.f.allowExpired || r.plan != nil && r.plan.Expired)
	add("--fetch-intermediates", r.f.fetchIntermediates)
	return httptrust.Command{Name: "fetch", Args: append(append(all, args...), r.u.Redacted())}
}

// exactHostOnly refuses --host for a certificate that needs an allowance
// (consent.ExactHostOnly): a rule may allow a name mismatch or an expiry
// for one exact host only, so no consent can write it for the patterns
// given. It says which commands can: the same without the patterns that
// widen (for the URL's host and port, or the host --host named), or a
// certificate that needs no allowance. The fingerprint in the command is
// the one given on this command line, or a placeholder: never one taken
// from the connection.
func (r *fetchRun) exactHostOnly(pl *plan) error {
	var whats, fields []string
	if pl.NameMismatch {
		whats, fields = append(whats, "does not name "+r.host), append(fields, "allow_name_mismatch")
	}
	if pl.Expired {
		whats, fields = append(whats, "is outside its validity period"), append(fields, "allow_expired")
	}
	what, field := strings.Join(whats, " and "), strings.Join(fields, " and ")
	var exact, wide []string
	for _, h := range r.f.hosts {
		if pat, err := httptrust.ParsePattern(h); err == nil && (pat.String() == r.host || pat.String() == r.hostPort()) {
			exact = append(exact, h)
		} else {
			wide = append(wide, h)
		}
	}
	fp := httptrust.PlaceholderFingerprint
	if r.fp != nil {
		fp = r.fp.String() // the operator's, given on this command line
	}
	scope := r.hostPort()
	if len(exact) > 0 {
		scope = strings.Join(exact, ", ")
	}
	return &exitError{code: exitFail,
		err: fmt.Errorf("the certificate %s: %s is possible only in a rule for one exact host, and --host %s is wider; nothing written", what, field, strings.Join(wide, ", ")),
		hints: []string{
			fmt.Sprintf("to trust this certificate for %s only, get its SHA-256 from the device or its operator (not from this connection), then:", scope),
			"  " + r.e.commandLine(r.fetchCommandFor(exact, "--fingerprint", fp)),
			fmt.Sprintf("for %s, the server needs a certificate that names its hosts and is valid now: ask its operator to reissue it (for a development server, httptrust mint makes one)", strings.Join(wide, ", ")),
		}}
}

// interactive reports whether a person can answer a prompt.
func (r *fetchRun) interactive() bool {
	return r.e.terminal(r.e.stdin)
}

// ask prints q on stderr and reads a yes.
func (r *fetchRun) ask(in *bufio.Reader, q string) bool {
	printf(r.e.stderr, "%s", q)
	line, err := in.ReadString('\n')
	if err != nil && !strings.HasSuffix(line, "\n") {
		// End of input (Ctrl-D): end the prompt's line before what follows.
		fmt.Fprintln(r.e.stderr)
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}

// scopeWords says what the patterns a prompt asks about cover, as the
// rule will: a host without a port covers every port of it.
func scopeWords(patterns []string) string {
	words := make([]string, len(patterns))
	for i, p := range patterns {
		words[i] = p
		if pat, err := httptrust.ParsePattern(p); err == nil && pat.IsExact() && pat.Port == "" {
			words[i] += " (every port)"
		}
	}
	return strings.Join(words, ", ")
}
