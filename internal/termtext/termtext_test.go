package termtext

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// printable reports whether s holds nothing a terminal would act on:
// valid UTF-8 with no control, format or separator rune.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r != ' ' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) || unicode.IsSpace(r)) {
			return false
		}
	}
	return true
}

var seeds = []string{
	"", "plain", "CN=device\x1b]0;owned\x07", "a\r\nb", "\u202eevil", "x\u2028y", "\xff\xfe",
	"sha256/" + strings.Repeat("A", 43) + "=", strings.Repeat(" ", 200) + "sha256:", "e\u0301\u0301\u0301\u0301",
	strings.Repeat("漢", 60), "\u200b\u200b", "tab\there",
}

// FuzzEscape: what Escape returns is printable, and a run of spaces in it
// is never longer than the escaper allows.
func FuzzEscape(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		if !printable(e) {
			t.Fatalf("Escape(%q) = %q: not printable", s, e)
		}
		if strings.Contains(e, "   ") {
			t.Fatalf("Escape(%q) = %q: a run of three spaces", s, e)
		}
		if printable(s) && !strings.Contains(s, "\\") && !strings.Contains(s, "   ") && Escape(s) != s && !hasMarks(s) {
			t.Fatalf("Escape changed printable text %q to %q", s, e)
		}
	})
}

func hasMarks(s string) bool {
	for _, r := range s {
		if ZeroWidth(r) {
			return true
		}
	}
	return false
}

// FuzzWrap: every row Wrap lays out is at most Width columns, printable,
// and every row after the first starts with ContMark; at most MaxWrapRows.
func FuzzWrap(f *testing.F) {
	for _, s := range seeds {
		f.Add("REFUSED  dev.test:443  (defaults)  certificate_expired: ", s)
	}
	f.Fuzz(func(t *testing.T, lead, text string) {
		if !printable(lead) || Columns(lead) > Width/2 {
			return // lead is the program's own, short text
		}
		out := Wrap(lead, text)
		if !strings.HasSuffix(out, "\n") {
			t.Fatalf("Wrap(%q, %q) = %q: no final newline", lead, text, out)
		}
		rows := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(rows) > MaxWrapRows {
			t.Fatalf("Wrap(%q, %q): %d rows", lead, text, len(rows))
		}
		for i, r := range rows {
			if !printable(r) {
				t.Fatalf("row %d %q is not printable", i, r)
			}
			if Columns(r) > Width {
				t.Fatalf("row %d %q is %d columns", i, r, Columns(r))
			}
			if i > 0 && !strings.HasPrefix(r, ContMark) {
				t.Fatalf("row %d %q does not start with %q", i, r, ContMark)
			}
		}
	})
}

// FuzzFit: Fit's result is printable and, unless cols leaves no room for
// the note, at most cols columns.
func FuzzFit(f *testing.F) {
	for _, s := range seeds {
		f.Add(s, 40)
	}
	f.Fuzz(func(t *testing.T, s string, cols int) {
		if cols < 40 || cols > 200 {
			return
		}
		out := Fit(s, cols)
		if !printable(out) {
			t.Fatalf("Fit(%q, %d) = %q: not printable", s, cols, out)
		}
		if Columns(out) > cols {
			t.Fatalf("Fit(%q, %d) = %q: %d columns", s, cols, out, Columns(out))
		}
	})
}
