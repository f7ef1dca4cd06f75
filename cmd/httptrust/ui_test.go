package main

import (
	"strings"
	"testing"
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
	} {
		if got := termSafe(tt.in); got != tt.want {
			t.Errorf("termSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzTermSafe(f *testing.F) {
	for _, s := range []string{"", "a b", "\x1b]0;x\x07", "\u202e", "   ", "\xff\xfe", "é\u3164"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := termSafe(s)
		for i, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
				t.Fatalf("termSafe(%q) = %q keeps %U at %d", s, out, r, i)
			}
		}
		if strings.Contains(out, "   ") {
			t.Fatalf("termSafe(%q) = %q keeps a run of three spaces", s, out)
		}
		if termSafe(out) != out {
			t.Fatalf("termSafe is not idempotent on %q", out)
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
