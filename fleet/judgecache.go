package fleet

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"sync"
	"time"

	"github.com/httptrust/httptrust"
)

// The https module's GET goes through the policy's Transport, which
// verifies every connection afresh but returns only the connection state;
// judging that state again gives the verified chains and the deciding
// rule. A chain the transport has just trusted, judged before under the
// same policy for the same host:port and still in its validity window,
// needs no second path validation: judgeTrusted keeps those verdicts. The
// decision itself is never cached (the transport makes it for every
// probe), nor anything under a tofu rule (the record may change).
type judgeKey struct {
	version  uint64
	hostport string
	chain    [32]byte
}

type judgedEntry struct {
	v           *httptrust.Verdict
	from, until time.Time
	at          time.Time
}

// judgeCacheSize bounds the verdicts kept; judgeCacheTTL how long one is.
const (
	judgeCacheSize = 16384
	judgeCacheTTL  = time.Hour
)

type judgeCache struct {
	mu sync.Mutex
	m  map[judgeKey]judgedEntry
}

func (p *Prober) judges() *judgeCache {
	p.cacheOnce.Do(func() { p.cache = &judgeCache{m: map[judgeKey]judgedEntry{}} })
	return p.cache
}

// judgeTrusted is Policy.Judge for a connection the transport trusted.
func (p *Prober) judgeTrusted(pol *httptrust.Policy, hostport string, cs tls.ConnectionState) (*httptrust.Verdict, error) {
	now := p.now()
	key := judgeKey{version: pol.Version(), hostport: hostport, chain: chainHash(cs.PeerCertificates)}
	c := p.judges()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && !now.Before(e.from) && now.Before(e.until) && now.Sub(e.at) < judgeCacheTTL {
		return e.v, nil
	}
	v, err := pol.Judge(hostport, cs)
	if err != nil || v.Err != nil || v.FirstUse != nil || v.Effective == nil || v.Effective.TOFU || len(v.Chains) == 0 {
		return v, err
	}
	from, until := window(v.Chains)
	c.mu.Lock()
	if len(c.m) >= judgeCacheSize {
		clear(c.m)
	}
	c.m[key] = judgedEntry{v: v, from: from, until: until, at: now}
	c.mu.Unlock()
	return v, nil
}

// chainHash identifies a presented chain.
func chainHash(chain []*x509.Certificate) [32]byte {
	h := sha256.New()
	for _, c := range chain {
		var n [4]byte
		n[0], n[1], n[2], n[3] = byte(len(c.Raw)>>24), byte(len(c.Raw)>>16), byte(len(c.Raw)>>8), byte(len(c.Raw))
		h.Write(n[:])
		h.Write(c.Raw)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// window is when every verified chain is valid.
func window(chains [][]*x509.Certificate) (from, until time.Time) {
	for i, chain := range chains {
		for j, c := range chain {
			if (i == 0 && j == 0) || c.NotBefore.After(from) {
				from = c.NotBefore
			}
			if (i == 0 && j == 0) || c.NotAfter.Before(until) {
				until = c.NotAfter
			}
		}
	}
	return from, until
}
