//go:build linux

package httptrust

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// indexed sets the index's thresholds low for a test: every store gets
// one, and files a few milliseconds old are old enough.
func indexed(t *testing.T) {
	t.Helper()
	minRules, racy := cacheMinRules, cacheRacy
	cacheMinRules, cacheRacy = 1, 30*time.Millisecond
	t.Cleanup(func() { cacheMinRules, cacheRacy = minRules, racy })
}

// age waits until files written now are older than cacheRacy, and past
// the file system clock's tick.
func age() { time.Sleep(cacheRacy + 20*time.Millisecond) }

// summary is everything an Effective decides, as text.
func summary(eff *Effective) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s pattern=%q", eff, eff.Pattern)
	keys := make([]string, 0, len(eff.Sources))
	for k := range eff.Sources {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, eff.Sources[k])
	}
	for _, a := range eff.Anchors {
		fmt.Fprintf(&b, " anchor:%s", a.File)
	}
	for _, c := range eff.Certificates {
		fmt.Fprintf(&b, " cert:%s", c.File)
	}
	fmt.Fprintf(&b, " sys=%v tofu=%v aia=%v name=%q min=%d expired=%v mismatch=%v", eff.SystemRoots, eff.TOFU, eff.FetchIntermediates, eff.ServerName, eff.MinTLS, eff.AllowExpired, eff.AllowNameMismatch)
	if eff.Pins != nil {
		fmt.Fprintf(&b, " pins=%v", eff.Pins.Pins)
	}
	if eff.Client != nil {
		fmt.Fprintf(&b, " client=%s", eff.Client.Cert)
	}
	return b.String()
}

const indexStoreRules = `
[[rule]]
hosts = ["api.corp.test", "10.1.2.3", "nas.local:5001"]
anchors = ["ca.pem"]
min_tls = "1.3"

[[rule]]
hosts = ["*.corp.test"]
pins = ["sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "sha256/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA="]
pins_expire = 2030-01-01

[[rule]]
hosts = ["**.corp.test"]
anchors = ["ca.pem"]
fetch_intermediates = true

[[rule]]
hosts = ["10.0.0.0/8", "fd00:1:2:3::/64"]
anchors = ["ca.pem"]
system_roots = true

[[rule]]
hosts = ["10.9.0.0/16"]
tofu = true

[[rule]]
hosts = ["nas.local"]
certificates = ["ca.pem"]
allow_expired = true
server_name = "nas.local"
`

// writeIndexStore writes a store with rules of every kind, in two files
// (one in managed/), and extra rules for n hosts.
func writeIndexStore(t *testing.T, dir string, n int) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Join(dir, ManagedDir), 0o700))
	must(t, os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("not read"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, ManagedDir, "ca.pem"), []byte("not read"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "corp.toml"), []byte(indexStoreRules), 0o644))
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "[[rule]]\n# device %d\nhosts = [\"dev%d.fleet.test\"]\nanchors = [\"ca.pem\"]\n\n", i, i)
	}
	b.WriteString("[[rule]]\nall_hosts = true\nanchors = [\"ca.pem\"]\n")
	must(t, os.WriteFile(filepath.Join(dir, ManagedDir, "fleet.toml"), []byte(b.String()), 0o644))
}

var indexHosts = []string{
	"api.corp.test", "api.corp.test:443", "x.corp.test", "a.b.corp.test", "corp.test", "other.test",
	"10.1.2.3", "10.1.2.4", "10.9.3.4", "10.9.3.4:8443", "11.0.0.1", "fd00:1:2:3::1", "[fd00:1:2:3::1]:443", "fe80::1",
	"nas.local", "nas.local:5001", "nas.local:5002", "dev0.fleet.test", "dev7.fleet.test", "dev7.fleet.test:8443",
	"dev99.fleet.test", "fleet.test",
}

