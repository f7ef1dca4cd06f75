package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
)

func itemStrings(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.String())
	}
	return out
}

func lookup(t *testing.T, s *Store, host string) *httptrust.Effective {
	t.Helper()
	p, err := s.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	eff, err := p.Lookup(host)
	if err != nil {
		t.Fatal(err)
	}
	return eff
}

// Adding to a pattern's rule keeps what it trusts and sets, and says what
// was there; ReplaceCerts and Replace say what went.
func TestAddMerges(t *testing.T) {
	pki, other := testpki.New(t), testpki.New(t)
	s := Open(t.TempDir())
	ctx := context.Background()
	a, err := s.Add(ctx, Trust{Pattern: "**.corp.test", Kind: Anchor, Certs: certsOf(pki.Root.Cert)})
	if err != nil || !a.New || a.RuleFile != "managed/any+corp.test.toml" {
		t.Fatalf("first add: %+v, %v", a, err)
	}
	a, err = s.Add(ctx, Trust{Pattern: "**.corp.test", Kind: Anchor, Certs: certsOf(other.Root.Cert), Intermediates: certsOf(pki.Intermediate.Cert)})
	if err != nil || a.New || a.Replaced || len(a.Had) != 1 || len(a.Added) != 2 {
		t.Fatalf("second add: %+v, %v", a, err)
	}
	if got := itemStrings(a.Added); !strings.HasPrefix(got[0], "anchor ") || !strings.HasPrefix(got[1], "intermediate ") || !strings.Contains(got[1], "CN=httptrust Test Intermediate") {
		t.Errorf("added %q", got)
	}
	eff := lookup(t, s, "git.corp.test")
	if len(eff.Anchors) != 2 || len(eff.Intermediates) != 1 {
		t.Errorf("effective: %d anchors, %d intermediates", len(eff.Anchors), len(eff.Intermediates))
	}

	// A device: its allowance is kept when a second certificate joins.
	d1, d2 := pki.SelfSigned(t, "localhost"), pki.SelfSigned(t, "localhost")
	if _, err := s.Add(ctx, Trust{Pattern: "10.0.0.5:8441", Certs: certsOf(d1.Cert), AllowNameMismatch: true}); err != nil {
		t.Fatal(err)
	}
	if a, err = s.Add(ctx, Trust{Pattern: "10.0.0.5:8441", Certs: certsOf(d2.Cert), MinTLS: "1.0"}); err != nil || a.Replaced {
		t.Fatalf("second device certificate: %+v, %v", a, err)
	}
	eff = lookup(t, s, "10.0.0.5:8441")
	if len(eff.Certificates) != 2 || !eff.AllowNameMismatch || eff.MinTLS != 0x0301 {
		t.Errorf("effective %+v", eff)
	}
	// The same service with a new certificate: it replaces the old ones.
	d3 := pki.SelfSigned(t, "localhost")
	a, err = s.Add(ctx, Trust{Pattern: "10.0.0.5:8441", Certs: certsOf(d3.Cert), ReplaceCerts: true})
	if err != nil || !a.Replaced || len(a.Removed) != 2 || len(a.Added) != 1 {
		t.Fatalf("replace certs: %+v, %v", a, err)
	}
	if eff = lookup(t, s, "10.0.0.5:8441"); len(eff.Certificates) != 1 || !eff.AllowNameMismatch {
		t.Errorf("after ReplaceCerts: %+v", eff)
	}
	left, _ := os.ReadDir(filepath.Join(s.Dir, "managed", "certs"))
	if len(left) != 4 { // two anchors, an intermediate, d3
		t.Errorf("%d certificate files left, want 4: the replaced ones go", len(left))
	}
	// A new value for a field is a replacement, and says what it was.
	a, err = s.Add(ctx, Trust{Pattern: "10.0.0.5:8441", MinTLS: "1.1"})
	if err != nil || !a.Replaced || itemStrings(a.Removed)[0] != `min_tls = "1.0"` || itemStrings(a.Added)[0] != `min_tls = "1.1"` {
		t.Fatalf("min_tls: %+v, %v", a, err)
	}
	// Replace starts afresh.
	a, err = s.Add(ctx, Trust{Pattern: "10.0.0.5:8441", Certs: certsOf(d1.Cert), Replace: true})
	if err != nil || len(a.Removed) != 3 {
		t.Fatalf("replace: %+v, %v", a, err)
	}
	if eff = lookup(t, s, "10.0.0.5:8441"); len(eff.Certificates) != 1 || eff.AllowNameMismatch {
		t.Errorf("after Replace: %+v", eff)
	}
}

