package export

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/httptrust/httptrust"
)

// featureFixtures are rules that use one feature of the table each (with
// two pins, so that TrustKit's pin count is not the issue).
func featureFixtures(t *testing.T, w *world) map[string]string {
	p1, p2 := randomPin(t), randomPin(t)
	pins := `pins = ["` + p1 + `", "` + p2 + `"]`
	return map[string]string{
		"hosts: exact name":   `hosts = ["pub.example.com"]` + "\n" + pins,
		"hosts: IP address":   `hosts = ["192.0.2.10"]` + "\n" + pins,
		"hosts: CIDR network": `hosts = ["192.0.2.0/24"]` + "\n" + pins,
		"hosts: host:port":    `hosts = ["pub.example.com:8443"]` + "\n" + pins,
		"hosts: **.suffix":    `hosts = ["**.pub.example.com"]` + "\n" + pins,
		"pins (CA key)":       `hosts = ["pub.example.com"]` + "\n" + `anchors = ["root.pem"]` + "\nsystem_roots = true\n" + `pins = ["` + pinOf(w.pki.Root) + `", "` + p1 + `"]`,
		"pins_expire":         `hosts = ["pub.example.com"]` + "\n" + pins + "\npins_expire = 2027-06-30",
		"enforce = false":     `hosts = ["pub.example.com"]` + "\n" + pins + "\nenforce = false",
		"tofu":                `hosts = ["pub.example.com"]` + "\ntofu = true",
		"fetch_intermediates": `hosts = ["pub.example.com"]` + "\n" + pins + "\nfetch_intermediates = true",
		"allow_name_mismatch": `hosts = ["device.test"]` + "\n" + `certificates = ["device.pem"]` + "\nallow_name_mismatch = true\nallow_expired = true",
		"allow_expired":       `hosts = ["device.test"]` + "\n" + `certificates = ["device.pem"]` + "\nallow_expired = true",
		"server_name":         `hosts = ["device.test"]` + "\n" + `certificates = ["device.pem"]` + "\nallow_expired = true\nserver_name = \"other.test\"",
		"min_tls":             `hosts = ["pub.example.com"]` + "\n" + pins + "\nmin_tls = \"1.3\"",
		"client_certificate":  `hosts = ["pub.example.com"]` + "\n" + pins + "\nclient_certificate = \"client.p12\"\nclient_password_env = \"X\"",
	}
}

// TestTableMatchesFormats exports a rule for each feature in every format
// and checks that what happens is what Support says: exact features raise
// no issue, lossy ones a lossy issue (allowed by AllowLossy), refused ones a
// refusal.
func TestTableMatchesFormats(t *testing.T) {
	w := newWorld(t)
	w.cert("root.pem", w.pki.Root)
	w.cert("device.pem", w.pki.SelfSigned(t, "device.test"))
	w.file("client.p12", "not read by export")
	for feature, rule := range featureFixtures(t, w) {
		for fi, format := range Formats {
			row, ok := featureRow(feature)
			if !ok {
				t.Fatalf("no row %q", feature)
			}
			lv := Level(row.Levels[fi])
			if lv == Conditional {
				continue
			}
			t.Run(format+"/"+feature, func(t *testing.T) {
				w.file("rules.toml", "[[rule]]\n"+rule+"\n")
				_, err := w.tryBuild(Options{Format: format})
				var e *Error
				var got *Issue
				if errors.As(err, &e) {
					for i := range e.Issues {
						if e.Issues[i].Field == feature {
							got = &e.Issues[i]
						}
					}
				} else if err != nil {
					t.Fatal(err)
				}
				switch {
				case lv == Exact && got != nil:
					t.Errorf("the table says exact, the export says: %v", got)
				case lv == LossyLevel && (got == nil || got.Kind != Lossy):
					t.Errorf("the table says lossy, the export says: %v (%v)", got, err)
				case lv == RefusedLevel && (got == nil || got.Kind != Refused):
					t.Errorf("the table says refused, the export says: %v (%v)", got, err)
				}
				if lv == LossyLevel && got != nil {
					res, err := w.tryBuild(Options{Format: format, AllowLossy: true})
					if err == nil && !dropped(res, feature) {
						t.Errorf("--allow-lossy did not list %s", feature)
					}
				}
			})
		}
	}
}

func dropped(res *Result, feature string) bool {
	for _, d := range res.Dropped {
		if d.Field == feature {
			return true
		}
	}
	return false
}

// TestDocsMatchTable checks docs/export.md's table against Support.
func TestDocsMatchTable(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "export.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `([^`]+)` \\|((?: [ELRC] \\|){9})")
	seen := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		f, ok := featureRow(m[1])
		if !ok {
			t.Errorf("docs/export.md has a row %q that the table lacks", m[1])
			continue
		}
		got := strings.NewReplacer(" ", "", "|", "").Replace(m[2])
		if got != f.Levels {
			t.Errorf("docs/export.md: %s is %s, the table says %s", m[1], got, f.Levels)
		}
		seen[m[1]] = true
	}
	for _, f := range Support {
		if !seen[f.Name] {
			t.Errorf("docs/export.md has no row for %s", f.Name)
		}
	}
}