// checkSame compares every host's effective rule under p with the one a
// full load decides.
func checkSame(t *testing.T, what string, p, full *Policy) {
	t.Helper()
	for _, h := range indexHosts {
		want, err := full.Lookup(h)
		if err != nil {
			t.Fatalf("full load, %s: %v", h, err)
		}
		got, err := p.Lookup(h)
		if err != nil {
			t.Errorf("%s, %s: %v", what, h, err)
			continue
		}
		if summary(got) != summary(want) {
			t.Errorf("%s, %s:\n got %s\nwant %s", what, h, summary(got), summary(want))
		}
	}
}

func loadIndexed(t *testing.T, dir, cache string) *Policy {
	t.Helper()
	p, err := LoadDir(dir, &Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A store read through its index decides exactly as a full load does, for
// rules of every kind, and parses only the rules of the hosts asked about.
func TestIndexDecidesAsAFullLoad(t *testing.T) {
	indexed(t)
	dir, cache := t.TempDir(), t.TempDir()
	writeIndexStore(t, dir, 10)
	age()
	full, err := LoadDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := loadIndexed(t, dir, cache) // writes the index
	if first.ix.lazy != nil {
		t.Fatal("the first load read an index that was not there")
	}
	if _, err := os.Stat(cachePath(cache, mustAbs(t, dir))); err != nil {
		t.Fatalf("no index written: %v", err)
	}
	p := loadIndexed(t, dir, cache)
	if p.ix.lazy == nil {
		t.Fatal("the second load did not use the index")
	}
	if _, err := p.Lookup("dev3.fleet.test"); err != nil {
		t.Fatal(err)
	}
	if n := len(p.ix.lazy.compiled); n > 3 {
		t.Errorf("%d rules parsed for one host", n)
	}
	checkSame(t, "index", p, full)
	if got, want := strings.Join(p.Warnings(), "\n"), strings.Join(full.Warnings(), "\n"); got != want {
		t.Errorf("warnings:\n%s\nwant\n%s", got, want)
	}
	if len(p.Rules()) != len(full.Rules()) || len(p.PinSets()) != len(full.PinSets()) {
		t.Errorf("rules %d, pin sets %d; want %d, %d", len(p.Rules()), len(p.PinSets()), len(full.Rules()), len(full.PinSets()))
	}
	for i, r := range p.Rules() {
		if w := full.Rules()[i]; r.Where() != w.Where() || strings.Join(r.Hosts, ",") != strings.Join(w.Hosts, ",") {
			t.Errorf("rule %d at %s %v, want %s %v", i, r.Where(), r.Hosts, w.Where(), w.Hosts)
		}
	}
	// A field's line survives: errors and remedies name it.
	eff, _ := p.Lookup("api.corp.test")
	if got := fieldErr(eff.Rule, "min_tls", errors.New("x")).Line; got != 5 {
		t.Errorf("min_tls line %d, want 5", got)
	}
	// An override on an indexed policy sees the index beneath it.
	o, err := p.Override("dev3.fleet.test", Rule{TOFU: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	eff, _ = o.Lookup("dev3.fleet.test")
	if !eff.TOFU || len(eff.Anchors) != 1 {
		t.Errorf("override over the index: %s", summary(eff))
	}
	if len(o.Rules()) != len(full.Rules())+1 {
		t.Errorf("override: %d rules", len(o.Rules()))
	}
}

func mustAbs(t *testing.T, dir string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// indexChange is a change to the store writeIndexStore writes.
type indexChange struct {
	name   string
	change func(t *testing.T, dir string)
}

// indexChanges are the changes the next load must see.
var indexChanges = []indexChange{
	{"a rule file rewritten in place, same size", func(t *testing.T, dir string) {
		name := filepath.Join(dir, ManagedDir, "fleet.toml")
		data, _ := os.ReadFile(name)
		data = []byte(strings.Replace(string(data), `hosts = ["dev7.fleet.test"]`, `hosts = ["dev7.fleet.tesu"]`, 1))
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		must(t, err)
		_, err = f.WriteAt(data, 0)
		must(t, err)
		must(t, f.Close())
	}},
	{"a rule file appended to", func(t *testing.T, dir string) {
		f, err := os.OpenFile(filepath.Join(dir, "corp.toml"), os.O_WRONLY|os.O_APPEND, 0)
		must(t, err)
		_, err = f.WriteString("\n[[rule]]\nhosts = [\"other.test\"]\nanchors = [\"ca.pem\"]\n")
		must(t, err)
		must(t, f.Close())
	}},
	{"a rule file added", func(t *testing.T, dir string) {
		must(t, os.WriteFile(filepath.Join(dir, "new.toml"), []byte("[[rule]]\nhosts = [\"other.test\"]\npins = [\"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]\n"), 0o644))
	}},
	{"a rule file added to managed", func(t *testing.T, dir string) {
		must(t, os.WriteFile(filepath.Join(dir, ManagedDir, "zz.toml"), []byte("[[rule]]\nhosts = [\"dev99.fleet.test\", \"fleet.test\"]\ntofu = true\n"), 0o644))
	}},
	{"a rule file removed", func(t *testing.T, dir string) {
		must(t, os.Remove(filepath.Join(dir, "corp.toml")))
	}},
	{"a rule file replaced by rename", func(t *testing.T, dir string) {
		name := filepath.Join(dir, "corp.toml")
		must(t, os.WriteFile(name+".new", []byte("[[rule]]\nhosts = [\"x.corp.test\"]\nanchors = [\"ca.pem\"]\n"), 0o644))
		must(t, os.Rename(name+".new", name))
	}},
	{"managed removed", func(t *testing.T, dir string) {
		must(t, os.RemoveAll(filepath.Join(dir, ManagedDir)))
	}},
}

// Every change to the store is seen by the next load: the index is used
// only while every file and folder is as it was.
func TestIndexSeesEveryChange(t *testing.T) {
	indexed(t)
	for _, tt := range indexChanges {
		t.Run(tt.name, func(t *testing.T) {
			dir, cache := t.TempDir(), t.TempDir()
			writeIndexStore(t, dir, 10)
			age()
			loadIndexed(t, dir, cache)
			if p := loadIndexed(t, dir, cache); p.ix.lazy == nil {
				t.Fatal("no index")
			}
			tt.change(t, dir)
			p := loadIndexed(t, dir, cache)
			if p.ix.lazy != nil {
				t.Fatal("the index was used after the change")
			}
			full, err := LoadDir(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkSame(t, "after the change", p, full)
			// Once the change is old enough, the index is written again and
			// agrees with the store as it is now.
			age()
			loadIndexed(t, dir, cache)
			p = loadIndexed(t, dir, cache)
			if p.ix.lazy == nil {
				t.Fatal("no new index")
			}
			checkSame(t, "new index", p, full)
		})
	}
	t.Run("a change that breaks the store", func(t *testing.T) {
		dir, cache := t.TempDir(), t.TempDir()
		writeIndexStore(t, dir, 10)
		age()
		loadIndexed(t, dir, cache)
		must(t, os.WriteFile(filepath.Join(dir, ManagedDir, "zz.toml"), []byte("[[rule]]\nhosts = [\"dev7.fleet.test\"]\ntofu = true\n"), 0o644))
		if _, err := LoadDir(dir, &Options{CacheDir: cache}); err == nil || !strings.Contains(err.Error(), "already used by the rule at managed/fleet.toml") {
			t.Fatalf("load: %v, want the conflict", err)
		}
	})
	t.Run("a rule file opened to others", func(t *testing.T) {
		dir, cache := t.TempDir(), t.TempDir()
		writeIndexStore(t, dir, 10)
		age()
		loadIndexed(t, dir, cache)
		must(t, os.Chmod(filepath.Join(dir, "corp.toml"), 0o666))
		if _, err := LoadDir(dir, &Options{CacheDir: cache}); !errors.Is(err, ErrWritableByOthers) {
			t.Fatalf("load: %v, want ErrWritableByOthers", err)
		}
	})
	t.Run("the store folder opened to others", func(t *testing.T) {
		dir, cache := t.TempDir(), t.TempDir()
		writeIndexStore(t, dir, 10)
		age()
		loadIndexed(t, dir, cache)
		must(t, os.Chmod(dir, 0o777))
		if _, err := LoadDir(dir, &Options{CacheDir: cache}); !errors.Is(err, ErrWritableByOthers) {
			t.Fatalf("load: %v, want ErrWritableByOthers", err)
		}
	})
	t.Run("a ConfigMap swap", func(t *testing.T) {
		dir, cache := t.TempDir(), t.TempDir()
		for _, v := range []string{"..v1", "..v2"} {
			must(t, os.Mkdir(filepath.Join(dir, v), 0o755))
			rules := "[[rule]]\nhosts = [\"a.test\"]\npins = [\"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]\n"
			if v == "..v2" {
				rules = strings.Replace(rules, "a.test", "b.test", 1)
			}
			must(t, os.WriteFile(filepath.Join(dir, v, "rules.toml"), []byte(rules), 0o644))
		}
		must(t, os.Symlink("..v1", filepath.Join(dir, "..data")))
		must(t, os.Symlink("..data/rules.toml", filepath.Join(dir, "rules.toml")))
		age()
		loadIndexed(t, dir, cache)
		p := loadIndexed(t, dir, cache)
		if p.ix.lazy == nil {
			t.Fatal("no index")
		}
		if eff, _ := p.Lookup("a.test"); eff.Pins == nil {
			t.Fatal("a.test has no pins before the swap")
		}
		must(t, os.Symlink("..v2", filepath.Join(dir, "..data.tmp")))
		must(t, os.Rename(filepath.Join(dir, "..data.tmp"), filepath.Join(dir, "..data")))
		p = loadIndexed(t, dir, cache)
		if eff, _ := p.Lookup("a.test"); eff.Pins != nil {
			t.Error("a.test still pinned after the swap")
		}
		if eff, _ := p.Lookup("b.test"); eff.Pins == nil {
			t.Error("b.test not pinned after the swap")
		}
	})
}

// No index is written for files changed too recently to tell their next
// change by their times, nor for a small store.
func TestIndexNotWritten(t *testing.T) {
	indexed(t)
	dir, cache := t.TempDir(), t.TempDir()
	writeIndexStore(t, dir, 10)
	cacheRacy = time.Hour
	loadIndexed(t, dir, cache)
	if _, err := os.Stat(cachePath(cache, mustAbs(t, dir))); !os.IsNotExist(err) {
		t.Errorf("an index for files changed within cacheRacy: %v", err)
	}
	cacheRacy = 30 * time.Millisecond
	age()
	loadIndexed(t, dir, cache)
	if _, err := os.Stat(cachePath(cache, mustAbs(t, dir))); err != nil {
		t.Fatalf("no index: %v", err)
	}
	// The store shrinks below the size worth an index: the index goes.
	cacheMinRules = 1000
	must(t, os.Remove(filepath.Join(dir, "corp.toml")))
	age()
	loadIndexed(t, dir, cache)
	if _, err := os.Stat(cachePath(cache, mustAbs(t, dir))); !os.IsNotExist(err) {
		t.Errorf("an index for a small store: %v", err)
	}
	// An index in a folder others may write is not read.
	cacheMinRules = 1
	age()
	loadIndexed(t, dir, cache)
	must(t, os.Chmod(filepath.Join(cache, "stores"), 0o777))
	if p := loadIndexed(t, dir, cache); p.ix.lazy != nil {
		t.Error("an index read from a folder writable by others")
	}
}

// A damaged index never widens trust: each byte of it changed in turn
// (a sample), every host is judged as a full load judges it, or fails
// closed with errCacheDamaged.
func TestIndexDamageFailsClosed(t *testing.T) {
	indexed(t)
	dir, cache := t.TempDir(), t.TempDir()
	writeIndexStore(t, dir, 20)
	age()
	full, err := LoadDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	loadIndexed(t, dir, cache)
	name := cachePath(cache, mustAbs(t, dir))
	good, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	offsets := []int{}
	step := max(1, len(good)/500) // about 500 bytes changed, spread over every section
	for i := 0; i < len(good); i += step + r.IntN(step+1) {
		offsets = append(offsets, i)
	}
	failedClosed := 0
	for _, off := range offsets {
		bad := append([]byte{}, good...)
		bad[off] ^= byte(1 + r.IntN(255))
		must(t, os.WriteFile(name, bad, 0o600))
		p, err := LoadDir(dir, &Options{CacheDir: cache})
		if err != nil {
			t.Fatalf("byte %d: load: %v", off, err)
		}
		for _, h := range indexHosts {
			want, _ := full.Lookup(h)
			got, err := p.Lookup(h)
			switch {
			case errors.Is(err, errCacheDamaged):
				failedClosed++
				if _, err := p.TLSConfigFor(h); err == nil {
					// The config fails every handshake: its verifier's
					// material carries the error.
					eff := p.ix.effective(mustNorm(t, h))
					if p.material(eff).err == nil {
						t.Errorf("byte %d, %s: a damaged host's config trusts something", off, h)
					}
				}
			case err != nil:
				t.Errorf("byte %d, %s: %v", off, h, err)
			case summary(got) != summary(want):
				t.Errorf("byte %d, %s: damaged index decided\n %s\nwant\n %s", off, h, summary(got), summary(want))
			}
		}
		os.Remove(name) // rewritten by the next load
		loadIndexed(t, dir, cache)
	}
	if failedClosed == 0 {
		t.Error("no damage was ever noticed")
	}
}

func mustNorm(t *testing.T, hostport string) (string, string, netip.Addr) {
	t.Helper()
	h, port, err := splitHost(hostport)
	if err != nil {
		t.Fatal(err)
	}
	n, addr, err := normalizeHost(h)
	if err != nil {
		t.Fatal(err)
	}
	return n, port, addr
}

// FuzzIndex reads any bytes as a store's index: a load never panics, and
// every host is judged as a full load judges it, or fails closed.
func FuzzIndex(f *testing.F) {
	minRules, racy := cacheMinRules, cacheRacy
	cacheMinRules, cacheRacy = 1, 30*time.Millisecond
	defer func() { cacheMinRules, cacheRacy = minRules, racy }()
	dir, cache := f.TempDir(), f.TempDir()
	writeIndexStore(&testing.T{}, dir, 5)
	age()
	full, err := LoadDir(dir, nil)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := LoadDir(dir, &Options{CacheDir: cache}); err != nil {
		f.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	name := cachePath(cache, abs)
	good, err := os.ReadFile(name)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(cacheMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := LoadDir(dir, &Options{CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range indexHosts {
			want, _ := full.Lookup(h)
			got, err := p.Lookup(h)
			if err != nil && !errors.Is(err, errCacheDamaged) {
				t.Fatalf("%s: %v", h, err)
			}
			if err == nil && summary(got) != summary(want) {
				t.Fatalf("%s: %s, want %s", h, summary(got), summary(want))
			}
		}
	})
}

// damageEach loads the store through an index in which f has changed the
// bytes at each of offsets in turn, and checks every host is judged as a
// full load judges it, or fails closed.
func damageEach(t *testing.T, dir, cache string, full *Policy, offsets []int, f func(b []byte, off int)) (failedClosed int) {
	t.Helper()
	name := cachePath(cache, mustAbs(t, dir))
	good, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range offsets {
		bad := append([]byte{}, good...)
		f(bad, off)
		must(t, os.WriteFile(name, bad, 0o600))
		p, err := LoadDir(dir, &Options{CacheDir: cache})
		if err != nil {
			t.Fatalf("offset %d: load: %v", off, err)
		}
		for _, h := range indexHosts {
			want, _ := full.Lookup(h)
			got, err := p.Lookup(h)
			switch {
			case errors.Is(err, errCacheDamaged):
				failedClosed++
			case err != nil:
				t.Errorf("offset %d, %s: %v", off, h, err)
			case summary(got) != summary(want):
				t.Errorf("offset %d, %s: damaged index decided\n %s\nwant\n %s", off, h, summary(got), summary(want))
			}
		}
		must(t, os.WriteFile(name, good, 0o600))
	}
	return failedClosed
}

// Zeroed bytes (a record's CRC and length both 0, a rule offset pointing
// at rule 0) are damage, never another rule: the all_hosts rule above all
// can never be stood in for by another.
func TestIndexZeroedBytesFailClosed(t *testing.T) {
	indexed(t)
	dir, cache := t.TempDir(), t.TempDir()
	writeIndexStore(t, dir, 8)
	age()
	full, err := LoadDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	loadIndexed(t, dir, cache)
	good, err := os.ReadFile(cachePath(cache, mustAbs(t, dir)))
	if err != nil {
		t.Fatal(err)
	}
	var offsets []int
	for off := 0; off+8 <= len(good); off += 4 {
		offsets = append(offsets, off)
	}
	n := damageEach(t, dir, cache, full, offsets, func(b []byte, off int) { copy(b[off:off+8], make([]byte, 8)) })
	if n == 0 {
		t.Error("no zeroed window was ever noticed")
	}
	// Every entry of the rule offset table pointed at each other rule.
	h := &dec{b: good, off: len(cacheMagic) + 8}
	rulesAt := int(h.u64()) // the rules section follows the meta
	rulesAt = int(h.u64())
	count := (len(full.Rules()))
	var entries []int
	for i := 0; i < count; i++ {
		entries = append(entries, rulesAt+8*i)
	}
	for target := 0; target < count; target++ {
		want := binary.LittleEndian.Uint64(good[rulesAt+8*target:])
		damageEach(t, dir, cache, full, entries, func(b []byte, off int) { binary.LittleEndian.PutUint64(b[off:], want) })
	}
}

// An index is read only by the build that wrote it, and only when its
// owner could change the store anyway (the store's owner, or root).
func TestIndexBoundaries(t *testing.T) {
	indexed(t)
	dir, cache := t.TempDir(), t.TempDir()
	writeIndexStore(t, dir, 5)
	age()
	loadIndexed(t, dir, cache)
	if p := loadIndexed(t, dir, cache); p.ix.lazy == nil {
		t.Fatal("no index")
	}
	saved := buildID()
	buildOnce.id = "another build"
	if p := loadIndexed(t, dir, cache); p.ix.lazy != nil {
		t.Error("an index written by another build was used")
	}
	buildOnce.id = saved
	loadIndexed(t, dir, cache) // written again by this build
	if os.Geteuid() != 0 {
		t.Log("not root: the owner cases need os.Chown")
		return
	}
	name := cachePath(cache, mustAbs(t, dir))
	must(t, os.Chown(name, 12345, 12345))
	if p := loadIndexed(t, dir, cache); p.ix.lazy != nil {
		t.Error("an index owned by another user than the store's was used")
	}
}

// An index truncated in place under a process's mapping fails the hosts
// not yet read closed; it never crashes the process.
func TestIndexTruncatedUnderTheMapping(t *testing.T) {
	indexed(t)
	dir, cache := t.TempDir(), t.TempDir()
	writeIndexStore(t, dir, 50)
	age()
	loadIndexed(t, dir, cache)
	p := loadIndexed(t, dir, cache)
	if p.ix.lazy == nil {
		t.Fatal("no index")
	}
	must(t, os.Truncate(cachePath(cache, mustAbs(t, dir)), 64))
	_, err := p.Lookup("dev42.fleet.test")
	if !errors.Is(err, errCacheDamaged) {
		t.Fatalf("lookup through a truncated mapping: %v, want errCacheDamaged", err)
	}
	if err := p.Validate(); !errors.Is(err, errCacheDamaged) {
		t.Errorf("Validate: %v, want errCacheDamaged", err)
	}
	// The damaged index is gone: the next load reads the whole store.
	if q := loadIndexed(t, dir, cache); q.ix.lazy != nil {
		t.Error("the damaged index was used again")
	}
}
