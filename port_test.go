package httptrust

import (
	"strings"
	"testing"

	"github.com/httptrust/httptrust/internal/testpki"
)

func TestParsePatternWithPort(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{"nas.local:5001", "nas.local:5001", ""},
		{"NAS.Local.:5001", "nas.local:5001", ""},
		{"192.168.1.20:443", "192.168.1.20:443", ""},
		{"[fd00::1]:8443", "[fd00::1]:8443", ""},
		{"fd00::1", "fd00::1", ""},
		{"[::ffff:10.0.0.1]:8443", "10.0.0.1:8443", ""},
		{"*.corp.example:443", "", "a port goes only with an exact host"},
		{"10.0.0.0/8:443", "", "a port goes only with an exact host"},
		{"nas.local:0443", "", "plain form"},
		{"nas.local:70000", "", "plain form"},
		{"nas.local:", "", "no port after the colon"},
	} {
		p, err := ParsePattern(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParsePattern(%q) = %v, %v; want an error with %q", tt.in, p, err, tt.err)
		case tt.err == "" && (err != nil || p.String() != tt.want):
			t.Errorf("ParsePattern(%q) = %q, %v; want %q", tt.in, p, err, tt.want)
		}
	}
}

// Two self-signed services on one address are trusted side by side, each
// by a rule for its port; a rule for the host covers the other ports, and
// the port's rule inherits from it.
func TestTwoServicesOnOneAddress(t *testing.T) {
	l := newLab(t)
	nas, router := l.pki.SelfSigned(t, "127.0.0.1"), l.pki.SelfSigned(t, "127.0.0.1")
	s1 := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(nas), nil)
	s2 := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(router), nil)
	p := l.policy(
		Rule{Hosts: []string{"127.0.0.1:" + s1.Port}, CertificateCerts: certsOf(nas)},
		Rule{Hosts: []string{"127.0.0.1:" + s2.Port}, CertificateCerts: certsOf(router)},
		Rule{Hosts: []string{"127.0.0.1"}, MinTLS: "1.3"},
	)
	c := l.client(p)
	wantOK(t, c, s1.URL+"/")
	wantOK(t, c, s2.URL+"/")
	// Each port trusts its own service only: swapped, both are changed.
	s3 := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(router), nil)
	wantReason(t, c, s3.URL+"/", ReasonSelfSigned) // a port with no rule of its own
	eff, err := p.Lookup("127.0.0.1:" + s1.Port)
	if err != nil || eff.Pattern != "127.0.0.1:"+s1.Port || eff.Sources["min_tls"] != "code" || eff.MinTLS != 0x0304 {
		t.Errorf("effective rule for the port %+v (%v): want its own pattern, min_tls inherited from the host's rule", eff, err)
	}
	if eff, _ := p.Lookup("127.0.0.1"); eff.Pattern != "127.0.0.1" {
		t.Errorf("without a port: rule %q, want the host's", eff.Pattern)
	}
	if _, err := New([]Rule{{Hosts: []string{"a.test:8443"}}, {Hosts: []string{"A.test.:8443"}}}, nil); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Errorf("two rules for one host:port: %v", err)
	}
	// A rule for the host names exact certificates for every port: another
	// certificate on some port is a changed one, and the detail says a
	// second service needs a rule for its port.
	q := l.policy(Rule{Hosts: []string{"127.0.0.1"}, CertificateCerts: certsOf(nas)})
	e := wantReason(t, l.client(q), s2.URL+"/", ReasonCertificateChanged)
	mustContain(t, "detail", e.Detail, "for every port of 127.0.0.1", "needs a rule for 127.0.0.1:"+s2.Port)
}