// TestEveryRuleFieldIsKnown fails when httptrust.Rule gains a field: the
// exporter must learn what each format does with it (until then a rule
// that sets it is refused).
func TestEveryRuleFieldIsKnown(t *testing.T) {
	rt := reflect.TypeOf(httptrust.Rule{})
	for i := 0; i < rt.NumField(); i++ {
		if f := rt.Field(i); f.IsExported() && !knownRuleFields[f.Name] {
			t.Errorf("httptrust.Rule.%s is not known to export: add it to knownRuleFields, the table and every format", f.Name)
		}
	}
}

// TestDeterministic exports the same store twice in every format: the
// bytes are the same, and every file that can hold a comment names the
// version and the store.
func TestDeterministic(t *testing.T) {
	w := newWorld(t)
	w.mobileStore()
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			o := Options{Format: format, AllowLossy: true, StoreFS: os.DirFS(w.store), OutDir: "/out"}
			if format == "ios-ats" || format == "trustkit" {
				o.Hosts = []string{"**.pub.example.com"}
			}
			a, err := w.tryBuild(o)
			if err != nil {
				t.Fatal(err)
			}
			b, err := w.tryBuild(o)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Files) != len(b.Files) || len(a.Files) == 0 {
				t.Fatalf("%d and %d files", len(a.Files), len(b.Files))
			}
			for i := range a.Files {
				if a.Files[i].Name != b.Files[i].Name || !bytes.Equal(a.Files[i].Data, b.Files[i].Data) {
					t.Errorf("%s differs between two exports", a.Files[i].Name)
				}
				if strings.HasSuffix(a.Files[i].Name, ".der") || strings.HasSuffix(a.Files[i].Name, ".p12") {
					continue
				}
				s := string(a.Files[i].Data)
				if !strings.Contains(s, "httptrust v0.0.0-test") || !strings.Contains(s, "Store SHA-256") || !strings.Contains(s, w.store) {
					t.Errorf("%s does not say where it came from:\n%.400s", a.Files[i].Name, s)
				}
			}
		})
	}
}

// TestSelectionTakesNarrowerRules: exporting a wide pattern exports the
// rules under it too, so that the platform never applies the wide rule
// to their hosts.
func TestSelectionTakesNarrowerRules(t *testing.T) {
	w := newWorld(t)
	w.mobileStore()
	res := w.build(Options{Format: "python", Hosts: []string{"**.corp.test"}, AllowLossy: true})
	got := strings.Join(res.Exported, " ")
	if got != "**.corp.test apex:corp.test api.corp.test" {
		t.Errorf("exported %q", got)
	}
	if _, err := w.tryBuild(Options{Format: "python", Hosts: []string{"nothere.test"}}); err == nil {
		t.Error("an unknown pattern was accepted")
	}
}

// TestStarSuffixNeverWidens: a "*.x" rule that trusts an anchor cannot be
// written as "x and every name below it" where those names trust less.
func TestStarSuffixNeverWidens(t *testing.T) {
	w := newWorld(t)
	w.cert("root.pem", w.pki.Root)
	w.file("rules.toml", "[[rule]]\nhosts = [\"*.corp.test\"]\nanchors = [\"root.pem\"]\n")
	for _, format := range []string{"android"} {
		_, err := w.tryBuild(Options{Format: format, AllowLossy: true})
		if err == nil || !strings.Contains(err.Error(), "hosts: *.suffix") {
			t.Errorf("%s: want a refusal of *.corp.test, got %v", format, err)
		}
	}
	// Pins only, under system roots: the wider entry is stricter, allowed.
	w.file("rules.toml", "[[rule]]\nhosts = [\"*.corp.example.com\"]\npins = [\""+randomPin(t)+"\", \""+randomPin(t)+"\"]\n")
	for _, format := range []string{"android", "trustkit", "ios-ats"} {
		res, err := w.tryBuild(Options{Format: format, AllowLossy: true})
		if err != nil {
			t.Errorf("%s: %v", format, err)
		} else if len(res.Warnings) == 0 {
			t.Errorf("%s: no warning that the apex is pinned too", format)
		}
	}
}

