package httptrust

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// The bad-certificate matrix: every badssl.com / Chromium case that can be
// reproduced on loopback, through the library. Each row asserts the typed
// reason, what the error says, and that its fix is right: where the fix is
// a rule change, the test makes that change and the server is then reached.

// mxBound bounds one row, however hostile the server (a deep chain, 10,000
// names, a huge key): the client refuses promptly, never hangs.
const mxBound = 10 * time.Second

// mxScenario is a server, the rules under which it is fetched, and how to
// judge the refusal.
type mxScenario struct {
	url string
	// refused is the host:port the refusal names, when not the URL's
	// (a redirect's target).
	refused string
	rules   []Rule
	// check asserts the details and the fix text of the refusal.
	check func(t *testing.T, e *VerifyError)
	// follow returns a client set up as the fix says; the URL must then be
	// reached. Nil (or a nil client) when the fix is for the server's
	// operator.
	follow func(t *testing.T, e *VerifyError) *http.Client
}

type mxCase struct {
	name   string
	reason Reason // ReasonUnknown: the URL must be reached
	setup  func(t *testing.T, l *lab) mxScenario
}

// mxBug is a known library bug in one row: its "details" part (or, with
// wrongReason, the whole row) is skipped until the bug is fixed.
type mxBug struct {
	what        string
	wrongReason bool
}

// mxKnownBugs lists the rows that fail for a known library bug, by name
// (openssl rows prefixed "openssl: "). Delete an entry with its fix.
func mxKnownBugs() map[string]mxBug {
	return map[string]mxBug{
		// A documented limit, not a bug: crypto/tls refuses an RSA key over
		// 8192 bits before any callback runs, with an untyped error, and
		// httptrust never classifies from message text. The row still
		// asserts a prompt refusal.
		"RSA key of 16384 bits": {what: "crypto/tls refuses RSA keys over 8192 bits (GODEBUG tlsmaxrsasize) with an untyped error before any callback: refused, but not a *VerifyError", wrongReason: true},
	}
}

func TestBadCertificateMatrix(t *testing.T) {
	bugs := mxKnownBugs()
	for _, tc := range mxCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bug, known := bugs[tc.name]
			l := newLab(t)
			sc := tc.setup(t, l)
			c := l.client(l.policy(sc.rules...))
			start := time.Now()
			if known && bug.wrongReason {
				// The reason is wrong, but the server must still be refused.
				if _, err := get(c, sc.url); err == nil || time.Since(start) > mxBound {
					t.Fatalf("GET %s: %v after %v; want a prompt refusal", sc.url, err, time.Since(start))
				}
				t.Skip("known bug: " + bug.what)
			}
			if tc.reason == ReasonUnknown {
				wantOK(t, c, sc.url)
				return
			}
			e := wantReason(t, c, sc.url, tc.reason)
			if d := time.Since(start); d > mxBound {
				t.Errorf("refused after %v, want within %v", d, mxBound)
			}
			t.Run("details", func(t *testing.T) {
				if known {
					t.Skip("known bug: " + bug.what)
				}
				mxCommon(t, e, sc.url, sc.refused)
				if sc.check != nil {
					sc.check(t, e)
				}
				if sc.follow == nil {
					return
				}
				if c := sc.follow(t, e); c != nil {
					wantOK(t, c, sc.url)
				}
			})
		})
	}
}

// mxCommon checks what every refusal must get right.
func mxCommon(t *testing.T, e *VerifyError, url, refused string) {
	t.Helper()
	if refused == "" {
		refused = strings.TrimSuffix(strings.TrimPrefix(url, "https://"), "/")
	}
	if got := e.hostPort(); got != refused {
		t.Errorf("refused %s, want %s", got, refused)
	}
	if e.Remedy.Action == ActionNone {
		t.Errorf("no fix for %s (%s): say what to do", e.Reason, e.Detail)
	}
	mxLacks(t, "fix", fixOf(e), "--yes", "InsecureSkipVerify", "--insecure")
	// A refusal that may be an attack puts nothing of the presented chain
	// into a command or a rule change.
	if e.MayBeAttack() {
		if !e.Remedy.OutOfBand {
			t.Errorf("%s under a rule that trusts something: remedy not marked out of band", e.Reason)
		}
		var from []string
		for _, c := range e.Chain {
			from = append(from, c.SHA256, c.Pin, strings.TrimPrefix(c.Pin, "sha256/"))
			for _, n := range c.Names {
				if n != e.Host {
					from = append(from, n)
				}
			}
		}
		for _, n := range e.Names {
			if n != e.Host {
				from = append(from, n)
			}
		}
		mxRemedyLacks(t, e, from...)
	}
	// Diagnostics stay readable whatever the server sends.
	if n := len(e.Error()); n > 4096 {
		t.Errorf("error message of %d bytes: %s", n, mxShort(e.Error()))
	}
	if n := len(fixOf(e)); n > 1024 {
		t.Errorf("fix of %d bytes: %s", n, mxShort(fixOf(e)))
	}
}

