package httptrust

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/httptrust/httptrust/certs"
)

// Options tune a Policy. The zero value is ready to use.
type Options struct {
	// SystemRoots is the pool of public roots used where system_roots is
	// on. Nil means x509.SystemCertPool, loaded once on first use. Tests and
	// scratch containers (golang.org/x/crypto/x509roots/fallback) inject it.
	SystemRoots *x509.CertPool
	// Clock returns the current time for validity checks and pin expiry.
	// Nil means time.Now.
	Clock func() time.Time
	// Observer receives warnings and reports (pins expired or without a
	// backup, report-only pin mismatches, trust through an all_hosts rule,
	// a server's request for a client certificate, once per full
	// handshake, refusals). Nil drops them. It is called synchronously from
	// handshakes and requests, several at once: it must be safe for
	// concurrent use, and quick.
	Observer func(Event)
	// Getenv reads the environment variables named by client_password_env.
	// Nil means os.Getenv. The environment is only ever read.
	Getenv func(string) string
	// FS resolves the certificate files named by rules built in code. The
	// loaders set it to the store.
	FS fs.FS
	// StoreDir is, for LoadFS, the folder inside the file system that holds
	// the store ("certificates" for //go:embed certificates); "" means its
	// root.
	StoreDir string
	// Validate reads and parses every certificate file the rules name when
	// the store loads, and fails the load on the first that cannot be used
	// (see Policy.Validate). It is always done for a store that is not on
	// the OS file system (embed.FS); otherwise certificates are read on
	// first use, and a bad one fails its hosts closed.
	Validate bool
	// CacheDir, for LoadDir, is a folder where an index of a large store
	// (a thousand rules or more) is kept, so that a process that starts
	// for one request, as the CLI does, reads only the rules of the hosts
	// it contacts instead of every rule file. The index is used only while
	// every rule file and folder of the store is exactly as it was when
	// the index was written (inode, size, modification and change times,
	// checked at every load): a changed file is always seen, and the next
	// load reads the whole store and writes the index again. A damaged
	// index fails the hosts it damaged closed. Empty means no index; it
	// is not used with Validate, nor for other file systems, nor on systems
	// other than Linux.
	CacheDir string
	// StartWatcher, with CacheDir, starts a watcher of a store of many
	// rule files (five hundred or more) where none answers: a process
	// that watches the store's folders and files (inotify) and tells
	// later loads whether anything changed since a load statted them all,
	// so that they need not stat every file again (see
	// internal/storewatch). It is given the store's absolute path and
	// must not wait. The CLI starts itself (httptrust __watch-store DIR),
	// which ends after ten minutes without a load or when the store is
	// removed. A watcher that answers is used with or without
	// StartWatcher; nil starts none. Only on Linux, for stores on local
	// file systems.
	StartWatcher func(dir string)
	// IgnoreWatcher neither asks nor starts a watcher: every rule file of
	// an indexed store is statted at every load.
	IgnoreWatcher bool
	// PinsExpiryWarning is how long before pins_expire the Observer is
	// warned; 0 means DefaultPinsExpiryWarning, a negative value never.
	PinsExpiryWarning time.Duration
	// FetchIntermediates fetches a missing intermediate from the issuer
	// URL (AIA) the server's certificate names, for every host whose rule
	// does not pin exact certificates. It is off by default, and a rule
	// can ask for it for its own hosts (fetch_intermediates = true);
	// otherwise nothing is fetched. The URL comes from an unverified
	// certificate, so the fetch is guarded (see AIAFetcher: plain http on
	// port 80, public unicast addresses only), and what it fetches is an
	// untrusted intermediate: the chain must still verify to an anchor.
	// AIA tunes the fetching; nil means the defaults.
	FetchIntermediates bool
	AIA                *AIAFetcher
	// TOFU keeps the first-use records of rules with tofu = true. Nil
	// fails those hosts closed.
	TOFU TOFUStore
	// OnFirstUse, if set, is asked on a first contact, during the
	// handshake; an error refuses the connection and records nothing. The
	// record itself is written only once the handshake has completed. It may
	// be called concurrently.
	OnFirstUse func(rec TOFURecord, chain []*x509.Certificate) error
}

// A Policy is an immutable set of rules with their index. It is safe for
// concurrent use. Build one with New, LoadDir or LoadFS, then use Client,
// Transport or TLSConfigFor.
type Policy struct {
	opts     Options
	ix       *index
	rules    []*Rule
	compiled []*compiled
	version  uint64
	warnings []string
	skipped  []string

	// storeDir is the folder LoadDir read (for remedies' --store); fromFS
	// says LoadFS built the policy from another file system.
	storeDir string
	fromFS   bool

	*loaded // shared with the policies Override derives

	shared *sharedTransport // Client's transport, built on first use
}