// TestExactCertificateCAIsRefused: an exact certificate that is a CA
// cannot become an anchor in a CA file.
func TestExactCertificateCAIsRefused(t *testing.T) {
	w := newWorld(t)
	w.cert("dev.pem", w.pki.SelfSignedCA(t, "dev.test"))
	w.file("rules.toml", "[[rule]]\nhosts = [\"dev.test\"]\ncertificates = [\"dev.pem\"]\nallow_expired = true\n")
	for _, format := range []string{"pem", "curl", "java", "android"} {
		_, err := w.tryBuild(Options{Format: format, AllowLossy: true})
		if err == nil || !strings.Contains(err.Error(), "not marked CA:FALSE") {
			t.Errorf("%s: want a refusal, got %v", format, err)
		}
	}
	// The code formats compare it byte for byte instead.
	for _, format := range []string{"python", "okhttp", "dart"} {
		if _, err := w.tryBuild(Options{Format: format}); err != nil {
			t.Errorf("%s: %v", format, err)
		}
	}
}

func TestWriteDirRemovesStaleFiles(t *testing.T) {
	dir := t.TempDir()
	one := &Result{Files: []File{{Name: "a.pem", Data: []byte("a"), Mode: 0o644}, {Name: "sub/b.pem", Data: []byte("b"), Mode: 0o644}}}
	if err := WriteDir(dir, one, false); err != nil {
		t.Fatal(err)
	}
	two := &Result{Files: []File{{Name: "a.pem", Data: []byte("a2"), Mode: 0o644}}}
	if err := WriteDir(dir, two, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub", "b.pem")); !os.IsNotExist(err) {
		t.Errorf("a file of the last export stayed: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "c.pem"), []byte("mine"), 0o644)
	three := &Result{Files: []File{{Name: "c.pem", Data: []byte("c"), Mode: 0o644}}}
	if err := WriteDir(dir, three, false); !errors.Is(err, ErrNotOurs) {
		t.Errorf("a person's file was replaced: %v", err)
	}
}

func FuzzCommentSafe(f *testing.F) {
	for _, s := range []string{"", "a--b", "x\n-->y", "*/", "-----BEGIN CERTIFICATE-----", "\u202e", "---", `\u000a`, "\u2028", `a\\b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := commentSafe(s)
		x := xmlCommentSafe(c)
		if strings.ContainsAny(c, "\r\n\\") || strings.Contains(c, "*/") || strings.Contains(c, "-----") {
			t.Fatalf("commentSafe(%q) = %q", s, c)
		}
		for _, r := range c {
			if r > unicode.MaxASCII || !unicode.IsPrint(r) {
				t.Fatalf("commentSafe(%q) = %q", s, c)
			}
		}
		if strings.Contains(x, "--") || strings.HasSuffix(x, "-") {
			t.Fatalf("xmlCommentSafe(%q) = %q", c, x)
		}
		for _, xml := range []bool{false, true} {
			cmd := commandSafe(shellQuote(s), xml)
			if commentSafe(cmd) != cmd || xml && xmlCommentSafe(cmd) != cmd {
				t.Fatalf("commandSafe(%q, %t) = %q", s, xml, cmd)
			}
		}
	})
}

// TestIntermediatesAreLossy: extra intermediates are dropped in every
// format (a CA file would hold them as anchors). Skipped where this
// httptrust has no intermediates field yet.
func TestIntermediatesAreLossy(t *testing.T) {
	w := newWorld(t)
	w.cert("root.pem", w.pki.Root)
	w.cert("inter.pem", w.pki.Intermediate)
	w.file("rules.toml", "[[rule]]\nhosts = [\"i.test\"]\nanchors = [\"root.pem\"]\nintermediates = [\"inter.pem\"]\n")
	if _, err := httptrust.LoadDir(w.store, nil); err != nil {
		t.Skipf("this httptrust has no intermediates field: %v", err)
	}
	for _, format := range Formats {
		_, err := w.tryBuild(Options{Format: format})
		var e *Error
		found := false
		if errors.As(err, &e) {
			for _, i := range e.Issues {
				found = found || (i.Field == "intermediates" && i.Kind == Lossy)
			}
		}
		if !found {
			t.Errorf("%s: intermediates not reported as lossy: %v", format, err)
		}
	}
}

// curl, java and pem accept a certificate that names its host only in the
// common name, which httptrust refuses: their anchors are lossy, and an
// exact certificate named only so is refused.
func TestCommonNameFallbackIsLossy(t *testing.T) {
	for _, format := range []string{"curl", "java", "pem"} {
		t.Run(format, func(t *testing.T) {
			w := newWorld(t)
			if format == "java" {
				w.scenario("allow_expired = true") // java refuses exact certificates without it
			} else {
				w.scenario("")
			}
			_, err := w.tryBuild(Options{Format: format})
			if err == nil || !strings.Contains(err.Error(), "common name") {
				t.Fatalf("export without --allow-lossy: %v, want the common-name loss", err)
			}
			res, err := w.tryBuild(Options{Format: format, AllowLossy: true})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, is := range res.Dropped {
				found = found || strings.Contains(is.Message, "common name")
			}
			if !found {
				t.Errorf("the common-name loss is not listed: %+v", res.Dropped)
			}
		})
	}
}
