package httptrust

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// ManagedDir is the folder of a store where tools keep their own rule files
// and certificates. Files a person wrote live beside it and are never
// rewritten by a tool.
const ManagedDir = "managed"

// MaxRuleFileSize bounds one rule file.
const MaxRuleFileSize = 1 << 20

// LoadDir loads the store in dir: every *.toml rule file at its top level
// and in its managed folder (names starting with "." are skipped, as are the
// "..data" links of a Kubernetes ConfigMap mount, whose files appear at the
// top level through symlinks). Certificates are read on first use. Any
// rule file that cannot be read or validated is an error: the store is
// never loaded in part.
func LoadDir(dir string, opts *Options) (*Policy, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("httptrust: store: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("httptrust: store %s is not a folder", dir)
	}
	p, err := LoadFS(os.DirFS(dir), opts)
	if err != nil {
		return nil, err
	}
	p.storeDir, p.fromFS = dir, false
	return p, nil
}

// LoadFS loads a store from fsys, as LoadDir does; with embed.FS a store
// ships inside the binary.
func LoadFS(fsys fs.FS, opts *Options) (*Policy, error) {
	fsys = newSafeFS(fsys)
	names, skipped, err := ruleFiles(fsys)
	if err != nil {
		return nil, err
	}
	var rules []Rule
	for _, name := range names {
		data, err := readCapped(fsys, name, MaxRuleFileSize)
		if err != nil {
			return nil, &RuleError{File: name, Err: err}
		}
		rs, err := ParseRuleFile(name, data)
		if err != nil {
			return nil, err
		}
		rules = append(rules, rs...)
	}
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.FS = fsys
	p, err := New(rules, &o)
	if err != nil {
		return nil, err
	}
	p.skipped, p.fromFS = skipped, true
	return p, nil
}

// Skipped lists the store entries that loading passed over (not rule files),
// with why.
func (p *Policy) Skipped() []string { return p.skipped }

// ruleFiles lists the rule files of a store, sorted, and what was skipped.
func ruleFiles(fsys fs.FS) (names, skipped []string, err error) {
	for _, dir := range []string{".", ManagedDir} {
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			if dir == ManagedDir && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, nil, fmt.Errorf("httptrust: store: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			full := path.Join(dir, name)
			if strings.HasPrefix(name, ".") || e.IsDir() || (dir == ManagedDir && name == "known_hosts") {
				continue
			}
			if !strings.HasSuffix(name, ".toml") {
				skipped = append(skipped, full+": not a rule file (*.toml)")
				continue
			}
			names = append(names, full)
		}
	}
	sort.Strings(names)
	return names, skipped, nil
}

// readCapped reads a regular file of at most max bytes. fsys is a store's
// safeFS, whose Open refuses a FIFO, device or folder before opening it.
func readCapped(fsys fs.FS, name string, max int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d allowed", name, st.Size(), max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: more than the %d bytes allowed", name, max)
	}
	return data, nil
}
