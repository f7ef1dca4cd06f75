package store

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/safefs"
)

// Removed says what Remove or RemoveCerts did to one pattern's managed
// rule.
type Removed struct {
	Pattern  string `json:"pattern"`   // canonical pattern
	RuleFile string `json:"rule_file"` // path inside the store
	Removed  []Item `json:"removed"`   // what the rule no longer trusts or sets
	Left     []Item `json:"left"`      // what it still trusts and sets; empty when the rule went
	RuleGone bool   `json:"rule_gone"` // the rule file was removed
}

// Remove deletes the store's own rule for pattern, and the managed
// certificates no rule names any more. A rule in a person's file is not
// touched (*ConflictError); no rule at all is ErrNotFound.
func (s *Store) Remove(ctx context.Context, pattern string) (*Removed, error) {
	return s.remove(ctx, pattern, nil)
}

// RemoveCerts takes the certificates with the SHA-256 fingerprints fps
// out of the store's own rule for pattern (its anchors, certificates and
// intermediates); the rule goes when it says nothing else. A fingerprint
// the rule does not trust is ErrNotFound, and nothing is removed.
func (s *Store) RemoveCerts(ctx context.Context, pattern string, fps []certs.Fingerprint) (*Removed, error) {
	if len(fps) == 0 {
		return nil, errors.New("store: no certificate to remove")
	}
	return s.remove(ctx, pattern, fps)
}

func (s *Store) remove(ctx context.Context, pattern string, fps []certs.Fingerprint) (*Removed, error) {
	pat, err := httptrust.ParsePattern(pattern)
	if err != nil {
		return nil, err
	}
	l, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	ed, err := s.edit()
	if err != nil {
		return nil, err
	}
	f, r, err := ed.managed(pat, "remove")
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, fmt.Errorf("%w %s", ErrNotFound, pat)
	}
	b := bodyOf(pat.String(), r)
	describe := ed.describer(httptrust.ManagedDir)
	before := b.items(describe)
	rm := &Removed{Pattern: pat.String(), RuleFile: f.name}
	if fps != nil {
		if err := ed.dropCerts(&b, fps); err != nil {
			return nil, err
		}
	}
	if fps == nil || !b.says() {
		rm.Removed, rm.RuleGone = before, true
		ed.removes = append(ed.removes, ed.drop(f))
	} else {
		rm.Left = b.items(describe)
		_, rm.Removed = diff(before, rm.Left)
		rm.RuleFile = managedName(pat)
		if err := ed.put(f, rm.RuleFile, &b, describe); err != nil {
			return nil, err
		}
	}
	if err := ed.checkLoads(); err != nil {
		return nil, err
	}
	return rm, ed.commit()
}

// dropCerts takes the certificates with fingerprints fps out of b; each
// must be one b trusts.
func (ed *edit) dropCerts(b *ruleBody, fps []certs.Fingerprint) error {
	holds := map[string][]certs.Fingerprint{}
	for _, list := range [][]string{b.anchors, b.certificates, b.intermediates} {
		for _, name := range list {
			cs, _ := certs.ReadCertificates(safefs.Dir(ed.s.Dir), path.Join(httptrust.ManagedDir, name), nil)
			for _, c := range cs {
				holds[name] = append(holds[name], certs.CertFingerprint(c))
			}
		}
	}
	for _, fp := range fps {
		found := false
		for _, have := range holds {
			found = found || slices.Contains(have, fp)
		}
		if !found {
			var trusted []string
			for _, it := range b.items(ed.describer(httptrust.ManagedDir)) {
				if certFields[it.Field] != "" && it.Field != "client_certificate" {
					trusted = append(trusted, it.String())
				}
			}
			what := "no certificate"
			if len(trusted) > 0 {
				what = strings.Join(trusted, ", ")
			}
			return notFound("store: the rule for %s does not trust the certificate %s (it trusts %s); nothing removed", b.pattern, fp, what)
		}
	}
	b.dropCerts(func(name string) bool {
		return slices.ContainsFunc(holds[name], func(fp certs.Fingerprint) bool { return slices.Contains(fps, fp) })
	})
	return nil
}

