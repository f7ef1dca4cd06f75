package httptrust

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// ReloadOptions tune a Reloader. The zero value is ready to use.
type ReloadOptions struct {
	// OnReload is called after a new policy took effect.
	OnReload func(*Policy)
	// OnError is called when the store changed but does not load; the last
	// good policy stays in effect.
	OnError func(error)
	// Debounce waits for a burst of changes to settle; 0 means 100ms.
	Debounce time.Duration
	// Poll re-checks the store's files this often, for changes a watch
	// misses (network file systems); 0 means one minute, <0 never.
	Poll time.Duration
}

// A Reloader keeps the policy of a store folder current: it watches the
// folder (fsnotify, with a poll as a safety net) and swaps the policy
// atomically when its files change. A store that then fails to load — a
// bad rule, a vanished folder, every rule gone (an unmounted ConfigMap) —
// keeps the last good policy and is reported through OnError. Transports
// from Transport and Client pick up a new policy for the next request and
// retire connections made under the old one.
type Reloader struct {
	dir  string
	opts Options
	ro   ReloadOptions
	cur  atomic.Pointer[Policy]

	shared sharedTransport // Client's transport

	mu      sync.Mutex // serialises reloads
	sum     [32]byte
	watcher *fsnotify.Watcher
	done    chan struct{}
	wg      sync.WaitGroup
}

// WatchDir loads the store in dir and keeps it current until Close. The
// first load must succeed.
func WatchDir(dir string, opts *Options, ro *ReloadOptions) (*Reloader, error) {
	r := &Reloader{dir: dir, done: make(chan struct{})}
	if opts != nil {
		r.opts = *opts
	}
	if ro != nil {
		r.ro = *ro
	}
	if r.ro.Debounce == 0 {
		r.ro.Debounce = 100 * time.Millisecond
	}
	if r.ro.Poll == 0 {
		r.ro.Poll = time.Minute
	}
	p, err := r.load()
	if err != nil {
		return nil, err
	}
	r.cur.Store(p)
	r.sum, _ = storeSum(dir, namedFiles(p))
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("httptrust: watch %s: %w", dir, err)
	}
	r.watcher = w
	r.addWatches()
	r.wg.Add(1)
	go r.loop()
	return r, nil
}

// Policy returns the policy in effect.
func (r *Reloader) Policy() *Policy { return r.cur.Load() }

// Transport returns a RoundTripper that always verifies under the policy
// in effect (see Policy.Transport for base).
func (r *Reloader) Transport(base *http.Transport) *Transport {
	return NewTransport(r.Policy, base)
}

// Client returns an *http.Client over one Transport(nil), shared by every
// client r returns (connections and sessions are reused across them).
func (r *Reloader) Client() *http.Client {
	r.shared.once.Do(func() { r.shared.t = r.Transport(nil) })
	return &http.Client{Transport: r.shared.t}
}

// Close stops watching. The last policy stays usable.
func (r *Reloader) Close() error {
	select {
	case <-r.done:
		return nil
	default:
	}
	close(r.done)
	err := r.watcher.Close()
	r.wg.Wait()
	return err
}

// addWatches watches the store and its managed folders; the parent too,
// so that a folder removed and created again is noticed.
func (r *Reloader) addWatches() {
	dirs := []string{r.dir, filepath.Join(r.dir, ManagedDir), filepath.Join(r.dir, ManagedDir, "certs"), filepath.Dir(r.dir)}
	for _, f := range namedFiles(r.cur.Load()) {
		dirs = append(dirs, filepath.Join(r.dir, filepath.FromSlash(path.Dir(f))))
	}
	for _, d := range dirs {
		_ = r.watcher.Add(d) // a folder that does not exist yet is found by the poll
	}
}

