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
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// termSafe returns s with every rune a terminal would not print as itself
// written as an escape (\x1b, \u202e): C0 and C1 controls, DEL, newlines
// and tabs, bidirectional and other format characters, line and paragraph
// separators, invalid UTF-8. Printable text, spaces and backslashes are
// kept as they are, but for what could pad a line with blanks and start a
// forged one where a terminal wraps it: a space after a run of maxSpaces
// is written \x20, and a rune that takes no column (a combining mark, see
// zeroWidth) after a space, or at the start, is escaped, so that it can
// neither hide inside a run of spaces nor reset its count; so is one after
// a run of maxMarks of them.
func termSafe(s string) string {
	var b *strings.Builder // nil while s needs no escape
	e := newEscaper()
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		tok := e.token(r, s[i:i+n])
		if b == nil && tok != s[i:i+n] {
			b = &strings.Builder{}
			b.WriteString(s[:i])
		}
		if b != nil {
			b.WriteString(tok)
		}
		i += n
	}
	if b == nil {
		return s
	}
	return b.String()
}

// maxSpaces is the longest run of literal spaces termSafe keeps, and
// maxMarks the longest run of zeroWidth runes (a letter with its accents
// has a few; a stack of hundreds takes no column and much of the screen).
const (
	maxSpaces = 2
	maxMarks  = 6
)

// escaper writes runes for a terminal one at a time: whether a space or a
// mark is kept depends on what came before.
type escaper struct {
	run   int  // the spaces in a row the last rune ended (escaped or not)
	marks int  // the zeroWidth runes in a row written as they are
	blank bool // the last rune was written as a space, or none was written
}

func newEscaper() escaper { return escaper{blank: true} }

// token returns how r, the bytes raw of the input, is written.
func (e *escaper) token(r rune, raw string) string {
	if r == ' ' {
		e.run++
	} else {
		e.run = 0
	}
	tok := raw
	switch {
	case r == utf8.RuneError && len(raw) == 1:
		tok = fmt.Sprintf(`\x%02x`, raw[0])
	case r == ' ' && e.run > maxSpaces:
		// A long run of spaces could pad a value to the terminal's
		// width and start a forged line where it wraps.
		tok = `\x20`
	case needsEscape(r, len(raw)), zeroWidth(r) && (e.blank || e.marks >= maxMarks):
		tok = escapeRune(r)
	}
	e.blank = tok == " "
	if tok == raw && zeroWidth(r) {
		e.marks++
	} else {
		e.marks = 0
	}
	return tok
}

// escapeRune writes r as Go would in a string: \x1b, \u202e, \U000e0041.
func escapeRune(r rune) string {
	switch {
	case r < 0x80:
		return fmt.Sprintf(`\x%02x`, r)
	case r <= 0xffff:
		return fmt.Sprintf(`\u%04x`, r)
	}
	return fmt.Sprintf(`\U%08x`, r)
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

// zeroWidth reports whether a terminal gives r no column of its own:
// combining and enclosing marks (U+034F, the variation selectors, U+17B5),
// format characters, the other default-ignorable runes, and the Hangul
// vowels and finals that join the syllable before them.
func zeroWidth(r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point) ||
		(r >= 0x1160 && r <= 0x11ff) || (r >= 0xd7b0 && r <= 0xd7ff)
}

// runeColumns is how many columns a terminal gives r: none for zeroWidth,
// two for East Asian wide and fullwidth runes (ideographs, most emoji),
// one for the rest (ambiguous ones too, as terminals outside East Asian
// locales show them).
func runeColumns(r rune) int {
	if zeroWidth(r) {
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// columns is how many columns a terminal gives s, printable text (what
// termSafe returns).
func columns(s string) int {
	n := 0
	for _, r := range s {
		n += runeColumns(r)
	}
	return n
}

// viewWidth is the terminal width views are laid out for: text from a
// certificate or a server never reaches past it, so that on a terminal of
// that width or wider, no line the terminal wraps starts with such text
// (a forged "sha256:" line aligned under a real one).
const viewWidth = 80

// fit returns s escaped for a terminal (termSafe) and cut, if it is wider,
// to cols columns, saying how much was cut: "… (1234 more characters)",
// counting the characters of s. It is a value for printf, printed as it
// is. Where cols leaves too little room for the note, the value is cut to
// cols and the note, the program's own words, runs past it.
func fit(s string, cols int) ours {
	return ours(fitTokens(escapeRunes(s), cols))
}

// escapeRunes is termSafe(s) rune by rune: one token for each rune of s.
func escapeRunes(s string) []string {
	var toks []string
	e := newEscaper()
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		toks = append(toks, e.token(r, s[i:i+n]))
		i += n
	}
	return toks
}

// fitTokens is fit for the tokens of escapeRunes.
func fitTokens(toks []string, cols int) string {
	all := strings.Join(toks, "")
	if columns(all) <= cols {
		return all
	}
	room := cols - columns(cutNote(len(toks)))
	if room < 8 {
		room = cols
	}
	n := fitCount(toks, room)
	for n > 0 && toks[n-1] == " " {
		n--
	}
	return strings.Join(toks[:n], "") + cutNote(len(toks)-n)
}

// fitCount is how many of toks fit in cols columns.
func fitCount(toks []string, cols int) int {
	used := 0
	for i, t := range toks {
		if used += columns(t); used > cols {
			return i
		}
	}
	return len(toks)
}

// cutNote says that n characters of a value were not shown.
func cutNote(n int) string {
	if n == 1 {
		return "… (1 more character)"
	}
	return fmt.Sprintf("… (%d more characters)", n)
}

// contMark starts a row that continues a line of wrapped text: no row a
// view prints, and no label of it, starts with it.
const contMark = "  … "

// wrapLine lays out a line, lead (the program's own, printed as it is)
// then text (with values from a certificate or a server inside), in rows
// of at most viewWidth columns, so that a terminal wraps none of them: it
// breaks between words where it can, and every row after the first starts
// with contMark. So no row that starts with text from the network can
// pass for a line of the view, however that text was made to look. text
// is escaped here (termSafe); at most maxWrapRows rows are printed, the
// last cut with fit's note. The rows are returned with a newline after
// each.
func wrapLine(lead ours, text string) ours {
	var toks []string
	for _, r := range lead {
		toks = append(toks, string(r))
	}
	toks = append(toks, escapeRunes(text)...)
	var rows []string
	width := viewWidth
	for len(toks) > 0 {
		if len(rows) == maxWrapRows-1 {
			rows = append(rows, fitTokens(toks, width))
			break
		}
		n := breakAt(toks, width)
		rows = append(rows, strings.TrimRight(strings.Join(toks[:n], ""), " "))
		for toks = toks[n:]; len(toks) > 0 && toks[0] == " "; {
			toks = toks[1:]
		}
		width = viewWidth - columns(contMark)
	}
	return ours(strings.Join(rows, "\n"+contMark) + "\n")
}

// maxWrapRows is the most rows wrapLine prints.
const maxWrapRows = 8

// breakAt returns how many of toks end a row of at most cols columns:
// up to the last space that fits, or, for a word wider than the row, as
// many as fit (at least one).
func breakAt(toks []string, cols int) int {
	n := fitCount(toks, cols)
	if n == len(toks) || toks[n] == " " {
		return n
	}
	for i := n; i > 0; i-- {
		if toks[i-1] == " " {
			return i
		}
	}
	return max(n, 1)
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
