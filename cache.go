package httptrust

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/httptrust/httptrust/internal/atomicfile"
	"github.com/httptrust/httptrust/internal/safefs"
)

// A store's compiled index (Options.CacheDir) lets a process that starts
// for one request, as the CLI does, find the rules of one host without
// reading every rule file: the index maps each name and network to the
// rules that name it, and keeps each rule's text, parsed only when a host
// needs it. It is used only while every rule file and both folders of the
// store are exactly as they were when it was written — same inode, size,
// modification and change times, checked on every load — so a changed,
// added, removed or replaced rule file is always seen by the next load,
// which then reads the whole store and writes the index again. A file
// changed within cacheRacy of the index being written could keep its times
// (file system clocks are coarse): then no index is written until it is
// older.
//
// The file is made of sections whose records each carry a CRC-32C: an
// index that is damaged refuses the hosts whose records it damaged (fails
// closed), never widens their trust.

// cacheMinRules is the smallest store given an index: a small one loads
// faster than any index could be checked.
var cacheMinRules = 1000

// cacheRacy is how recent a file may be when the index is written.
var cacheRacy = 2 * time.Second

const (
	cacheMagic   = "httptrust index\x00"
	cacheVersion = 1
	// cacheGroup is how many hash buckets share one CRC.
	cacheGroup = 16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// stamp is what a file or folder of the store looked like.
type stamp struct {
	name         string // store path; "." for the store folder
	present      bool
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds
	mode         uint32
}

func (s stamp) equal(o stamp) bool { return s == o }

// stampOf stats name in the guarded store, through its links and with its
// checks. A missing name is a stamp that is not present.
func stampOf(d *safefs.DirFS, name string) (stamp, error) {
	st, err := d.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return stamp{name: name}, nil
	}
	if err != nil {
		return stamp{}, err
	}
	s, ok := osStamp(st)
	if !ok {
		return stamp{}, errNoCache
	}
	s.name = name
	return s, nil
}

var errNoCache = errors.New("httptrust: no index for this store")

// cachePath is where the index of the store at abs (an absolute path) is
// kept in cacheDir.
func cachePath(cacheDir, abs string) string {
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(cacheDir, "stores", hex.EncodeToString(sum[:16])+".idx")
}

// ruleSource is where one rule of a full load came from: its file and the
// text of its [[rule]] table.
type ruleSource struct {
	file     int // index into the loaded files
	lineBase int // the line before the table's first
	text     []byte
}

// ruleSpans cuts a rule file's data into the text of each rule, from the
// line of its [[rule]] to the line before the next.
func ruleSpans(data []byte, rules []Rule) [][]byte {
	starts := []int{0} // byte offset of each line (1-based: starts[1] is line 1)
	starts = append(starts, 0)
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	lineStart := func(line int) int {
		if line >= len(starts) {
			return len(data)
		}
		return starts[line]
	}
	spans := make([][]byte, len(rules))
	for i := range rules {
		end := len(data)
		if i+1 < len(rules) {
			end = lineStart(rules[i+1].Line)
		}
		spans[i] = data[lineStart(rules[i].Line):end]
	}
	return spans
}

// writeCache writes the index of a store just loaded in full. It writes
// nothing for a small store (and removes an index it had), for a store
// changed too recently to tell its next change by its times, or where the
// index cannot be kept; an index is only ever an acceleration.
func writeCache(cacheDir, abs string, d *safefs.DirFS, stamps []stamp, sources []ruleSource, p *Policy, built time.Time) {
	path := cachePath(cacheDir, abs)
	if len(p.compiled) < cacheMinRules {
		os.Remove(path)
		return
	}
	if st, err := d.Stat("."); err != nil {
		return
	} else if owner, ok := ownerOf(st); !ok || (owner != uint32(os.Geteuid()) && os.Geteuid() != 0) {
		return // an index only its owner's processes could use; see openCache
	}
	for _, s := range stamps {
		if s.present && (s.ctime >= built.Add(-cacheRacy).UnixNano() || s.mtime >= built.Add(-cacheRacy).UnixNano()) {
			os.Remove(path)
			return
		}
	}
	data, err := encodeCache(abs, stamps, sources, p)
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return
	}
	atomicfile.WriteFile(path, data, 0o600)
}

