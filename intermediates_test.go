package httptrust

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/httptrust/httptrust/internal/testpki"
)

// A server that omits its intermediate is trusted when the rule lists the
// intermediate and anchors the root; the intermediate alone vouches for
// nothing, with the system roots off or on.
func TestRuleIntermediates(t *testing.T) {
	l := newLab(t)
	leaf := l.pki.Leaf(t, "inc.test")
	s := l.serve(testpki.LeafOnly(leaf), "inc.test")
	url := at(s, "inc.test")
	root, inter := certsOf(l.pki.Root), certsOf(l.pki.Intermediate)

	t.Run("control: the root alone does not complete the chain", func(t *testing.T) {
		p := l.policy(Rule{Hosts: []string{"inc.test"}, AnchorCerts: root})
		ve := wantReason(t, l.client(p), url, ReasonUnknownAuthority)
		mustContain(t, "detail", ve.Detail, "the server did not send")
	})
	t.Run("intermediate and root", func(t *testing.T) {
		p := l.policy(Rule{Hosts: []string{"inc.test"}, AnchorCerts: root, IntermediateCerts: inter})
		wantOK(t, l.client(p), url)
	})
	t.Run("intermediates inherited from a wider rule", func(t *testing.T) {
		p := l.policy(Rule{Hosts: []string{"inc.test"}, AnchorCerts: root},
			Rule{Hosts: []string{"**.inc.test"}, IntermediateCerts: inter})
		eff, err := p.Lookup("inc.test")
		if err != nil {
			t.Fatal(err)
		}
		if got := len(eff.Intermediates); got != 1 {
			t.Fatalf("intermediates: %d, want 1 (inherited from **.inc.test), sources %v", got, eff.Sources)
		}
		wantOK(t, l.client(p), url)
	})
	t.Run("intermediate alone, system roots off", func(t *testing.T) {
		p := l.policy(Rule{Hosts: []string{"inc.test"}, IntermediateCerts: inter, SystemRoots: ptr(false)})
		wantReason(t, l.client(p), url, ReasonUnknownAuthority)
	})
	t.Run("intermediate alone, system roots on", func(t *testing.T) {
		p := l.policy(Rule{Hosts: []string{"inc.test"}, IntermediateCerts: inter})
		ve := wantReason(t, l.client(p), url, ReasonUnknownAuthority)
		mustContain(t, "detail", ve.Detail, "never trusted by itself", `"CN=`)
	})
	t.Run("intermediate listed as the anchor is trusted (the rule says so)", func(t *testing.T) {
		p := l.policy(Rule{Hosts: []string{"inc.test"}, AnchorCerts: inter})
		wantOK(t, l.client(p), url)
	})
	t.Run("intermediates beside another CA's anchor", func(t *testing.T) {
		other := newLab(t)
		p := l.policy(Rule{Hosts: []string{"inc.test"}, AnchorCerts: certsOf(other.pki.Root), IntermediateCerts: inter})
		wantReason(t, l.client(p), url, ReasonUnknownAuthority)
	})
}

func ptr[T any](v T) *T { return &v }

// intermediates is read from rule files, named inside the store, and
// checked like the other certificate files.
func TestRuleFileIntermediates(t *testing.T) {
	l := newLab(t)
	leaf := l.pki.Leaf(t, "inc.test")
	s := l.serve(testpki.LeafOnly(leaf), "inc.test")
	fsys := fstest.MapFS{
		"trust.toml": {Data: []byte("[[rule]]\nhosts = [\"inc.test\"]\nanchors = [\"root.pem\"]\nintermediates = [\"int.pem\"]\n")},
		"root.pem":   {Data: l.pki.Root.CertPEM()},
		"int.pem":    {Data: l.pki.Intermediate.CertPEM()},
	}
	opts := l.opts()
	p, err := LoadFS(fsys, opts)
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, l.client(p), at(s, "inc.test"))

	delete(fsys, "int.pem")
	if _, err := LoadFS(fsys, l.opts()); err == nil || !strings.Contains(err.Error(), "int.pem") {
		t.Fatalf("LoadFS without int.pem: %v, want an error naming it", err)
	}
	if _, err := ParseRuleFile("x.toml", []byte("[[rule]]\nhosts = [\"a.test\"]\nintermediates = [\"../int.pem\"]\n")); err == nil {
		t.Fatal("intermediates outside the store: no error")
	}
	all := Rule{AllHosts: true, AnchorCerts: certsOf(l.pki.Root), IntermediateCerts: certsOf(l.pki.Intermediate)}
	if _, err := New([]Rule{all}, nil); err == nil || !strings.Contains(err.Error(), "intermediates") {
		t.Fatalf("all_hosts with intermediates: %v, want a refusal", err)
	}
}
