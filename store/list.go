package store

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/safefs"
)

// Remove deletes the store's own rule for pattern, and the managed
// certificates no other managed rule names. A rule in a person's file is
// not touched (*ConflictError); no rule at all is ErrNotFound.
func (s *Store) Remove(ctx context.Context, pattern string) error {
	pat, err := httptrust.ParsePattern(pattern)
	if err != nil {
		return err
	}
	l, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	files, err := s.readRules()
	if err != nil {
		return err
	}
	f, r := find(files, pat.String())
	if f == nil {
		return fmt.Errorf("%w %s", ErrNotFound, pat)
	}
	if !f.managed {
		return &ConflictError{Pattern: pat.String(), File: f.name, Line: r.Line}
	}
	if err := os.Remove(filepath.Join(s.Dir, filepath.FromSlash(f.name))); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return s.dropUnusedCerts(files, f.name)
}

// dropUnusedCerts removes managed certificates that no managed rule other
// than the removed file names.
func (s *Store) dropUnusedCerts(files []ruleFile, removed string) error {
	used := map[string]bool{}
	for _, f := range files {
		if f.name == removed || !f.managed {
			continue
		}
		for _, r := range f.rules {
			for _, c := range append(append([]string{}, r.Anchors...), r.Certificates...) {
				used[path.Join(path.Dir(f.name), c)] = true
			}
		}
	}
	dir := filepath.Join(s.Dir, httptrust.ManagedDir, "certs")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		name := httptrust.ManagedDir + "/certs/" + e.Name()
		if strings.HasSuffix(e.Name(), ".pem") && !used[name] {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("store: %w", err)
			}
		}
	}
	return nil
}

// Entry is one certificate trusted by one rule, for listing.
type Entry struct {
	Hosts    []string          `json:"hosts"`
	Kind     string            `json:"kind"` // "anchor", "certificate", "pins", "tofu", "all_hosts"
	File     string            `json:"file,omitempty"`
	RuleFile string            `json:"rule_file"`
	Line     int               `json:"line"`
	Managed  bool              `json:"managed"`
	Subject  string            `json:"subject,omitempty"`
	NotAfter string            `json:"not_after,omitempty"`
	SHA256   string            `json:"sha256,omitempty"`
	Error    string            `json:"error,omitempty"`
	Cert     *x509.Certificate `json:"-"`
}

// List returns every rule of the store with the certificates it names.
// A certificate that cannot be read is listed with its error.
func (s *Store) List() ([]Entry, error) {
	files, err := s.readRules()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, f := range files {
		for _, r := range f.rules {
			base := Entry{Hosts: r.Hosts, RuleFile: f.name, Line: r.Line, Managed: f.managed}
			if r.AllHosts {
				base.Hosts = []string{"(all hosts)"}
			}
			n := len(out)
			out = append(out, s.entries(base, f.name, "anchor", r.Anchors)...)
			out = append(out, s.entries(base, f.name, "certificate", r.Certificates)...)
			if len(out) == n {
				base.Kind = "pins"
				if r.TOFU != nil && *r.TOFU {
					base.Kind = "tofu"
				}
				out = append(out, base)
			}
		}
	}
	return out, nil
}

func (s *Store) entries(base Entry, ruleFile, kind string, names []string) []Entry {
	var out []Entry
	for _, name := range names {
		e := base
		e.Kind = kind
		e.File = path.Join(path.Dir(ruleFile), name)
		cs, err := certs.ReadCertificates(safefs.Dir(s.Dir), e.File, nil)
		if err != nil {
			e.Error = err.Error()
			out = append(out, e)
			continue
		}
		for _, c := range cs {
			e.Cert, e.Subject = c, c.Subject.String()
			e.NotAfter = c.NotAfter.UTC().Format("2006-01-02T15:04:05Z")
			e.SHA256 = certs.CertFingerprint(c).String()
			out = append(out, e)
		}
	}
	return out
}
