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
