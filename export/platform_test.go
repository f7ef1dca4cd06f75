package export

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/httptrust/httptrust/mint"
)

// TestExactCertificateWithoutDNSNameRefused: an exact certificate for a
// host name with no DNS names (only an IP name) is matched by its common
// name in curl, openssl and Java: refused there.
func TestExactCertificateWithoutDNSNameRefused(t *testing.T) {
	w := newWorld(t)
	c, err := mint.New(mint.Template{CommonName: "cnip.test", Names: []string{"127.0.0.1"}, NotBefore: w.pki.Now.Add(-time.Hour), NotAfter: w.pki.Now.Add(24 * time.Hour)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.cert("cnip.pem", c)
	w.file("rules.toml", "[[rule]]\nhosts = [\"cnip.test\"]\ncertificates = [\"cnip.pem\"]\nallow_expired = true\n\n[[rule]]\nhosts = [\"127.0.0.1\"]\ncertificates = [\"cnip.pem\"]\nallow_expired = true\n")
	for _, format := range []string{"curl", "pem", "java"} {
		_, err := w.tryBuild(Options{Format: format, AllowLossy: true})
		var e *Error
		if !errors.As(err, &e) || !e.Refused() {
			t.Errorf("%s: want a refusal, got %v", format, err)
			continue
		}
		for _, i := range e.Issues {
			if i.Scope == "127.0.0.1" {
				t.Errorf("%s: the IP rule was refused too (no common-name fallback for IP addresses): %v", format, i)
			} else if !strings.Contains(i.Message, "no DNS names") {
				t.Errorf("%s: %v", format, i)
			}
		}
	}
}

// TestAnchorValidityAtExport: java and android (which do not check an
// anchor's own validity) refuse an anchor that is not valid yet or has
// expired by the export's clock, and say that expiry after the export is
// the platform's.
func TestAnchorValidityAtExport(t *testing.T) {
	w := newWorld(t)
	w.cert("root.pem", w.pki.Root)
	w.file("rules.toml", "[[rule]]\nhosts = [\"a.test\"]\nanchors = [\"root.pem\"]\nsystem_roots = false\n")
	root := w.pki.Root.Cert
	for _, tc := range []struct {
		name string
		now  time.Time
		want string
	}{
		{"not yet valid", root.NotBefore.Add(-time.Minute), "is not valid before"},
		{"expired", root.NotAfter.Add(time.Minute), "expired on"},
	} {
		for _, format := range []string{"java", "android"} {
			now := tc.now
			_, err := w.tryBuild(Options{Format: format, AllowLossy: true, Time: func() time.Time { return now }})
			var e *Error
			if !errors.As(err, &e) || !e.Refused() || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s, %s: want a refusal (%s), got %v", format, tc.name, tc.want, err)
			}
		}
	}
	now := func() time.Time { return root.NotBefore.Add(time.Hour) }
	res, err := w.tryBuild(Options{Format: "java", AllowLossy: true, Time: now})
	if err != nil {
		t.Fatal(err)
	}
	if !listed(res.Dropped, "after the anchor expires") {
		t.Errorf("java does not list that it trusts past the anchor's end: %v", res.Dropped)
	}
	res, err = w.tryBuild(Options{Format: "android", Time: now})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range res.Warnings {
		found = found || strings.Contains(n, "after it expires")
	}
	if !found {
		t.Errorf("android does not say it trusts past the anchor's end: %v", res.Warnings)
	}
}

func listed(is []Issue, text string) bool {
	for _, i := range is {
		if strings.Contains(i.Message, text) {
			return true
		}
	}
	return false
}

// TestNameConstrainedAnchor: Java and Android never apply an anchor's own
// name constraints: such an anchor fails the export unless --allow-lossy,
// which lists it.
func TestNameConstrainedAnchor(t *testing.T) {
	w := newWorld(t)
	w.cert("nc.pem", w.pki.NameConstrainedCA(t, "ok.nc.test"))
	w.file("rules.toml", "[[rule]]\nhosts = [\"**.nc.test\"]\nanchors = [\"nc.pem\"]\nsystem_roots = false\n")
	for _, format := range []string{"java", "android"} {
		_, err := w.tryBuild(Options{Format: format})
		if err == nil || !strings.Contains(err.Error(), "name constraints") {
			t.Errorf("%s: want the name constraints to fail the export, got %v", format, err)
			continue
		}
		res, err := w.tryBuild(Options{Format: format, AllowLossy: true})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if !listed(res.Dropped, "name constraints") {
			t.Errorf("%s: the name constraints are not listed: %v", format, res.Dropped)
		}
	}
}

// TestJavaListsWhatItDecides: the anchors' lossy text of java names what
// the JDK decides itself (intermediate EKU, SHA-1, negative serials).
func TestJavaListsWhatItDecides(t *testing.T) {
	w := newWorld(t)
	w.cert("root.pem", w.pki.Root)
	w.file("rules.toml", "[[rule]]\nhosts = [\"a.test\"]\nanchors = [\"root.pem\"]\nsystem_roots = false\n")
	res := w.build(Options{Format: "java", AllowLossy: true})
	for _, want := range []string{"extended key usage of the intermediates", "SHA-1", "negative serial"} {
		if !listed(res.Dropped, want) {
			t.Errorf("java does not list %q: %v", want, res.Dropped)
		}
	}
}

// TestAndroidHostExportHasBaseConfig: an export of some hosts writes a
// base-config that trusts nothing, so that the app's other hosts do not
// fall to Android's default trust.
func TestAndroidHostExportHasBaseConfig(t *testing.T) {
	w := newWorld(t)
	w.cert("root.pem", w.pki.Root)
	w.cert("c.pem", w.pki.OtherRoot(t))
	w.file("rules.toml", "[[rule]]\nall_hosts = true\nanchors = [\"c.pem\"]\nsystem_roots = false\n\n"+
		"[[rule]]\nhosts = [\"**.corp.example.com\"]\nanchors = [\"root.pem\"]\nsystem_roots = false\n")
	dir := w.write(Options{Format: "android", Hosts: []string{"**.corp.example.com"}})
	root := checkNSC(t, dir)
	var base *xmlNode
	for i := range root.Nodes {
		if root.Nodes[i].XMLName.Local == "base-config" {
			base = &root.Nodes[i]
		}
	}
	if base == nil {
		t.Fatal("no base-config: other hosts get Android's default trust")
	}
	if len(base.Nodes) != 1 || base.Nodes[0].XMLName.Local != "trust-anchors" || len(base.Nodes[0].Nodes) != 0 {
		t.Errorf("the base-config trusts something: %s", xmlString(*base))
	}
}

// TestDroppedSayWhy: every listed loss says what is lost.
func TestDroppedSayWhy(t *testing.T) {
	w := newWorld(t)
	w.scenario("allow_expired = true")
	for _, format := range Formats {
		res, err := w.tryBuild(Options{Format: format, AllowLossy: true})
		if err != nil {
			continue // refused: another test's matter
		}
		for _, d := range res.Dropped {
			if strings.TrimSpace(d.Message) == "" {
				t.Errorf("%s: %s says nothing", format, d)
			}
		}
	}
}
