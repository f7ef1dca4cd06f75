package main

import (
	"crypto/x509"
	"testing"

	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// splitChain tells apart the certificates of a file in any order: the top
// CA of a path is the anchor, the CAs below it intermediates, the rest
// leaves; a lone CA with keyCertSign is an anchor, a lone openssl-style
// device certificate (CA:TRUE, no key usage) a leaf.
func TestSplitChain(t *testing.T) {
	pki := testpki.New(t)
	leaf := pki.Leaf(t, "git.corp.test")
	device, err := mint.New(mint.Template{CommonName: "nas.local", Names: []string{"nas.local"}, IsCA: true, OmitKeyUsage: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := testpki.New(t)
	root, inter := pki.Root.Cert, pki.Intermediate.Cert
	tests := []struct {
		name                    string
		in                      []*x509.Certificate
		anchors, inters, leaves []*x509.Certificate
		chain                   bool
	}{
		{"leaf, intermediate, root", []*x509.Certificate{leaf.Cert, inter, root}, []*x509.Certificate{root}, []*x509.Certificate{inter}, []*x509.Certificate{leaf.Cert}, true},
		{"root, leaf, intermediate", []*x509.Certificate{root, leaf.Cert, inter}, []*x509.Certificate{root}, []*x509.Certificate{inter}, []*x509.Certificate{leaf.Cert}, true},
		{"leaf and intermediate (no root)", []*x509.Certificate{leaf.Cert, inter}, []*x509.Certificate{inter}, nil, []*x509.Certificate{leaf.Cert}, true},
		{"a root alone", []*x509.Certificate{root}, []*x509.Certificate{root}, nil, nil, false},
		{"two roots", []*x509.Certificate{root, other.Root.Cert}, []*x509.Certificate{root, other.Root.Cert}, nil, nil, false},
		{"an intermediate alone", []*x509.Certificate{inter}, []*x509.Certificate{inter}, nil, nil, false},
		{"a device certificate", []*x509.Certificate{device.Cert}, nil, nil, []*x509.Certificate{device.Cert}, false},
		{"the same certificate twice", []*x509.Certificate{root, root}, []*x509.Certificate{root}, nil, nil, false},
		{"a leaf and another CA's root", []*x509.Certificate{leaf.Cert, other.Root.Cert}, []*x509.Certificate{other.Root.Cert}, nil, []*x509.Certificate{leaf.Cert}, false},
	}
	same := func(a, b []*x509.Certificate) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if !a[i].Equal(b[i]) {
				return false
			}
		}
		return true
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := splitChain(tt.in)
			if !same(p.anchors, tt.anchors) || !same(p.intermediates, tt.inters) || !same(p.leaves, tt.leaves) {
				t.Errorf("anchors %d, intermediates %d, leaves %d; want %d, %d, %d",
					len(p.anchors), len(p.intermediates), len(p.leaves), len(tt.anchors), len(tt.inters), len(tt.leaves))
			}
			if got := p.isChain(); got != tt.chain {
				t.Errorf("isChain = %v, want %v", got, tt.chain)
			}
		})
	}
}
