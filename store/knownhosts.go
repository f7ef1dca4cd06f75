package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/atomicfile"
	"github.com/httptrust/httptrust/internal/safefs"
)

// KnownHostsFile is the store's file of trust-on-first-use records.
const KnownHostsFile = httptrust.ManagedDir + "/known_hosts"

const knownHostsHeader = "# httptrust known hosts: trust-on-first-use records, written by httptrust.\n" +
	"# host:port  spki-pin  certificate-sha256  first-seen  last-seen  certificate-not-after\n"

// maxKnownHosts bounds the file.
const maxKnownHosts = 16 << 20

// KnownHosts is the store's first-use records; it implements
// httptrust.TOFUStore. Records are written under the store's lock, so two
// processes recording at once lose nothing, and two racing first contacts
// end with one record.
type KnownHosts struct {
	s *Store
}

// KnownHosts returns the store's first-use records.
func (s *Store) KnownHosts() *KnownHosts { return &KnownHosts{s: s} }

func (k *KnownHosts) path() string { return filepath.Join(k.s.Dir, filepath.FromSlash(KnownHostsFile)) }

// read parses the file; a missing file holds no record, a damaged one is an
// error (treating it as empty would trust an attacker). The file is guarded
// as the store's rule files are: a known_hosts, or a folder above it, that
// another user may write or owns is an error (wrapping
// httptrust.ErrWritableByOthers or httptrust.ErrOwnedByOther), on every
// read and so before every write, never an empty file. Without its file,
// managed/ is still checked: another user could otherwise plant one.
func (k *KnownHosts) read() (map[string]httptrust.TOFURecord, error) {
	data, err := safefs.ReadFile(safefs.Dir(k.s.Dir), KnownHostsFile, maxKnownHosts)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]httptrust.TOFURecord{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", KnownHostsFile, err)
	}
	return ParseKnownHosts(KnownHostsFile, data)
}

// Lookup implements httptrust.TOFUStore.
func (k *KnownHosts) Lookup(hostport string) (httptrust.TOFURecord, bool, error) {
	recs, err := k.read()
	if err != nil {
		return httptrust.TOFURecord{}, false, err
	}
	r, ok := recs[hostport]
	return r, ok, nil
}

// Record implements httptrust.TOFUStore.
func (k *KnownHosts) Record(rec httptrust.TOFURecord) (httptrust.TOFURecord, error) {
	var stored httptrust.TOFURecord
	err := k.update(func(recs map[string]httptrust.TOFURecord) error {
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
	return k.update(func(recs map[string]httptrust.TOFURecord) error {
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
	return k.update(func(recs map[string]httptrust.TOFURecord) error {
		if _, ok := recs[hp]; !ok {
			return notFound("store: no first-use record for %s in %s", hp, KnownHostsFile)
		}
		delete(recs, hp)
		return nil
	})
}

// List returns every record, sorted by host:port.
func (k *KnownHosts) List() ([]httptrust.TOFURecord, error) {
	recs, err := k.read()
	if err != nil {
		return nil, err
	}
	out := make([]httptrust.TOFURecord, 0, len(recs))
	for _, r := range recs {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].HostPort < out[j].HostPort })
	return out, nil
}

func (k *KnownHosts) update(f func(map[string]httptrust.TOFURecord) error) error {
	l, err := k.s.lock(context.Background())
	if err != nil {
		return err
	}
	defer l.Unlock()
	recs, err := k.read()
	if err != nil {
		return err
	}
	if err := f(recs); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(k.path(), EncodeKnownHosts(recs), 0o644); err != nil {
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
