package httptrust

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// emptyFS is a store with no files: certificates named by a rule fail to
// load, closed.
type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// lab is a loopback test bed: servers, names resolved to them, and a
// "public" PKI that plays the system roots.
type lab struct {
	t       *testing.T
	pki     *testpki.PKI // a private CA
	public  *testpki.PKI // plays the public CAs of the system pool
	mu      sync.Mutex
	resolve map[string]string
}

func newLab(t *testing.T) *lab {
	t.Helper()
	return &lab{t: t, pki: testpki.New(t), public: testpki.New(t), resolve: map[string]string{}}
}

// serve starts a server for cert and maps names to it.
func (l *lab) serve(cert tls.Certificate, names ...string) *testpki.Server {
	l.t.Helper()
	s := testpki.StartTLS(l.t, "127.0.0.1", cert, nil)
	l.mu.Lock()
	for _, n := range names {
		l.resolve[n] = "127.0.0.1"
	}
	l.mu.Unlock()
	return s
}

func (l *lab) opts() *Options {
	return &Options{SystemRoots: l.public.Pool()}
}

func (l *lab) policy(rules ...Rule) *Policy {
	l.t.Helper()
	return mustPolicy(l.t, rules, l.opts())
}

func (l *lab) base() *http.Transport {
	// The names are read at dial time, so servers started after the client
	// are reachable.
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		l.mu.Lock()
		d := testpki.Dialer(l.resolve)
		l.mu.Unlock()
		return d(ctx, network, addr)
	}
	return &http.Transport{DialContext: dial, ForceAttemptHTTP2: true,
		TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: 5 * time.Second}
}

func (l *lab) client(p *Policy) *http.Client {
	return &http.Client{Transport: p.Transport(l.base())}
}

// get fetches url and returns the body, or the error.
func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// wantOK asserts that url is reached.
func wantOK(t *testing.T, c *http.Client, url string) {
	t.Helper()
	if _, err := get(c, url); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// wantReason asserts that url is refused for reason and returns the error.
func wantReason(t *testing.T, c *http.Client, url string, reason Reason) *VerifyError {
	t.Helper()
	_, err := get(c, url)
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("GET %s: error %v, want a *VerifyError (%s)", url, err, reason)
	}
	if ve.Reason != reason {
		t.Fatalf("GET %s: reason %q, want %q (%v)", url, ve.Reason, reason, err)
	}
	return ve
}

func at(s *testpki.Server, host string) string {
	return "https://" + host + ":" + s.Port + "/"
}

func certsOf(cs ...*mint.Cert) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range cs {
		out = append(out, c.Cert)
	}
	return out
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s %q does not contain %q", what, s, sub)
		}
	}
}

// fixOf is the remedy of e on one line: its text, change and commands.
func fixOf(e *VerifyError) string { return e.Remedy.String() }
