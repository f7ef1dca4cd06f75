package main

import (
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// screenWidth is how a terminal (wcwidth) advances for r, written apart
// from runeColumns so that the test does not take the code's word for it:
// 0 for marks and format characters, 2 for East Asian wide, else 1.
func screenWidth(r rune) int {
	switch {
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return 0
	case r >= 0x1100 && r <= 0x115f, r >= 0x2e80 && r <= 0xa4cf, r >= 0xac00 && r <= 0xd7a3,
		r >= 0xf900 && r <= 0xfaff, r >= 0xfe30 && r <= 0xfe4f, r >= 0xff00 && r <= 0xff60,
		r >= 0xffe0 && r <= 0xffe6, r >= 0x1f300 && r <= 0x1f64f, r >= 0x20000 && r <= 0x3fffd:
		return 2
	}
	return 1
}

// screenRow is one row of a terminal: its text (zero-width runes left
// out) and whether it starts a line of the output (not a wrap).
type screenRow struct {
	text  string
	first bool
	line  string // the output line it is part of
}

// screen is what a terminal cols wide shows for out.
func screen(out string, cols int) []screenRow {
	var rows []screenRow
	for _, l := range strings.Split(out, "\n") {
		var b strings.Builder
		col, first := 0, true
		for _, r := range l {
			w := screenWidth(r)
			if col+w > cols {
				rows = append(rows, screenRow{b.String(), first, l})
				b.Reset()
				col, first = 0, false
			}
			if w > 0 {
				b.WriteRune(r)
			}
			col += w
		}
		rows = append(rows, screenRow{b.String(), first, l})
	}
	return rows
}

// viewLabel matches a row that reads as a line of the chain view or of
// fetch's plan, once the blanks and padding it starts with are left out.
var viewLabel = regexp.MustCompile(`^\d*\s*(subject|issuer|names|serial|valid|key|usage|ext usage|key id|ca key id|ca issuer|ocsp|crl|sha256|sha1|pin|warning):|^sha256\s|^to trust for|^not trusted today`)

// realLine matches the lines the view itself starts with its labels.
var realLine = regexp.MustCompile(`^(  \d+  subject:   |     (issuer|names|serial|valid|key|usage|ext usage|key id|ca key id|ca issuer|ocsp|crl|sha256|sha1|pin|warning): +\S|  sha256 [0-9a-f]{64}$|to trust for |not trusted today: )`)

// forgedRows returns the rows of out, on a terminal cols wide, that read
// as a line of the view without being one.
func forgedRows(out string, cols int) []string {
	var bad []string
	for _, r := range screen(out, cols) {
		t := strings.TrimLeft(r.text, " ─═全")
		if viewLabel.MatchString(t) && !(r.first && realLine.MatchString(r.line)) {
			bad = append(bad, r.text)
		}
	}
	return bad
}

// blankPad is n columns of blank: pairs of spaces, each closed by mark, a
// rune that takes no column.
func blankPad(n int, mark string) string {
	return strings.Repeat("  "+mark, n/2) + strings.Repeat(" ", n%2)
}

// TestNoForgedViewLines: a certificate whose subject is padded to the
// width of a terminal, by blanks and zero-width marks, by box drawing or
// wide characters, or by sheer length, cannot put a line that reads as
// one of the view's (a "sha256:" aligned under the subject) on an
// 80-column terminal: fetch's chain view and plan print one sha256 line
// each, the real ones.
func TestNoForgedViewLines(t *testing.T) {
	noLeaks(t)
	fake := strings.Repeat("ab", 32)
	pad := 80 - 19 - 6 // "  0  subject:   CN=" and "device"
	for _, tt := range []struct {
		name, cn string
		ca       bool // the subject is that of a CA the server sends
	}{
		{"spaces", "device" + strings.Repeat(" ", pad) + "     sha256:    " + fake, false},
		{"U+034F", "device" + blankPad(pad+5, "\u034f") + "sha256:" + blankPad(4, "\u034f") + fake, false},
		{"U+FE0F", "device" + blankPad(pad+5, "\ufe0f") + "sha256:" + blankPad(4, "\ufe0f") + fake, false},
		{"U+17B5", "device" + blankPad(pad+5, "\u17b5") + "sha256:" + blankPad(4, "\u17b5") + fake, false},
		{"U+20DD", "device" + blankPad(pad+5, "\u20dd") + "sha256:" + blankPad(4, "\u20dd") + fake, false},
		{"box drawing", "device" + strings.Repeat("─", pad) + "  sha256:  " + fake, false},
		{"wide", "device" + strings.Repeat("全", pad/2) + "─  sha256:  " + fake, false},
		{"long", "x" + strings.Repeat("y", 20000) + "  sha256:  " + fake, false},
		{"plan line", "device" + strings.Repeat("─", 80-53-9) + "  sha256 " + fake, false},
		{"CA, box drawing", "corp" + strings.Repeat("─", pad+2) + "  sha256:  " + fake, true},
		{"CA, detail", "corp" + strings.Repeat("─", 80-64) + "sha256: " + fake, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var served []*mint.Cert
			leaf, err := mint.New(mint.Template{CommonName: tt.cn, Names: []string{"127.0.0.1"}}, nil)
			if tt.ca {
				var ca *mint.Cert
				if ca, err = mint.New(mint.Template{CommonName: tt.cn, IsCA: true, MaxPathLen: -1}, nil); err == nil {
					leaf, err = mint.New(mint.Template{Names: []string{"127.0.0.1"}}, ca)
					served = append(served, ca)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			srv := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(leaf, served...), nil)
			e, out, errb := testEnv(t, "", false)
			if code := e.run([]string{"fetch", srv.URL}); code != exitFail {
				t.Fatalf("exit %d\n%s%s", code, out, errb)
			}
			for _, w := range []struct {
				name, text string
			}{{"stdout", out.String()}, {"stderr", errb.String()}} {
				if bad := forgedRows(w.text, 80); len(bad) > 0 {
					t.Errorf("%s on an 80-column terminal has rows that read as the view's:\n%s\n--- %s:\n%s", w.name, strings.Join(bad, "\n"), w.name, w.text)
				}
			}
			rows := screen(out.String(), 80)
			var sums []string
			for _, r := range rows {
				if t := strings.TrimLeft(r.text, " "); strings.HasPrefix(t, "sha256") {
					sums = append(sums, t)
				}
			}
			if want := 2 + len(served); len(sums) != want || strings.Contains(strings.Join(sums, "\n"), fake) {
				t.Errorf("sha256 rows %q, want %d real ones", sums, want)
			}
			if n := longestLine(out.String()); n > 1000 {
				t.Errorf("a line of %d bytes", n)
			}
		})
	}
}

func longestLine(s string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		n = max(n, len(l))
	}
	return n
}

// TestPrintCertViewFits: every line of the chain view with a value from
// the certificate fits in viewWidth columns; inspect's full view too.
func TestPrintCertViewFits(t *testing.T) {
	long := strings.Repeat("─", 200)
	v := certs.Info{Subject: "CN=" + long, Issuer: "CN=" + long, Names: []string{long, "b"}, MoreNames: 3, Serial: long,
		IssuerURLs: []string{"http://" + long}, OCSPServers: []string{long}, CRLURLs: []string{long},
		KeyUsage: []string{"digital signature"}, SHA256: fakeHex(64), SHA256Colon: "AB:CD", Pin: "sha256/x=",
		Warnings: []string{"it names no host " + long}}
	var b strings.Builder
	printCertView(&b, "  ", 0, v, true)
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if columns(l) > viewWidth && !strings.Contains(l, "more characters)") {
			t.Errorf("%d columns: %q", columns(l), l)
		}
	}
	if !strings.Contains(b.String(), "     names:     "+strings.Repeat("─", 41)+"… (") || !strings.Contains(b.String(), "     warning:   it names no host\n"+contMark+"─") {
		t.Errorf("names not cut as a value:\n%s", b.String())
	}
}

func fakeHex(n int) string { return strings.Repeat("a", n) }
