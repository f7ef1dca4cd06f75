package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

func kinds(r *Report) string {
	var k []string
	for _, f := range r.Findings {
		k = append(k, f.Kind)
	}
	return strings.Join(k, ",")
}

func TestCheckClean(t *testing.T) {
	pki := testpki.New(t)
	s := Open(t.TempDir())
	if _, err := s.Add(context.Background(), Trust{Pattern: "a.test", Certs: certsOf(pki.Leaf(t, "a.test").Cert)}); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Check(time.Now(), 30*24*time.Hour)
	if err != nil || len(rep.Findings) != 0 || len(rep.Certificates) != 1 {
		t.Fatalf("clean store: %+v, %v", rep, err)
	}
}

func TestCheckFindings(t *testing.T) {
	pki := testpki.New(t)
	dir := t.TempDir()
	soon, err := mint.New(mint.Template{Names: []string{"soon.test"}, NotAfter: time.Now().Add(10 * 24 * time.Hour)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "soon.pem"), string(soon.CertPEM()))
	write(t, filepath.Join(dir, "root.pem"), string(pki.Root.CertPEM()))
	pin := certs.SPKIPin(pki.Root.Cert).String()
	write(t, filepath.Join(dir, "rules.toml"), `
[[rule]]
hosts = ["soon.test"]
certificates = ["soon.pem"]

[[rule]]
hosts = ["gone.test"]
anchors = ["gone.pem"]

[[rule]]
hosts = ["**.corp.test"]
anchors = ["root.pem"]
pins = ["`+pin+`"]
pins_expire = `+time.Now().AddDate(0, 0, 5).Format(time.DateOnly)+`

[[rule]]
hosts = ["*.corp.test"]
system_roots = true
`)
	s := Open(dir)
	rec := httptrust.TOFURecord{HostPort: "dev.test:443", Pin: certs.Pin{1}, NotAfter: time.Now().Add(24 * time.Hour)}
	if _, err := s.KnownHosts().Record(rec); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Check(time.Now(), 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := "expiring,missing_file,no_backup_pin,overlap,overlap,pins_expiring,tofu_expiring"
	if got := kinds(rep); got != want {
		t.Errorf("findings %s, want %s", got, want)
		for _, f := range rep.Findings {
			t.Log(f.Message)
		}
	}
	if rep.Findings[1].File != "gone.pem" || rep.Findings[1].Line != 6 {
		t.Errorf("missing file finding %+v", rep.Findings[1])
	}
	// With a horizon of one hour only the missing file, the single pin and
	// the overlaps remain.
	rep, _ = s.Check(time.Now(), time.Hour)
	if got := kinds(rep); got != "missing_file,no_backup_pin,overlap,overlap" {
		t.Errorf("short horizon: %s", got)
	}
}

// TestCheckBackupPinFix: a single pin's finding names the commands that
// give it a backup: mint --key-only, and trust add --pin for the store's
// own rule (none for a person's, whose file the fix names).
func TestCheckBackupPinFix(t *testing.T) {
	pki := testpki.New(t)
	dir := t.TempDir()
	pin := certs.SPKIPin(pki.Root.Cert).String()
	write(t, filepath.Join(dir, "person.toml"), `
[[rule]]
hosts = ["person.test"]
pins = ["`+pin+`"]
`)
	s := Open(dir)
	if _, err := s.Add(context.Background(), Trust{Pattern: "api.test", Pins: []string{certs.SPKIPin(pki.Intermediate.Cert).String()}}); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Check(time.Now(), 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range rep.Findings {
		if f.Kind != "no_backup_pin" {
			continue
		}
		var lines []string
		for _, c := range f.Commands {
			lines = append(lines, c.Line(""))
		}
		got[f.Hosts[0]] = strings.Join(lines, "; ")
		if !strings.Contains(f.Fix, "httptrust mint --key-only") || !strings.Contains(f.Fix, "httptrust pin FILE") {
			t.Errorf("%s: fix %q", f.Hosts[0], f.Fix)
		}
	}
	want := map[string]string{
		"api.test":    "httptrust mint --key-only; httptrust trust add --host api.test --pin '<pin of the backup key>'; httptrust pin https://api.test/",
		"person.test": "httptrust mint --key-only; httptrust pin https://person.test/",
	}
	for h, w := range want {
		if got[h] != w {
			t.Errorf("%s: commands %q, want %q", h, got[h], w)
		}
	}
}
