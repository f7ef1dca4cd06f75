// Package termtext escapes text from the network for a terminal and lays
// it out so that a terminal wraps none of it: the one implementation of
// httptrust's output rule that nothing from a certificate or a server
// reaches a terminal raw. The CLI (its termSafe, fit and wrapLine) and the
// fleet package (SafeText, the exporter's probe log and metrics) use it.
package termtext

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// Width is the terminal width views are laid out for: text from a
// certificate or a server never reaches past it, so that on a terminal of
// that width or wider, no line the terminal wraps starts with such text
// (a forged "sha256:" line aligned under a real one).
const Width = 80

// MaxSpaces is the longest run of literal spaces Escape keeps, and
// MaxMarks the longest run of ZeroWidth runes (a letter with its accents
// has a few; a stack of hundreds takes no column and much of the screen).
const (
	MaxSpaces = 2
	MaxMarks  = 6
)

// Escape returns s with every rune a terminal would not print as itself
// written as an escape (\x1b, \u202e): C0 and C1 controls, DEL, newlines
// and tabs, bidirectional and other format characters, line and paragraph
// separators, invalid UTF-8. Printable text, spaces and backslashes are
// kept as they are, but for what could pad a line with blanks and start a
// forged one where a terminal wraps it: a space after a run of MaxSpaces
// is written \x20, and a rune that takes no column (a combining mark, see
// ZeroWidth) after a space, or at the start, is escaped, so that it can
// neither hide inside a run of spaces nor reset its count; so is one after
// a run of MaxMarks of them. Escape changes nothing it wrote: Escape of
// Escape(s) is Escape(s).
func Escape(s string) string {
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

// Tokens is Escape(s) rune by rune: one token for each rune of s, so that
// a cut never splits an escape.
func Tokens(s string) []string {
	var toks []string
	e := newEscaper()
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		toks = append(toks, e.token(r, s[i:i+n]))
		i += n
	}
	return toks
}

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
	case r == ' ' && e.run > MaxSpaces:
		// A long run of spaces could pad a value to the terminal's
		// width and start a forged line where it wraps.
		tok = `\x20`
	case NeedsEscape(r, len(raw)), ZeroWidth(r) && (e.blank || e.marks >= MaxMarks):
		tok = escapeRune(r)
	}
	e.blank = tok == " "
	if tok == raw && ZeroWidth(r) {
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

// NeedsEscape reports whether r (n bytes long) must be escaped for a
// terminal: what it would not print as itself, and the printable runes
// that look blank (Hangul fillers, the blank Braille pattern), which could
// pad a forged line as spaces do.
func NeedsEscape(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1:
		return true
	case r == 0x115f, r == 0x1160, r == 0x3164, r == 0xffa0, r == 0x2800:
		return true
	}
	return r != ' ' && !strconv.IsPrint(r)
}

// ZeroWidth reports whether a terminal gives r no column of its own:
// combining and enclosing marks (U+034F, the variation selectors, U+17B5),
// format characters, the other default-ignorable runes, and the Hangul
// vowels and finals that join the syllable before them.
func ZeroWidth(r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point) ||
		(r >= 0x1160 && r <= 0x11ff) || (r >= 0xd7b0 && r <= 0xd7ff)
}

// RuneColumns is how many columns a terminal gives r: none for ZeroWidth,
// two for East Asian wide and fullwidth runes (ideographs, most emoji),
// one for the rest (ambiguous ones too, as terminals outside East Asian
// locales show them).
func RuneColumns(r rune) int {
	if ZeroWidth(r) {
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// Columns is how many columns a terminal gives s, printable text (what
// Escape returns).
func Columns(s string) int {
	n := 0
	for _, r := range s {
		n += RuneColumns(r)
	}
	return n
}

// Fit returns s escaped (Escape) and cut, if it is wider, to cols columns,
// saying how much was cut: "… (1234 more characters)", counting the
// characters of s. Where cols leaves too little room for the note, the
// value is cut to cols and the note, the program's own words, runs past
// it.
func Fit(s string, cols int) string { return FitTokens(Tokens(s), cols) }

// FitTokens is Fit for the tokens of Tokens.
func FitTokens(toks []string, cols int) string {
	all := strings.Join(toks, "")
	if Columns(all) <= cols {
		return all
	}
	room := cols - Columns(cutNote(len(toks)))
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
		if used += Columns(t); used > cols {
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

// ContMark starts a row that continues a line of wrapped text: no row a
// view prints, and no label of it, starts with it.
const ContMark = "  … "

// MaxWrapRows is the most rows Wrap prints.
const MaxWrapRows = 8

// Wrap lays out a line, lead (the program's own, printed as it is) then
// text (with values from a certificate or a server inside), in rows of at
// most Width columns, so that a terminal wraps none of them: it breaks
// between words where it can, and every row after the first starts with
// ContMark. So no row that starts with text from the network can pass for
// a line of the view, however that text was made to look. text is escaped
// here (Escape); at most MaxWrapRows rows are printed, the last cut with
// Fit's note. The rows are returned with a newline after each.
func Wrap(lead, text string) string { return WrapRows(lead, text, MaxWrapRows) }

// WrapRows is Wrap with at most rows rows (at least one).
func WrapRows(lead, text string, rows int) string {
	rows = max(rows, 1)
	var toks []string
	for _, r := range lead {
		toks = append(toks, string(r))
	}
	toks = append(toks, Tokens(text)...)
	var out []string
	width := Width
	for len(toks) > 0 {
		if len(out) == rows-1 {
			out = append(out, FitTokens(toks, width))
			break
		}
		n := breakAt(toks, width)
		out = append(out, strings.TrimRight(strings.Join(toks[:n], ""), " "))
		for toks = toks[n:]; len(toks) > 0 && toks[0] == " "; {
			toks = toks[1:]
		}
		width = Width - Columns(ContMark)
	}
	return strings.Join(out, "\n"+ContMark) + "\n"
}

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
