// Package benchutil holds the parts of httptrust's benchmarks that do not
// depend on the library: a store of many hosts written to disk, the floor
// of reading it back with nothing but package os, networks and hosts to
// look up, and timing operations interleaved so that load from elsewhere
// on the machine falls on all of them alike.
package benchutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/mint"
)

// StoreHost returns the name of the i-th host of a store WriteStore wrote.
func StoreHost(i int) string { return fmt.Sprintf("h%05d.store.test", i) }

// WriteStore writes n hosts to the store dir as the CLI keeps them: for
// each host a self-signed certificate in managed/certs/, named by its
// SHA-256, and a rule file managed/<host>.toml that trusts exactly that
// certificate for the host. The certificates share one key (making a key
// per host would only slow the setup) and are valid for the default leaf
// period from now.
func WriteStore(dir string, n int) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("benchutil: %w", err)
	}
	managed := filepath.Join(dir, "managed")
	if err := os.MkdirAll(filepath.Join(managed, "certs"), 0o700); err != nil {
		return fmt.Errorf("benchutil: %w", err)
	}
	for i := range n {
		host := StoreHost(i)
		c, err := mint.New(mint.Template{Names: []string{host}, Key: key}, nil)
		if err != nil {
			return fmt.Errorf("benchutil: %w", err)
		}
		fp := certs.CertFingerprint(c.Cert)
		certFile := "certs/" + fp.String() + ".pem"
		rule := fmt.Sprintf("# Managed by httptrust: this file is rewritten by `httptrust fetch` and\n"+
			"# `httptrust trust`. Write your own rules in a file beside the managed folder.\n"+
			"[[rule]]\nhosts = [%q]\ncertificates = [%q]\n# %s  CN=%s  sha256 %s\n",
			host, certFile, certFile, host, fp)
		if err := os.WriteFile(filepath.Join(managed, filepath.FromSlash(certFile)), c.CertPEM(), 0o644); err != nil {
			return fmt.Errorf("benchutil: %w", err)
		}
		if err := os.WriteFile(filepath.Join(managed, host+".toml"), []byte(rule), 0o644); err != nil {
			return fmt.Errorf("benchutil: %w", err)
		}
	}
	return nil
}

// StoreFolders returns the folders of a store WriteStore wrote: the store
// itself, managed/ and, unless rulesOnly, managed/certs/.
func StoreFolders(dir string, rulesOnly bool) []string {
	f := []string{dir, filepath.Join(dir, "managed"), filepath.Join(dir, "managed", "certs")}
	if rulesOnly {
		return f[:2]
	}
	return f
}

// ReadAll reads each folder with os.ReadDir and every regular file in it
// with os.ReadFile, the least any loader of those files must do. It
// returns the number of files and bytes read.
func ReadAll(folders ...string) (files, bytes int, err error) {
	for _, f := range folders {
		entries, err := os.ReadDir(f)
		if err != nil {
			return files, bytes, fmt.Errorf("benchutil: %w", err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(f, e.Name()))
			if err != nil {
				return files, bytes, fmt.Errorf("benchutil: %w", err)
			}
			files++
			bytes += len(data)
		}
	}
	return files, bytes, nil
}

// Interleave times several operations run in turn. Each call of Run runs
// every operation once, starting with a different one each time, so that
// neither order nor a burst of load elsewhere favours one of them. Every
// time is kept: a median shrugs off the preemptions of a busy machine, a
// mean does not. The zero value is ready to use; give every call the same
// operations.
type Interleave struct {
	times  [][]time.Duration // per operation, per round
	rounds int
}

// Run runs each of ops once, in turn, timing each. A call with no
// operations does nothing.
func (il *Interleave) Run(ops ...func()) {
	if len(ops) == 0 {
		return
	}
	for len(il.times) < len(ops) {
		il.times = append(il.times, nil)
	}
	for k := range ops {
		i := (il.rounds + k) % len(ops)
		start := time.Now()
		ops[i]()
		il.times[i] = append(il.times[i], time.Since(start))
	}
	il.rounds++
}

// Rounds returns the number of calls of Run.
func (il *Interleave) Rounds() int { return il.rounds }

// Mean returns the mean time of operation i, in nanoseconds; 0 before the
// first round or for an operation never run.
func (il *Interleave) Mean(i int) float64 {
	if i < 0 || i >= len(il.times) || len(il.times[i]) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range il.times[i] {
		sum += d
	}
	return float64(sum) / float64(len(il.times[i]))
}

// Median returns the median time of operation i, in nanoseconds; 0 before
// the first round or for an operation never run.
func (il *Interleave) Median(i int) float64 {
	if i < 0 || i >= len(il.times) || len(il.times[i]) == 0 {
		return 0
	}
	ts := slices.Clone(il.times[i])
	slices.Sort(ts)
	n := len(ts)
	if n%2 == 1 {
		return float64(ts[n/2])
	}
	return (float64(ts[n/2-1]) + float64(ts[n/2])) / 2
}

// Ratio returns the mean time of operation i over that of operation j; 0
// when either has no time.
func (il *Interleave) Ratio(i, j int) float64 {
	return ratio(il.Mean(i), il.Mean(j))
}

// MedianRatio returns the median time of operation i over that of
// operation j; 0 when either has no time.
func (il *Interleave) MedianRatio(i, j int) float64 {
	return ratio(il.Median(i), il.Median(j))
}

func ratio(a, b float64) float64 {
	if a == 0 || b == 0 {
		return 0
	}
	return a / b
}

// Network returns the j-th of a series of distinct networks for j ≥ 0:
// IPv4 /24 in 10.0.0.0/8, IPv4 /28 in 11.0.0.0/8 and IPv6 /64 in fd00::/16,
// in turn.
func Network(j int) netip.Prefix {
	k := j / 3
	switch j % 3 {
	case 0:
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(k >> 8), byte(k), 0}), 24)
	case 1:
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{11, byte(k >> 12), byte(k >> 4), byte(k << 4)}), 28)
	}
	return netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, 0, 0, 0, 0, 0, byte(k >> 8), byte(k)}), 64)
}

// HostIn returns the k-th host address (k ≥ 0) inside p, an IPv4 network
// of /24 to /30 (never its network or broadcast address, repeating after
// the last host) or an IPv6 network of /96 or wider (the low 32 bits are
// k+1). For any other network it returns the zero Addr.
func HostIn(p netip.Prefix, k int) netip.Addr {
	a := p.Masked().Addr()
	switch {
	case a.Is4() && p.Bits() >= 24 && p.Bits() <= 30:
		b := a.As4()
		b[3] += byte(1 + k%((1<<(32-p.Bits()))-2))
		return netip.AddrFrom4(b)
	case a.Is6() && p.Bits() <= 96:
		b := a.As16()
		n := uint32(k + 1)
		b[12], b[13], b[14], b[15] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		return netip.AddrFrom16(b)
	}
	return netip.Addr{}
}
