package store

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/httptrust/httptrust"
)

// Kind says how certificates are trusted by a managed rule.
type Kind int

const (
	// Certificate trusts exact certificates (a self-signed device).
	Certificate Kind = iota
	// Anchor trusts CA certificates to issue for the rule's host.
	Anchor
)

func (k Kind) String() string {
	if k == Anchor {
		return "anchor"
	}
	return "certificate"
}

// Trust is what Add writes for one host pattern. Each field maps to the key
// of the rule file named beside it (see docs/rule-file.md); a zero field
// leaves the rule's value as it is.
type Trust struct {
	Pattern string
	// Kind says which list Certs go to: certificates or anchors.
	Kind  Kind
	Certs []*x509.Certificate
	// Intermediates (intermediates) help build chains and are never
	// trusted by themselves.
	Intermediates []*x509.Certificate

	Pins               []string  // pins, added to the rule's
	PinsExpire         time.Time // pins_expire
	Enforce            *bool     // enforce (false: report-only)
	SystemRoots        *bool     // system_roots
	TOFU               *bool     // tofu
	FetchIntermediates *bool     // fetch_intermediates
	AllowNameMismatch  bool      // allow_name_mismatch
	AllowExpired       bool      // allow_expired
	ServerName         string    // server_name
	MinTLS             string    // min_tls
	// Client (client_certificate and the rest) is a client identity,
	// copied into the store (mode 0600); it replaces the rule's.
	Client *ClientIdentity

	// LiftPins writes pins = [] (with no pins_expire or enforce): the rule
	// lifts the pins of wider rules, and drops its own.
	LiftPins bool

	// Replace writes the rule afresh instead of adding to it.
	Replace bool
	// ReplaceCerts makes Certs replace the rule's list of their Kind
	// (another certificate for the same service) instead of joining it.
	ReplaceCerts bool
}

// ClientIdentity is a client certificate to copy into the store: the
// bytes of its files, and where its password will come from (never the
// password itself).
type ClientIdentity struct {
	Cert   []byte // a PKCS#12 file, or the certificate (PEM, DER), perhaps with its key
	Key    []byte // the key file; nil when it is in Cert
	PKCS12 bool
	// PasswordEnv or PasswordFile (an absolute path) give the password of
	// a PKCS#12 file or an encrypted key.
	PasswordEnv, PasswordFile string
}

// empty reports whether t asks for nothing.
func (t *Trust) empty() bool {
	return len(t.Certs) == 0 && len(t.Intermediates) == 0 && len(t.Pins) == 0 && t.PinsExpire.IsZero() &&
		t.Enforce == nil && t.SystemRoots == nil && t.TOFU == nil && t.FetchIntermediates == nil &&
		!t.AllowNameMismatch && !t.AllowExpired && t.ServerName == "" && t.MinTLS == "" && t.Client == nil && !t.LiftPins
}

// Added says what Add did to one pattern's managed rule.
type Added struct {
	Pattern  string   // canonical pattern
	RuleFile string   // path inside the store
	Certs    []string // the certificate files of Trust.Certs and Intermediates, inside the store
	// New says there was no rule for the pattern before.
	New bool
	// Had is what the rule trusted and set before; Added what it gained;
	// Removed what it lost or had changed (by Replace, ReplaceCerts or a
	// new value for a field it set).
	Had, Added, Removed []Item
	// Replaced says Removed is not empty.
	Replaced bool
	// Unchanged says the rule already said all Trust says: nothing was
	// written.
	Unchanged bool
	// Renamed is the rule's former file, when an older version named it
	// otherwise; the rule is now in RuleFile.
	Renamed string
}

// Add adds t to the store's own rule for t.Pattern: lists (certificates,
// anchors, intermediates, pins) gain what they lack, and each field t sets
// takes its value; other fields are kept. With t.Replace the rule is written
// afresh. It refuses (*ConflictError) when a person's file has a rule for
// the pattern, and checks that the whole store still loads with the new
// rule before writing it.
func (s *Store) Add(ctx context.Context, t Trust) (*Added, error) {
	added, err := s.AddAll(ctx, []Trust{t})
	if err != nil {
		return nil, err
	}
	return added[0], nil
}

