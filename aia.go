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
// a certificate names (Authority Information Access, caIssuers).
//
// The URL comes from a certificate nobody has verified yet, so a policy
// fetches only when asked: Options.FetchIntermediates, or a rule's
// fetch_intermediates = true (never for a rule with exact certificates).
// The fetch itself is guarded against request forgery: plain http on port
// 80 only, no user name or password in the URL, no proxy, no redirects, a
// size cap and a timeout, at most two URLs per certificate and MaxAIAHops
// issuers per chain. It connects only to public unicast addresses,
// checked on the address actually dialled (after resolution, so a name
// that resolves or is rebound to a refused address is refused too):
// never loopback, unspecified or "this network", private (RFC 1918),
// carrier-grade NAT, link-local, unique local (ULA), site-local, NAT64,
// multicast, broadcast, reserved, documentation, benchmarking or other
// special-purpose blocks of the IANA registries, the IPv4-mapped,
// IPv4-compatible and 6to4 forms of those, nor cloud platform endpoints.
// A refusal wraps ErrAIAForbidden and names the class of address.
//
// What it fetches is only ever an untrusted intermediate: the chain must
// still verify to an anchor. The zero value is ready to use.
type AIAFetcher struct {
	// Timeout bounds one fetch; 0 means 5 seconds.
	Timeout time.Duration
	// MaxSize bounds one response; 0 means 64 KiB.
	MaxSize int64
	// AllowLoopback lets tests fetch from a loopback server (127.0.0.0/8,
	// ::1, on any port). It allows nothing else.
	AllowLoopback bool

	// resolver resolves the URL's host; nil means net.DefaultResolver.
	// Tests point it at their own DNS server.
	resolver *net.Resolver

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
	if req.URL.User != nil {
		return nil, fmt.Errorf("%w: %s holds a user name or password (issuer URLs do not)", ErrAIAForbidden, req.URL.Redacted())
	}
	resp, err := f.client().Do(req)
	if err != nil {
		var fe *forbiddenError
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("%w (%s)", fe, u)
		}
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
	d := &net.Dialer{Timeout: 5 * time.Second, Control: f.control, Resolver: f.resolver}
	return &http.Client{
		Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true, MaxResponseHeaderBytes: 16 << 10},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return &forbiddenError{"issuer URLs are not followed through redirects"}
		},
	}
}

