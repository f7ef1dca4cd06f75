package store

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/atomicfile"
	"github.com/httptrust/httptrust/internal/safefs"
)

// An edit is a change to the store's managed rules, made in memory under
// the store's lock, checked as a whole (checkLoads), then written
// (commit): new certificate files first, then rule files, then the files
// that go.
type edit struct {
	s       *Store
	files   []ruleFile // the rule files as they will be
	writes  []pendingWrite
	removes []string // rule files that go, inside the store
	// certs are the certificates of files the edit adds, by store path.
	certs map[string]*x509.Certificate
	known map[string][2]string // described files: subject, SHA-256
}

type pendingWrite struct {
	name   string // inside the store
	data   []byte
	mode   fs.FileMode
	ifNone bool // a file named by its content: written only when missing
}

func (s *Store) edit() (*edit, error) {
	files, err := s.readRules()
	if err != nil {
		return nil, err
	}
	return &edit{s: s, files: files, certs: map[string]*x509.Certificate{}, known: map[string][2]string{}}, nil
}

// managed returns the store's own rule file and rule for pat, nil when
// there is none, or why the store may not write it: a person's rule
// (*ConflictError, with the rule), or a managed file that holds more than
// the rule of one pattern.
func (ed *edit) managed(pat httptrust.Pattern, op string) (*ruleFile, *httptrust.Rule, error) {
	f, r := find(ed.files, pat.String())
	if f != nil && !f.managed {
		return f, r, &ConflictError{Pattern: pat.String(), File: f.name, Line: r.Line, Op: op}
	}
	if f != nil && (len(f.rules) != 1 || len(f.rules[0].Hosts) != 1) {
		return nil, nil, fmt.Errorf("store: %s holds more than the rule for %s; httptrust rewrites only the files it writes, one rule for one pattern each: move the other rules into a file of your own beside %s",
			f.name, pat, httptrust.ManagedDir)
	}
	name := managedName(pat)
	for i := range ed.files {
		if g := &ed.files[i]; g.name == name && g != f {
			return nil, nil, fmt.Errorf("store: %s holds no rule for %s alone; httptrust keeps that pattern's rule there: move its rules into a file of your own beside %s",
				name, pat, httptrust.ManagedDir)
		}
	}
	return f, r, nil
}

// put makes b the managed rule of its pattern, in the file name; old is
// the file that held it (nil for a new rule), removed when it was named
// otherwise.
func (ed *edit) put(old *ruleFile, name string, b *ruleBody, describe describer) error {
	data := b.encode(describe)
	rules, err := httptrust.ParseRuleFile(name, data)
	if err != nil {
		return fmt.Errorf("store: internal error: the rule written does not parse: %w", err)
	}
	if old != nil {
		if was := ed.drop(old); was != name {
			ed.removes = append(ed.removes, was)
		}
	}
	ed.files = append(ed.files, ruleFile{name: name, managed: true, rules: rules})
	ed.writes = append(ed.writes, pendingWrite{name: name, data: data, mode: 0o644})
	return nil
}

// drop takes f, a file of the edit, out of its rule files and returns its
// name (f then points at another file).
func (ed *edit) drop(f *ruleFile) string {
	name := f.name
	for i := range ed.files {
		if ed.files[i].name == name {
			ed.files = slices.Delete(ed.files, i, i+1)
			break
		}
	}
	return name
}

// addFiles adds the new files of a rule in dir to the writes.
func (ed *edit) addFiles(dir string, nf []newFile) {
	for _, n := range nf {
		p := path.Join(dir, n.name)
		if n.cert != nil {
			ed.certs[p] = n.cert
		}
		ed.writes = append(ed.writes, pendingWrite{name: p, data: n.data, mode: fs.FileMode(n.mode), ifNone: true})
	}
}

// describer describes the certificate files of rules in dir: the new ones
// from memory, the others read through the store's guard. A file that
// cannot be read is described by its name only.
func (ed *edit) describer(dir string) describer {
	return func(name string) (string, string) {
		p := path.Join(dir, name)
		if c := ed.certs[p]; c != nil {
			return c.Subject.String(), certs.CertFingerprint(c).String()
		}
		if d, ok := ed.known[p]; ok {
			return d[0], d[1]
		}
		var d [2]string
		if cs, err := certs.ReadCertificates(safefs.Dir(ed.s.Dir), p, nil); err == nil && len(cs) > 0 {
			d = [2]string{cs[0].Subject.String(), certs.CertFingerprint(cs[0]).String()}
		}
		ed.known[p] = d
		return d[0], d[1]
	}
}

