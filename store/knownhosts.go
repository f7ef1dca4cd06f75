package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/atomicfile"
	"github.com/httptrust/httptrust/internal/safefs"
)

// KnownHostsDir is the store's folder of trust-on-first-use records. The
// records are spread over up to 65,536 files, named by the first four hex
// digits of the SHA-256 of their "host:port" in 256 folders of 256
// (KnownHostsFileFor: known_hosts.d/3f/a2), one line a record, so that a
// lookup or a new record reads and rewrites one small file however many
// hosts the store knows: about fifteen records at a million hosts. They are
// plain text, readable and greppable: grep -r nas.local
// managed/known_hosts.d.
const KnownHostsDir = httptrust.ManagedDir + "/known_hosts.d"

// LegacyKnownHostsFile is where records were kept in one file before
// KnownHostsDir. It is still read, and its records are moved into
// KnownHostsDir by the next write, under the store's lock.
const LegacyKnownHostsFile = httptrust.ManagedDir + "/known_hosts"

const knownHostsHeader = "# httptrust known hosts: trust-on-first-use records, written by httptrust.\n" +
	"# host:port  spki-pin  certificate-sha256  first-seen  last-seen  certificate-not-after\n"

// maxKnownHostsFile bounds one file of records (a few hundred records at a
// million hosts); maxLegacyKnownHosts bounds the legacy file, read only to
// be moved.
const (
	maxKnownHostsFile   = 16 << 20
	maxLegacyKnownHosts = 1 << 30
)

// KnownHosts is the store's first-use records; it implements
// httptrust.TOFUStore. Records are written under the store's lock, so two
// processes recording at once lose nothing, and two racing first contacts
// end with one record. Each write rewrites, atomically, the one file that
// holds the record.
type KnownHosts struct {
	s *Store
}

// KnownHosts returns the store's first-use records.
func (s *Store) KnownHosts() *KnownHosts { return &KnownHosts{s: s} }

// KnownHostsFileFor returns the file of the store, relative to its folder,
// that holds the record of hostport (a normalised "host:port").
func KnownHostsFileFor(hostport string) string {
	sum := sha256.Sum256([]byte(hostport))
	return fmt.Sprintf("%s/%02x/%02x", KnownHostsDir, sum[0], sum[1])
}

func (k *KnownHosts) abs(name string) string { return filepath.Join(k.s.Dir, filepath.FromSlash(name)) }

// readFile reads one file of records through the store's guard: a file,
// or a folder above it, that another user may write or owns is an error
// (wrapping httptrust.ErrWritableByOthers or httptrust.ErrOwnedByOther) on
// every read and so before every write, never "no record". A missing file
// holds no record; the folders on the way to it are still checked:
// another user could otherwise plant one.
func (k *KnownHosts) readFile(name string, max int64) ([]byte, bool, error) {
	return readGuarded(safefs.Dir(k.s.Dir), name, max)
}

// readGuarded is readFile through d, a guard of the store folder that
// one operation shares: the folders its files have in common are checked
// once for it (and again by the next operation).
func readGuarded(d *safefs.DirFS, name string, max int64) ([]byte, bool, error) {
	data, err := safefs.ReadFile(d, name, max)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: %s: %w", name, err)
	}
	return data, true, nil
}

// legacyStub is what the legacy file holds once its records have moved:
// versions before KnownHostsDir read it as a damaged file and refuse the
// store, rather than take every host for a first contact.
const legacyStub = "# httptrust: the first-use records are in managed/known_hosts.d now.\n" +
	"# This line makes versions that kept them here refuse the store instead of\n" +
	"# taking every host for a first contact:\n" +
	"moved-to-known_hosts.d\n"

// legacy reads the legacy file's records; nil when there is none (or only
// the stub a move leaves).
func (k *KnownHosts) legacy() (map[string]httptrust.TOFURecord, error) {
	return k.legacyIn(safefs.Dir(k.s.Dir))
}

func (k *KnownHosts) legacyIn(d *safefs.DirFS) (map[string]httptrust.TOFURecord, error) {
	data, ok, err := readGuarded(d, LegacyKnownHostsFile, maxLegacyKnownHosts)
	if err != nil || !ok || string(data) == legacyStub {
		return nil, err
	}
	return ParseKnownHosts(LegacyKnownHostsFile, data)
}