// mxRemedyLacks asserts that no command or change of e's remedy holds
// any of subs (values from the failing connection).
func mxRemedyLacks(t *testing.T, e *VerifyError, subs ...string) {
	t.Helper()
	var parts []string
	parts = append(parts, e.Remedy.Lines()...)
	if e.Remedy.Change != nil {
		parts = append(parts, e.Remedy.Change.String())
	}
	for _, p := range parts {
		mxLacks(t, "remedy command or change", p, subs...)
	}
	mxLacks(t, "remedy", fixOf(e), "--yes")
}

// mxContains is mustContain for strings that may be huge: it quotes at most
// 300 bytes of s.
func mxContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s %s does not contain %q", what, mxShort(s), sub)
		}
	}
}

// mxLacks is notContain for strings that may be huge.
func mxLacks(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			t.Errorf("%s %s contains %q", what, mxShort(s), sub)
		}
	}
}

func mxShort(s string) string {
	if len(s) <= 300 {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:300], len(s))
}

func mxCases() []mxCase {
	cases := []mxCase{
		{"expired", ReasonExpired, mxExpired},
		{"expired exact certificate", ReasonExpired, mxExpiredExact},
		{"expired intermediate", ReasonExpired, mxExpiredIntermediate},
		{"not yet valid", ReasonNotYetValid, mxNotYetValid},
		{"wrong host", ReasonNameMismatch, mxWrongHost},
		{"wildcard one label too deep", ReasonNameMismatch, mxWildcardTooDeep},
		{"wildcard one label deep", ReasonUnknown, mxWildcardOK},
		{"self-signed", ReasonSelfSigned, mxSelfSigned},
		{"self-signed, other name", ReasonSelfSigned, mxSelfSignedOtherName},
		{"untrusted root sent by the server", ReasonUnknownAuthority, mxRootSent},
		{"root of another CA than the rule's", ReasonUnknownAuthority, mxOtherRoot},
		{"incomplete chain, issuer URL", ReasonIncompleteChain, mxIncompleteAIA},
		{"incomplete chain, no issuer URL", ReasonUnknownAuthority, mxIncompleteNoAIA},
		{"reversed chain", ReasonUnknown, mxReversed},
		{"chain with its root", ReasonUnknown, mxWithRoot},
		{"SHA-1 leaf", ReasonInvalidChain, mxSHA1Leaf},
		{"SHA-1 intermediate", ReasonInvalidChain, mxSHA1Intermediate},
		{"CN only, no SAN", ReasonNameMismatch, mxCNOnly},
		{"10,000 SANs", ReasonNameMismatch, mxManySANs},
		{"10,000 SANs, host the last", ReasonUnknown, mxManySANsMatch},
		{"clientAuth usage only", ReasonInvalidChain, mxClientAuthOnly},
		{"client certificate required, none configured (TLS 1.3)", ReasonClientCertRequired, mxClientCertMissing(tls.VersionTLS13)},
		{"client certificate required, none configured (TLS 1.2)", ReasonClientCertRequired, mxClientCertMissing(tls.VersionTLS12)},
		{"client certificate from a CA the server does not list", ReasonClientCertRequired, mxClientCertOtherCA},
		{"HTTPS to HTTP redirect", ReasonDowngrade, mxDowngrade},
		{"chain of 10 intermediates", ReasonUnknown, mxDeepChain(10)},
		{"chain of 100 intermediates", ReasonInvalidChain, mxDeepChain(100)},
		{"RSA key of 16384 bits", ReasonInvalidChain, mxHugeRSAKey},
	}
	return append(cases, mxProtocolCases()...)
}

