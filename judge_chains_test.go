package httptrust

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
)

// Judge gives the chains a trusted connection verified, ending at the
// anchor the server did not send, so that a prober can report the
// verified chain's expiry and pins; nothing when refused.
func TestJudgeVerifiedChains(t *testing.T) {
	l := newLab(t)
	leaf := l.pki.Leaf(t, "api.test")
	presented := []*x509.Certificate{leaf.Cert, l.pki.Intermediate.Cert}
	cs := tls.ConnectionState{PeerCertificates: presented}
	p := l.policy(Rule{Hosts: []string{"api.test"}, AnchorCerts: certsOf(l.pki.Root)})
	v, err := p.Judge("api.test:443", cs)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Trusted() || len(v.Chains) != 1 || len(v.Chains[0]) != 3 {
		t.Fatalf("verdict %+v", v)
	}
	if got := v.Chains[0][2]; !got.Equal(l.pki.Root.Cert) {
		t.Errorf("chain ends at %s, want the anchor", got.Subject)
	}

	v, _ = p.Judge("other.test:443", cs)
	if v.Trusted() || v.Chains != nil {
		t.Errorf("refused verdict has chains: %+v", v.Chains)
	}

	dev := l.pki.SelfSigned(t, "dev.test")
	tofu := mustPolicy(t, []Rule{{Hosts: []string{"dev.test"}, TOFU: boolp(true)}}, &Options{TOFU: &MemoryTOFU{}})
	v, _ = tofu.Judge("dev.test:8443", tls.ConnectionState{PeerCertificates: []*x509.Certificate{dev.Cert}})
	if !v.Trusted() || len(v.Chains) != 1 || len(v.Chains[0]) != 1 || !v.Chains[0][0].Equal(dev.Cert) {
		t.Errorf("tofu verdict chains %v", v.Chains)
	}
}
