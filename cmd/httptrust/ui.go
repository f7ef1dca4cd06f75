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
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// termSafe returns s with every rune a terminal would not print as itself
// written as an escape (\x1b, \u202e): C0 and C1 controls, DEL, newlines
// and tabs, bidirectional and other format characters, line and paragraph
// separators, invalid UTF-8. Printable text, spaces and backslashes are
// kept as they are.
func termSafe(s string) string {
	i, spaces := 0, 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if spaces = nextSpaces(r, spaces); needsEscape(r, n) || spaces > maxSpaces {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	spaces = len(s[:i]) - len(strings.TrimRight(s[:i], " ")) // the run the prefix ends with
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		spaces = nextSpaces(r, spaces)
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case spaces > maxSpaces:
			// A long run of spaces could pad a value to the terminal's
			// width and start a forged line where it wraps.
			b.WriteString(`\x20`)
		case !needsEscape(r, n):
			b.WriteString(s[i : i+n])
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += n
	}
	return b.String()
}

// maxSpaces is the longest run of literal spaces termSafe keeps.
const maxSpaces = 2

// nextSpaces counts the run of spaces r continues.
func nextSpaces(r rune, run int) int {
	if r == ' ' {
		return run + 1
	}
	return 0
}

// needsEscape reports whether r (n bytes long) must be escaped for a
// terminal: what it would not print as itself, and the printable runes
// that look blank (Hangul fillers, the blank Braille pattern), which could
// pad a forged line as spaces do.
func needsEscape(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1:
		return true
	case r == 0x115f, r == 0x1160, r == 0x3164, r == 0xffa0, r == 0x2800:
		return true
	}
	return r != ' ' && !strconv.IsPrint(r)
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