// mxServe starts a server for cert reached as host, and returns its URL.
func mxServe(l *lab, cert tls.Certificate, host string, mod ...func(*tls.Config)) string {
	l.t.Helper()
	s := testpki.StartTLS(l.t, "127.0.0.1", cert, nil, mod...)
	l.mu.Lock()
	l.resolve[host] = "127.0.0.1"
	l.mu.Unlock()
	return at(s, host)
}

// anchored is the rule trusting the lab's private CA for hosts.
func (l *lab) anchored(hosts ...string) Rule {
	return Rule{Hosts: hosts, AnchorCerts: certsOf(l.pki.Root)}
}

// clientFor is a client under rules with the lab's options changed by opts.
func (l *lab) clientFor(opts func(*Options), rules ...Rule) *http.Client {
	o := l.opts()
	if opts != nil {
		opts(o)
	}
	return l.client(mustPolicy(l.t, rules, o))
}

func mxExpired(t *testing.T, l *lab) mxScenario {
	leaf := l.pki.Expired(t, "a.test")
	return mxScenario{
		url: mxServe(l, l.pki.FullChain(leaf), "a.test"), rules: []Rule{l.anchored("a.test")},
		check: func(t *testing.T, e *VerifyError) {
			if !e.NotAfter.Equal(leaf.Cert.NotAfter) || e.Now.Before(leaf.Cert.NotAfter) {
				t.Errorf("dates: not after %v, now %v; want the leaf's %v and the clock", e.NotAfter, e.Now, leaf.Cert.NotAfter)
			}
			mxContains(t, "detail", e.Detail, "expired on", "local clock")
			mxContains(t, "fix", fixOf(e), "renew", "clock")
			// An expired certificate of the host's CA is no reason to trust
			// it exactly: an old key is a classic leak.
			mxLacks(t, "fix", fixOf(e), "--allow-expired", "httptrust fetch")
		},
	}
}

// mxExpiredExact: the device's own certificate, trusted exactly, expired:
// allow_expired for that certificate and host is the fix.
func mxExpiredExact(t *testing.T, l *lab) mxScenario {
	leaf := l.pki.Expired(t, "a.test")
	exact := Rule{Hosts: []string{"a.test"}, CertificateCerts: certsOf(leaf)}
	return mxScenario{
		url: mxServe(l, testpki.LeafOnly(leaf), "a.test"), rules: []Rule{exact},
		check: func(t *testing.T, e *VerifyError) {
			mxContains(t, "fix", fixOf(e), "renew", "clock", "httptrust fetch --allow-expired "+e.URL())
			if e.Remedy.Action != ActionAllowExpired || e.Remedy.OutOfBand {
				t.Errorf("remedy %v (out of band %v), want allow_expired", e.Remedy.Action, e.Remedy.OutOfBand)
			}
		},
		follow: func(t *testing.T, e *VerifyError) *http.Client {
			r := exact
			r.AllowExpired = true
			return l.clientFor(nil, r)
		},
	}
}

func mxExpiredIntermediate(t *testing.T, l *lab) mxScenario {
	inter := mxMint(t, mint.Template{CommonName: "Expired Intermediate", IsCA: true, MaxPathLen: 0,
		NotBefore: l.pki.Now.Add(-10 * 24 * time.Hour), NotAfter: l.pki.Now.Add(-24 * time.Hour)}, l.pki.Root)
	leaf := l.pki.LeafFrom(t, inter, "a.test")
	return mxScenario{
		url: mxServe(l, testpki.Chain(leaf, inter), "a.test"), rules: []Rule{l.anchored("a.test")},
		check: func(t *testing.T, e *VerifyError) {
			mxContains(t, "detail", e.Detail, "Expired Intermediate", "expired on")
			if !e.NotAfter.Equal(inter.Cert.NotAfter) {
				t.Errorf("not after %v, want the intermediate's %v", e.NotAfter, inter.Cert.NotAfter)
			}
			mxContains(t, "fix", fixOf(e), "renew")
		},
	}
}

