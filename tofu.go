package httptrust

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
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

// A TOFUStore keeps first-use records, the known_hosts of HTTPS. Record
// must be atomic against other writers, including other processes: when
// two first contacts race, exactly one record wins and Record returns it to
// the other, which then fails as a changed certificate if the keys differ.
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

// ErrFirstUseRefused is wrapped when Options.OnFirstUse refuses a key.
var ErrFirstUseRefused = errors.New("httptrust: first use refused")

// verifyTOFU accepts the leaf when its key is the one recorded for this
// host:port, or records it on first contact. The key's continuity is the
// trust: the chain, name and validity are not judged.
func (v *verifier) verifyTOFU(presented []*x509.Certificate, now time.Time) ([][]*x509.Certificate, *VerifyError) {
	store := v.p.opts.TOFU
	if store == nil {
		return nil, v.fail(ReasonBadConfig, presented, "the rule asks for trust on first use (tofu) but no record store is configured (Options.TOFU)", nil)
	}
	leaf := presented[0]
	port := v.port
	if port == "" {
		port = "443"
	}
	seen := TOFURecord{HostPort: net.JoinHostPort(v.host, port), Pin: certs.SPKIPin(leaf),
		CertSHA: certs.CertFingerprint(leaf), FirstSeen: now, LastSeen: now, NotAfter: leaf.NotAfter}
	old, ok, err := store.Lookup(seen.HostPort)
	if err != nil {
		return nil, v.fail(ReasonBadConfig, presented, fmt.Sprintf("first-use records cannot be read: %v", err), err)
	}
	if ok && old.Pin != seen.Pin {
		return nil, v.tofuChanged(presented, old)
	}
	if !ok && v.p.opts.OnFirstUse != nil {
		if err := v.p.opts.OnFirstUse(seen, presented); err != nil {
			return nil, v.fail(ReasonSelfSigned, presented, fmt.Sprintf("first contact with %s refused: %v", seen.HostPort, err), fmt.Errorf("%w: %w", ErrFirstUseRefused, err))
		}
	}
	if ok && old.CertSHA == seen.CertSHA && now.Sub(old.LastSeen) < time.Hour {
		return [][]*x509.Certificate{{leaf}}, nil // nothing worth a write
	}
	stored, err := store.Record(seen)
	if err != nil {
		return nil, v.fail(ReasonBadConfig, presented, fmt.Sprintf("first-use record cannot be written: %v", err), err)
	}
	if stored.Pin != seen.Pin {
		return nil, v.tofuChanged(presented, stored) // another writer won the first contact
	}
	return [][]*x509.Certificate{{leaf}}, nil
}

func (v *verifier) tofuChanged(presented []*x509.Certificate, old TOFURecord) *VerifyError {
	e := v.fail(ReasonCertificateChanged, presented, fmt.Sprintf(
		"the key of %s changed since first use: first seen %s with key %s (certificate %s); now key %s (certificate %s)",
		old.HostPort, old.FirstSeen.UTC().Format(time.RFC3339), old.Pin, old.CertSHA,
		certs.SPKIPin(presented[0]), certs.CertFingerprint(presented[0])), nil)
	e.ExpectedPins, e.SeenPins = []certs.Pin{old.Pin}, []certs.Pin{certs.SPKIPin(presented[0])}
	e.Fix = fmt.Sprintf("if the change is expected, forget the old key and accept the new one with a fingerprint obtained out of band (from the device or its operator, not from this connection): httptrust trust forget %s, then httptrust fetch --fingerprint <SHA-256 obtained out of band> %s",
		old.HostPort, e.URL())
	return e
}