// Entry is one line of a listing: a certificate one rule names (kind
// "anchor", "certificate", "intermediate" or "client_certificate"), the
// pins of a rule ("pins"), or the other fields a rule sets ("settings");
// every entry of a rule carries those fields in Settings.
type Entry struct {
	Hosts    []string          `json:"hosts"`
	Kind     string            `json:"kind"`
	File     string            `json:"file,omitempty"`
	RuleFile string            `json:"rule_file"`
	Line     int               `json:"line"`
	Managed  bool              `json:"managed"`
	Subject  string            `json:"subject,omitempty"`
	NotAfter string            `json:"not_after,omitempty"`
	SHA256   string            `json:"sha256,omitempty"`
	Pins     []string          `json:"pins,omitempty"`
	Settings map[string]any    `json:"settings,omitempty"`
	Error    string            `json:"error,omitempty"`
	Cert     *x509.Certificate `json:"-"`
	// Text is what the rule sets besides certificates and pins, as the
	// rule file writes it (`min_tls = "1.0", tofu = true`).
	Text string `json:"-"`
}

// List returns every rule of the store with the certificates it names,
// its pins and its other fields. A certificate that cannot be read is
// listed with its error.
func (s *Store) List() ([]Entry, error) {
	files, err := s.readRules()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, f := range files {
		for i := range f.rules {
			r := &f.rules[i]
			settings, text := settingsOf(r)
			base := Entry{Hosts: r.Hosts, RuleFile: f.name, Line: r.Line, Managed: f.managed, Settings: settings}
			if r.AllHosts {
				base.Hosts = []string{"(all hosts)"}
			}
			out = append(out, s.entries(base, f.name, "anchor", r.Anchors)...)
			out = append(out, s.entries(base, f.name, "certificate", r.Certificates)...)
			out = append(out, s.entries(base, f.name, "intermediate", r.Intermediates)...)
			if r.ClientCertificate != "" {
				e := base
				e.Kind, e.File = "client_certificate", path.Join(path.Dir(f.name), r.ClientCertificate)
				if cs, err := certs.ReadCertificates(safefs.Dir(s.Dir), e.File, nil); err == nil && len(cs) > 0 {
					e.Cert, e.Subject, e.SHA256 = cs[0], cs[0].Subject.String(), certs.CertFingerprint(cs[0]).String()
					e.NotAfter = cs[0].NotAfter.UTC().Format("2006-01-02T15:04:05Z")
				}
				out = append(out, e)
			}
			if r.Pins != nil {
				e := base
				e.Kind, e.Pins = "pins", []string{}
				for _, p := range r.Pins {
					ps, _ := certs.ParsePins(p)
					for _, pin := range ps {
						e.Pins = append(e.Pins, pin.String())
					}
				}
				if !r.PinsExpire.IsZero() {
					e.NotAfter = r.PinsExpire.Format(time.DateOnly)
				}
				out = append(out, e)
			}
			if text != "" {
				e := base
				e.Kind, e.Text = "settings", text
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// settingsOf returns what r sets besides hosts, certificates and pins:
// as values for JSON, and as the rule file writes them.
func settingsOf(r *httptrust.Rule) (map[string]any, string) {
	b := bodyOf("", r)
	var text []string
	m := map[string]any{}
	for _, f := range b.fields() {
		switch f.name {
		case "anchors", "certificates", "intermediates", "pins", "client_certificate":
			continue
		}
		text = append(text, f.name+" = "+f.value)
		var v any
		switch f.name {
		case "server_name":
			v = r.ServerName
		case "min_tls":
			v = r.MinTLS
		case "client_key":
			v = r.ClientKey
		case "client_password_env":
			v = r.ClientPasswordEnv
		case "client_password_file":
			v = r.ClientPasswordFile
		case "pins_expire":
			v = f.value
		default:
			v = f.value == "true"
		}
		m[f.name] = v
	}
	if r.AllHosts {
		m["all_hosts"] = true
	}
	if len(m) == 0 {
		m = nil
	}
	return m, strings.Join(text, ", ")
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