func mxNotYetValid(t *testing.T, l *lab) mxScenario {
	leaf := l.pki.NotYetValid(t, "a.test")
	return mxScenario{
		url: mxServe(l, l.pki.FullChain(leaf), "a.test"), rules: []Rule{l.anchored("a.test")},
		check: func(t *testing.T, e *VerifyError) {
			if !e.NotBefore.Equal(leaf.Cert.NotBefore) || e.Now.IsZero() {
				t.Errorf("dates: not before %v, now %v", e.NotBefore, e.Now)
			}
			mxContains(t, "detail", e.Detail, "valid only from", "local clock")
			mxContains(t, "fix", fixOf(e), "clock", e.Now.UTC().Format(time.RFC3339))
			mxLacks(t, "fix", fixOf(e), "--allow")
		},
		// The fix is the clock: with it right, the same rule reaches the server.
		follow: func(t *testing.T, e *VerifyError) *http.Client {
			later := leaf.Cert.NotBefore.Add(time.Hour)
			return l.clientFor(func(o *Options) { o.Clock = func() time.Time { return later } }, l.anchored("a.test"))
		},
	}
}

func mxWrongHost(t *testing.T, l *lab) mxScenario {
	return mxScenario{
		url:   mxServe(l, l.pki.FullChain(l.pki.Leaf(t, "right.test", "also.test")), "wrong.test"),
		rules: []Rule{l.anchored("wrong.test")},
		check: func(t *testing.T, e *VerifyError) {
			if strings.Join(e.Names, ",") != "right.test,also.test" {
				t.Errorf("names %q, want the leaf's", e.Names)
			}
			mxContains(t, "detail", e.Detail, "not valid for wrong.test", "right.test, also.test")
			// The names come from the connection: said in words, never in a
			// command or rule change.
			mxContains(t, "fix", fixOf(e), "covers right.test, also.test", "operator", "--server-name '"+PlaceholderName+"' "+e.URL())
			mxRemedyLacks(t, e, "right.test", "also.test")
		},
		follow: l.followServerName("wrong.test", "right.test", true),
	}
}

// followServerName applies the server_name change a remedy asks for to
// host's rule, filled with name, the name the operator gives (the test
// knows it out of band). Unless required, a remedy may also ask for none.
func (l *lab) followServerName(host, name string, required bool) func(t *testing.T, e *VerifyError) *http.Client {
	return func(t *testing.T, e *VerifyError) *http.Client {
		c := e.Remedy.Change
		if c == nil || c.Field != "server_name" {
			if required {
				t.Fatalf("remedy %q asks for no server_name", fixOf(e))
			}
			return nil
		}
		if c.Value != `"`+PlaceholderName+`"` {
			t.Fatalf("server_name change %q: want the placeholder, never a name from the connection", c.Value)
		}
		r := l.anchored(host)
		r.ServerName = name
		if _, err := New([]Rule{r}, l.opts()); err != nil {
			t.Fatalf("the remedy's server_name, filled with %q, is refused by a rule: %v", name, err)
		}
		return l.clientFor(nil, r)
	}
}

func mxWildcardTooDeep(t *testing.T, l *lab) mxScenario {
	return mxScenario{
		url: mxServe(l, l.pki.FullChain(l.pki.Leaf(t, "*.a.test")), "x.y.a.test"), rules: []Rule{l.anchored("x.y.a.test")},
		check: func(t *testing.T, e *VerifyError) {
			if len(e.Names) != 1 || e.Names[0] != "*.a.test" {
				t.Errorf("names %q, want [*.a.test]", e.Names)
			}
		},
		follow: l.followServerName("x.y.a.test", "y.a.test", true),
	}
}

func mxWildcardOK(t *testing.T, l *lab) mxScenario {
	return mxScenario{url: mxServe(l, l.pki.FullChain(l.pki.Leaf(t, "*.a.test")), "y.a.test"), rules: []Rule{l.anchored("y.a.test")}}
}

func mxSelfSigned(t *testing.T, l *lab) mxScenario {
	dev := l.pki.SelfSigned(t, "dev.test")
	return mxScenario{
		url: mxServe(l, testpki.Chain(dev), "dev.test"), // no rule: the system roots
		check: func(t *testing.T, e *VerifyError) {
			if len(e.Chain) != 1 || !e.Chain[0].SelfSigned || e.Chain[0].SHA256 == "" {
				t.Errorf("chain %+v", e.Chain)
			}
			mxContains(t, "fix", fixOf(e), "fingerprint", "for dev.test only", "httptrust fetch "+e.URL())
			mxLacks(t, "fix", fixOf(e), "--allow-name-mismatch", "--allow-expired")
		},
		follow: func(t *testing.T, e *VerifyError) *http.Client {
			return l.clientFor(nil, Rule{Hosts: []string{"dev.test"}, CertificateCerts: certsOf(dev)})
		},
	}
}

