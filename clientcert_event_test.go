package httptrust

import (
	"crypto/tls"
	"net/http"
	"sync"
	"testing"

	"github.com/httptrust/httptrust/internal/testpki"
)

// A server that asks for a client certificate is reported to the
// Observer (EventClientCertRequested), with the issuers it accepts and
// whether one was sent: a server that asks, gets none and answers 400 is
// otherwise silent.
func TestClientCertRequestedEvent(t *testing.T) {
	l := newLab(t)
	s := testpki.StartTLS(t, "127.0.0.1", l.pki.FullChain(l.pki.Leaf(t, "a.test", "b.test")),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(r.TLS.PeerCertificates) == 0 {
				w.WriteHeader(http.StatusBadRequest)
			}
		}),
		func(cfg *tls.Config) { cfg.ClientAuth = tls.VerifyClientCertIfGiven; cfg.ClientCAs = l.pki.Pool() })
	l.resolve["a.test"], l.resolve["b.test"] = "127.0.0.1", "127.0.0.1"
	id := l.pki.ClientCert(t, "me")
	tc := id.TLSCertificate(l.pki.Intermediate)
	var mu sync.Mutex
	var events []Event
	o := l.opts()
	o.Observer = func(e Event) {
		if e.Kind == EventClientCertRequested {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}
	}
	with := l.anchored("a.test")
	with.ClientIdentity = &tc
	p := mustPolicy(t, []Rule{with, l.anchored("b.test")}, o)
	c := l.client(p)
	for _, tt := range []struct {
		host string
		sent bool
	}{{"a.test", true}, {"b.test", false}} {
		t.Run(tt.host, func(t *testing.T) {
			mu.Lock()
			events = nil
			mu.Unlock()
			wantOK(t, c, at(s, tt.host))
			mu.Lock()
			defer mu.Unlock()
			if len(events) != 1 {
				t.Fatalf("%d events, want 1: %+v", len(events), events)
			}
			e := events[0]
			if e.Host != tt.host || e.Sent != tt.sent || len(e.Issuers) != 1 || e.Issuers[0] != l.pki.Root.Cert.Subject.String() {
				t.Errorf("event %+v; want host %s, sent %v, issuers [%s]", e, tt.host, tt.sent, l.pki.Root.Cert.Subject)
			}
			if e.Kind.String() != "client_cert_requested" || e.Message == "" {
				t.Errorf("kind %q, message %q", e.Kind, e.Message)
			}
		})
	}
}
