package httptrust

import (
	"testing"

	"github.com/httptrust/httptrust/certs"
)

// A pin whose base64 starts with '/' prints as "sha256//...", which also
// reads as curl's prefix: both readings must round-trip.
func TestPinStartingWithSlash(t *testing.T) {
	var p certs.Pin
	p[0] = 0xfc // base64 "/..."
	s := p.String()
	if s[:8] != "sha256//" {
		t.Fatalf("test pin %s does not start with a slash", s)
	}
	for _, in := range []string{s, "sha256//" + s[7:], "pin-sha256=\"" + s[7:] + "\""} {
		got, err := certs.ParsePin(in)
		if err != nil || got != p {
			t.Errorf("ParsePin(%q) = %v, %v; want %v", in, got, err, p)
		}
	}
}
