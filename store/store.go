// Package store keeps an httptrust trust store on disk: a folder of
// certificate files and TOML rule files (see httptrust.LoadDir).
//
// Files a person wrote are never rewritten: tools write their own rule
// files, one per host pattern, in the store's managed folder, with the
// certificates they name in managed/certs, named by SHA-256. If a person's
// file already has a rule for a pattern, Add and Remove refuse and name that
// file.
//
// Every write is atomic (a temporary file in the same folder, synced, then
// renamed) and done under an exclusive lock on the store, so two processes
// adding at once lose nothing.
package store

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/atomicfile"
	"github.com/httptrust/httptrust/internal/lockfile"
	"github.com/httptrust/httptrust/internal/safefs"
)

// EnvStore names the environment variable the CLI reads for the store.
const EnvStore = "HTTPTRUST_STORE"

// lockName is the store's lock file; its leading dot keeps the loader away.
const lockName = ".httptrust.lock"

// ErrNotFound is returned by Remove when no rule has the pattern.
var ErrNotFound = errors.New("store: no rule for that pattern")

// notFoundError is ErrNotFound with a message of its own.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }
func (e *notFoundError) Unwrap() error { return ErrNotFound }

// notFound is an error wrapping ErrNotFound with its own message.
func notFound(format string, args ...any) error {
	return &notFoundError{msg: fmt.Sprintf(format, args...)}
}

// ConflictError reports a pattern whose rule lives in a file a person
// wrote: tools do not rewrite it. For an add, Lines are the rule file lines
// that would say what was asked, to be set in that rule by hand (a line
// replaces the rule's own line for its key), and Saved the files the store
// saved beside that rule file for them (a certificate file trusts nothing
// until a rule names it).
type ConflictError struct {
	Pattern string
	File    string // path inside the store
	Line    int
	Op      string // "add" or "remove"
	Lines   []string
	Saved   []string // paths inside the store
}

func (e *ConflictError) Error() string {
	if e.Op == "remove" {
		return fmt.Sprintf("store: the rule for %s is in %s:%d, written by a person; httptrust removes only its own rules; nothing removed",
			e.Pattern, e.File, e.Line)
	}
	return fmt.Sprintf("store: %s:%d already has a rule for %s, written by a person; edit that file instead (httptrust never rewrites it); nothing written",
		e.File, e.Line, e.Pattern)
}

// Store is a trust store folder.
type Store struct {
	Dir string
}

// DefaultDir returns the default store: <user config dir>/httptrust.
func DefaultDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("store: no default store folder: %w; give one with --store or %s", err, EnvStore)
	}
	return filepath.Join(d, "httptrust"), nil
}

// Open returns the store in dir. The folder need not exist yet: the first
// write creates it (0700).
func Open(dir string) *Store { return &Store{Dir: dir} }

// Load loads the store's policy. A store folder that does not exist yet is
// an empty store: every host gets the defaults.
func (s *Store) Load(opts *httptrust.Options) (*httptrust.Policy, error) {
	if _, err := os.Stat(s.Dir); errors.Is(err, os.ErrNotExist) {
		return httptrust.New(nil, opts)
	}
	return httptrust.LoadDir(s.Dir, opts)
}

// lock takes the store's exclusive lock, creating the store if needed, and
// sweeps stale temporary files.
func (s *Store) lock(ctx context.Context) (*lockfile.File, error) {
	if err := s.checkGuarded(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(s.Dir, httptrust.ManagedDir, "certs"), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	l, err := lockfile.Lock(ctx, filepath.Join(s.Dir, lockName))
	if err != nil {
		return nil, err
	}
	// Under the lock, remove what writers killed mid-write left behind.
	for _, d := range []string{s.Dir, filepath.Join(s.Dir, httptrust.ManagedDir), filepath.Join(s.Dir, httptrust.ManagedDir, "certs")} {
		atomicfile.Sweep(d)
	}
	return l, nil
}

// ruleFile is one parsed rule file of the store.
type ruleFile struct {
	name    string // path inside the store, slash-separated
	managed bool
	rules   []httptrust.Rule
}

// readRules parses every rule file of the store (not its certificates),
// guarded as httptrust.LoadDir guards them.
func (s *Store) readRules() ([]ruleFile, error) {
	fsys := safefs.Dir(s.Dir)
	var out []ruleFile
	for _, dir := range []string{".", httptrust.ManagedDir} {
		entries, err := fs.ReadDir(fsys, dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") || !strings.HasSuffix(e.Name(), ".toml") || e.IsDir() {
				continue
			}
			name := path.Join(dir, e.Name())
			data, err := safefs.ReadFile(fsys, name, httptrust.MaxRuleFileSize)
			if err != nil {
				return nil, fmt.Errorf("store: %s: %w", name, err)
			}
			rules, err := httptrust.ParseRuleFile(name, data)
			if err != nil {
				return nil, err
			}
			out = append(out, ruleFile{name: name, managed: dir == httptrust.ManagedDir, rules: rules})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// find returns the file and rule that name pattern (canonical), if any.
func find(files []ruleFile, pattern string) (*ruleFile, *httptrust.Rule) {
	for i := range files {
		for j := range files[i].rules {
			r := &files[i].rules[j]
			for _, h := range r.Hosts {
				if p, err := httptrust.ParsePattern(h); err == nil && p.String() == pattern {
					return &files[i], r
				}
			}
		}
	}
	return nil, nil
}

// ManagedName returns the managed rule file of pattern (canonical), inside
// the store: the pattern made a file name that every file system takes,
// one per pattern. A name or IPv4 address is kept as it is
// ("managed/nas.local.toml"); "+" marks what a host name cannot hold: a port
// ("managed/127.0.0.1+8441.toml"), "*." and "**." ("managed/one+corp.test.toml",
// "managed/any+corp.test.toml"), an IPv6 address with "-" for ":"
// ("managed/ip6+fd00--1.toml") and a CIDR network ("managed/net+10.0.0.0-8.toml").
// Files named otherwise by older versions (URL-encoded) are still found by
// the pattern their rule names, and renamed on their next write.
func ManagedName(pattern string) (string, error) {
	p, err := httptrust.ParsePattern(pattern)
	if err != nil {
		return "", err
	}
	return managedName(p), nil
}

func managedName(p httptrust.Pattern) string {
	colons := strings.NewReplacer(":", "-", "/", "-")
	var name string
	switch p.Kind {
	case httptrust.PatternAnyDepth:
		name = "any+" + p.Host
	case httptrust.PatternOneLabel:
		name = "one+" + p.Host
	case httptrust.PatternCIDR:
		name = "net+" + colons.Replace(p.Prefix.String())
	case httptrust.PatternIP:
		name = p.Host
		if p.Addr.Is6() {
			name = "ip6+" + colons.Replace(p.Host)
		}
	default:
		name = p.Host
	}
	if p.Port != "" {
		name += "+" + p.Port
	}
	return httptrust.ManagedDir + "/" + name + ".toml"
}

// certName is where a managed certificate is kept: by its SHA-256.
func certName(c *x509.Certificate) string { return managedPlacement.cert(c) }