// sharedTransport is the one transport Policy.Client hands out, so that a
// client built per request still reuses connections and sessions.
type sharedTransport struct {
	once sync.Once
	t    *Transport
}

// loaded is what a policy reads once: certificate files, identities and the
// system roots.
type loaded struct {
	files   sync.Map // store path -> *certFile, or identity key -> *identity
	sysOnce sync.Once
	sysPool *x509.CertPool
	sysErr  error
}

// DefaultPinsExpiryWarning is how long before pins_expire a warning starts.
const DefaultPinsExpiryWarning = 30 * 24 * time.Hour

var policyVersions atomic.Uint64

// New builds a policy from rules given in code. Every rule is validated; the
// first invalid rule is returned as a *RuleError.
func New(rules []Rule, opts *Options) (*Policy, error) {
	p := newPolicy(opts)
	var compiledRules []*compiled
	for i := range rules {
		r := &rules[i]
		if p.opts.FS == nil && (len(r.certFiles()) > 0 || r.ClientCertificate != "") {
			return nil, fieldErr(r, "anchors", errors.New("rules that name files need Options.FS (or load them with LoadDir or LoadFS)"))
		}
		c, err := compile(r, false)
		if err != nil {
			return nil, err
		}
		compiledRules = append(compiledRules, c)
		p.rules = append(p.rules, r)
		p.warnings = append(p.warnings, ruleWarnings(c)...)
	}
	ix, err := newIndex(compiledRules)
	if err != nil {
		return nil, err
	}
	p.ix, p.compiled = ix, compiledRules
	for _, w := range p.warnings {
		p.observe(Event{Kind: EventWarning, Message: w})
	}
	return p, nil
}

// newPolicy is a policy with opts and no rules yet.
func newPolicy(opts *Options) *Policy {
	p := &Policy{version: policyVersions.Add(1), loaded: &loaded{}, shared: &sharedTransport{}}
	if opts != nil {
		p.opts = *opts
	}
	if p.opts.Clock == nil {
		p.opts.Clock = time.Now
	}
	if p.opts.AIA == nil {
		p.opts.AIA = &AIAFetcher{}
	}
	if p.opts.FS != nil {
		p.opts.FS = newSafeFS(p.opts.FS)
	}
	return p
}

// ruleWarnings lists what a valid rule should still say loudly.
func ruleWarnings(c *compiled) []string {
	var w []string
	r := c.rule
	if r.AllHosts {
		w = append(w, fmt.Sprintf("rule at %s trusts its anchors for ALL hosts (all_hosts = true)", r.Where()))
	}
	if c.pinSet != nil && c.pinSet.Single() {
		w = append(w, fmt.Sprintf("rule at %s has a single pin and no backup pin: a key rotation will lock its hosts out", r.Where()))
	}
	return w
}

// errZeroPolicy is what a nil or zero Policy answers: it has no rules to
// judge by, and judging by none would be wider trust than intended.
var errZeroPolicy = errors.New("httptrust: a nil or zero Policy judges nothing: build one with New, LoadDir or LoadFS")

// usable reports a nil or zero Policy as an error.
func (p *Policy) usable() error {
	if p == nil || p.ix == nil {
		return errZeroPolicy
	}
	return nil
}

// Rules returns the policy's rules. The caller must not modify them.
func (p *Policy) Rules() []*Rule {
	if p == nil {
		return nil
	}
	rules, _ := p.ruleList()
	return rules
}

// Warnings returns what the policy reports at load: an all_hosts rule,
// pins without a backup.
func (p *Policy) Warnings() []string {
	if p == nil {
		return nil
	}
	return p.warnings
}

// Version identifies this policy among all policies of the process; a
// reload makes a new version.
func (p *Policy) Version() uint64 {
	if p == nil {
		return 0
	}
	return p.version
}

// Lookup returns the effective rule for host (a name or IP literal, with or
// without a port), with the source of each field. Without a port, rules for
// one port ("nas.local:5001") do not apply.
func (p *Policy) Lookup(host string) (*Effective, error) {
	if err := p.usable(); err != nil {
		return nil, err
	}
	h, port, err := splitHost(host)
	if err != nil {
		return nil, err
	}
	if port != "" {
		if port, err = canonicalPort(port); err != nil {
			return nil, err
		}
	}
	n, addr, err := normalizeHost(h)
	if err != nil {
		return nil, fmt.Errorf("httptrust: host %q: %w", host, err)
	}
	eff := p.ix.effective(n, port, addr)
	if eff.err != nil {
		return nil, eff.err
	}
	return eff, nil
}

// ruleList returns the policy's rules and their compiled forms, in order:
// those of a store read through its index are parsed here, once.
func (p *Policy) ruleList() ([]*Rule, []*compiled) {
	if p.ix == nil || p.ix.lazy == nil {
		return p.rules, p.compiled
	}
	base, baseC := p.ix.lazy.allRules()
	if len(p.rules) == 0 {
		return base, baseC
	}
	// Overrides (Policy.Override) follow the store's rules.
	return append(append([]*Rule{}, base...), p.rules...), append(append([]*compiled{}, baseC...), p.compiled...)
}