// Lookup implements httptrust.TOFUStore. A damaged file is an error
// (treating it as empty would trust an attacker): the host's file of
// records must hold at least one record, each line the six fields of a
// record of a host:port that belongs in that file, and the host's own
// record once at most and whole.
func (k *KnownHosts) Lookup(hostport string) (httptrust.TOFURecord, bool, error) {
	// The legacy file first: a move writes the files of records, then
	// empties it, so a record is always found in one or the other.
	d := safefs.Dir(k.s.Dir)
	old, err := k.legacyIn(d)
	if err != nil {
		return httptrust.TOFURecord{}, false, err
	}
	name := KnownHostsFileFor(hostport)
	data, exists, err := readGuarded(d, name, maxKnownHostsFile)
	if err != nil {
		return httptrust.TOFURecord{}, false, err
	}
	rec, ok, err := findRecord(name, data, hostport)
	if err != nil {
		return httptrust.TOFURecord{}, false, err
	}
	if exists && !ok && !holdsRecords(data) {
		return httptrust.TOFURecord{}, false, emptyFile(name)
	}
	if !ok {
		rec, ok = old[hostport]
	}
	return rec, ok, nil
}

// holdsRecords reports whether a file of records has a line that is not a
// comment.
func holdsRecords(data []byte) bool {
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		if line = bytes.TrimSpace(line); len(line) > 0 && line[0] != '#' {
			return true
		}
	}
	return false
}

func emptyFile(name string) error {
	return fmt.Errorf("store: %s: a file of first-use records with no record (httptrust removes the file with its last record): it was emptied or cut short; restore it, or remove it to forget the records it held", name)
}

// findRecord finds the record of hostport in a file of records, parsing
// that line only; every other line must still have the six fields of a
// record, of a host:port that belongs in this file, and hostport may have
// one line only.
func findRecord(name string, data []byte, hostport string) (httptrust.TOFURecord, bool, error) {
	var found httptrust.TOFURecord
	ok := false
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		host := line
		if i := bytes.IndexAny(line, " \t\v\f\r"); i >= 0 {
			host = line[:i]
		}
		if string(host) != hostport {
			if bytes.Count(line, space) != 5 || bytes.IndexByte(line, '\t') >= 0 {
				if fields := countFields(line); fields != 6 {
					return httptrust.TOFURecord{}, false, damaged(name, n, fmt.Errorf("%d fields, want 6", fields))
				}
			}
			// A record changed by a bit, or put here by hand, belongs in
			// another file: where it is, its host would find no record.
			if want := KnownHostsFileFor(string(host)); want != name {
				return httptrust.TOFURecord{}, false, fmt.Errorf("store: %s:%d: the record of %s belongs in %s, where httptrust looks for it: the line was changed, or moved here by hand; fix or move it", name, n, host, want)
			}
			continue
		}
		if ok {
			return httptrust.TOFURecord{}, false, fmt.Errorf("store: %s:%d: a second record for %s", name, n, hostport)
		}
		r, err := parseRecord(string(line))
		if err != nil {
			return httptrust.TOFURecord{}, false, damaged(name, n, err)
		}
		found, ok = r, true
	}
	return found, ok, nil
}

var space = []byte{' '}

// countFields counts the fields of line as strings.Fields would, without
// allocating.
func countFields(line []byte) int {
	n, in := 0, false
	for _, c := range line {
		space := c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
		if !space && !in {
			n++
		}
		in = !space
	}
	return n
}

func damaged(name string, line int, err error) error {
	return fmt.Errorf("store: %s:%d: damaged first-use record: %v; fix or remove the line (httptrust trust forget HOST:PORT)", name, line, err)
}

// Record implements httptrust.TOFUStore.
func (k *KnownHosts) Record(rec httptrust.TOFURecord) (httptrust.TOFURecord, error) {
	var stored httptrust.TOFURecord
	err := k.update(rec.HostPort, func(recs map[string]httptrust.TOFURecord) error {
		stored = httptrust.MergeTOFU(recs, rec)
		return nil
	})
	return stored, err
}

// Replace sets the record of rec.HostPort to rec, whatever key was
// recorded before: a deliberate change of key, checked by the caller
// against a fingerprint obtained out of band. It is one write under the
// store's lock, so no first contact can slip in between a forget and a
// record.
func (k *KnownHosts) Replace(rec httptrust.TOFURecord) error {
	return k.update(rec.HostPort, func(recs map[string]httptrust.TOFURecord) error {
		if old, ok := recs[rec.HostPort]; ok && old.Pin != rec.Pin {
			rec.FirstSeen = rec.LastSeen
		}
		recs[rec.HostPort] = rec
		return nil
	})
}