func mxSelfSignedOtherName(t *testing.T, l *lab) mxScenario {
	dev := l.pki.SelfSigned(t, "localhost")
	return mxScenario{
		url: mxServe(l, testpki.Chain(dev), "printer.test"),
		check: func(t *testing.T, e *VerifyError) {
			mxContains(t, "fix", fixOf(e), "httptrust fetch --allow-name-mismatch "+e.URL())
		},
		follow: func(t *testing.T, e *VerifyError) *http.Client {
			return l.clientFor(nil, Rule{Hosts: []string{"printer.test"}, CertificateCerts: certsOf(dev), AllowNameMismatch: true})
		},
	}
}

// mxRootSent: the server sends its whole chain, root included; no rule
// trusts that root, and sending it does not make it an anchor.
func mxRootSent(t *testing.T, l *lab) mxScenario {
	return mxScenario{
		url: mxServe(l, l.pki.ChainWithRoot(l.pki.Leaf(t, "a.test")), "a.test"),
		check: func(t *testing.T, e *VerifyError) {
			if len(e.Chain) != 3 || !e.Chain[2].SelfSigned {
				t.Errorf("chain %+v, want leaf, intermediate and root as sent", e.Chain)
			}
			mxContains(t, "detail", e.Detail, "httptrust Test Root", "never trusted by itself")
			mxContains(t, "fix", fixOf(e), "httptrust trust add '"+PlaceholderCAFile+"' --host a.test", "for a.test only")
		},
		follow: func(t *testing.T, e *VerifyError) *http.Client { return l.clientFor(nil, l.anchored("a.test")) },
	}
}

func mxOtherRoot(t *testing.T, l *lab) mxScenario {
	other := l.pki.OtherRoot(t)
	return mxScenario{
		url:   mxServe(l, testpki.Chain(l.pki.LeafFrom(t, other, "a.test"), other), "a.test"),
		rules: []Rule{l.anchored("a.test")},
		check: func(t *testing.T, e *VerifyError) {
			mxContains(t, "detail", e.Detail, "httptrust Other Root")
			// The host trusts a CA already: another CA may be an attack.
			mxContains(t, "fix", fixOf(e), "intercepting", "httptrust trust add '"+PlaceholderCA+"' --host a.test",
				"--fingerprint '"+PlaceholderFingerprint+"'")
			mxRemedyLacks(t, e, e.Chain[0].SHA256, e.Chain[len(e.Chain)-1].SHA256)
		},
		follow: func(t *testing.T, e *VerifyError) *http.Client {
			return l.clientFor(nil, Rule{Hosts: []string{"a.test"}, AnchorCerts: []*x509.Certificate{other.Cert}})
		},
	}
}

func mxIncompleteAIA(t *testing.T, l *lab) mxScenario {
	issuer := testpki.StartHTTP(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(l.pki.Intermediate.DER)
	}))
	leaf := l.pki.WithIssuerURL(t, issuer.URL+"/int.der", "a.test")
	return mxScenario{
		url: mxServe(l, testpki.LeafOnly(leaf), "a.test"), rules: []Rule{l.anchored("a.test")},
		check: func(t *testing.T, e *VerifyError) {
			mxContains(t, "detail", e.Detail, "did not send", "httptrust Test Intermediate", issuer.URL+"/int.der")
			mxContains(t, "fix", fixOf(e), "httptrust get --fetch-intermediates "+e.URL())
		},
		follow: func(t *testing.T, e *VerifyError) *http.Client {
			r := l.anchored("a.test")
			r.FetchIntermediates = boolp(true)
			return l.clientFor(func(o *Options) { o.AIA = &AIAFetcher{AllowLoopback: true} }, r)
		},
	}
}

// mxIncompleteNoAIA: the issuer is neither sent nor named by a URL, so to
// the client it is an authority it does not know.
func mxIncompleteNoAIA(t *testing.T, l *lab) mxScenario {
	return mxScenario{
		url: mxServe(l, testpki.LeafOnly(l.pki.Leaf(t, "a.test")), "a.test"), rules: []Rule{l.anchored("a.test")},
		check: func(t *testing.T, e *VerifyError) {
			mxContains(t, "detail", e.Detail, "httptrust Test Intermediate", "did not send")
		},
	}
}