func (r *Reloader) loop() {
	defer r.wg.Done()
	var poll <-chan time.Time
	if r.ro.Poll > 0 {
		t := time.NewTicker(r.ro.Poll)
		defer t.Stop()
		poll = t.C
	}
	var debounce *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-r.done:
			if debounce != nil {
				debounce.Stop()
			}
			return
		case _, ok := <-r.watcher.Events:
			if !ok {
				return
			}
			if debounce == nil {
				debounce = time.NewTimer(r.ro.Debounce)
			} else {
				debounce.Reset(r.ro.Debounce)
			}
			fire = debounce.C
		case err, ok := <-r.watcher.Errors:
			if !ok {
				return
			}
			r.report(fmt.Errorf("httptrust: watch %s: %w", r.dir, err))
		case <-fire:
			fire = nil
			r.addWatches()
			r.check()
		case <-poll:
			r.addWatches()
			r.check()
		}
	}
}

// load loads the store and reads every certificate and identity its rules
// name, so that a policy in effect never depends on files read later (a
// volume unmounted after a failed reload, a file half replaced).
func (r *Reloader) load() (*Policy, error) {
	p, err := LoadDir(r.dir, &r.opts)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// namedFiles lists the files a policy's rules name, inside the store.
func namedFiles(p *Policy) []string {
	var out []string
	for _, r := range p.Rules() {
		for _, f := range r.certFiles() {
			out = append(out, ruleFile(r, f))
		}
		for _, f := range []string{r.ClientCertificate, r.ClientKey, r.ClientPasswordFile} {
			if f != "" && !path.IsAbs(f) {
				out = append(out, ruleFile(r, f))
			}
		}
	}
	return out
}

// check reloads when the store's files changed since the last load.
func (r *Reloader) check() {
	sum, err := storeSum(r.dir, namedFiles(r.cur.Load()))
	r.mu.Lock()
	same := err == nil && sum == r.sum
	r.mu.Unlock()
	if !same {
		_ = r.Reload()
	}
}

// Reload loads the store now. On failure the policy in effect is kept and
// the error returned (and reported to OnError).
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.load()
	if err == nil && len(p.Rules()) == 0 && len(r.cur.Load().Rules()) > 0 {
		err = fmt.Errorf("httptrust: store %s: every rule is gone (an unmounted volume?)", r.dir)
	}
	if err != nil {
		err = fmt.Errorf("%w; keeping the last good policy", err)
		r.report(err)
		return err
	}
	r.sum, _ = storeSum(r.dir, namedFiles(p))
	r.cur.Store(p)
	if r.ro.OnReload != nil {
		r.ro.OnReload(p)
	}
	return nil
}

func (r *Reloader) report(err error) {
	if r.ro.OnError != nil {
		r.ro.OnError(err)
	}
}

// storeSum hashes the names, sizes, times and link targets of the store's
// files, and of the files its rules name wherever they are in it, cheaply
// telling whether anything changed.
func storeSum(dir string, named []string) ([32]byte, error) {
	h := sha256.New()
	for _, f := range named {
		if st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f))); err == nil {
			fmt.Fprintf(h, "%s %d %d %v\n", f, st.Size(), st.ModTime().UnixNano(), st.Mode())
		} else {
			fmt.Fprintf(h, "%s !\n", f)
		}
	}
	var firstErr error
	for _, d := range []string{dir, filepath.Join(dir, ManagedDir), filepath.Join(dir, ManagedDir, "certs")} {
		entries, err := os.ReadDir(d)
		if err != nil {
			if d == dir || !errors.Is(err, os.ErrNotExist) {
				firstErr = err
			}
			fmt.Fprintf(h, "%s: %v\n", d, errors.Is(err, os.ErrNotExist))
			continue
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, n := range names {
			p := filepath.Join(d, n)
			target, _ := os.Readlink(p)
			if st, err := os.Stat(p); err == nil {
				fmt.Fprintf(h, "%s %s %d %d %v\n", p, target, st.Size(), st.ModTime().UnixNano(), st.Mode())
			} else {
				fmt.Fprintf(h, "%s %s !\n", p, target)
			}
		}
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, firstErr
}