// Forget removes the record of hostport ("host:port"; a bare host means
// port 443). It returns ErrNotFound when there is none.
func (k *KnownHosts) Forget(hostport string) error {
	hp, err := normHostPort(hostport)
	if err != nil {
		return err
	}
	return k.update(hp, func(recs map[string]httptrust.TOFURecord) error {
		if _, ok := recs[hp]; !ok {
			return notFound("store: no first-use record for %s in %s", hp, KnownHostsFileFor(hp))
		}
		delete(recs, hp)
		return nil
	})
}

// List returns every record, sorted by host:port.
func (k *KnownHosts) List() ([]httptrust.TOFURecord, error) {
	all, err := k.legacy()
	if err != nil {
		return nil, err
	}
	if all == nil {
		all = map[string]httptrust.TOFURecord{}
	}
	names, err := k.files()
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		recs, err := k.readShard(name)
		if err != nil {
			return nil, err
		}
		for hp, r := range recs {
			all[hp] = r
		}
	}
	out := make([]httptrust.TOFURecord, 0, len(all))
	for _, r := range all {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].HostPort < out[j].HostPort })
	return out, nil
}

// files lists the files of KnownHostsDir, as store paths. Anything else in
// the folder is an error: a record there would never be found.
func (k *KnownHosts) files() ([]string, error) {
	var names []string
	tops, err := k.entries(KnownHostsDir)
	if err != nil {
		return nil, err
	}
	for _, top := range tops {
		if !top.IsDir() || !isShardName(top.Name()) {
			return nil, stranger(KnownHostsDir + "/" + top.Name())
		}
		dir := KnownHostsDir + "/" + top.Name()
		leaves, err := k.entries(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range leaves {
			if e.IsDir() || !isShardName(e.Name()) {
				return nil, stranger(dir + "/" + e.Name())
			}
			names = append(names, dir+"/"+e.Name())
		}
	}
	return names, nil
}

// entries lists a folder of KnownHostsDir, without the temporary files of
// writers (their names start with ".").
func (k *KnownHosts) entries(dir string) ([]fs.DirEntry, error) {
	all, err := os.ReadDir(k.abs(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	out := all[:0]
	for _, e := range all {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e)
		}
	}
	return out, nil
}

func stranger(name string) error {
	return fmt.Errorf("store: %s: not a file of first-use records (they are %s/XX/YY, two hex digits each); move it out of %s", name, KnownHostsDir, KnownHostsDir)
}

func isShardName(s string) bool {
	if len(s) != 2 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// readShard parses one file of records in full, checking that each record
// is in the file its host:port belongs to.
func (k *KnownHosts) readShard(name string) (map[string]httptrust.TOFURecord, error) {
	data, exists, err := k.readFile(name, maxKnownHostsFile)
	if err != nil {
		return nil, err
	}
	recs, err := ParseKnownHosts(name, data)
	if err != nil {
		return nil, err
	}
	if exists && len(recs) == 0 {
		return nil, emptyFile(name)
	}
	for hp := range recs {
		if want := KnownHostsFileFor(hp); want != name {
			return nil, fmt.Errorf("store: %s: the record of %s belongs in %s, where httptrust looks for it; move the line there", name, hp, want)
		}
	}
	return recs, nil
}

// update applies f to the records of the file that holds hostport's, and
// writes that file back, under the store's lock. The legacy file's records
// are moved into KnownHostsDir first.
func (k *KnownHosts) update(hostport string, f func(map[string]httptrust.TOFURecord) error) error {
	l, err := k.s.lock(context.Background())
	if err != nil {
		return err
	}
	defer l.Unlock()
	if err := k.migrate(); err != nil {
		return err
	}
	name := KnownHostsFileFor(hostport)
	recs, err := k.readShard(name)
	if err != nil {
		return err
	}
	if err := f(recs); err != nil {
		return err
	}
	return k.writeShard(name, recs)
}

func (k *KnownHosts) writeShard(name string, recs map[string]httptrust.TOFURecord) error {
	return k.writeShardSync(name, recs, true)
}

func (k *KnownHosts) writeShardSync(name string, recs map[string]httptrust.TOFURecord, sync bool) error {
	p := k.abs(name)
	if len(recs) == 0 {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: %w", err)
		}
		os.Remove(filepath.Dir(p)) // the folder too, once empty
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	write := atomicfile.WriteFile
	if !sync {
		write = atomicfile.WriteFileUnsynced
	}
	if err := write(p, EncodeKnownHosts(recs), 0o644); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Migrate moves the records of the single file of earlier versions
// (LegacyKnownHostsFile) into KnownHostsDir now, under the store's lock;
// the next write does it anyway. Until then every lookup also reads the
// single file whole.
func (k *KnownHosts) Migrate() error {
	l, err := k.s.lock(context.Background())
	if err != nil {
		return err
	}
	defer l.Unlock()
	return k.migrate()
}

// migrate moves the legacy file's records into KnownHostsDir, under the
// lock: each file of records is written with the legacy records it lacks
// (a record already moved is newer), the file system is synced once, then
// the legacy file is replaced by legacyStub. A move cut short is finished
// by the next write; nothing is lost at any point.
func (k *KnownHosts) migrate() error {
	old, err := k.legacy()
	if err != nil || old == nil {
		return err
	}
	byFile := map[string]map[string]httptrust.TOFURecord{}
	for hp, r := range old {
		name := KnownHostsFileFor(hp)
		if byFile[name] == nil {
			byFile[name] = map[string]httptrust.TOFURecord{}
		}
		byFile[name][hp] = r
	}
	names := make([]string, 0, len(byFile))
	for name := range byFile {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		recs, err := k.readShard(name)
		if err != nil {
			return err
		}
		changed := false
		for hp, r := range byFile[name] {
			if _, ok := recs[hp]; !ok {
				recs[hp], changed = r, true
			}
		}
		if changed {
			if err := k.writeShardSync(name, recs, false); err != nil {
				return err
			}
		}
	}
	// Every record is in its file, durably, before the old file goes.
	if err := atomicfile.SyncFS(k.abs(KnownHostsDir)); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := atomicfile.WriteFile(k.abs(LegacyKnownHostsFile), []byte(legacyStub), 0o644); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func normHostPort(s string) (string, error) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		h, p = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), "443"
	}
	n, err := httptrust.NormalizeHost(h)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(n, p), nil
}

// EncodeKnownHosts writes records, one line each, sorted.
func EncodeKnownHosts(recs map[string]httptrust.TOFURecord) []byte {
	keys := make([]string, 0, len(recs))
	for k := range recs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString(knownHostsHeader)
	for _, k := range keys {
		r := recs[k]
		fmt.Fprintf(&b, "%s %s %s %s %s %s\n", r.HostPort, r.Pin, r.CertSHA,
			r.FirstSeen.UTC().Format(time.RFC3339), r.LastSeen.UTC().Format(time.RFC3339), r.NotAfter.UTC().Format(time.RFC3339))
	}
	return b.Bytes()
}

// ParseKnownHosts reads a known-hosts file. Any damaged line is an error
// naming the file and line.
func ParseKnownHosts(name string, data []byte) (map[string]httptrust.TOFURecord, error) {
	recs := map[string]httptrust.TOFURecord{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := parseRecord(line)
		if err != nil {
			return nil, fmt.Errorf("store: %s:%d: damaged first-use record: %v; fix or remove the line (httptrust trust forget HOST:PORT)", name, i+1, err)
		}
		if _, dup := recs[r.HostPort]; dup {
			return nil, fmt.Errorf("store: %s:%d: a second record for %s", name, i+1, r.HostPort)
		}
		recs[r.HostPort] = r
	}
	return recs, nil
}

func parseRecord(line string) (httptrust.TOFURecord, error) {
	f := strings.Fields(line)
	if len(f) != 6 {
		return httptrust.TOFURecord{}, fmt.Errorf("%d fields, want 6", len(f))
	}
	hp, err := normHostPort(f[0])
	if err != nil || hp != f[0] {
		return httptrust.TOFURecord{}, fmt.Errorf("%q is not a normalised host:port", f[0])
	}
	pin, err := certs.ParsePin(f[1])
	if err != nil {
		return httptrust.TOFURecord{}, err
	}
	fp, err := certs.ParseFingerprint(f[2])
	if err != nil {
		return httptrust.TOFURecord{}, err
	}
	first, err1 := time.Parse(time.RFC3339, f[3])
	last, err2 := time.Parse(time.RFC3339, f[4])
	notAfter, err3 := time.Parse(time.RFC3339, f[5])
	if err := errors.Join(err1, err2, err3); err != nil {
		return httptrust.TOFURecord{}, err
	}
	return httptrust.TOFURecord{HostPort: hp, Pin: pin, CertSHA: fp, FirstSeen: first, LastSeen: last, NotAfter: notAfter}, nil
}
