package storewatch

import (
	"strings"
	"testing"
)

func TestParseAnswer(t *testing.T) {
	tok := Token{ID: [16]byte{1, 2, 3, 15: 0xff}, Gen: 42}
	good := answer(tok, 7, 9)
	if got, err := parseAnswer(good, 7, 9); err != nil || got != tok {
		t.Fatalf("parseAnswer(%q) = %v, %v; want %v", good, got, err, tok)
	}
	for _, bad := range []struct {
		s        string
		dev, ino uint64
	}{
		{good, 7, 10},
		{good, 8, 9},
		{strings.TrimSuffix(good, "\n"), 7, 9},
		{strings.Replace(good, "watch 1", "watch 2", 1), 7, 9},
		{strings.Replace(good, " 42 ", " -1 ", 1), 7, 9},
		{strings.Replace(good, " 42 ", " 42 0 ", 1), 7, 9},
		{"", 7, 9},
		{"httptrust-watch 1 zz 1 7 9\n", 7, 9},
	} {
		if got, err := parseAnswer(bad.s, bad.dev, bad.ino); err == nil {
			t.Errorf("parseAnswer(%q, %d, %d) = %v, want an error", bad.s, bad.dev, bad.ino, got)
		}
	}
}

func TestTokenString(t *testing.T) {
	tok := Token{ID: [16]byte{0xab, 15: 1}, Gen: 1 << 60}
	if got, ok := ParseToken(tok.String()); !ok || got != tok {
		t.Fatalf("ParseToken(%q) = %v, %v", tok.String(), got, ok)
	}
	for _, bad := range []string{"", ":", "ab:1", strings.Repeat("0", 32), strings.Repeat("0", 32) + ":", strings.Repeat("g", 32) + ":1", strings.Repeat("0", 32) + ":-1"} {
		if _, ok := ParseToken(bad); ok {
			t.Errorf("ParseToken(%q) accepted", bad)
		}
	}
}

// FuzzParseToken: whatever it accepts, String writes back the same.
func FuzzParseToken(f *testing.F) {
	f.Add(Token{Gen: 3}.String())
	f.Add("0123456789abcdef0123456789ABCDEF:18446744073709551615")
	f.Add("x:y")
	f.Fuzz(func(t *testing.T, s string) {
		tok, ok := ParseToken(s)
		if !ok {
			return
		}
		again, ok := ParseToken(tok.String())
		if !ok || again != tok {
			t.Fatalf("%q: %v, then %v %v", s, tok, again, ok)
		}
		if _, err := parseAnswer(answer(tok, 1, 2), 1, 2); err != nil {
			t.Fatal(err)
		}
	})
}
