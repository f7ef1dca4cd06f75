package httptrust

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/httptrust/httptrust/mint"
)

// TestHandshakeFailureNamesGroups: a TLS 1.3 server that offers only a key
// exchange group Go does not (X448) fails the handshake with an alert that
// does not say why; the refusal names groups and signature algorithms
// beside cipher suites, not cipher suites alone.
func TestHandshakeFailureNamesGroups(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed: an X448-only server needs it")
	}
	l := newLab(t)
	leaf := mxMint(t, mint.Template{Names: []string{"x448.test"}, KeyType: mint.ECDSAP256}, l.pki.Intermediate)
	port := startSServer(t, bin, l.pki, leaf, "-tls1_3", "-groups", "X448")
	l.mu.Lock()
	l.resolve["x448.test"] = "127.0.0.1"
	l.mu.Unlock()
	e := wantReason(t, l.client(l.policy(l.anchored("x448.test"))), "https://x448.test:"+port+"/", ReasonProtocolMismatch)
	if !strings.Contains(e.Detail, "key exchange group") || !strings.Contains(e.Detail, "signature algorithm") {
		t.Errorf("detail %q names cipher suites only", e.Detail)
	}
}
