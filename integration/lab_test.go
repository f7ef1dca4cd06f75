package integration_test

import (
	"crypto/tls"
	"crypto/x509"
	"slices"
	"sync"
	"testing"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/mint"
)

// refusals collects the EventRefused events a policy reports. Handshakes
// call the observer concurrently (gRPC reconnects in the background).
type refusals struct {
	mu  sync.Mutex
	got []*httptrust.VerifyError
}

func (r *refusals) observe(e httptrust.Event) {
	if e.Kind != httptrust.EventRefused {
		return
	}
	ve, _ := e.Err.(*httptrust.VerifyError)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, ve)
}

func (r *refusals) list() []*httptrust.VerifyError {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// anchoredPolicy is a policy in code whose one rule trusts root, and only
// root, for hosts. System roots are an empty pool, so nothing on the
// machine decides a test's outcome.
func anchoredPolicy(t *testing.T, root *mint.Cert, hosts []string, r *refusals) *httptrust.Policy {
	t.Helper()
	opts := &httptrust.Options{SystemRoots: x509.NewCertPool()}
	if r != nil {
		opts.Observer = r.observe
	}
	p, err := httptrust.New([]httptrust.Rule{{Hosts: hosts, AnchorCerts: []*x509.Certificate{root.Cert}}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tlsConfigFor(t *testing.T, p *httptrust.Policy, hostport string) *tls.Config {
	t.Helper()
	cfg, err := p.TLSConfigFor(hostport)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