func (p *Policy) observe(e Event) {
	if p != nil && p.opts.Observer != nil {
		if e.Time.IsZero() {
			e.Time = p.opts.Clock()
		}
		p.opts.Observer(e)
	}
}

// Validate reads and parses every certificate and client identity the rules
// name, and reports every problem. Loading does not need it: certificates
// are parsed on first use, and a bad one fails its hosts closed.
func (p *Policy) Validate() error {
	if err := p.usable(); err != nil {
		return err
	}
	var errs []error
	rules, _ := p.ruleList() // through an index: parses every rule
	if p.ix.lazy != nil {
		if err := p.ix.lazy.err(); err != nil {
			return err
		}
	}
	for _, r := range rules {
		for _, name := range r.certFiles() {
			if _, err := p.certFile(ruleFile(r, name)); err != nil {
				errs = append(errs, fmt.Errorf("rule at %s: %w", r.Where(), err))
			}
		}
		if r.ClientCertificate != "" {
			eff := &Effective{Client: &ClientRef{Cert: ruleFile(r, r.ClientCertificate), PasswordEnv: r.ClientPasswordEnv, PasswordFile: r.ClientPasswordFile, Rule: r}}
			if r.ClientKey != "" {
				eff.Client.Key = ruleFile(r, r.ClientKey)
			}
			if _, err := p.clientIdentity(eff.Client); err != nil {
				errs = append(errs, fmt.Errorf("rule at %s: %w", r.Where(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// validateCerts reads every certificate file the rules name.
func (p *Policy) validateCerts() error {
	var errs []error
	rules, _ := p.ruleList()
	for _, r := range rules {
		for _, name := range r.certFiles() {
			if _, err := p.certFile(ruleFile(r, name)); err != nil {
				errs = append(errs, fmt.Errorf("rule at %s: %w", r.Where(), err))
			}
		}
	}
	return errors.Join(errs...)
}

type certFile struct {
	once  sync.Once
	certs []*x509.Certificate
	err   error
}

// certFile reads and parses a certificate file of the store once.
func (p *Policy) certFile(name string) ([]*x509.Certificate, error) {
	v, _ := p.files.LoadOrStore(name, &certFile{})
	f := v.(*certFile)
	f.once.Do(func() {
		if p.opts.FS == nil {
			f.err = fmt.Errorf("httptrust: %s: no store to read it from", name)
			return
		}
		f.certs, f.err = certs.ReadCertificates(p.opts.FS, name, nil)
	})
	return f.certs, f.err
}

// systemRoots returns the injected or the system root pool.
func (p *Policy) systemRoots() (*x509.CertPool, error) {
	p.sysOnce.Do(func() {
		if p.opts.SystemRoots != nil {
			p.sysPool = p.opts.SystemRoots
			return
		}
		p.sysPool, p.sysErr = x509.SystemCertPool()
		if p.sysErr != nil {
			p.sysErr = fmt.Errorf("httptrust: system roots: %w", p.sysErr)
		}
	})
	return p.sysPool, p.sysErr
}

// material is what verification needs for one effective rule.
type material struct {
	roots   *x509.CertPool      // anchors, plus system roots when on; nil: none
	anchors []*x509.Certificate // the rule's own anchors
	exact   []*x509.Certificate // exact certificates
	inter   []*x509.Certificate // intermediates for path building, never roots
	err     error               // a named certificate that cannot be used
}

// material loads, once per effective rule, the certificates it names.
func (p *Policy) material(eff *Effective) *material {
	eff.material.once.Do(func() {
		m := &material{}
		eff.material.m = m
		if eff.err != nil {
			m.err = eff.err
			return
		}
		load := func(refs []CertRef) []*x509.Certificate {
			var out []*x509.Certificate
			for _, ref := range refs {
				if ref.Cert != nil {
					out = append(out, ref.Cert)
					continue
				}
				cs, err := p.certFile(ref.File)
				if err != nil && m.err == nil {
					m.err = err
				}
				out = append(out, cs...)
			}
			return out
		}
		anchors := load(eff.Anchors)
		m.anchors, m.exact, m.inter = anchors, load(eff.Certificates), load(eff.Intermediates)
		if eff.SystemRoots {
			sys, err := p.systemRoots()
			if err != nil {
				m.err = err
				return
			}
			if len(anchors) == 0 {
				m.roots = sys
				return
			}
			m.roots = sys.Clone()
		} else if len(anchors) > 0 {
			m.roots = x509.NewCertPool()
		}
		for _, a := range anchors {
			m.roots.AddCert(a)
		}
	})
	return eff.material.m
}