// enc builds the index file.
type enc struct{ b []byte }

func (e *enc) u8(v uint8)   { e.b = append(e.b, v) }
func (e *enc) u16(v uint16) { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *enc) u32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *enc) u64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *enc) i32(v int)    { e.u32(uint32(int32(v))) }
func (e *enc) str(s string) { e.u32(uint32(len(s))); e.b = append(e.b, s...) }
func (e *enc) bytes(s []byte) {
	e.u32(uint32(len(s)))
	e.b = append(e.b, s...)
}

// record appends f's bytes as one record: CRC, length, bytes.
func (e *enc) record(f func(*enc)) {
	var r enc
	f(&r)
	e.u32(crc32.Checksum(r.b, castagnoli))
	e.bytes(r.b)
}

func nameHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func encodeCache(abs string, stamps []stamp, sources []ruleSource, p *Policy) ([]byte, error) {
	ids := make(map[*compiled]int, len(p.compiled))
	for i, c := range p.compiled {
		ids[c] = i
	}
	id := func(e *entry) int {
		if e == nil {
			return -1
		}
		return ids[e.rule]
	}
	var files []string // rule files, by index
	seen := map[string]int{}
	for _, r := range p.rules {
		if _, ok := seen[r.File]; !ok {
			seen[r.File] = len(files)
			files = append(files, r.File)
		}
	}
	if len(sources) != len(p.rules) {
		return nil, errors.New("sources do not match rules")
	}

	// Meta: checked as a whole at open.
	var meta enc
	meta.str(abs)
	meta.str(buildID())
	meta.u32(uint32(len(stamps)))
	for _, s := range stamps {
		meta.str(s.name)
		if s.present {
			meta.u8(1)
		} else {
			meta.u8(0)
		}
		meta.u64(s.dev)
		meta.u64(s.ino)
		meta.u64(uint64(s.size))
		meta.u64(uint64(s.mtime))
		meta.u64(uint64(s.ctime))
		meta.u32(s.mode)
	}
	meta.u32(uint32(len(files)))
	for _, f := range files {
		meta.str(f)
	}
	meta.u32(uint32(len(p.skipped)))
	for _, s := range p.skipped {
		meta.str(s)
	}
	meta.u32(uint32(len(p.warnings)))
	for _, w := range p.warnings {
		meta.str(w)
	}
	meta.u32(uint32(len(p.compiled)))
	meta.i32(id(p.ix.all))
	for _, bits := range [][]int{p.ix.bits4, p.ix.bits6} {
		meta.u32(uint32(len(bits)))
		for _, b := range bits {
			meta.u8(uint8(b))
		}
	}

	// Rules: an offset table, then one record each.
	var rules enc
	var blob enc
	for i, src := range sources {
		rules.u64(uint64(len(blob.b)))
		blob.record(func(r *enc) {
			r.u32(uint32(i)) // its own number: an offset that points elsewhere is damage
			r.u32(uint32(seen[p.rules[i].File]))
			r.u32(uint32(src.lineBase))
			r.bytes(src.text)
		})
	}
	rulesTable := len(rules.b)
	rules.b = append(rules.b, blob.b...)

	// Names: an open-addressed hash table of record offsets, in groups of
	// cacheGroup buckets with a CRC each, then the records.
	keys := make([]string, 0, len(p.ix.names))
	for k := range p.ix.names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	nb := 1
	for nb < 2*len(keys)+cacheGroup {
		nb <<= 1
	}
	buckets := make([]uint64, nb) // record offset + 1; 0 is empty
	var recs enc
	for _, k := range keys {
		n := p.ix.names[k]
		off := uint64(len(recs.b)) + 1
		recs.record(func(r *enc) {
			r.str(k)
			r.i32(id(n.exact))
			r.i32(id(n.one))
			r.i32(id(n.any))
			ports := make([]string, 0, len(n.ports))
			for port := range n.ports {
				ports = append(ports, port)
			}
			sort.Strings(ports)
			r.u16(uint16(len(ports)))
			for _, port := range ports {
				r.str(port)
				r.i32(id(n.ports[port]))
			}
		})
		for b := nameHash(k) & uint64(nb-1); ; b = (b + 1) & uint64(nb-1) {
			if buckets[b] == 0 {
				buckets[b] = off
				break
			}
		}
	}
	var names enc
	names.u32(uint32(nb))
	for g := 0; g < nb; g += cacheGroup {
		var grp enc
		for _, v := range buckets[g : g+cacheGroup] {
			grp.u64(v)
		}
		names.u32(crc32.Checksum(grp.b, castagnoli))
		names.b = append(names.b, grp.b...)
	}
	namesTable := len(names.b)
	names.b = append(names.b, recs.b...)

	// Networks: fixed-size records sorted by prefix, each with a CRC.
	prefixes := make([]netip.Prefix, 0, len(p.ix.cidr))
	for pf := range p.ix.cidr {
		prefixes = append(prefixes, pf)
	}
	sort.Slice(prefixes, func(i, j int) bool { return comparePrefix(prefixes[i], prefixes[j]) < 0 })
	var cidr enc
	cidr.u32(uint32(len(prefixes)))
	for _, pf := range prefixes {
		var r enc
		a := pf.Addr().As16()
		r.b = append(r.b, a[:]...)
		r.u8(uint8(pf.Bits()))
		if pf.Addr().Is4() {
			r.u8(4)
		} else {
			r.u8(6)
		}
		r.i32(id(p.ix.cidr[pf]))
		cidr.u32(crc32.Checksum(r.b, castagnoli))
		cidr.b = append(cidr.b, r.b...)
	}

	var out enc
	out.b = append(out.b, cacheMagic...)
	out.u32(cacheVersion)
	out.u32(crc32.Checksum(meta.b, castagnoli))
	header := len(out.b) + 4*8 + 2*8
	sections := [][]byte{meta.b, rules.b, names.b, cidr.b}
	off := header
	for _, s := range sections {
		out.u64(uint64(off))
		off += len(s)
	}
	out.u64(uint64(rulesTable))
	out.u64(uint64(namesTable))
	for _, s := range sections {
		out.b = append(out.b, s...)
	}
	return out.b, nil
}