// ErrInvalidRule is wrapped (beside the *httptrust.RuleError that says
// why) when a rule an edit would write would not load: nothing is written.
var ErrInvalidRule = errors.New("store: the rule would not load")

// invalidRule is a RuleError of a rule the edit writes.
type invalidRule struct{ err error }

func (e *invalidRule) Error() string   { return e.err.Error() }
func (e *invalidRule) Unwrap() []error { return []error{e.err, ErrInvalidRule} }

// checkLoads validates the store as the edit leaves it.
func (ed *edit) checkLoads() error {
	var rules []httptrust.Rule
	for _, f := range ed.files {
		rules = append(rules, f.rules...)
	}
	_, err := httptrust.New(rules, &httptrust.Options{FS: os.DirFS(ed.s.Dir)})
	var re *httptrust.RuleError
	if errors.As(err, &re) && slices.ContainsFunc(ed.writes, func(w pendingWrite) bool { return w.name == re.File }) {
		return &invalidRule{err}
	}
	return err
}

// commit writes the edit, then removes the managed certificate and client
// files no rule names any more.
func (ed *edit) commit() error {
	for _, w := range ed.writes {
		p := filepath.Join(ed.s.Dir, filepath.FromSlash(w.name))
		if w.ifNone {
			if _, err := os.Lstat(p); err == nil {
				continue
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				return fmt.Errorf("store: %w", err)
			}
		}
		if err := atomicfile.WriteFile(p, w.data, w.mode); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	for _, name := range ed.removes {
		if err := os.Remove(filepath.Join(ed.s.Dir, filepath.FromSlash(name))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: %w", err)
		}
	}
	return ed.sweep()
}

// sweep removes the files of managed/certs and managed/client that no rule
// of the store names.
func (ed *edit) sweep() error {
	used := map[string]bool{}
	for _, f := range ed.files {
		for _, r := range f.rules {
			for _, n := range append(append(append(append([]string{}, r.Anchors...), r.Certificates...), r.Intermediates...), r.ClientCertificate, r.ClientKey) {
				if n != "" {
					used[path.Join(dirOf(f.name), n)] = true
				}
			}
		}
	}
	for _, sub := range []string{"certs", "client"} {
		dir := path.Join(httptrust.ManagedDir, sub)
		entries, err := os.ReadDir(filepath.Join(ed.s.Dir, filepath.FromSlash(dir)))
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := path.Join(dir, e.Name())
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") || used[name] {
				continue
			}
			if err := os.Remove(filepath.Join(ed.s.Dir, filepath.FromSlash(name))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("store: %w", err)
			}
		}
	}
	return nil
}

// saveBeside saves files in dir of the store (beside a person's rule
// file), keeping any that exist, and returns their paths inside the store.
func (s *Store) saveBeside(dir string, nf []newFile) ([]string, error) {
	var saved []string
	for _, n := range nf {
		name := path.Join(dir, n.name)
		p := filepath.Join(s.Dir, filepath.FromSlash(name))
		if _, err := os.Lstat(p); err != nil {
			if err := atomicfile.WriteFile(p, n.data, fs.FileMode(n.mode)); err != nil {
				return saved, fmt.Errorf("store: %w", err)
			}
		}
		saved = append(saved, name)
	}
	return saved, nil
}

// dirOf is the folder of a store path ("." at the top).
func dirOf(name string) string { return path.Dir(name) }

// checkGuarded refuses to write into a store that loading would refuse:
// the store folder, managed/ and its folders, or a folder above them,
// writable by others or owned by another user. Folders not made yet are
// made 0700 by the write.
func (s *Store) checkGuarded() error {
	fsys := safefs.Dir(s.Dir)
	for _, d := range []string{".", httptrust.ManagedDir, httptrust.ManagedDir + "/certs", httptrust.ManagedDir + "/client"} {
		if _, err := fsys.Stat(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: not written: %w", err)
		}
	}
	return nil
}
