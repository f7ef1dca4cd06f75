package httptrust

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/httptrust/httptrust/internal/testpki"
)

// fakeDNS answers A and AAAA queries from a table, on loopback UDP, and
// NXDOMAIN for any other name.
func fakeDNS(t *testing.T, answers map[string][]string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp, err := dnsAnswer(buf[:n], answers); err == nil {
				pc.WriteTo(resp, from)
			}
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

func dnsAnswer(query []byte, answers map[string][]string) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(strings.ToLower(q.Name.String()), ".")
	addrs, known := answers[name]
	rcode := dnsmessage.RCodeSuccess
	if !known {
		rcode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true, RCode: rcode})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 1}
	for _, s := range addrs {
		a := netip.MustParseAddr(s)
		switch {
		case q.Type == dnsmessage.TypeA && a.Is4():
			err = b.AResource(rh, dnsmessage.AResource{A: a.As4()})
		case q.Type == dnsmessage.TypeAAAA && a.Is6():
			err = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
		if err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// TestIssuerNameResolvingToRefusedAddress: the check is on the address
// dialled, after resolution: a name that resolves to a refused address is
// refused, and nothing reaches the server. (Only loopback is ever dialled
// here; the other classes are refused before any connection is attempted
// and are tested on the dial hook itself, TestIssuerControl.)
func TestIssuerNameResolvingToRefusedAddress(t *testing.T) {
	pki := testpki.New(t)
	var hits atomic.Int64
	issuer := testpki.StartHTTP(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Write(pki.Intermediate.DER)
	}))
	res := fakeDNS(t, map[string][]string{
		"lo.issuer.test":     {"127.0.0.1"},
		"lo-all.issuer.test": {"127.0.0.2", "::1"},
		"mapped.issuer.test": {"::ffff:127.0.0.1"},
		"localhost":          {"127.0.0.1"},
	})
	leafFor := func(host string) *x509.Certificate {
		return pki.WithIssuerURL(t, "http://"+host+":"+issuer.Port+"/int.der", "a.test").Cert
	}

	// Positive control: with loopback allowed, the name resolves through
	// the test's DNS and the issuer is fetched.
	got, err := (&AIAFetcher{AllowLoopback: true, resolver: res}).Fetch(context.Background(), leafFor("lo.issuer.test"))
	if err != nil || len(got) != 1 || !got[0].Equal(pki.Intermediate.Cert) {
		t.Fatalf("with AllowLoopback: %v, %v", got, err)
	}
	before := hits.Load()

	for _, tt := range []struct{ host, want string }{
		{"lo.issuer.test", "127.0.0.1 is a loopback address"},
		{"lo-all.issuer.test", "is a loopback address"},
		{"mapped.issuer.test", "127.0.0.1"},
		{"[::ffff:127.0.0.1]", "127.0.0.1"},
		{"localhost", "is a loopback address"},
	} {
		t.Run(tt.host, func(t *testing.T) {
			_, err := (&AIAFetcher{resolver: res}).Fetch(context.Background(), leafFor(tt.host))
			if !errors.Is(err, ErrAIAForbidden) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want ErrAIAForbidden saying %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "("+"http://"+tt.host+":") {
				t.Errorf("error %v does not name the issuer URL", err)
			}
		})
	}
	if n := hits.Load(); n != before {
		t.Errorf("the issuer server answered %d refused requests", n-before)
	}
}

// TestIssuerURLRefusedBeforeDialling: a URL with a user name or password,
// or not plain http, is refused before anything is resolved or dialled.
func TestIssuerURLRefusedBeforeDialling(t *testing.T) {
	pki := testpki.New(t)
	var hits atomic.Int64
	issuer := testpki.StartHTTP(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Write(pki.Intermediate.DER)
	}))
	host := "127.0.0.1:" + issuer.Port
	for _, tt := range []struct{ url, want string }{
		{"http://user:secret@" + host + "/int.der", "holds a user name or password"},
		{"http://user@" + host + "/int.der", "holds a user name or password"},
		{"https://" + host + "/int.der", "is not plain http"},
		{"ldap://" + host + "/cn=int", "is not plain http"},
	} {
		leaf := pki.WithIssuerURL(t, tt.url, "a.test").Cert
		_, err := (&AIAFetcher{AllowLoopback: true}).Fetch(context.Background(), leaf)
		if !errors.Is(err, ErrAIAForbidden) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.url, err, tt.want)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows the password: %v", tt.url, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the issuer server answered %d requests", n)
	}
}
