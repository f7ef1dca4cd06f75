package httptrust

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/httptrust/httptrust/internal/safefs"
)

// ManagedDir is the folder of a store where tools keep their own rule files
// and certificates. Files a person wrote live beside it and are never
// rewritten by a tool.
const ManagedDir = "managed"

// MaxRuleFileSize bounds one rule file: room for a few hundred thousand
// rules, a fleet's store in one generated file.
const MaxRuleFileSize = 64 << 20

// LoadDir loads the store in dir: every *.toml rule file at its top level
// and in its managed folder (names starting with "." are skipped, as are the
// "..data" links of a Kubernetes ConfigMap mount, whose files appear at the
// top level through symlinks). Certificates are read on first use. Any
// rule file that cannot be read or validated is an error: the store is
// never loaded in part.
//
// Every file read from the store is resolved through its symbolic links,
// and refused, with the folders above the real file and above the store,
// when writable by others (ErrWritableByOthers; a sticky folder such as
// /tmp excepted) or owned by another user than the process's or root
// (ErrOwnedByOther). A certificate or key refused at first use fails its
// hosts closed.
func LoadDir(dir string, opts *Options) (*Policy, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("httptrust: store: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("httptrust: store %s is not a folder", dir)
	}
	d := safefs.Dir(dir)
	var abs string
	indexed := opts != nil && opts.CacheDir != "" && !opts.Validate
	if indexed {
		if abs, err = filepath.Abs(dir); err != nil {
			indexed = false
		}
	}
	if indexed {
		if ci, ok := openCache(opts.CacheDir, abs, d, opts); ok {
			if p, ok := cachedPolicy(ci, d, opts); ok {
				p.storeDir, p.fromFS = dir, false
				return p, nil
			}
		}
	}
	built := time.Now()
	p, rec, err := loadFS(d, opts, indexed)
	if err != nil {
		return nil, err
	}
	if indexed && rec != nil {
		writeCache(opts.CacheDir, abs, d, rec.stamps, rec.sources, p, built)
	}
	p.storeDir, p.fromFS = dir, false
	return p, nil
}

// loadRecord is what a full load of a store on the OS saw, for its index:
// the stamps of its folders and rule files, taken before they were read,
// and where each rule came from.
type loadRecord struct {
	stamps  []stamp
	sources []ruleSource
}

// LoadFS loads a store from fsys, as LoadDir does; with embed.FS a store
// ships inside the binary. An os.DirFS is checked as LoadDir checks its
// folder. The mode bits of other file systems (embed.FS, fstest.MapFS) mean
// nothing and are not checked; anything in them that is neither a regular
// file nor a folder is refused.
//
// Options.StoreDir names the store's folder inside fsys ("certificates"
// for //go:embed certificates), so that no fs.Sub is needed. A store that
// is not on the OS file system is validated at load, as Options.Validate
// asks: its certificate files are read and parsed, and one that cannot be
// is a load error rather than a refusal at first use. A certificate file
// that no rule names trusts nothing: it is reported in Warnings (and to
// the Observer) with the rule that would trust it.
func LoadFS(fsys fs.FS, opts *Options) (*Policy, error) {
	p, _, err := loadFS(fsys, opts, false)
	return p, err
}