// comparePrefix orders prefixes by address (as 16 bytes), then length,
// then family.
func comparePrefix(a, b netip.Prefix) int {
	aa, ba := a.Addr().As16(), b.Addr().As16()
	for i := range aa {
		if aa[i] != ba[i] {
			return int(aa[i]) - int(ba[i])
		}
	}
	if a.Bits() != b.Bits() {
		return a.Bits() - b.Bits()
	}
	if a.Addr().Is4() == b.Addr().Is4() {
		return 0
	}
	if a.Addr().Is4() {
		return -1
	}
	return 1
}

// errCacheDamaged is wrapped by the refusals of a damaged index.
var errCacheDamaged = errors.New("httptrust: the store's index is damaged")

// dec reads the index file, bounds-checked: any read past its end is
// recorded, and every value read after it is zero.
type dec struct {
	b   []byte
	off int
	bad bool
}

func (d *dec) take(n int) []byte {
	if d.bad || n < 0 || d.off+n > len(d.b) || d.off+n < d.off {
		d.bad = true
		return nil
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	return s
}
func (d *dec) u8() uint8 {
	if s := d.take(1); s != nil {
		return s[0]
	}
	return 0
}
func (d *dec) u16() uint16 {
	if s := d.take(2); s != nil {
		return binary.LittleEndian.Uint16(s)
	}
	return 0
}
func (d *dec) u32() uint32 {
	if s := d.take(4); s != nil {
		return binary.LittleEndian.Uint32(s)
	}
	return 0
}
func (d *dec) u64() uint64 {
	if s := d.take(8); s != nil {
		return binary.LittleEndian.Uint64(s)
	}
	return 0
}
func (d *dec) i32() int { return int(int32(d.u32())) }
func (d *dec) bytes() []byte {
	n := d.u32()
	return d.take(int(n))
}
func (d *dec) str() string { return string(d.bytes()) }

// record reads one record written by enc.record, checking its CRC.
func (d *dec) record() (*dec, bool) {
	sum := d.u32()
	body := d.bytes()
	// No record is empty: zeroed bytes (CRC 0, length 0) are damage.
	if d.bad || len(body) == 0 || crc32.Checksum(body, castagnoli) != sum {
		return nil, false
	}
	return &dec{b: body}, true
}

// cacheIndex is an open index: the meta decoded, the rest read on demand.
type cacheIndex struct {
	path       string // the index file
	data       []byte
	release    func()
	files      []string
	skipped    []string
	warnings   []string
	ruleCount  int
	all        int
	bits4      []int
	bits6      []int
	rules      []byte // the offset table, then the records
	rulesTable int
	names      []byte // the bucket groups, then the records
	namesTable int
	nb         int
	cidr       []byte
	ncidr      int

	mu       sync.Mutex
	compiled map[int]*compiled
	nodes    map[string]*nameNode
	nets     map[netip.Prefix]*entry
	damaged  atomic.Pointer[error]

	allOnce sync.Once
	allR    []*Rule
	allC    []*compiled
}

// openCache opens the index of the store at abs if it matches the store
// exactly; ok is false when there is none or it does not match.
func openCache(cacheDir, abs string, d *safefs.DirFS, opts *Options) (ci *cacheIndex, ok bool) {
	name := cachePath(cacheDir, abs)
	// Only whoever could change the store may have written its index: its
	// owner (or root). Another user's index, such as a service user's own
	// index of a store that root keeps, decides nothing.
	storeInfo, err := d.Stat(".")
	if err != nil {
		return nil, false
	}
	storeOwner, ok1 := ownerOf(storeInfo)
	data, indexInfo, release, err := mapFile(name)
	if err != nil {
		return nil, false
	}
	indexOwner, _ := ownerOf(indexInfo)
	defer func() {
		if r := recover(); r != nil { // the file changed under its mapping
			ci, ok = nil, false
		}
		if !ok {
			release()
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if !ok1 || (indexOwner != storeOwner && indexOwner != 0) {
		return nil, false
	}
	h := &dec{b: data}
	if string(h.take(len(cacheMagic))) != cacheMagic || h.u32() != cacheVersion {
		return nil, false
	}
	metaSum := h.u32()
	var offs [4]int
	for i := range offs {
		offs[i] = int(h.u64())
	}
	rulesTable, namesTable := int(h.u64()), int(h.u64())
	if h.bad {
		return nil, false
	}
	section := func(i int) []byte {
		end := len(data)
		if i+1 < len(offs) {
			end = offs[i+1]
		}
		if offs[i] < h.off || offs[i] > end || end > len(data) {
			return nil
		}
		return data[offs[i]:end]
	}
	metaB := section(0)
	if metaB == nil || crc32.Checksum(metaB, castagnoli) != metaSum {
		return nil, false
	}
	m := &dec{b: metaB}
	if m.str() != abs || m.str() != buildID() {
		return nil, false
	}
	n := int(m.u32())
	if m.bad || n > len(metaB) {
		return nil, false
	}
	stamps := make([]stamp, n)
	for i := range stamps {
		s := &stamps[i]
		s.name = m.str()
		s.present = m.u8() == 1
		s.dev, s.ino = m.u64(), m.u64()
		s.size, s.mtime, s.ctime = int64(m.u64()), int64(m.u64()), int64(m.u64())
		s.mode = m.u32()
	}
	ci = &cacheIndex{path: name, data: data, release: release, rulesTable: rulesTable, namesTable: namesTable}
	readStrs := func() []string {
		k := int(m.u32())
		if m.bad || k > len(metaB) {
			m.bad = true
			return nil
		}
		out := make([]string, k)
		for i := range out {
			out[i] = m.str()
		}
		return out
	}
	ci.files, ci.skipped, ci.warnings = readStrs(), readStrs(), readStrs()
	ci.ruleCount = int(m.u32())
	ci.all = m.i32()
	for _, bits := range []*[]int{&ci.bits4, &ci.bits6} {
		k := int(m.u32())
		if k > 129 {
			return nil, false
		}
		for j := 0; j < k; j++ {
			*bits = append(*bits, int(m.u8()))
		}
	}
	if m.bad {
		return nil, false
	}
	ci.rules, ci.names, ci.cidr = section(1), section(2), section(3)
	if ci.rules == nil || ci.names == nil || ci.cidr == nil || rulesTable != 8*ci.ruleCount || rulesTable > len(ci.rules) {
		return nil, false
	}
	nd := &dec{b: ci.names}
	ci.nb = int(nd.u32())
	if nd.bad || ci.nb == 0 || ci.nb&(ci.nb-1) != 0 || ci.nb%cacheGroup != 0 || 4+ci.nb/cacheGroup*(4+8*cacheGroup) != namesTable || namesTable > len(ci.names) {
		return nil, false
	}
	cd := &dec{b: ci.cidr}
	ci.ncidr = int(cd.u32())
	if cd.bad || len(ci.cidr) != 4+ci.ncidr*26 {
		return nil, false
	}
	root, _ := osStamp(storeInfo)
	if !storeCurrent(d, abs, name, indexIdentity(indexInfo, metaSum), root, storeOwner, stamps, opts) {
		return nil, false
	}
	ci.compiled, ci.nodes, ci.nets = map[int]*compiled{}, map[string]*nameNode{}, map[netip.Prefix]*entry{}
	return ci, true
}

// fail records that the index is damaged: from now on every host fails
// closed.
func (ci *cacheIndex) fail(what string) {
	err := fmt.Errorf("%w (%s): it is removed, and the next load reads the whole store", errCacheDamaged, what)
	if ci.damaged.CompareAndSwap(nil, &err) {
		os.Remove(ci.path)
	}
}

// guard runs a read of the mapped index: a fault (the file truncated
// under the mapping) or any panic of a damaged index's decoding is
// damage, and fails the hosts closed.
func (ci *cacheIndex) guard(what string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			ci.fail(what + " cannot be read")
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	f()
}

var buildOnce struct {
	once sync.Once
	id   string
}

// buildID names the program that writes or reads an index: its module
// versions and VCS state, and the executable file itself (a rebuild is a
// new file), so that an index is only ever read by the code that wrote
// it: another build may judge rules otherwise.
func buildID() string {
	buildOnce.once.Do(func() {
		var b strings.Builder
		fmt.Fprintf(&b, "index %d", cacheVersion)
		if bi, ok := debug.ReadBuildInfo(); ok {
			fmt.Fprintf(&b, "|%s|%s %s %s", bi.GoVersion, bi.Path, bi.Main.Path, bi.Main.Version)
			for _, dep := range bi.Deps {
				fmt.Fprintf(&b, "|%s %s %s", dep.Path, dep.Version, dep.Sum)
			}
			for _, s := range bi.Settings {
				if strings.HasPrefix(s.Key, "vcs.") {
					fmt.Fprintf(&b, "|%s=%s", s.Key, s.Value)
				}
			}
		}
		if exe, err := os.Executable(); err == nil {
			if st, err := os.Stat(exe); err == nil {
				if s, ok := osStamp(st); ok {
					fmt.Fprintf(&b, "|%s %d %d %d %d", exe, s.dev, s.ino, s.size, s.mtime)
				}
			}
		}
		sum := sha256.Sum256([]byte(b.String()))
		buildOnce.id = hex.EncodeToString(sum[:])
	})
	return buildOnce.id
}

func (ci *cacheIndex) err() error {
	if e := ci.damaged.Load(); e != nil {
		return *e
	}
	return nil
}

// rule returns rule i, parsed and compiled once.
func (ci *cacheIndex) rule(i int) *compiled {
	if i < 0 {
		return nil
	}
	ci.mu.Lock()
	c, ok := ci.compiled[i]
	ci.mu.Unlock()
	if ok {
		return c
	}
	ci.guard("a rule", func() { c = ci.decodeRule(i) })
	if c == nil {
		return nil
	}
	ci.mu.Lock()
	defer ci.mu.Unlock()
	if old, ok := ci.compiled[i]; ok {
		return old
	}
	ci.compiled[i] = c
	return c
}

func (ci *cacheIndex) decodeRule(i int) *compiled {
	if i >= ci.ruleCount {
		ci.fail("a rule number out of range")
		return nil
	}
	off := int(binary.LittleEndian.Uint64(ci.rules[8*i:]))
	d := &dec{b: ci.rules[ci.rulesTable:]}
	if off < 0 || off > len(d.b) {
		ci.fail("a rule out of range")
		return nil
	}
	d.off = off
	r, ok := d.record()
	if !ok {
		ci.fail(fmt.Sprintf("rule %d", i))
		return nil
	}
	self, fileIdx, lineBase, text := int(r.u32()), int(r.u32()), int(r.u32()), r.bytes()
	if r.bad || self != i || fileIdx >= len(ci.files) {
		ci.fail(fmt.Sprintf("rule %d", i))
		return nil
	}
	rules, err := ParseRuleFile(ci.files[fileIdx], text)
	if err != nil || len(rules) != 1 {
		ci.fail(fmt.Sprintf("rule %d does not parse", i))
		return nil
	}
	rule := &rules[0]
	rule.Line += lineBase
	for j := range rule.lines {
		rule.lines[j].line += lineBase
	}
	c, err := compile(rule, false)
	if err != nil {
		ci.fail(fmt.Sprintf("rule %d does not compile", i))
		return nil
	}
	return c
}

// entryOf makes the index entry of rule i for the pattern that matches
// keep.
func (ci *cacheIndex) entryOf(i int, keep func(Pattern) bool) *entry {
	c := ci.rule(i)
	if c == nil {
		return nil
	}
	for _, p := range c.patterns {
		if keep(p) {
			return &entry{pattern: p, rule: c}
		}
	}
	ci.fail(fmt.Sprintf("rule %d lacks its pattern", i))
	return nil
}

// node returns what the index knows of name, or nil.
func (ci *cacheIndex) node(name string) *nameNode {
	return memo(ci, ci.nodes, name, "a name", ci.findNode)
}

// memo returns m[key], found with find (under the index's fault guard,
// what says what is read) the first time and kept: the first found wins
// when two goroutines look at once.
func memo[K comparable, V any](ci *cacheIndex, m map[K]V, key K, what string, find func(K) V) V {
	ci.mu.Lock()
	v, ok := m[key]
	ci.mu.Unlock()
	if ok {
		return v
	}
	ci.guard(what, func() { v = find(key) })
	ci.mu.Lock()
	defer ci.mu.Unlock()
	if old, ok := m[key]; ok {
		return old
	}
	m[key] = v
	return v
}

func (ci *cacheIndex) findNode(name string) *nameNode {
	mask := uint64(ci.nb - 1)
	groupSize := 4 + 8*cacheGroup
	checked := -1
	start := nameHash(name) & mask
	for probes, b := 0, start; probes < ci.nb; probes, b = probes+1, (b+1)&mask {
		g := int(b) / cacheGroup
		grp := ci.names[4+g*groupSize : 4+(g+1)*groupSize]
		if g != checked {
			if crc32.Checksum(grp[4:], castagnoli) != binary.LittleEndian.Uint32(grp) {
				ci.fail("a group of names")
				return nil
			}
			checked = g
		}
		v := binary.LittleEndian.Uint64(grp[4+8*(int(b)%cacheGroup):])
		if v == 0 {
			return nil
		}
		d := &dec{b: ci.names[ci.namesTable:]}
		if v-1 > uint64(len(d.b)) {
			ci.fail("a name out of range")
			return nil
		}
		d.off = int(v - 1)
		r, ok := d.record()
		if !ok {
			ci.fail("a name record")
			return nil
		}
		if r.str() != name {
			continue
		}
		return ci.decodeNode(name, r)
	}
	return nil
}

func (ci *cacheIndex) decodeNode(name string, r *dec) *nameNode {
	exact, one, anyDepth := r.i32(), r.i32(), r.i32()
	n := &nameNode{}
	if exact >= 0 {
		n.exact = ci.entryOf(exact, func(p Pattern) bool { return p.IsExact() && p.Host == name && p.Port == "" })
	}
	if one >= 0 {
		n.one = ci.entryOf(one, func(p Pattern) bool { return p.Kind == PatternOneLabel && p.Host == name })
	}
	if anyDepth >= 0 {
		n.any = ci.entryOf(anyDepth, func(p Pattern) bool { return p.Kind == PatternAnyDepth && p.Host == name })
	}
	for k := int(r.u16()); k > 0 && !r.bad; k-- {
		port, id := r.str(), r.i32()
		if n.ports == nil {
			n.ports = map[string]*entry{}
		}
		n.ports[port] = ci.entryOf(id, func(p Pattern) bool { return p.IsExact() && p.Host == name && p.Port == port })
	}
	if r.bad {
		ci.fail("a name record")
		return nil
	}
	return n
}

// network returns the entry of the rule for prefix, or nil.
func (ci *cacheIndex) network(pf netip.Prefix) *entry {
	return memo(ci, ci.nets, pf, "a network", ci.findNetwork)
}

func (ci *cacheIndex) findNetwork(pf netip.Prefix) *entry {
	at := func(i int) ([]byte, bool) {
		rec := ci.cidr[4+26*i : 4+26*(i+1)]
		return rec[4:], crc32.Checksum(rec[4:], castagnoli) == binary.LittleEndian.Uint32(rec)
	}
	prefixOf := func(body []byte) netip.Prefix {
		var a [16]byte
		copy(a[:], body[:16])
		addr := netip.AddrFrom16(a)
		if body[17] == 4 {
			addr = addr.Unmap()
		}
		return netip.PrefixFrom(addr, int(body[16]))
	}
	var damaged bool
	i := sort.Search(ci.ncidr, func(i int) bool {
		body, ok := at(i)
		if !ok {
			damaged = true
			return true
		}
		return comparePrefix(prefixOf(body), pf) >= 0
	})
	if damaged {
		ci.fail("a network record")
		return nil
	}
	if i >= ci.ncidr {
		return nil
	}
	body, _ := at(i)
	if prefixOf(body) != pf {
		return nil
	}
	id := int(int32(binary.LittleEndian.Uint32(body[18:])))
	return ci.entryOf(id, func(p Pattern) bool { return p.Kind == PatternCIDR && p.Prefix == pf })
}

// allRules parses every rule, once, in order: for what needs them all
// (Rules, PinSets, Validate).
func (ci *cacheIndex) allRules() ([]*Rule, []*compiled) {
	ci.allOnce.Do(func() {
		ci.allR = make([]*Rule, 0, ci.ruleCount)
		ci.allC = make([]*compiled, 0, ci.ruleCount)
		for i := 0; i < ci.ruleCount; i++ {
			if c := ci.rule(i); c != nil {
				ci.allR, ci.allC = append(ci.allR, c.rule), append(ci.allC, c)
			}
		}
	})
	return ci.allR, ci.allC
}
