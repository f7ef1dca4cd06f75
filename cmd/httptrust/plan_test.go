package main

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/store"
)

func TestPlanTrust(t *testing.T) {
	pki := testpki.New(t)
	now := time.Now()
	leaf := pki.Leaf(t, "api.test").Cert
	self := pki.SelfSigned(t, "dev.test").Cert
	inter, root := pki.Intermediate.Cert, pki.Root.Cert
	public := x509.NewCertPool()
	public.AddCert(root)
	tests := []struct {
		name         string
		chain        []*x509.Certificate
		host         string
		sys          *x509.CertPool
		kind         store.Kind
		cert         *x509.Certificate
		nameMismatch bool
	}{
		{"self-signed", []*x509.Certificate{self}, "dev.test", nil, store.Certificate, self, false},
		{"self-signed, other name", []*x509.Certificate{self}, "10.0.0.1", nil, store.Certificate, self, true},
		{"leaf and intermediate", []*x509.Certificate{leaf, inter}, "api.test", nil, store.Anchor, inter, false},
		{"leaf, intermediate, root", []*x509.Certificate{leaf, inter, root}, "api.test", nil, store.Anchor, root, false},
		{"leaf only", []*x509.Certificate{leaf}, "api.test", nil, store.Certificate, leaf, false},
		{"a public root is never anchored", []*x509.Certificate{leaf, inter, root}, "api.test", public, store.Certificate, leaf, false},
		{"a name mismatch falls back to the leaf", []*x509.Certificate{leaf, inter}, "other.test", nil, store.Certificate, leaf, true},
		{"a server's certificate is no anchor", []*x509.Certificate{leaf, leaf}, "api.test", nil, store.Certificate, leaf, false},
	}
	for _, tt := range tests {
		p := planTrust(tt.chain, tt.host, now, tt.sys)
		if p.Kind != tt.kind || !p.Cert.Equal(tt.cert) || p.NameMismatch != tt.nameMismatch || p.Expired {
			t.Errorf("%s: plan %v %s name mismatch %v expired %v; want %v %s %v", tt.name, p.Kind, p.Cert.Subject, p.NameMismatch, p.Expired, tt.kind, tt.cert.Subject, tt.nameMismatch)
		}
	}
	// An expired leaf under its CA: the leaf, exactly, needing allow_expired.
	old := pki.Expired(t, "old.test").Cert
	if p := planTrust([]*x509.Certificate{old, inter}, "old.test", now, nil); p.Kind != store.Certificate || !p.Expired {
		t.Errorf("expired: %v expired %v", p.Kind, p.Expired)
	}
}
