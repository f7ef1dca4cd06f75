package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// The report's dates are what a monitor reads: now to the second, the
// window in whole days.
func TestNewReport(t *testing.T) {
	rep := NewReport(time.Date(2026, 5, 1, 10, 20, 30, 123456789, time.FixedZone("x", 3600)), 30*24*time.Hour)
	if !rep.Now.Equal(time.Date(2026, 5, 1, 9, 20, 30, 0, time.UTC)) || rep.Now.Location() != time.UTC || rep.WithinDays != 30 {
		t.Errorf("now %v, within %d days", rep.Now, rep.WithinDays)
	}
	if rep.Findings == nil || rep.Notes == nil || rep.Certificates == nil {
		t.Errorf("nil lists print as null: %+v", rep)
	}
}

func TestCheckServer(t *testing.T) {
	pki := testpki.New(t)
	now := pki.Now
	mk := func(notAfter time.Time) *mint.Cert {
		c, err := mint.New(mint.Template{Names: []string{"a.test"}, NotBefore: now.Add(-48 * time.Hour), NotAfter: notAfter}, pki.Intermediate)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	soon, long, gone := mk(now.Add(5*24*time.Hour)), mk(now.Add(400*24*time.Hour)), mk(now.Add(-24*time.Hour))
	expiredErr := &httptrust.VerifyError{Reason: httptrust.ReasonExpired, Detail: "expired",
		Remedy: httptrust.Remedy{Action: httptrust.ActionRenew, Text: "its operator must renew it"}}
	selfErr := &httptrust.VerifyError{Reason: httptrust.ReasonSelfSigned, Detail: "self-signed",
		Remedy: httptrust.Remedy{Action: httptrust.ActionTrustCertificate, Text: "compare", Commands: []httptrust.Command{{Name: "fetch", Args: []string{"https://a.test/"}}}}}
	allow := &httptrust.Effective{AllowExpired: true}
	for _, tt := range []struct {
		name        string
		s           Served
		findings    string
		notes       string
		certs       int
		fixContains string
		cmd         string
	}{
		{"healthy", Served{Chain: certsOf(long.Cert, pki.Intermediate.Cert), Verdict: &httptrust.Verdict{}}, "", "", 2, "", ""},
		{"expiring leaf", Served{Chain: certsOf(soon.Cert), Verdict: &httptrust.Verdict{}}, "expiring", "", 1, "renew", ""},
		{"expiring exact leaf", Served{Chain: certsOf(soon.Cert), Verdict: &httptrust.Verdict{Exact: true}}, "expiring", "", 1, "fingerprint", "fetch --fingerprint"},
		{"expired, refused for it: one finding", Served{Chain: certsOf(gone.Cert), Verdict: &httptrust.Verdict{Err: expiredErr}}, "expired", "", 1, "its operator must renew it", ""},
		{"expired, allowed", Served{Chain: certsOf(gone.Cert), Verdict: &httptrust.Verdict{Exact: true, Effective: allow}}, "", "expired_allowed", 1, "", ""},
		{"refused", Served{Chain: certsOf(long.Cert), Verdict: &httptrust.Verdict{Err: selfErr}}, "refused", "", 1, "compare", "fetch https://a.test/"},
		{"unreachable", Served{Err: errors.New("connection refused")}, "unreachable", "", 0, "diagnose says", "diagnose https://a.test/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.s.URL, tt.s.HostPort = "https://a.test/", "a.test:443"
			rep := NewReport(now, 30*24*time.Hour)
			rep.CheckServer(tt.s)
			var notes []string
			for _, n := range rep.Notes {
				notes = append(notes, n.Kind)
			}
			if got := kinds(rep); got != tt.findings {
				t.Errorf("findings %q, want %q: %+v", got, tt.findings, rep.Findings)
			}
			if got := strings.Join(notes, ","); got != tt.notes {
				t.Errorf("notes %q, want %q", got, tt.notes)
			}
			if len(rep.Certificates) != tt.certs {
				t.Errorf("%d certificates, want %d", len(rep.Certificates), tt.certs)
			}
			for _, c := range rep.Certificates {
				if c.Kind != "presented" || c.URL != "https://a.test/" || c.Hosts[0] != "a.test:443" {
					t.Errorf("certificate %+v", c)
				}
			}
			if len(rep.Findings) == 0 {
				return
			}
			f := rep.Findings[0]
			if f.URL != "https://a.test/" || !strings.Contains(f.Fix, tt.fixContains) {
				t.Errorf("finding %+v: fix lacks %q", f, tt.fixContains)
			}
			var lines []string
			for _, c := range f.Commands {
				lines = append(lines, c.Line(""))
			}
			if tt.cmd != "" && !strings.Contains(strings.Join(lines, "\n"), tt.cmd) {
				t.Errorf("commands %q lack %q", lines, tt.cmd)
			}
		})
	}
}

// Store findings carry their fix; an allow_expired certificate is a note;
// a store that does not load is Unloadable.
func TestCheckFixesAndNotes(t *testing.T) {
	pki := testpki.New(t)
	s := Open(t.TempDir())
	soon, err := mint.New(mint.Template{Names: []string{"soon.test"}, NotAfter: time.Now().Add(5 * 24 * time.Hour)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(context.Background(), Trust{Pattern: "soon.test:8443", Certs: certsOf(soon.Cert)}); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(s.Dir, "old.pem"), string(pki.Expired(t, "old.test").CertPEM()))
	write(t, filepath.Join(s.Dir, "old.toml"), "[[rule]]\nhosts = [\"old.test\"]\ncertificates = [\"old.pem\"]\nallow_expired = true\n")
	rep, err := s.Check(time.Now(), 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if kinds(rep) != "expiring" || len(rep.Notes) != 1 || rep.Notes[0].Kind != "expired_allowed" || !strings.Contains(rep.Notes[0].Message, "allow_expired") {
		t.Fatalf("findings %q, notes %+v", kinds(rep), rep.Notes)
	}
	f := rep.Findings[0]
	if len(f.Commands) != 1 || f.Commands[0].Line("") != "httptrust fetch --fingerprint '<SHA-256 obtained out of band>' https://soon.test:8443/" {
		t.Errorf("fix %q, commands %+v", f.Fix, f.Commands)
	}
	if rep.Unloadable() {
		t.Error("a store that loads is unloadable")
	}
	write(t, filepath.Join(s.Dir, "bad.toml"), "[[rule\n")
	if rep, err = s.Check(time.Now(), time.Hour); err != nil || !rep.Unloadable() || rep.Findings[0].Fix == "" {
		t.Errorf("broken store: %+v, %v", rep, err)
	}
}
