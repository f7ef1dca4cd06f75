package httptrust

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/httptrust/httptrust/certs"
)

// A TOFURecord is what trust on first use remembers of a host:port: the
// leaf's key (its SPKI pin), the certificate last seen, and when.
type TOFURecord struct {
	HostPort  string // "host:port", host normalised
	Pin       certs.Pin
	CertSHA   certs.Fingerprint
	FirstSeen time.Time
	LastSeen  time.Time
	NotAfter  time.Time // the recorded certificate's expiry
}

// A TOFUStore keeps first-use records, the known_hosts of HTTPS. Its
// methods are called from concurrent handshakes and must be safe for
// concurrent use. Record must be atomic against other writers, including
// other processes: when two first contacts race, exactly one record wins
// and Record returns it to the other, which then fails as a changed
// certificate if the keys differ.
type TOFUStore interface {
	// Lookup returns the record for hostport. A store that cannot be read
	// returns an error, never "no record": that would trust an attacker.
	Lookup(hostport string) (rec TOFURecord, ok bool, err error)
	// Record stores rec if there is no record for rec.HostPort yet, or
	// updates the existing one if it has the same Pin (a renewed
	// certificate with the same key). It returns the record now stored.
	Record(rec TOFURecord) (TOFURecord, error)
}

// MemoryTOFU is a TOFUStore in memory, for one process. The zero value is
// ready to use.
type MemoryTOFU struct {
	mu   sync.Mutex
	recs map[string]TOFURecord
}

// Lookup implements TOFUStore.
func (m *MemoryTOFU) Lookup(hostport string) (TOFURecord, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[hostport]
	return r, ok, nil
}

// Record implements TOFUStore.
func (m *MemoryTOFU) Record(rec TOFURecord) (TOFURecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs == nil {
		m.recs = map[string]TOFURecord{}
	}
	return MergeTOFU(m.recs, rec), nil
}

// MergeTOFU applies rec to recs as Record specifies and returns the record
// now stored: a new host:port is added; the same key updates the
// certificate and last-seen time; another key leaves the old record.
func MergeTOFU(recs map[string]TOFURecord, rec TOFURecord) TOFURecord {
	old, ok := recs[rec.HostPort]
	switch {
	case !ok:
		recs[rec.HostPort] = rec
		return rec
	case old.Pin == rec.Pin:
		old.CertSHA, old.NotAfter = rec.CertSHA, rec.NotAfter
		if rec.LastSeen.After(old.LastSeen) {
			old.LastSeen = rec.LastSeen
		}
		recs[rec.HostPort] = old
		return old
	}
	return old
}

// ReadOnlyTOFU returns a TOFUStore that answers from s and records
// nothing: Record returns the record s holds for the host:port, or rec as
// if it were written. It is for commands that only look (a diagnosis) and
// must not record a first use that no one asked for.
func ReadOnlyTOFU(s TOFUStore) TOFUStore { return readOnlyTOFU{s} }

type readOnlyTOFU struct{ TOFUStore }

func (r readOnlyTOFU) Record(rec TOFURecord) (TOFURecord, error) {
	old, ok, err := r.Lookup(rec.HostPort)
	if err != nil {
		return TOFURecord{}, err
	}
	if ok {
		return old, nil
	}
	return rec, nil
}

// ErrFirstUseRefused is wrapped when Options.OnFirstUse refuses a key.
var ErrFirstUseRefused = errors.New("httptrust: first use refused")