// Every field a managed rule may hold is written, read back and kept by a
// later add.
func TestAddEveryField(t *testing.T) {
	pki := testpki.New(t)
	s := Open(t.TempDir())
	ctx := context.Background()
	yes, no := true, false
	pin1, pin2 := certs.SPKIPin(pki.Root.Cert).String(), certs.SPKIPin(pki.Intermediate.Cert).String()
	expire := time.Date(2031, 6, 30, 0, 0, 0, 0, time.UTC)
	ts := []Trust{
		{Pattern: "api.test", Pins: []string{pin1, "sha256//" + strings.TrimPrefix(pin2, "sha256/")}, PinsExpire: expire, Enforce: &no},
		{Pattern: "api.test", Kind: Anchor, Certs: certsOf(pki.Root.Cert), SystemRoots: &yes, FetchIntermediates: &yes, TOFU: &yes},
		{Pattern: "api.test", ServerName: "other.test", MinTLS: "1.3"},
	}
	for _, tr := range ts {
		if _, err := s.Add(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	eff := lookup(t, s, "api.test")
	if eff.Pins == nil || len(eff.Pins.Pins) != 2 || eff.Pins.Enforce || !eff.Pins.Expire.Equal(expire) {
		t.Errorf("pins %+v", eff.Pins)
	}
	if !eff.SystemRoots || !eff.FetchIntermediates || !eff.TOFU || eff.ServerName != "other.test" || eff.MinTLS != 0x0304 || len(eff.Anchors) != 1 {
		t.Errorf("effective %+v", eff)
	}
	data, err := os.ReadFile(filepath.Join(s.Dir, "managed", "api.test.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{`pins = ["` + pin1 + `", "` + pin2 + `"]`, "pins_expire = 2031-06-30", "enforce = false", "system_roots = true",
		"tofu = true", "fetch_intermediates = true", `server_name = "other.test"`, `min_tls = "1.3"`} {
		if !strings.Contains(string(data), "\n"+line+"\n") {
			t.Errorf("the rule file has no line %q:\n%s", line, data)
		}
	}
	// The rule the library would refuse is not written.
	before := string(data)
	if _, err := s.Add(ctx, Trust{Pattern: "*.corp.test", AllowExpired: true}); err == nil {
		t.Error("allow_expired on a wildcard: written")
	}
	var re *httptrust.RuleError
	if _, err := s.Add(ctx, Trust{Pattern: "other.test", PinsExpire: expire}); !errors.As(err, &re) || re.Field != "pins_expire" {
		t.Errorf("pins_expire without pins: %v, want a RuleError for pins_expire", err)
	}
	if after, _ := os.ReadFile(filepath.Join(s.Dir, "managed", "api.test.toml")); string(after) != before {
		t.Error("a refused add changed another rule")
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "managed", "other.test.toml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused rule was written: %v", err)
	}
	if _, err := s.Add(ctx, Trust{Pattern: "x.test"}); err == nil {
		t.Error("an empty Trust: no error")
	}
}

// A client identity is copied into the store, 0600, and loads with the
// password from where the rule says; the password is not in the store.
func TestAddClientIdentity(t *testing.T) {
	pki := testpki.New(t)
	id := pki.ClientCert(t, "alice")
	p12, err := pkcs12.Modern.WithIterations(2).Encode(id.Key, id.Cert, nil, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	s := Open(t.TempDir())
	a, err := s.Add(context.Background(), Trust{Pattern: "mtls.test", Client: &ClientIdentity{Cert: p12, PKCS12: true, PasswordEnv: "ALICE_PW"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := itemStrings(a.Added); len(got) != 2 || !strings.HasPrefix(got[0], "client certificate client/") || got[1] != `client_password_env = "ALICE_PW"` {
		t.Errorf("added %q", got)
	}
	files, _ := filepath.Glob(filepath.Join(s.Dir, "managed", "client", "*.p12"))
	if len(files) != 1 {
		t.Fatalf("client files %q", files)
	}
	if st, err := os.Stat(files[0]); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the identity's mode: %v, %v; want 0600", st.Mode(), err)
	}
	p, err := s.Load(&httptrust.Options{Getenv: func(k string) string { return map[string]string{"ALICE_PW": "s3cret"}[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if id, err := p.ClientIdentity("mtls.test"); err != nil || id == nil {
		t.Fatalf("identity: %v, %v", id, err)
	}
	filepath.Walk(s.Dir, func(path string, info os.FileInfo, err error) error {
		if data, _ := os.ReadFile(path); err == nil && !info.IsDir() && strings.Contains(string(data), "s3cret") {
			t.Errorf("%s holds the password", path)
		}
		return nil
	})
	// Removing the rule removes the copy.
	if _, err := s.Remove(context.Background(), "mtls.test"); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(s.Dir, "managed", "client", "*")); len(files) != 0 {
		t.Errorf("left after remove: %q", files)
	}
}

// A certificate is taken out of a rule; the rule goes when it says nothing
// else, and a certificate it does not trust is ErrNotFound.
func TestRemoveCerts(t *testing.T) {
	pki := testpki.New(t)
	d1, d2 := pki.SelfSigned(t, "localhost"), pki.SelfSigned(t, "localhost")
	s := Open(t.TempDir())
	ctx := context.Background()
	if _, err := s.Add(ctx, Trust{Pattern: "10.0.0.5", Certs: certsOf(d1.Cert, d2.Cert), AllowNameMismatch: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveCerts(ctx, "10.0.0.5", []certs.Fingerprint{certs.CertFingerprint(pki.Root.Cert)}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "it trusts certificate ") {
		t.Errorf("a certificate it does not trust: %v", err)
	}
	rm, err := s.RemoveCerts(ctx, "10.0.0.5", []certs.Fingerprint{certs.CertFingerprint(d1.Cert)})
	if err != nil || rm.RuleGone || len(rm.Removed) != 1 || len(rm.Left) != 2 {
		t.Fatalf("remove one: %+v, %v", rm, err)
	}
	if eff := lookup(t, s, "10.0.0.5"); len(eff.Certificates) != 1 || !eff.AllowNameMismatch {
		t.Errorf("after removing one: %+v", eff)
	}
	rm, err = s.RemoveCerts(ctx, "10.0.0.5", []certs.Fingerprint{certs.CertFingerprint(d2.Cert)})
	if err != nil || !rm.RuleGone || len(rm.Removed) != 2 {
		t.Fatalf("remove the last: %+v, %v", rm, err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "managed", "10.0.0.5.toml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the rule file is still there: %v", err)
	}
	// A rule that sets more than certificates stays.
	if _, err := s.Add(ctx, Trust{Pattern: "10.0.0.6", Certs: certsOf(d1.Cert), MinTLS: "1.0"}); err != nil {
		t.Fatal(err)
	}
	if rm, err = s.RemoveCerts(ctx, "10.0.0.6", []certs.Fingerprint{certs.CertFingerprint(d1.Cert)}); err != nil || rm.RuleGone || itemStrings(rm.Left)[0] != `min_tls = "1.0"` {
		t.Fatalf("remove from a rule with min_tls: %+v, %v", rm, err)
	}
}

// Managed files are named readably, one per pattern, never two patterns
// on one name.
func TestManagedName(t *testing.T) {
	for _, tt := range []struct{ pattern, want string }{
		{"nas.local", "managed/nas.local.toml"},
		{"NAS.local.", "managed/nas.local.toml"},
		{"nas.local:5001", "managed/nas.local+5001.toml"},
		{"127.0.0.1", "managed/127.0.0.1.toml"},
		{"127.0.0.1:8441", "managed/127.0.0.1+8441.toml"},
		{"*.corp.test", "managed/one+corp.test.toml"},
		{"**.corp.test", "managed/any+corp.test.toml"},
		{"any.corp.test", "managed/any.corp.test.toml"},
		{"::1", "managed/ip6+--1.toml"},
		{"[::1]:8443", "managed/ip6+--1+8443.toml"},
		{"::1:8443", "managed/ip6+--1-8443.toml"},
		{"fd00::1", "managed/ip6+fd00--1.toml"},
		{"fd00--1.test", "managed/fd00--1.test.toml"},
		{"10.0.0.0/8", "managed/net+10.0.0.0-8.toml"},
		{"fd00::/48", "managed/net+fd00---48.toml"},
		{"127.0.0.1_8441", "managed/127.0.0.1_8441.toml"},
	} {
		t.Run(tt.pattern, func(t *testing.T) {
			got, err := ManagedName(tt.pattern)
			if err != nil || got != tt.want {
				t.Errorf("ManagedName(%q) = %q, %v; want %q", tt.pattern, got, err, tt.want)
			}
		})
	}
}

// FuzzManagedName checks that two patterns share a managed file name only
// when they are the same pattern, and that the name is a plain file name.
func FuzzManagedName(f *testing.F) {
	for _, seed := range [][2]string{
		{"nas.local", "nas.local:5001"}, {"::1:8443", "[::1]:8443"}, {"**.corp.test", "any.corp.test"},
		{"*.corp.test", "one.corp.test"}, {"10.0.0.0/8", "10.0.0.0:8"}, {"fd00::1", "fd00--1"}, {"ip6", "ip6:80"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		pa, errA := httptrust.ParsePattern(a)
		pb, errB := httptrust.ParsePattern(b)
		if errA != nil || errB != nil {
			return
		}
		na, nb := managedName(pa), managedName(pb)
		if (na == nb) != (pa.String() == pb.String()) {
			t.Fatalf("%q -> %s and %q -> %s", pa, na, pb, nb)
		}
		base := strings.TrimPrefix(na, "managed/")
		if strings.ContainsAny(base, `/\:*?"<>|`) || strings.HasPrefix(base, ".") || strings.HasPrefix(base, "-") {
			t.Fatalf("%q -> %q: not a plain file name", pa, na)
		}
	})
}

// A managed rule written by an older version under a URL-encoded name is
// found by its pattern, and moved to its readable name on the next write.
func TestLegacyManagedNames(t *testing.T) {
	pki := testpki.New(t)
	s := Open(t.TempDir())
	must(t, os.MkdirAll(filepath.Join(s.Dir, "managed", "certs"), 0o700))
	first, err := s.Add(context.Background(), Trust{Pattern: "**.corp.test", Kind: Anchor, Certs: certsOf(pki.Root.Cert)})
	if err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join(s.Dir, "managed", "%2A%2A.corp.test.toml")
	must(t, os.Rename(filepath.Join(s.Dir, filepath.FromSlash(first.RuleFile)), legacy))
	if eff := lookup(t, s, "git.corp.test"); len(eff.Anchors) != 1 {
		t.Fatalf("the legacy file does not load: %+v", eff)
	}
	other := testpki.New(t)
	a, err := s.Add(context.Background(), Trust{Pattern: "**.corp.test", Kind: Anchor, Certs: certsOf(other.Root.Cert)})
	if err != nil || a.Renamed != "managed/%2A%2A.corp.test.toml" || a.RuleFile != "managed/any+corp.test.toml" || len(a.Had) != 1 {
		t.Fatalf("add to a legacy file: %+v, %v", a, err)
	}
	if _, err := os.Stat(legacy); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the legacy file is still there: %v", err)
	}
	if eff := lookup(t, s, "git.corp.test"); len(eff.Anchors) != 2 {
		t.Errorf("after the move: %d anchors, want 2", len(eff.Anchors))
	}
	// A legacy file removed by pattern.
	must(t, os.Rename(filepath.Join(s.Dir, "managed", "any+corp.test.toml"), legacy))
	if _, err := s.Remove(context.Background(), "**.corp.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(legacy); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the legacy file is still there after remove: %v", err)
	}
	// A managed file that holds more than one pattern's rule is not rewritten.
	two := "[[rule]]\nhosts = [\"a.test\", \"b.test\"]\npins = [\"" + certs.SPKIPin(pki.Root.Cert).String() + "\"]\n"
	write(t, filepath.Join(s.Dir, "managed", "a.test.toml"), two)
	if _, err := s.Add(context.Background(), Trust{Pattern: "a.test", MinTLS: "1.0"}); err == nil || !strings.Contains(err.Error(), "holds more than the rule for a.test") {
		t.Errorf("add into a shared managed file: %v", err)
	}
	if _, err := s.Add(context.Background(), Trust{Pattern: "b.test", MinTLS: "1.0"}); err == nil {
		t.Error("add for b.test, whose rule shares a.test's file: no error")
	}
	if got, _ := os.ReadFile(filepath.Join(s.Dir, "managed", "a.test.toml")); string(got) != two {
		t.Error("the shared managed file changed")
	}
}

// A person's rule is never rewritten: the refusal carries the lines to set
// in it, and the certificate saved beside it.
func TestConflictLines(t *testing.T) {
	pki := testpki.New(t)
	dev := pki.SelfSigned(t, "legacy.test")
	s := Open(t.TempDir())
	person := "[[rule]]\nhosts = [\"10.0.0.9\"]\nmin_tls = \"1.0\"\ncertificates = [\"old.pem\"]\n"
	write(t, filepath.Join(s.Dir, "legacy.toml"), person)
	write(t, filepath.Join(s.Dir, "old.pem"), string(pki.SelfSigned(t, "legacy.test").CertPEM()))
	_, err := s.Add(context.Background(), Trust{Pattern: "10.0.0.9", Certs: certsOf(dev.Cert), AllowNameMismatch: true})
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.File != "legacy.toml" || ce.Line != 1 {
		t.Fatalf("add: %v", err)
	}
	name := certs.CertFingerprint(dev.Cert).String() + ".pem"
	want := []string{`certificates = ["old.pem", "` + name + `"]`, "allow_name_mismatch = true"}
	if !slices.Equal(ce.Lines, want) || !slices.Equal(ce.Saved, []string{name}) {
		t.Errorf("lines %q saved %q; want %q, [%s]", ce.Lines, ce.Saved, want, name)
	}
	if got, _ := os.ReadFile(filepath.Join(s.Dir, "legacy.toml")); string(got) != person {
		t.Error("the person's file changed")
	}
	// The lines, set by hand, load and trust the certificate.
	edited := strings.Replace(person, "certificates = [\"old.pem\"]", strings.Join(ce.Lines, "\n"), 1)
	write(t, filepath.Join(s.Dir, "legacy.toml"), edited)
	if eff := lookup(t, s, "10.0.0.9"); len(eff.Certificates) != 2 || !eff.AllowNameMismatch {
		t.Errorf("after the edit: %+v", eff)
	}
	if _, err := s.Remove(context.Background(), "10.0.0.9"); !errors.As(err, &ce) || ce.Op != "remove" || !strings.Contains(err.Error(), "removes only its own rules") {
		t.Errorf("remove: %v", err)
	}
}

// A store that loading would refuse is not written to.
func TestAddRefusesAStoreOpenToOthers(t *testing.T) {
	for _, dir := range []string{".", "managed", "managed/certs"} {
		t.Run(dir, func(t *testing.T) {
			s := Open(filepath.Join(t.TempDir(), "store"))
			if _, err := s.Add(context.Background(), selfSignedTrust("x.test")); err != nil {
				t.Fatal(err)
			}
			must(t, os.Chmod(filepath.Join(s.Dir, dir), 0o777))
			before := snapshot(t, s.Dir)
			if _, err := s.Add(context.Background(), selfSignedTrust("y.test")); !errors.Is(err, httptrust.ErrWritableByOthers) || !strings.Contains(err.Error(), "chmod o-w") {
				t.Errorf("Add: %v, want ErrWritableByOthers with its fix", err)
			}
			sameSnapshot(t, "add", before, snapshot(t, s.Dir))
		})
	}
}