// loadFS is LoadFS; with record (and a store on the OS) it also returns
// what its index needs.
func loadFS(fsys fs.FS, opts *Options, record bool) (*Policy, *loadRecord, error) {
	if opts != nil && opts.StoreDir != "" && opts.StoreDir != "." {
		sub, err := fs.Sub(fsys, opts.StoreDir)
		if err != nil {
			return nil, nil, fmt.Errorf("httptrust: store folder %q: %w", opts.StoreDir, err)
		}
		fsys = sub
	}
	onOS := safefs.OnOS(fsys)
	fsys = newSafeFS(fsys)
	var rec *loadRecord
	d, _ := fsys.(*safefs.DirFS)
	if record && d != nil {
		rec = &loadRecord{}
		// The folders first: a file added while this load lists them
		// changes their times after these stamps.
		for _, name := range []string{".", ManagedDir} {
			s, err := stampOf(d, name)
			if err != nil {
				rec = nil
				break
			}
			rec.stamps = append(rec.stamps, s)
		}
	}
	names, skipped, err := ruleFiles(fsys)
	if err != nil {
		return nil, nil, err
	}
	var rules []Rule
	var spans [][]byte
	for _, name := range names {
		if rec != nil {
			// Before reading: a change after this stamp is seen next time.
			s, err := stampOf(d, name)
			if err != nil || !s.present {
				rec = nil
			} else {
				rec.stamps = append(rec.stamps, s)
			}
		}
		data, err := readCapped(fsys, name, MaxRuleFileSize)
		if err != nil {
			return nil, nil, &RuleError{File: name, Err: err}
		}
		rs, err := ParseRuleFile(name, data)
		if err != nil {
			return nil, nil, err
		}
		rules = append(rules, rs...)
		if rec != nil {
			spans = append(spans, ruleSpans(data, rs)...)
		}
	}
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.FS = fsys
	p, err := New(rules, &o)
	if err != nil {
		return nil, nil, err
	}
	p.skipped, p.fromFS = skipped, true
	unnamed := unnamedCertFiles(fsys, p, skipped, !onOS)
	for _, w := range unnamed {
		p.warnings = append(p.warnings, w)
		p.observe(Event{Kind: EventWarning, Message: w})
	}
	if o.Validate || !onOS {
		if err := p.validateCerts(); err != nil {
			return nil, nil, err
		}
	}
	if rec != nil {
		files := map[string]int{}
		for _, r := range rules {
			if _, ok := files[r.File]; !ok {
				files[r.File] = len(files)
			}
		}
		for i := range rules {
			rec.sources = append(rec.sources, ruleSource{file: files[rules[i].File], lineBase: rules[i].Line - 1, text: spans[i]})
		}
	}
	return p, rec, nil
}

// cachedPolicy builds the policy of a store from its index.
func cachedPolicy(ci *cacheIndex, d *safefs.DirFS, opts *Options) (*Policy, bool) {
	o := *opts
	o.FS = d
	p := newPolicy(&o)
	ix := &index{lazy: ci, bits4: ci.bits4, bits6: ci.bits6, none: &effOnce{}}
	if ci.all >= 0 {
		c := ci.rule(ci.all)
		if c == nil || !c.rule.AllHosts {
			// Damage: never let another rule stand for every host.
			ci.fail("the all_hosts rule")
			ci.release()
			return nil, false
		}
		ix.all = &entry{rule: c}
	}
	runtime.AddCleanup(ci, func(release func()) { release() }, ci.release)
	p.ix = ix
	p.warnings, p.skipped, p.fromFS = ci.warnings, ci.skipped, true
	for _, w := range p.warnings {
		p.observe(Event{Kind: EventWarning, Message: w})
	}
	return p, true
}

// certExtensions are the names certificate files usually have.
var certExtensions = map[string]bool{".pem": true, ".crt": true, ".cer": true, ".der": true, ".p7b": true, ".p7c": true}

// unnamedCertFiles lists, as warnings, the certificate files of the store
// that no rule names: the Flutter habit of dropping a .cer into a
// certificates/ folder trusts nothing here. walk looks through every folder
// (a store built into the program is small); otherwise only the top level,
// which loading lists anyway.
func unnamedCertFiles(fsys fs.FS, p *Policy, skipped []string, walk bool) []string {
	named := map[string]bool{}
	for _, r := range p.rules {
		for _, f := range r.certFiles() {
			named[ruleFile(r, f)] = true
		}
		if r.ClientCertificate != "" {
			named[ruleFile(r, r.ClientCertificate)] = true
		}
	}
	var files []string
	if walk {
		fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return nil
			case d.IsDir() && (name == ManagedDir || (name != "." && strings.HasPrefix(d.Name(), "."))):
				return fs.SkipDir
			case !d.IsDir():
				files = append(files, name)
			}
			return nil
		})
	} else {
		for _, s := range skipped {
			files = append(files, strings.SplitN(s, ": ", 2)[0])
		}
	}
	var out []string
	for _, f := range files {
		if !certExtensions[strings.ToLower(path.Ext(f))] || named[f] {
			continue
		}
		out = append(out, fmt.Sprintf("%s is a certificate file no rule names: it trusts nothing; to trust it for a host, add a rule: [[rule]] hosts = [\"HOST\"] certificates = [%q] (or anchors = [%q] for a CA)", f, f, f))
	}
	return out
}

// Skipped lists the store entries that loading passed over (not rule files),
// with why.
func (p *Policy) Skipped() []string {
	if p == nil {
		return nil
	}
	return p.skipped
}

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

// readCapped reads a regular file of at most max bytes from a store's
// guarded fsys (see newSafeFS).
func readCapped(fsys fs.FS, name string, max int64) ([]byte, error) {
	return safefs.ReadFile(fsys, name, max)
}
