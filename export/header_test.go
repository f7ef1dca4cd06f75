package export

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// hostileNames are rule-file names that try to end a comment: Java's
// unicode escapes (read before comments, JLS 3.3), real line breaks, a
// line separator, "*/" and backslashes.
var hostileNames = []string{
	`nl\u000aclass X {}\u000a.toml`,
	`slash\u002f\u002f.toml`,
	`cr\u000d.toml`,
	`twice\\u000a.toml`,
	`many\\\u000a.toml`,
	`uu\uuuu000a.toml`,
	`end*\u002a\u002fclass Y {}.toml`,
	`back\slash\.toml`,
	"lf\nclass Z {}\n.toml",
	"cr\rclass W {}\r.toml",
	"ls\u2028sep\u2029.toml",
	"nel\u0085.toml",
}

// javaUnescape translates Java's unicode escapes as javac does before it
// lexes (JLS 3.3): a backslash that follows an even number of backslashes,
// then one or more 'u' and four hex digits.
func javaUnescape(s string) string {
	var b strings.Builder
	run := 0 // contiguous raw backslashes before i
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && run%2 == 0 {
			j := i + 1
			for j < len(s) && s[j] == 'u' {
				j++
			}
			if j > i+1 && j+4 <= len(s) {
				if v, err := strconv.ParseUint(s[j:j+4], 16, 16); err == nil {
					b.WriteRune(rune(v))
					i, run = j+3, 0
					continue
				}
			}
		}
		if c == '\\' {
			run++
		} else {
			run = 0
		}
		b.WriteByte(c)
	}
	return b.String()
}

// javaLines splits Java source at its line terminators (JLS 3.4).
func javaLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Split(strings.ReplaceAll(s, "\r", "\n"), "\n")
}

// checkJavaHeader checks that every line of the leading "//" header of src
// stays one comment line once javac has translated unicode escapes, and
// that the code after it is what it looks like.
func checkJavaHeader(t *testing.T, src string) {
	t.Helper()
	raw := javaLines(src)
	n := 0
	for n < len(raw) && strings.HasPrefix(raw[n], "//") {
		n++
	}
	if n < 3 {
		t.Fatalf("no header:\n%.500s", src)
	}
	lexed := javaLines(javaUnescape(src))
	for i := 0; i <= n && i < len(raw); i++ {
		if i >= len(lexed) || lexed[i] != raw[i] {
			t.Fatalf("line %d of the header reads otherwise to javac:\nraw:   %q\njavac: %q", i+1, raw[i], lexed[i])
		}
	}
	for i, l := range raw[:n] {
		if strings.ContainsAny(l, "\\\u2028\u2029\u0085") {
			t.Errorf("header line %d holds a backslash or separator: %q", i+1, l)
		}
	}
}

// TestJavaHeaderStaysComment exports okhttp from a store whose rule files
// have hostile names (each listed in the header, its tofu dropped), and
// lexes the Java as javac does.
func TestJavaHeaderStaysComment(t *testing.T) {
	w := newWorld(t)
	w.cert("root.pem", w.pki.Root)
	w.file("bank.toml", "[[rule]]\nhosts = [\"bank.test\"]\nanchors = [\"root.pem\"]\n")
	n := 0
	for _, name := range hostileNames {
		if strings.ContainsAny(name, "\n\r\u2028\u2029\u0085") {
			continue // refused by the export: TestControlFileNamesRefused
		}
		w.file(name, "[[rule]]\nhosts = [\"h"+strconv.Itoa(n)+".test\"]\ntofu = true\n")
		n++
	}
	res := w.build(Options{Format: "okhttp", AllowLossy: true, Package: "my.app"})
	if len(res.Dropped) < n {
		t.Fatalf("%d dropped, want the tofu of %d rules", len(res.Dropped), n)
	}
	for _, f := range res.Files {
		if strings.HasSuffix(f.Name, ".java") {
			checkJavaHeader(t, string(f.Data))
		}
	}
}

// TestHeaderSafeForEveryName renders the header with every hostile name
// (real line breaks too, which the export refuses before it gets here) in
// every comment style.
func TestHeaderSafeForEveryName(t *testing.T) {
	m := &model{o: Options{Format: "okhttp", Version: "v0", Store: "/st\\u000aore\n*/", Package: "/o\r"}}
	for i, name := range hostileNames {
		m.dropped = append(m.dropped, Issue{Scope: "h" + strconv.Itoa(i) + ".test", Where: name + ":1", Field: "tofu", Message: "dropped " + name})
		m.warnings = append(m.warnings, name)
	}
	checkJavaHeader(t, m.comment("// ")+"package x;\n")
	for _, l := range m.headerLines(true) {
		if strings.Contains(l, "--") || strings.HasSuffix(l, "-") || strings.ContainsAny(l, "\\\r\n\u2028") {
			t.Errorf("XML header line %q", l)
		}
	}
	for _, l := range strings.Split(strings.TrimSuffix(m.comment("# "), "\n"), "\n") {
		if !strings.HasPrefix(l, "#") || strings.ContainsAny(l, "\\\r\u2028\u2029\u0085") {
			t.Errorf("# header line %q", l)
		}
	}
}

// TestControlFileNamesRefused: a rule file whose name holds a control or
// separator is refused, naming it quoted.
func TestControlFileNamesRefused(t *testing.T) {
	for _, name := range []string{"lf\nx.toml", "cr\rx.toml", "ls\u2028x.toml", "bidi\u202ex.toml"} {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			w := newWorld(t)
			if err := os.WriteFile(filepath.Join(w.store, name), []byte("[[rule]]\nhosts = [\"a.test\"]\nsystem_roots = true\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, format := range Formats {
				_, err := w.tryBuild(Options{Format: format, AllowLossy: true})
				var e *Error
				if !errors.As(err, &e) || !e.Refused() || !strings.Contains(err.Error(), "file name") {
					t.Errorf("%s: want a refusal of the file name, got %v", format, err)
				} else if !strings.Contains(err.Error(), strconv.QuoteToASCII(name)) {
					t.Errorf("%s: the message does not name the file quoted: %q", format, err)
				}
			}
		})
	}
}
