package store

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/atomicfile"
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

// Trust is what Add writes: one host pattern and how it is trusted.
type Trust struct {
	Pattern           string
	Kind              Kind
	Certs             []*x509.Certificate
	Pins              []string
	AllowNameMismatch bool
	AllowExpired      bool
	ServerName        string
	TOFU              bool
}

// Added says what Add wrote.
type Added struct {
	Pattern  string   // canonical pattern
	RuleFile string   // path inside the store
	Certs    []string // certificate files, inside the store
	Replaced bool     // an earlier managed rule for the pattern was replaced
}

// Add writes a managed rule for t.Pattern, replacing the store's own rule
// for that pattern if there is one. It refuses (*ConflictError) when a
// person's file has a rule for the pattern, and checks that the whole store
// still loads with the new rule before writing it.
func (s *Store) Add(ctx context.Context, t Trust) (*Added, error) {
	added, err := s.AddAll(ctx, []Trust{t})
	if err != nil {
		return nil, err
	}
	return added[0], nil
}

// AddAll writes a managed rule for each of ts, as Add does, checking every
// one (conflicts, and that the store loads with all of them) before it
// writes any: a refusal leaves the store as it was.
func (s *Store) AddAll(ctx context.Context, ts []Trust) ([]*Added, error) {
	return s.add(ctx, ts, true)
}

// CanAdd runs the checks of AddAll and writes nothing.
func (s *Store) CanAdd(ctx context.Context, ts ...Trust) error {
	_, err := s.add(ctx, ts, false)
	return err
}

// pending is one rule AddAll is about to write.
type pending struct {
	t     Trust
	name  string
	data  []byte
	added *Added
}

func (s *Store) add(ctx context.Context, ts []Trust, write bool) ([]*Added, error) {
	l, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	files, err := s.readRules()
	if err != nil {
		return nil, err
	}
	var todo []pending
	for _, t := range ts {
		pat, err := httptrust.ParsePattern(t.Pattern)
		if err != nil {
			return nil, err
		}
		if len(t.Certs) == 0 && !t.TOFU && len(t.Pins) == 0 {
			return nil, errors.New("store: nothing to trust: no certificate, pin or tofu")
		}
		name := managedName(pat.String())
		f, r := find(files, pat.String())
		if f != nil && (!f.managed || f.name != name) {
			return nil, &ConflictError{Pattern: pat.String(), File: f.name, Line: r.Line}
		}
		a := &Added{Pattern: pat.String(), RuleFile: name, Replaced: f != nil}
		for _, c := range t.Certs {
			a.Certs = append(a.Certs, httptrust.ManagedDir+"/"+certName(c))
		}
		todo = append(todo, pending{t: t, name: name, data: encodeRule(pat.String(), t), added: a})
	}
	if err := s.checkLoads(files, todo); err != nil {
		return nil, err
	}
	if !write {
		return nil, nil
	}
	var out []*Added
	for _, p := range todo {
		for _, c := range p.t.Certs {
			path := filepath.Join(s.Dir, httptrust.ManagedDir, filepath.FromSlash(certName(c)))
			if _, err := os.Stat(path); err == nil {
				continue
			}
			if err := atomicfile.WriteFile(path, certs.EncodeCertificatesPEM([]*x509.Certificate{c}), 0o644); err != nil {
				return out, fmt.Errorf("store: %w", err)
			}
		}
		if err := atomicfile.WriteFile(filepath.Join(s.Dir, filepath.FromSlash(p.name)), p.data, 0o644); err != nil {
			return out, fmt.Errorf("store: %w", err)
		}
		out = append(out, p.added)
	}
	return out, nil
}

// checkLoads validates the store as it would be with the rules of todo
// written.
func (s *Store) checkLoads(files []ruleFile, todo []pending) error {
	var rules []httptrust.Rule
	replaced := map[string]bool{}
	for _, p := range todo {
		rs, err := httptrust.ParseRuleFile(p.name, p.data)
		if err != nil {
			return fmt.Errorf("store: internal error: the rule written does not parse: %w", err)
		}
		rules = append(rules, rs...)
		replaced[p.name] = true
	}
	for _, f := range files {
		if !replaced[f.name] {
			rules = append(rules, f.rules...)
		}
	}
	_, err := httptrust.New(rules, &httptrust.Options{FS: os.DirFS(s.Dir)})
	return err
}

// encodeRule writes a managed rule file.
func encodeRule(pattern string, t Trust) []byte {
	var b strings.Builder
	b.WriteString("# Managed by httptrust: this file is rewritten by `httptrust fetch` and\n")
	b.WriteString("# `httptrust trust`. Write your own rules in a file beside the managed folder.\n")
	b.WriteString("[[rule]]\n")
	fmt.Fprintf(&b, "hosts = [%s]\n", quote(pattern))
	if len(t.Certs) > 0 {
		field := "certificates"
		if t.Kind == Anchor {
			field = "anchors"
		}
		var names []string
		for _, c := range t.Certs {
			names = append(names, quote(certName(c)))
		}
		fmt.Fprintf(&b, "%s = [%s]\n", field, strings.Join(names, ", "))
		for _, c := range t.Certs {
			fmt.Fprintf(&b, "# %s  %s  sha256 %s\n", certName(c), oneLine(c.Subject.String()), certs.CertFingerprint(c))
		}
	}
	if len(t.Pins) > 0 {
		var ps []string
		for _, p := range t.Pins {
			ps = append(ps, quote(p))
		}
		fmt.Fprintf(&b, "pins = [%s]\n", strings.Join(ps, ", "))
	}
	if t.AllowNameMismatch {
		b.WriteString("allow_name_mismatch = true\n")
	}
	if t.AllowExpired {
		b.WriteString("allow_expired = true\n")
	}
	if t.ServerName != "" {
		fmt.Fprintf(&b, "server_name = %s\n", quote(t.ServerName))
	}
	if t.TOFU {
		b.WriteString("tofu = true\n")
	}
	return []byte(b.String())
}

// quote writes s as a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u` + strconv.FormatInt(int64(0x10000+r), 16)[1:])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// oneLine keeps a subject on its comment line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