// control refuses an address after resolution, so that a name cannot be
// rebound to a forbidden address between a check and the dial. It runs
// before the connection is attempted, for every address tried.
//
// Only port 80 is allowed: RFC 5280 issuer URLs are plain http, public
// CAs publish on port 80, and other ports would let a certificate aim
// requests at other services of a public host. Loopback servers allowed
// by AllowLoopback may listen on any port.
func (f *AIAFetcher) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || (network != "tcp4" && network != "tcp6") {
		return &forbiddenError{fmt.Sprintf("%s %s is not a TCP address", network, address)}
	}
	if err := checkIssuerAddr(ap.Addr(), f.AllowLoopback); err != nil {
		return err
	}
	if ap.Port() != 80 && !(f.AllowLoopback && ap.Addr().Unmap().IsLoopback()) {
		return &forbiddenError{fmt.Sprintf("port %d: issuer URLs are plain http on port 80", ap.Port())}
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

// forbiddenError is an issuer URL, or an address it leads to, that
// httptrust never fetches from. It wraps ErrAIAForbidden.
type forbiddenError struct{ why string }

func (e *forbiddenError) Error() string { return ErrAIAForbidden.Error() + ": " + e.why }
func (e *forbiddenError) Unwrap() error { return ErrAIAForbidden }

// refusedBlocks is the address space an issuer URL never leads to, with
// the class each block names in the error. The reference is the IANA IPv4
// and IPv6 Special-Purpose Address Registries: every block they mark not
// globally reachable, and the whole of 192.0.0.0/24 and 2001::/23 (their
// few globally reachable anycast services are no CA's), plus multicast,
// the 6to4 relay anycast block, and cloud platform endpoints, which are
// named although a wider block already refuses most of them. The
// IPv4-mapped and 6to4 forms are judged by the IPv4 address they carry,
// IPv4-compatible (deprecated) and NAT64 addresses are always refused (see
// refusedClass), and an IPv6 address outside global unicast 2000::/3 is
// refused as reserved. The narrowest matching block names the class.
var refusedBlocks = []struct {
	prefix netip.Prefix
	class  string
}{
	{pfx("0.0.0.0/8"), `a "this network" address (RFC 791)`},
	{pfx("0.0.0.0/32"), "the unspecified address"},
	{pfx("10.0.0.0/8"), "a private (RFC 1918) address"},
	{pfx("100.64.0.0/10"), "a carrier-grade NAT (RFC 6598) address"},
	{pfx("100.100.100.200/32"), "a cloud metadata endpoint (Alibaba Cloud)"},
	{pfx("127.0.0.0/8"), "a loopback address"},
	{pfx("169.254.0.0/16"), "a link-local address"},
	{pfx("169.254.169.254/32"), "a cloud metadata endpoint (link-local)"},
	{pfx("172.16.0.0/12"), "a private (RFC 1918) address"},
	{pfx("192.0.0.0/24"), "an IETF protocol assignment (RFC 6890)"},
	{pfx("192.0.2.0/24"), "a documentation address (RFC 5737)"},
	{pfx("192.88.99.0/24"), "a 6to4 relay anycast address (RFC 7526)"},
	{pfx("192.168.0.0/16"), "a private (RFC 1918) address"},
	{pfx("198.18.0.0/15"), "a benchmarking address (RFC 2544)"},
	{pfx("198.51.100.0/24"), "a documentation address (RFC 5737)"},
	{pfx("203.0.113.0/24"), "a documentation address (RFC 5737)"},
	{pfx("224.0.0.0/4"), "a multicast address"},
	{pfx("240.0.0.0/4"), "a reserved address (240.0.0.0/4)"},
	{pfx("255.255.255.255/32"), "the limited broadcast address"},
	{pfx("168.63.129.16/32"), "a cloud platform endpoint (Azure WireServer)"},

	{pfx("::/128"), "the unspecified address"},
	{pfx("::1/128"), "a loopback address"},
	{pfx("64:ff9b:1::/48"), "a local-use NAT64 address (RFC 8215)"},
	{pfx("100::/64"), "a discard-only address (RFC 6666)"},
	{pfx("100:0:0:1::/64"), "a dummy address (RFC 9780)"},
	{pfx("2001::/23"), "an IETF protocol assignment (RFC 2928)"},
	{pfx("2001::/32"), "a Teredo address (RFC 4380)"},
	{pfx("2001:2::/48"), "a benchmarking address (RFC 5180)"},
	{pfx("2001:10::/28"), "an ORCHID address (RFC 4843)"},
	{pfx("2001:20::/28"), "an ORCHIDv2 address (RFC 7343)"},
	{pfx("2001:db8::/32"), "a documentation address (RFC 3849)"},
	{pfx("3fff::/20"), "a documentation address (RFC 9637)"},
	{pfx("5f00::/16"), "a segment routing (SRv6) SID (RFC 9602)"},
	{pfx("fc00::/7"), "a unique local (ULA) address"},
	{pfx("fd00:ec2::254/128"), "a cloud metadata endpoint (AWS, unique local)"},
	{pfx("fe80::/10"), "a link-local address"},
	{pfx("fec0::/10"), "a site-local address (deprecated, RFC 3879)"},
	{pfx("ff00::/8"), "a multicast address"},
}

// Blocks refusedClass judges apart: three that carry an IPv4 address, and
// IPv6 global unicast.
var (
	nat64Block    = pfx("64:ff9b::/96")
	sixToFour     = pfx("2002::/16")
	compatible    = pfx("::/96")
	globalUnicast = pfx("2000::/3")
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// checkIssuerAddr returns nil if an issuer may be fetched from a, or an
// error, wrapping ErrAIAForbidden, that names the class of address that
// refuses it. allowLoopback allows 127.0.0.0/8 and ::1 (and the
// IPv4-mapped form of 127.0.0.0/8, which is the same socket), nothing else.
func checkIssuerAddr(a netip.Addr, allowLoopback bool) error {
	if !a.IsValid() {
		return &forbiddenError{"no IP address"}
	}
	class := refusedClass(a.WithZone(""), allowLoopback)
	if class == "" {
		return nil
	}
	return &forbiddenError{fmt.Sprintf("%s is %s", a, class)}
}

// refusedClass returns "" if a is public unicast (or loopback, when
// allowed), else the class that refuses it. a has no zone.
func refusedClass(a netip.Addr, allowLoopback bool) string {
	if allowLoopback && a.Unmap().IsLoopback() {
		return ""
	}
	if a.Is6() {
		b := a.As16()
		v4 := func(at int) netip.Addr { return netip.AddrFrom4([4]byte(b[at : at+4])) }
		switch {
		case a.Is4In6():
			if c := refusedClass(a.Unmap(), false); c != "" {
				return "the IPv4-mapped form of " + a.Unmap().String() + ", " + c
			}
			return ""
		case nat64Block.Contains(a):
			return "a NAT64 address (RFC 6052), for " + v4(12).String()
		case sixToFour.Contains(a):
			if c := refusedClass(v4(2), false); c != "" {
				return "the 6to4 form of " + v4(2).String() + ", " + c
			}
			return ""
		case compatible.Contains(a) && a != netip.IPv6Unspecified() && a != netip.IPv6Loopback():
			if c := refusedClass(v4(12), false); c != "" {
				return "the IPv4-compatible form of " + v4(12).String() + ", " + c
			}
			return "an IPv4-compatible address (deprecated, RFC 4291)"
		}
	}
	class, bits := "", -1
	for _, r := range refusedBlocks {
		if r.prefix.Bits() > bits && r.prefix.Contains(a) {
			class, bits = r.class, r.prefix.Bits()
		}
	}
	if class == "" && a.Is6() && !globalUnicast.Contains(a) {
		class = "a reserved address (outside IPv6 global unicast 2000::/3)"
	}
	return class
}
