package main

// The output rules of the httptrust CLI. Every byte a command prints goes
// through this file:
//
//   - Data (a response body, JSON, a certificate listing) goes to stdout;
//     everything else to stderr.
//   - Messages are "httptrust: error: ...", "httptrust: warning: ..." and
//     "httptrust: hint: ...": lower case, no final period, each hint what to
//     type next.
//   - Nothing from the network reaches a terminal raw. Certificates and
//     servers choose their subjects, names, URLs and headers; a control
//     character or a bidirectional override among them could forge a line
//     (a fake "sha256:" before the y/N question) or hide one. So text output
//     is printed only by printf, which escapes every value it formats, and
//     by the message functions, which escape the whole message; JSON by
//     writeJSON, which escapes what encoding/json leaves raw.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/httptrust/httptrust/internal/termtext"
)

// The escaping and layout rules themselves are internal/termtext's, shared
// with the fleet package (the exporter's page, probe log and metrics): one
// implementation for every output.

// termSafe returns s with every rune a terminal would not print as itself
// written as an escape (\x1b, \u202e): see termtext.Escape.
func termSafe(s string) string { return termtext.Escape(s) }

// maxSpaces is the longest run of literal spaces termSafe keeps, and
// maxMarks the longest run of zeroWidth runes.
const (
	maxSpaces = termtext.MaxSpaces
	maxMarks  = termtext.MaxMarks
)

// needsEscape reports whether r (n bytes long) must be escaped for a
// terminal (termtext.NeedsEscape).
func needsEscape(r rune, n int) bool { return termtext.NeedsEscape(r, n) }

// zeroWidth reports whether a terminal gives r no column of its own
// (termtext.ZeroWidth).
func zeroWidth(r rune) bool { return termtext.ZeroWidth(r) }

// columns is how many columns a terminal gives s, printable text (what
// termSafe returns).
func columns(s string) int { return termtext.Columns(s) }

// viewWidth is the terminal width views are laid out for: text from a
// certificate or a server never reaches past it, so that on a terminal of
// that width or wider, no line the terminal wraps starts with such text
// (a forged "sha256:" line aligned under a real one).
const viewWidth = termtext.Width

// fit returns s escaped for a terminal (termSafe) and cut, if it is wider,
// to cols columns, saying how much was cut: "… (1234 more characters)",
// counting the characters of s (termtext.Fit). It is a value for printf,
// printed as it is.
func fit(s string, cols int) ours { return ours(termtext.Fit(s, cols)) }

// contMark starts a row that continues a line of wrapped text: no row a
// view prints, and no label of it, starts with it.
const contMark = termtext.ContMark

// maxWrapRows is the most rows wrapLine prints.
const maxWrapRows = termtext.MaxWrapRows

// wrapLine lays out a line, lead (the program's own, printed as it is)
// then text (with values from a certificate or a server inside), in rows
// of at most viewWidth columns, every row after the first starting with
// contMark, so that no row that starts with text from the network can
// pass for a line of the view (termtext.Wrap). The rows are returned with
// a newline after each.
func wrapLine(lead ours, text string) ours { return ours(termtext.Wrap(string(lead), text)) }

// wrapRows is wrapLine with at most rows rows, for long text of the
// program's own that holds a value from the network (a remedy's words).
func wrapRows(lead ours, text string, rows int) ours {
	return ours(termtext.WrapRows(string(lead), text, rows))
}

// printf formats for a terminal: every value in args is escaped with
// termSafe (strings, errors, Stringers, string slices); the format itself
// is the program's own.
func printf(w io.Writer, format string, args ...any) {
	safe := make([]any, len(args))
	for i, a := range args {
		safe[i] = safeArg(a)
	}
	fmt.Fprintf(w, format, safe...)
}

// ours is text of the program's own (an indentation, a prefix) passed as
// a value to printf: it is printed as it is.
type ours string

func safeArg(a any) any {
	switch v := a.(type) {
	case ours:
		return string(v)
	case string:
		return termSafe(v)
	case []string:
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = termSafe(s)
		}
		return out
	case time.Time:
		return v
	case error:
		return termSafe(v.Error())
	case fmt.Stringer:
		return termSafe(v.String())
	}
	return a
}

// errorLine prints "httptrust: error: msg"; with NO_COLOR unset and stderr
// a terminal, "error" is red.
func (e *env) errorLine(msg string) {
	label := "error"
	if e.color() {
		label = "\x1b[1;31merror\x1b[0m"
	}
	msg = strings.TrimPrefix(msg, "httptrust: ")
	fmt.Fprintf(e.stderr, "httptrust: %s: %s\n", label, termSafe(msg))
}

// hint prints "httptrust: hint: msg".
func (e *env) hint(msg string) {
	fmt.Fprintf(e.stderr, "httptrust: hint: %s\n", termSafe(msg))
}

// warn prints "httptrust: warning: msg".
func (e *env) warn(msg string) {
	fmt.Fprintf(e.stderr, "httptrust: warning: %s\n", termSafe(msg))
}

// note prints "httptrust: msg", a message that is neither an error nor a
// warning.
func (e *env) note(msg string) {
	fmt.Fprintf(e.stderr, "httptrust: %s\n", termSafe(msg))
}

// color reports whether stderr may be coloured: a terminal, NO_COLOR unset.
func (e *env) color() bool { return e.colorOn(e.stderr) }

// colorOn reports whether w may be coloured: a terminal, NO_COLOR unset,
// TERM not dumb.
func (e *env) colorOn(w any) bool {
	return e.getenv("NO_COLOR") == "" && e.getenv("TERM") != "dumb" && e.terminal(w)
}

// writeJSON prints v indented, with a final newline. Runes that
// encoding/json leaves raw but a terminal would act on (DEL, C1 controls,
// bidirectional and other format characters) are written as \u escapes.
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(jsonSafe(buf.Bytes()))
	return err
}

// jsonSafe escapes, in encoded JSON, the runes termSafe would escape that
// encoding/json does not (it escapes C0 controls, and invalid UTF-8 becomes
// U+FFFD). Such runes only ever occur inside strings, where \u escapes are
// valid.
func jsonSafe(data []byte) []byte {
	var out []byte
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r < 0x20 || r == '\n' || !needsEscape(r, n) {
			if out != nil {
				out = append(out, data[i:i+n]...)
			}
			i += n
			continue
		}
		if out == nil {
			out = append(make([]byte, 0, len(data)+16), data[:i]...)
		}
		if r > 0xffff {
			r -= 0x10000
			out = fmt.Appendf(out, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		} else {
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += n
	}
	if out == nil {
		return data
	}
	return out
}