// AddAll adds each of ts, as Add does, checking every one (conflicts, and
// that the store loads with all of them) before it writes any: a refusal
// leaves the store as it was (except for the files a ConflictError says it
// saved for a person's rule).
func (s *Store) AddAll(ctx context.Context, ts []Trust) ([]*Added, error) {
	return s.add(ctx, ts, true)
}

// CanAdd runs the checks of AddAll and writes nothing.
func (s *Store) CanAdd(ctx context.Context, ts ...Trust) error {
	_, err := s.add(ctx, ts, false)
	return err
}

func (s *Store) add(ctx context.Context, ts []Trust, write bool) ([]*Added, error) {
	l, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	ed, err := s.edit()
	if err != nil {
		return nil, err
	}
	var out []*Added
	for _, t := range ts {
		a, err := ed.add(t, write)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if err := ed.checkLoads(); err != nil {
		return nil, err
	}
	if !write {
		return nil, nil
	}
	return out, ed.commit()
}

// add adds t to the edit.
func (ed *edit) add(t Trust, write bool) (*Added, error) {
	pat, err := httptrust.ParsePattern(t.Pattern)
	if err != nil {
		return nil, err
	}
	if t.empty() {
		return nil, fmt.Errorf("store: nothing to write for %s", pat)
	}
	f, r, err := ed.managed(pat, "add")
	var ce *ConflictError
	if errors.As(err, &ce) {
		return nil, ed.conflict(ce, t, r, write)
	}
	if err != nil {
		return nil, err
	}
	name := managedName(pat)
	b := ruleBody{pattern: pat.String()}
	if f != nil {
		b = bodyOf(pat.String(), r)
	}
	describe := ed.describer(httptrust.ManagedDir)
	before := b.items(describe)
	nf, err := b.apply(t, managedPlacement)
	if err != nil {
		return nil, err
	}
	a := &Added{Pattern: pat.String(), RuleFile: name, New: f == nil, Had: before}
	for _, n := range nf {
		if n.cert != nil {
			a.Certs = append(a.Certs, httptrust.ManagedDir+"/"+n.name)
		}
	}
	ed.addFiles(httptrust.ManagedDir, nf)
	after := b.items(describe)
	a.Added, a.Removed = diff(before, after)
	if t.Replace && f != nil {
		// Written afresh: all it had is replaced by all it has.
		a.Added, a.Removed = after, before
	}
	a.Replaced = len(a.Removed) > 0
	if f != nil && f.name != name {
		a.Renamed = f.name
	}
	if len(a.Added) == 0 && len(a.Removed) == 0 && a.Renamed == "" {
		a.Unchanged = true
		return a, nil
	}
	return a, ed.put(f, name, &b, describe)
}

// conflict completes the refusal to add t to a person's rule r: the lines
// that would say t in that rule, and the files they name, saved beside the
// rule file when write is set.
func (ed *edit) conflict(ce *ConflictError, t Trust, r *httptrust.Rule, write bool) error {
	b := bodyOf(ce.Pattern, r)
	before := map[string]string{}
	for _, f := range b.fields() {
		before[f.name] = f.value
	}
	nf, err := b.apply(t, placement{})
	if err != nil {
		return err
	}
	for _, f := range b.fields() {
		if before[f.name] != f.value {
			ce.Lines = append(ce.Lines, f.name+" = "+f.value)
		}
	}
	if !write {
		return ce
	}
	dir := dirOf(ce.File)
	saved, err := ed.s.saveBeside(dir, nf)
	ce.Saved = saved
	if err != nil {
		return fmt.Errorf("%w (and saving its files failed: %v)", ce, err)
	}
	return ce
}
