package main

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestTermSafe(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain text, two  spaces", "plain text, two  spaces"},
		{"esc\x1b[2J", `esc\x1b[2J`},
		{"line\nforged", `line\x0aforged`},
		{"tab\tx", `tab\x09x`},
		{"bidi\u202eevil", `bidi\u202eevil`},
		{"c1\u009bx", `c1\u009bx`},
		{"del\x7f", `del\x7f`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"pad" + strings.Repeat(" ", 5) + "x", `pad  \x20\x20\x20x`},
		{"filler\u3164x", `filler\u3164x`},
		{"braille\u2800x", `braille\u2800x`},
		{"back\\slash é ü 日本", "back\\slash é ü 日本"},
		{"emoji \U0001F600", "emoji \U0001F600"},
		{"tag \U000E0041", `tag \U000e0041`},
		// Zero-width marks after a space are escaped: they would reset the
		// count of a run of spaces and show nothing.
		{"pad  \u034f  \u034fx", `pad  \u034f  \u034fx`},
		{"pad  \ufe0f  \u17b5  \u20ddx", `pad  \ufe0f  \u17b5  \u20ddx`},
		{"  \u0301", `  \u0301`},
		{"\u0301start", `\u0301start`},
		{"jamo \u1161x", `jamo \u1161x`},
		// After a letter they are its accents, kept as they are, a few.
		{"cafe\u0301 e\u0301\u0302", "cafe\u0301 e\u0301\u0302"},
		{"emoji \u2764\ufe0f", "emoji \u2764\ufe0f"},
		{"d" + strings.Repeat("\u0301", 8) + "x", "d" + strings.Repeat("\u0301", 6) + `\u0301` + "\u0301x"},
		// An escaped space is not a space: a mark after it is an accent of
		// the escape's last character, visible.
		{"a   \u0301", `a  \x20` + "\u0301"},
	} {
		if got := termSafe(tt.in); got != tt.want {
			t.Errorf("termSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzTermSafe checks termSafe's invariants: no control or format
// character reaches the terminal; no run of more than maxSpaces spaces, no
// zero-width rune after a space or at the start, where it would hide in a
// run of blanks, and no more than maxMarks of them in a row; the output is
// at most four times as long as the input (\x1b for a byte); termSafe
// changes nothing it wrote. fit and wrapLine, over it, keep within the
// columns they are given.
func FuzzTermSafe(f *testing.F) {
	for _, s := range []string{"", "a b", "\x1b]0;x\x07", "\u202e", "   ", "\xff\xfe", "é\u3164", "  \u034f  \u034f  ",
		"e\u0301\u0301\u0301\u0301\u0301\u0301\u0301\u0301", "全全全─── sha256:", "x\u00ad\u200b\u2060y", "\u17b5\ufe0f"} {
		f.Add(s, 40)
	}
	f.Fuzz(func(t *testing.T, s string, cols int) {
		out := termSafe(s)
		if !utf8.ValidString(out) {
			t.Fatalf("termSafe(%q) = %q is not valid UTF-8", s, out)
		}
		spaces, marks, prevSpace := 0, 0, true
		for i, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp) {
				t.Fatalf("termSafe(%q) = %q keeps %U at %d", s, out, r, i)
			}
			if zeroWidth(r) {
				if prevSpace {
					t.Fatalf("termSafe(%q) = %q keeps the zero-width %U after a space (or first) at %d", s, out, r, i)
				}
				if marks++; marks > maxMarks {
					t.Fatalf("termSafe(%q) = %q keeps %d zero-width runes in a row", s, out, marks)
				}
				continue
			}
			marks = 0
			if prevSpace = r == ' '; prevSpace {
				if spaces++; spaces > maxSpaces {
					t.Fatalf("termSafe(%q) = %q keeps a run of %d spaces", s, out, spaces)
				}
			} else {
				spaces = 0
			}
		}
		if len(out) > 4*len(s) {
			t.Fatalf("termSafe(%q) is %d bytes long, more than four times %d", s, len(out), len(s))
		}
		if termSafe(out) != out {
			t.Fatalf("termSafe is not idempotent on %q", out)
		}
		cols = cols%200 + 1
		if cols < 0 {
			cols = -cols
		}
		got := string(fit(s, cols))
		if termSafe(got) != got {
			t.Fatalf("fit(%q, %d) = %q is not safe", s, cols, got)
		}
		if n := strings.Index(got, "… ("); columns(got) > cols && (n < 0 || columns(got[:n]) > cols) {
			t.Fatalf("fit(%q, %d) = %q shows %d columns", s, cols, got, columns(got))
		}
		rows := strings.Split(strings.TrimSuffix(string(wrapLine("  x: ", s)), "\n"), "\n")
		if len(rows) > maxWrapRows {
			t.Fatalf("wrapLine(%q) printed %d rows", s, len(rows))
		}
		for i, row := range rows {
			if columns(row) > viewWidth || (i > 0 && !strings.HasPrefix(row, contMark)) || (i == 0 && !strings.HasPrefix(row, "  x:")) {
				t.Fatalf("wrapLine(%q) row %d is %q (%d columns)", s, i, row, columns(row))
			}
		}
	})
}

func TestJSONSafe(t *testing.T) {
	var b strings.Builder
	if err := writeJSON(&b, map[string]string{"v": "a\x1b\u009b\u202e\x7f<>&\U000E0041"}); err != nil {
		t.Fatal(err)
	}
	want := `"v": "a\u001b\u009b\u202e\u007f<>&\udb40\udc41"`
	if !strings.Contains(b.String(), want) {
		t.Errorf("writeJSON = %s, want %s", b.String(), want)
	}
}

func TestColumns(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{"abc", 3},
		{"全角", 4},
		{"ｓｈａ", 6},
		{"e\u0301", 1},
		{"\U0001F600", 2},
		{"─═", 2},
		{"\u034f\ufe0f\u17b5", 0},
	} {
		if got := columns(tt.in); got != tt.want {
			t.Errorf("columns(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestFit(t *testing.T) {
	long := "x" + strings.Repeat("y", 20000)
	for _, tt := range []struct {
		in   string
		cols int
		want string
	}{
		{"CN=device", 64, "CN=device"},
		{strings.Repeat("a", 64), 64, strings.Repeat("a", 64)},
		{strings.Repeat("a", 65), 64, strings.Repeat("a", 42) + "… (23 more characters)"},
		{long, 64, "x" + strings.Repeat("y", 38) + "… (19962 more characters)"},
		{strings.Repeat("全", 40), 64, strings.Repeat("全", 21) + "… (19 more characters)"},
		// escapes count the columns they take, and cut nothing in half
		{strings.Repeat("\x1b", 30), 64, strings.Repeat(`\x1b`, 10) + "… (20 more characters)"},
		{"device" + strings.Repeat("  \u034f", 40), 64, "device" + strings.Repeat(`  \u034f`, 4) + "… (108 more characters)"},
		// too narrow for the note: the value is cut to the columns, the
		// note runs past them
		{strings.Repeat("b", 20), 10, strings.Repeat("b", 10) + "… (10 more characters)"},
		{"ab", 0, "… (2 more characters)"},
		{"abc", 2, "ab… (1 more character)"},
	} {
		if got := string(fit(tt.in, tt.cols)); got != tt.want {
			t.Errorf("fit(%.20q…, %d) = %q, want %q", tt.in, tt.cols, got, tt.want)
		}
	}
}

func TestWrapLine(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     []string
	}{
		{"short", "not trusted today: self-signed certificate", []string{"not trusted today: self-signed certificate"}},
		{"between words", "not trusted today: self-signed certificate: the certificate is signed by itself and no rule trusts it for this host",
			[]string{"not trusted today: self-signed certificate: the certificate is signed by itself", contMark + "and no rule trusts it for this host"}},
		{"a word wider than a row", "see " + strings.Repeat("a", 100),
			[]string{"see", contMark + strings.Repeat("a", 76), contMark + strings.Repeat("a", 24)}},
		{"forged label lands after the mark", "to trust for 127.0.0.1:8443: the exact certificate CN=device" + strings.Repeat("─", 18) + "     sha256:    " + strings.Repeat("ab", 32),
			[]string{"to trust for 127.0.0.1:8443: the exact certificate CN=device" + strings.Repeat("─", 18), contMark + `\x20\x20\x20sha256:`, contMark + `\x20\x20` + strings.Repeat("ab", 32)}},
		{"cut after maxWrapRows rows", "x " + strings.Repeat("y", 1000), append(append([]string{"x"},
			slices.Repeat([]string{contMark + strings.Repeat("y", 76)}, maxWrapRows-2)...), contMark+strings.Repeat("y", 53)+"… (491 more characters)")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := strings.Join(tt.want, "\n") + "\n"
			if got := string(wrapLine("", tt.in)); got != want {
				t.Errorf("wrapLine(%q) =\n%s\nwant\n%s", tt.in, got, want)
			}
		})
	}
}