func mxReversed(t *testing.T, l *lab) mxScenario {
	return mxScenario{url: mxServe(l, l.pki.ReversedChain(l.pki.Leaf(t, "a.test")), "a.test"), rules: []Rule{l.anchored("a.test")}}
}

func mxWithRoot(t *testing.T, l *lab) mxScenario {
	return mxScenario{url: mxServe(l, l.pki.ChainWithRoot(l.pki.Leaf(t, "a.test")), "a.test"), rules: []Rule{l.anchored("a.test")}}
}

// mxInvalidChain checks a refusal for a chain no rule can make right.
func mxInvalidChain(want ...string) func(t *testing.T, e *VerifyError) {
	return func(t *testing.T, e *VerifyError) {
		mxContains(t, "detail", e.Detail, want...)
		mxLacks(t, "fix", fixOf(e), "httptrust fetch", "trust add", "--allow")
	}
}

func mxSHA1Leaf(t *testing.T, l *lab) mxScenario {
	leaf := mxResignSHA1(t, l.pki.Leaf(t, "a.test"), l.pki.Intermediate)
	return mxScenario{
		url: mxServe(l, l.pki.FullChain(leaf), "a.test"), rules: []Rule{l.anchored("a.test")},
		check: mxInvalidChain("insecure algorithm", "ECDSA-SHA1"),
	}
}

func mxSHA1Intermediate(t *testing.T, l *lab) mxScenario {
	inter := mxResignSHA1(t, l.pki.Intermediate, l.pki.Root)
	return mxScenario{
		url: mxServe(l, testpki.Chain(l.pki.Leaf(t, "a.test"), inter), "a.test"), rules: []Rule{l.anchored("a.test")},
		check: mxInvalidChain("insecure algorithm", "ECDSA-SHA1"),
	}
}

func mxCNOnly(t *testing.T, l *lab) mxScenario {
	leaf := l.pki.CNOnly(t, "a.test")
	return mxScenario{
		url: mxServe(l, l.pki.FullChain(leaf), "a.test"), rules: []Rule{l.anchored("a.test")},
		check: func(t *testing.T, e *VerifyError) {
			if len(e.Names) != 0 {
				t.Errorf("names %q, want none (no SAN)", e.Names)
			}
			mxContains(t, "fix", fixOf(e), "no subjectAltName", "httptrust fetch --allow-name-mismatch --fingerprint '"+PlaceholderFingerprint+"' "+e.URL())
			mxLacks(t, "fix", fixOf(e), "--server-name")
		},
		follow: func(t *testing.T, e *VerifyError) *http.Client {
			return l.clientFor(nil, Rule{Hosts: []string{"a.test"}, CertificateCerts: certsOf(leaf), AllowNameMismatch: true})
		},
	}
}

func mxSANs(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("n%d.sans.test", i)
	}
	return names
}

func mxManySANs(t *testing.T, l *lab) mxScenario {
	return mxScenario{
		url: mxServe(l, l.pki.FullChain(l.pki.Leaf(t, mxSANs(10_000)...)), "other.test"), rules: []Rule{l.anchored("other.test")},
		check: func(t *testing.T, e *VerifyError) {
			if len(e.Names) != 20 || e.Names[0] != "n0.sans.test" || e.Names[19] != "n19.sans.test" {
				t.Errorf("%d names, first %q, last %q; want the first 20", len(e.Names), e.Names[0], e.Names[len(e.Names)-1])
			}
			if len(e.Chain) == 0 || len(e.Chain[0].Names) != 20 || e.Chain[0].MoreNames != 9980 {
				t.Errorf("chain names not truncated")
			}
			mxContains(t, "detail", e.Detail, "n19.sans.test", "9980 more")
			mxLacks(t, "detail", e.Detail, "n20.sans.test")
		},
		follow: l.followServerName("other.test", "n7.sans.test", true),
	}
}

func mxManySANsMatch(t *testing.T, l *lab) mxScenario {
	return mxScenario{url: mxServe(l, l.pki.FullChain(l.pki.Leaf(t, mxSANs(10_000)...)), "n9999.sans.test"), rules: []Rule{l.anchored("**.sans.test")}}
}