// checkTOFU accepts the leaf when its key is the one recorded for this
// host:port. On a first contact it records nothing: the record is written
// by commit once the handshake has completed, when the server has proved it
// holds the key. The key's continuity is the trust: the chain, name and
// validity are not judged.
func (v *verifier) checkTOFU(presented []*x509.Certificate, now time.Time, report bool) ([][]*x509.Certificate, *VerifyError) {
	store := v.p.opts.TOFU
	if store == nil {
		return nil, v.fail(ReasonBadConfig, presented, "the rule asks for trust on first use (tofu) but no record store is configured (Options.TOFU)", nil)
	}
	leaf := presented[0]
	seen := v.record(leaf, now)
	old, ok, err := store.Lookup(seen.HostPort)
	if err != nil {
		return nil, v.fail(ReasonBadConfig, presented, fmt.Sprintf("first-use records cannot be read: %v", err), err)
	}
	if ok && old.Pin != seen.Pin {
		return nil, v.tofuChanged(presented, old)
	}
	if !ok {
		switch v.mode {
		case modeBare:
			return nil, v.fail(ReasonBadConfig, presented, fmt.Sprintf(
				"first contact with %s under trust on first use: a bare tls.Config cannot see its handshake complete, so it records no key; connect through Policy.Client, Policy.Transport or Policy.DialTLSContext, or record the key first (httptrust fetch --tofu)", seen.HostPort), ErrFirstUseNotRecorded)
		case modeJudge:
			v.firstUse = &seen
		case modeDial:
			if v.p.opts.OnFirstUse != nil && report {
				if err := v.p.opts.OnFirstUse(seen, presented); err != nil {
					return nil, v.fail(ReasonFirstUseRefused, presented, fmt.Sprintf("first contact with %s refused: %v", seen.HostPort, err), fmt.Errorf("%w: %w", ErrFirstUseRefused, err))
				}
			}
		}
	}
	return [][]*x509.Certificate{{leaf}}, nil
}

// record is what trust on first use would remember of leaf at now.
func (v *verifier) record(leaf *x509.Certificate, now time.Time) TOFURecord {
	return TOFURecord{HostPort: hostPort(v.host, v.port), Pin: certs.SPKIPin(leaf),
		CertSHA: certs.CertFingerprint(leaf), FirstSeen: now, LastSeen: now, NotAfter: leaf.NotAfter}
}

// ErrFirstUseNotRecorded is wrapped when a bare tls.Config (TLSConfigFor)
// meets a first contact under trust on first use, which it cannot record.
var ErrFirstUseNotRecorded = errors.New("httptrust: first use not recorded")

// commit writes the first-use record of a connection whose handshake has
// completed (modeDial): a first contact, or the same key with a renewed
// certificate. When another writer recorded a different key first, the
// connection fails as a changed key, before anything is sent on it.
func (v *verifier) commit(cs tls.ConnectionState) error {
	if !v.eff.TOFU || len(cs.PeerCertificates) == 0 {
		return nil
	}
	store := v.p.opts.TOFU
	now := v.p.opts.Clock()
	presented := cs.PeerCertificates
	seen := v.record(presented[0], now)
	old, ok, err := store.Lookup(seen.HostPort)
	if err != nil {
		return v.p.refused(v.fail(ReasonBadConfig, presented, fmt.Sprintf("first-use records cannot be read: %v", err), err))
	}
	if ok && old.Pin == seen.Pin && old.CertSHA == seen.CertSHA && now.Sub(old.LastSeen) < time.Hour {
		return nil // nothing worth a write
	}
	stored, err := store.Record(seen)
	if err != nil {
		return v.p.refused(v.fail(ReasonBadConfig, presented, fmt.Sprintf("first-use record cannot be written: %v", err), err))
	}
	if stored.Pin != seen.Pin {
		return v.p.refused(v.tofuChanged(presented, stored)) // another writer won the first contact
	}
	return nil
}

func (v *verifier) tofuChanged(presented []*x509.Certificate, old TOFURecord) *VerifyError {
	e := v.fail(ReasonCertificateChanged, presented, fmt.Sprintf(
		"the key of %s changed since first use: first seen %s with key %s (certificate %s); now key %s (certificate %s)",
		old.HostPort, old.FirstSeen.UTC().Format(time.RFC3339), old.Pin, old.CertSHA,
		certs.SPKIPin(presented[0]), certs.CertFingerprint(presented[0])), nil)
	e.ExpectedPins, e.SeenPins = []certs.Pin{old.Pin}, []certs.Pin{certs.SPKIPin(presented[0])}
	rec := old
	e.FirstUse = &rec
	return e
}
