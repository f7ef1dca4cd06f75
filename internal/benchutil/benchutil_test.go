package benchutil_test

import (
	"errors"
	"io/fs"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/benchutil"
)

// The store WriteStore writes loads, trusts each host's own certificate,
// and ReadAll reads exactly its files.
func TestWriteStoreLoads(t *testing.T) {
	dir := t.TempDir()
	const n = 5
	if err := benchutil.WriteStore(dir, n); err != nil {
		t.Fatal(err)
	}
	p, err := httptrust.LoadDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.Rules()); got != n {
		t.Fatalf("%d rules, want %d", got, n)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		eff, err := p.Lookup(benchutil.StoreHost(i))
		if err != nil {
			t.Fatal(err)
		}
		if eff.Pattern != benchutil.StoreHost(i) || len(eff.Certificates) != 1 || eff.SystemRoots {
			t.Errorf("host %d: pattern %q, %d certificates, system roots %v", i, eff.Pattern, len(eff.Certificates), eff.SystemRoots)
		}
	}
	tests := []struct {
		rulesOnly bool
		files     int
	}{{true, n}, {false, 2 * n}}
	for _, tt := range tests {
		files, bytes, err := benchutil.ReadAll(benchutil.StoreFolders(dir, tt.rulesOnly)...)
		if err != nil {
			t.Fatal(err)
		}
		if files != tt.files || bytes == 0 {
			t.Errorf("rulesOnly %v: %d files, %d bytes; want %d files", tt.rulesOnly, files, bytes, tt.files)
		}
	}
}

func TestReadAllMissingFolder(t *testing.T) {
	if _, _, err := benchutil.ReadAll(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err %v, want a not-exist error", err)
	}
}

// Run starts with a different operation each round and times each.
func TestInterleave(t *testing.T) {
	var il benchutil.Interleave
	var order []int
	for range 3 {
		il.Run(func() { order = append(order, 0); time.Sleep(2 * time.Millisecond) },
			func() { order = append(order, 1) })
	}
	want := []int{0, 1, 1, 0, 0, 1}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	if il.Rounds() != 3 {
		t.Errorf("rounds %d, want 3", il.Rounds())
	}
	if il.Mean(0) < float64(2*time.Millisecond) || il.Mean(1) >= il.Mean(0) {
		t.Errorf("means %v and %v", il.Mean(0), il.Mean(1))
	}
	if r := il.Ratio(0, 1); r <= 1 {
		t.Errorf("ratio %v, want > 1", r)
	}
	if r := il.MedianRatio(0, 1); r <= 1 {
		t.Errorf("median ratio %v, want > 1", r)
	}
}

// The median ignores one slow outlier that moves the mean.
func TestInterleaveMedian(t *testing.T) {
	var il benchutil.Interleave
	for i := range 5 {
		d := time.Millisecond
		if i == 2 {
			d = 40 * time.Millisecond
		}
		il.Run(func() { time.Sleep(d) })
	}
	if m := il.Median(0); m < float64(time.Millisecond) || m > float64(20*time.Millisecond) {
		t.Errorf("median %v, want about 1ms", time.Duration(m))
	}
	if m := il.Mean(0); m < float64(8*time.Millisecond) {
		t.Errorf("mean %v, want at least 8ms", time.Duration(m))
	}
}

func TestInterleaveZero(t *testing.T) {
	var il benchutil.Interleave
	il.Run() // no operations: nothing to time, and no round
	if il.Mean(0) != 0 || il.Median(0) != 0 || il.Ratio(0, 1) != 0 || il.MedianRatio(0, 1) != 0 || il.Rounds() != 0 {
		t.Errorf("zero Interleave: mean %v, median %v, ratios %v %v, rounds %d",
			il.Mean(0), il.Median(0), il.Ratio(0, 1), il.MedianRatio(0, 1), il.Rounds())
	}
}

// Networks are distinct, and HostIn stays inside its network and off its
// network and broadcast addresses.
func TestNetworkAndHostIn(t *testing.T) {
	seen := map[netip.Prefix]bool{}
	for j := range 3000 {
		p := benchutil.Network(j)
		if seen[p] || p != p.Masked() {
			t.Fatalf("Network(%d) = %v: repeated or not masked", j, p)
		}
		seen[p] = true
		for _, k := range []int{0, 1, 13, 14, 253, 254, 1 << 20} {
			a := benchutil.HostIn(p, k)
			if !p.Contains(a) || a == p.Addr() {
				t.Fatalf("HostIn(%v, %d) = %v", p, k, a)
			}
			if a.Is4() {
				last := p.Addr().As4()
				last[3] |= byte(1<<(32-p.Bits())) - 1
				if a == netip.AddrFrom4(last) {
					t.Fatalf("HostIn(%v, %d) = %v, the broadcast address", p, k, a)
				}
			}
		}
	}
}

func TestHostInUnsupported(t *testing.T) {
	for _, s := range []string{"10.0.0.0/8", "10.0.0.0/31", "10.0.0.1/32", "fd00::/120"} {
		if a := benchutil.HostIn(netip.MustParsePrefix(s), 1); a.IsValid() {
			t.Errorf("HostIn(%s) = %v, want the zero Addr", s, a)
		}
	}
}
