package httptrust

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/httptrust/httptrust/certs"
)

// AIAFetcher fetches missing intermediate certificates from the issuer URL
// a certificate names (Authority Information Access, caIssuers). The URL
// comes from an unverified certificate, so the fetch is bounded and guarded
// against request forgery: plain http only, no redirects, a size cap and a
// timeout, never to loopback, link-local, multicast or unspecified
// addresses (checked on the address actually dialled). What it fetches is
// only ever an untrusted intermediate: the chain must still verify to an
// anchor. The zero value is ready to use.
type AIAFetcher struct {
	// Timeout bounds one fetch; 0 means 5 seconds.
	Timeout time.Duration
	// MaxSize bounds one response; 0 means 64 KiB.
	MaxSize int64
	// AllowLoopback lets tests fetch from a loopback server.
	AllowLoopback bool

	mu    sync.Mutex
	cache map[string][]*x509.Certificate
}

// MaxAIAHops bounds how many issuers are fetched in a row for one chain.
const MaxAIAHops = 4

// maxAIAURLs bounds the issuer URLs tried per certificate, and
// aiaBudget the whole completion of one chain, inside a handshake.
const (
	maxAIAURLs = 2
	aiaBudget  = 8 * time.Second
)

// ErrAIAForbidden is wrapped when an issuer URL points where httptrust
// never fetches from.
var ErrAIAForbidden = errors.New("httptrust: issuer URL not allowed")

// Fetch returns the certificates published at c's issuer URLs (DER or
// PKCS#7), trying each URL in turn. Results are cached by URL.
func (f *AIAFetcher) Fetch(ctx context.Context, c *x509.Certificate) ([]*x509.Certificate, error) {
	if len(c.IssuingCertificateURL) == 0 {
		return nil, fmt.Errorf("httptrust: %q names no issuer URL", c.Subject)
	}
	var errs []error
	urls := c.IssuingCertificateURL
	if len(urls) > maxAIAURLs {
		urls = urls[:maxAIAURLs] // the list comes from an unverified certificate
	}
	for _, u := range urls {
		got, err := f.fetchURL(ctx, u)
		if err == nil {
			return got, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func (f *AIAFetcher) fetchURL(ctx context.Context, u string) ([]*x509.Certificate, error) {
	f.mu.Lock()
	cached, ok := f.cache[u]
	f.mu.Unlock()
	if ok {
		return cached, nil
	}
	timeout, max := f.Timeout, f.MaxSize
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	if max == 0 {
		max = 64 << 10
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("httptrust: issuer URL %q: %w", u, err)
	}
	if req.URL.Scheme != "http" {
		return nil, fmt.Errorf("%w: %q is not plain http (RFC 5280 issuer URLs are)", ErrAIAForbidden, u)
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("httptrust: fetch issuer %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("httptrust: fetch issuer %s: %s", u, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("httptrust: fetch issuer %s: %w", u, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("httptrust: fetch issuer %s: more than %d bytes", u, max)
	}
	got, err := certs.ParseCertificates(u, data, nil)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	if f.cache == nil || len(f.cache) > 256 {
		f.cache = map[string][]*x509.Certificate{}
	}
	f.cache[u] = got
	f.mu.Unlock()
	return got, nil
}

// client is a plain-HTTP client that follows no redirect, uses no proxy and
// dials only allowed addresses.
func (f *AIAFetcher) client() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: f.control}
	return &http.Client{
		Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true, MaxResponseHeaderBytes: 16 << 10},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return fmt.Errorf("%w: issuer URLs are not followed through redirects", ErrAIAForbidden)
		},
	}
}

// control refuses an address after resolution, so that a name cannot be
// rebound to a forbidden address between a check and the dial.
func (f *AIAFetcher) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrAIAForbidden, address)
	}
	a := ap.Addr().Unmap()
	switch {
	case a.IsLoopback() && f.AllowLoopback:
		return nil
	case a.IsLoopback(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(), a.IsMulticast(),
		a.IsUnspecified(), a.IsInterfaceLocalMulticast():
		return fmt.Errorf("%w: %s is a loopback, link-local, multicast or unspecified address", ErrAIAForbidden, a)
	}
	return nil
}

// completeChain fetches the issuers missing above the presented chain, at
// most MaxAIAHops, and verifies again with them as untrusted
// intermediates. It returns the chains, or the last error.
func (v *verifier) completeChain(presented []*x509.Certificate, opts x509.VerifyOptions) ([][]*x509.Certificate, error) {
	f := v.p.opts.AIA
	top := presented[len(presented)-1]
	ctx, cancel := context.WithTimeout(context.Background(), aiaBudget)
	defer cancel()
	var lastErr error
	for hop := 0; hop < MaxAIAHops; hop++ {
		got, err := f.Fetch(ctx, top)
		if err != nil {
			return nil, err
		}
		for _, c := range got {
			opts.Intermediates.AddCert(c)
		}
		chains, err := presented[0].Verify(opts)
		if err == nil {
			return chains, nil
		}
		lastErr = err
		top = got[0]
		if certs.IsSelfSigned(top) || len(top.IssuingCertificateURL) == 0 {
			break
		}
	}
	return nil, lastErr
}