func mxClientAuthOnly(t *testing.T, l *lab) mxScenario {
	return mxScenario{
		url: mxServe(l, l.pki.FullChain(l.pki.ClientAuthOnly(t, "a.test")), "a.test"), rules: []Rule{l.anchored("a.test")},
		check: mxInvalidChain("serverAuth"),
	}
}

func mxClientCertMissing(version uint16) func(t *testing.T, l *lab) mxScenario {
	return func(t *testing.T, l *lab) mxScenario {
		id := l.pki.ClientCert(t, "me").TLSCertificate(l.pki.Intermediate)
		return mxScenario{
			url: mxServe(l, l.pki.FullChain(l.pki.Leaf(t, "a.test")), "a.test", func(c *tls.Config) {
				c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, l.pki.Pool()
				c.MinVersion, c.MaxVersion = version, version
			}),
			rules: []Rule{l.anchored("a.test")},
			check: func(t *testing.T, e *VerifyError) {
				mxContains(t, "detail", e.Detail, "client certificate", "none was sent")
				mxContains(t, "fix", fixOf(e), "--cert", "ClientCertificate of the rule for a.test")
			},
			follow: func(t *testing.T, e *VerifyError) *http.Client {
				r := l.anchored("a.test")
				r.ClientIdentity = &id
				return l.clientFor(nil, r)
			},
		}
	}
}

// mxClientCertOtherCA: the client has an identity, but from a CA the
// server does not list, so it is not sent; the error says so and why.
func mxClientCertOtherCA(t *testing.T, l *lab) mxScenario {
	// The server's CA must have another name than the lab's: the server
	// lists names, and the client matches its issuers against them.
	serverCA := l.pki.OtherRoot(t)
	mine := l.pki.ClientCert(t, "me").TLSCertificate(l.pki.Intermediate)
	accepted := mxMint(t, mint.Template{CommonName: "me", Client: true, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, serverCA).TLSCertificate()
	r := l.anchored("a.test")
	r.ClientIdentity = &mine
	return mxScenario{
		url: mxServe(l, l.pki.FullChain(l.pki.Leaf(t, "a.test")), "a.test", func(c *tls.Config) {
			c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, serverCA.Pool()
		}),
		rules: []Rule{r},
		check: func(t *testing.T, e *VerifyError) {
			mxContains(t, "detail", e.Detail, "was not sent", "accepts other issuers")
			mxContains(t, "fix", fixOf(e), "a client certificate the server accepts")
		},
		follow: func(t *testing.T, e *VerifyError) *http.Client {
			r := l.anchored("a.test")
			r.ClientIdentity = &accepted
			return l.clientFor(nil, r)
		},
	}
}

func mxDowngrade(t *testing.T, l *lab) mxScenario {
	plain := testpki.StartHTTP(t, "127.0.0.1", nil)
	s := testpki.StartTLS(t, "127.0.0.1", l.pki.FullChain(l.pki.Leaf(t, "a.test")), http.RedirectHandler(plain.URL+"/x", http.StatusFound))
	l.mu.Lock()
	l.resolve["a.test"] = "127.0.0.1"
	l.mu.Unlock()
	return mxScenario{
		url: at(s, "a.test"), refused: plain.Addr, rules: []Rule{l.anchored("a.test")},
		check: func(t *testing.T, e *VerifyError) {
			if !errors.Is(e, ErrDowngrade) || plain.Requests.Load() != 0 {
				t.Errorf("downgrade: %v, plain requests %d", e, plain.Requests.Load())
			}
			mxContains(t, "detail", e.Detail, "https://a.test:"+s.Port+"/", plain.URL+"/x")
			mxContains(t, "fix", fixOf(e), "--allow-downgrade", "Transport.AllowDowngrade")
		},
		follow: func(t *testing.T, e *VerifyError) *http.Client {
			tr := mustPolicy(t, []Rule{l.anchored("a.test")}, l.opts()).Transport(l.base())
			tr.AllowDowngrade = true
			return &http.Client{Transport: tr}
		},
	}
}

// mxDeepChain serves a leaf under n intermediates, each issued by the one
// above it, under the lab's root.
func mxDeepChain(n int) func(t *testing.T, l *lab) mxScenario {
	return func(t *testing.T, l *lab) mxScenario {
		parent, chain := l.pki.Root, make([]*mint.Cert, n)
		for i := range chain {
			parent = mxMint(t, mint.Template{CommonName: fmt.Sprintf("Intermediate %d", i), IsCA: true, MaxPathLen: -1}, parent)
			chain[n-1-i] = parent
		}
		sc := mxScenario{url: mxServe(l, testpki.Chain(l.pki.LeafFrom(t, parent, "a.test"), chain...), "a.test"), rules: []Rule{l.anchored("a.test")}}
		sc.check = func(t *testing.T, e *VerifyError) {
			if len(e.Chain) != n+1 {
				t.Errorf("%d certificates described, want %d", len(e.Chain), n+1)
			}
			mxLacks(t, "fix", fixOf(e), "httptrust fetch", "trust add", "--allow")
		}
		return sc
	}
}

// mxHugeRSAKey serves a leaf whose RSA key has 16,384 bits. Generating such
// a key takes minutes, so the modulus is random odd bytes: the certificate
// is well formed and signed, and nobody holds its key. The server signs
// its handshake with another key, which the client never gets to check.
func mxHugeRSAKey(t *testing.T, l *lab) mxScenario {
	n := make([]byte, 16384/8)
	rand.Read(n)
	n[0] |= 0x80
	n[len(n)-1] |= 1
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "a.test"}, DNSNames: []string{"a.test"},
		NotBefore: l.pki.Now.Add(-time.Hour), NotAfter: l.pki.Now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, l.pki.Intermediate.Cert, pub, l.pki.Intermediate.Key)
	if err != nil {
		t.Fatal(err)
	}
	other := l.pki.Leaf(t, "a.test")
	cert := tls.Certificate{Certificate: [][]byte{der, l.pki.Intermediate.DER}, PrivateKey: other.Key}
	return mxScenario{
		url: mxServe(l, cert, "a.test"), rules: []Rule{l.anchored("a.test")},
		check: mxInvalidChain("8192"),
	}
}

