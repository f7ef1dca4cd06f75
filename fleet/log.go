package fleet

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/termtext"
)

// plog is a probe's log, kept only when asked for.
type plog struct {
	res   *Result
	on    bool
	lines func(httptrust.Remedy) []string // Prober.RemedyLines
}

// logf adds a line. Values from the network are made safe for a terminal
// (SafeText): the log is read with curl as often as in a browser.
func (l *plog) logf(format string, args ...any) {
	if !l.on {
		return
	}
	ts := time.Now().UTC().Format("15:04:05.000")
	l.res.Log = append(l.res.Log, ts+" "+SafeText(fmt.Sprintf(format, args...)))
}

// command logs a command line, marked to be printed whole.
func (l *plog) command(c string) {
	if !l.on {
		return
	}
	if l.res.commands == nil {
		l.res.commands = map[int]bool{}
	}
	l.res.commands[len(l.res.Log)] = true
	l.logf("remedy command: %s", c)
}

// handshake logs what the server presented and how the policy judged it.
func (l *plog) handshake(r *Result) {
	if !l.on {
		return
	}
	if r.TLSVersion != 0 {
		l.logf("%s, %s", r.TLSVersionName(), tls.CipherSuiteName(r.CipherSuite))
	}
	for i, c := range r.Chain {
		// What the certificate says comes last, each on a line of its own:
		// however long, it cannot push the fingerprint out of the view.
		l.logf("certificate %d: sha256 %s, not after %s", i, certs.CertFingerprint(c), c.NotAfter.UTC().Format(time.RFC3339))
		l.logf("certificate %d subject: %s", i, c.Subject)
		l.logf("certificate %d issuer: %s", i, c.Issuer)
	}
}

// outcome logs the decision and the result.
func (l *plog) outcome() {
	if !l.on {
		return
	}
	r := l.res
	if r.Effective != nil {
		l.logf("rule for %s: %s", r.hostPort(), r.Effective)
	}
	if ps := r.Pins; ps != nil {
		match := ""
		switch {
		case ps.Matched == nil:
		case *ps.Matched:
			match = "; a pin matched the verified chain"
		default:
			match = "; no pin matched the verified chain"
		}
		l.logf("pins: %s, set by %s%s", ps.State, ps.Rule.Where(), match)
	}
	if r.FirstUse != "" {
		l.logf("first use: %s", r.FirstUse)
	}
	switch {
	case r.OK:
		l.logf("probe succeeded in %s", r.Duration.Round(time.Microsecond))
	case r.Refusal != nil:
		l.logf("refused (%s): %v", r.Reason, r.Err)
		if rem := r.Refusal.Remedy; rem.Action != httptrust.ActionNone {
			text := rem.Text
			if rem.Change != nil {
				text += "; in the policy: " + rem.Change.String()
			}
			l.logf("remedy: %s", text)
			for _, c := range l.lines(rem) {
				l.command(c)
			}
		}
		l.logf("probe failed in %s", r.Duration.Round(time.Microsecond))
	default:
		l.logf("probe failed (%s) in %s: %v", r.Reason, r.Duration.Round(time.Microsecond), r.Err)
	}
}

// SafeText returns s with every rune a terminal or a browser would not show
// as itself written as an escape (\x1b, \u202e): C0 and C1 controls, DEL,
// line breaks, bidirectional and other format characters, invalid UTF-8;
// and, so that blanks cannot pad a value to where a terminal wraps it and
// start a forged line there, a space after a run of two (\x20) and a rune
// that takes no column after a space or at the start. Certificates and
// servers choose their subjects and names; such a rune could forge a line
// or reorder one. These are the rules of the httptrust command's own
// output; SafeText of SafeText(s) is SafeText(s).
func SafeText(s string) string { return termtext.Escape(s) }