func mxMint(t *testing.T, tmpl mint.Template, parent *mint.Cert) *mint.Cert {
	t.Helper()
	c, err := mint.New(tmpl, parent)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mxResignSHA1 returns c re-signed by issuer with ECDSA over SHA-1, which
// x509.CreateCertificate refuses to produce: the TBS is rewritten to name
// ecdsa-with-SHA1 and signed directly with the issuer's key.
func mxResignSHA1(t *testing.T, c, issuer *mint.Cert) *mint.Cert {
	t.Helper()
	type certificate struct {
		TBS    asn1.RawValue
		SigAlg pkix.AlgorithmIdentifier
		Sig    asn1.BitString
	}
	type tbsCertificate struct {
		Version    int `asn1:"optional,explicit,default:0,tag:0"`
		Serial     *big.Int
		SigAlg     pkix.AlgorithmIdentifier
		Issuer     asn1.RawValue
		Validity   asn1.RawValue
		Subject    asn1.RawValue
		PublicKey  asn1.RawValue
		Extensions []pkix.Extension `asn1:"omitempty,optional,explicit,tag:3"`
	}
	var outer certificate
	var tbs tbsCertificate
	if _, err := asn1.Unmarshal(c.DER, &outer); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(outer.TBS.FullBytes, &tbs); err != nil {
		t.Fatal(err)
	}
	ecdsaWithSHA1 := pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}}
	tbs.SigAlg = ecdsaWithSHA1
	tbsDER, err := asn1.Marshal(tbs)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha1.Sum(tbsDER)
	sig, err := issuer.Key.Sign(rand.Reader, digest[:], crypto.SHA1)
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(certificate{TBS: asn1.RawValue{FullBytes: tbsDER}, SigAlg: ecdsaWithSHA1, Sig: asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	var algErr x509.InsecureAlgorithmError
	if parsed.SignatureAlgorithm != x509.ECDSAWithSHA1 || !errors.As(parsed.CheckSignatureFrom(issuer.Cert), &algErr) {
		t.Fatalf("re-signed certificate: algorithm %v, check %v", parsed.SignatureAlgorithm, parsed.CheckSignatureFrom(issuer.Cert))
	}
	return &mint.Cert{Cert: parsed, Key: c.Key, DER: der}
}
