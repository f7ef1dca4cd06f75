//go:build linux

package httptrust

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/storewatch"
)

// watched makes every indexed store one a watcher is asked about, and
// runs a watcher of dir (absolute) for the test.
func watched(t *testing.T, dir string) (stop func()) {
	t.Helper()
	indexed(t)
	old := watchMinFiles
	watchMinFiles = 1
	t.Cleanup(func() { watchMinFiles = old })
	if !storewatch.Local(dir) {
		t.Skipf("%s is not on a file system a watcher serves", dir)
	}
	ready, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		if err := storewatch.Serve(dir, ManagedDir, time.Minute, func() { close(ready) }); err != nil {
			t.Errorf("watcher: %v", err)
		}
	}()
	select {
	case <-ready:
	case <-ended:
		t.FailNow()
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			// Moving the store away ends its watcher; moving it back
			// makes it the same folder with none.
			must(t, os.Rename(dir, dir+".moved"))
			<-ended
			must(t, os.Rename(dir+".moved", dir))
		})
	}
	t.Cleanup(stop)
	return stop
}

// fastLoad loads dir through its index and reports whether the watcher's
// word spared statting its files.
func fastLoad(t *testing.T, dir, cache string) (*Policy, bool) {
	t.Helper()
	before := watchUsed.Load()
	p := loadIndexed(t, dir, cache)
	return p, watchUsed.Load() != before
}

// With a watcher, the index is checked without statting every file, and
// every change is still seen by the next load.
func TestWatchedIndexSeesEveryChange(t *testing.T) {
	changes := append([]indexChange{
		{"a rule file rewritten in place, same size, times set back", func(t *testing.T, dir string) {
			name := filepath.Join(dir, "corp.toml")
			st, err := os.Stat(name)
			must(t, err)
			data, _ := os.ReadFile(name)
			must(t, os.WriteFile(name, []byte(strings.Replace(string(data), "corp.test", "corp.tesu", 1)), 0o644))
			must(t, os.Chtimes(name, st.ModTime(), st.ModTime()))
		}},
		{"a rule file written through a hard link in another folder", func(t *testing.T, dir string) {
			data, _ := os.ReadFile(filepath.Join(dir, "linked.toml"))
			must(t, os.WriteFile(filepath.Join(filepath.Dir(dir), "outside.toml"), []byte(strings.Replace(string(data), "linked.test", "linkee.test", 1)), 0o644))
		}},
		{"a rule file that is a link, its target rewritten", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(filepath.Dir(dir), "target.toml"), []byte("[[rule]]\nhosts = [\"nas.local\"]\nanchors = [\"ca.pem\"]\n"), 0o644))
		}},
		{"a rule file made read-write for everyone", func(t *testing.T, dir string) {
			must(t, os.Chmod(filepath.Join(dir, "corp.toml"), 0o666))
		}},
	}, indexChanges...)
	for _, tt := range changes {
		t.Run(tt.name, func(t *testing.T) {
			parent, cache := t.TempDir(), t.TempDir()
			dir := filepath.Join(parent, "store")
			writeIndexStore(t, dir, 10)
			// A rule file with a second name outside the store, and one
			// that is a link to a file outside it.
			must(t, os.WriteFile(filepath.Join(parent, "outside.toml"), []byte("[[rule]]\nhosts = [\"linked.test\"]\nanchors = [\"ca.pem\"]\n"), 0o644))
			must(t, os.Link(filepath.Join(parent, "outside.toml"), filepath.Join(dir, "linked.toml")))
			must(t, os.WriteFile(filepath.Join(parent, "target.toml"), []byte("[[rule]]\nhosts = [\"nas.locam\"]\nanchors = [\"ca.pem\"]\n"), 0o644))
			must(t, os.Symlink(filepath.Join(parent, "target.toml"), filepath.Join(dir, "link.toml")))
			age()
			watched(t, dir)
			loadIndexed(t, dir, cache) // writes the index
			if _, fast := fastLoad(t, dir, cache); fast {
				t.Fatal("the watcher's word was taken before any load statted every file under it")
			}
			p, fast := fastLoad(t, dir, cache)
			if !fast || p.ix.lazy == nil {
				t.Fatalf("the index was not used on the watcher's word (fast %v)", fast)
			}
			tt.change(t, dir)
			full, fullErr := LoadDir(dir, nil)
			before := watchUsed.Load()
			p, err := LoadDir(dir, &Options{CacheDir: cache})
			if (err != nil) != (fullErr != nil) {
				t.Fatalf("after the change: load %v, a full load %v", err, fullErr)
			}
			if err != nil {
				return
			}
			if p.ix.lazy != nil {
				t.Fatalf("the index was used after the change (on the watcher's word: %v)", watchUsed.Load() != before)
			}
			checkSame(t, "after the change", p, full)
		})
	}
}

// The watch file is believed only for its own index, under its own
// watcher's current token.
func TestWatchRecordIsChecked(t *testing.T) {
	setup := func(t *testing.T) (dir, cache string, stop func()) {
		dir, cache = filepath.Join(t.TempDir(), "store"), t.TempDir()
		writeIndexStore(t, dir, 10)
		age()
		stop = watched(t, dir)
		loadIndexed(t, dir, cache)
		loadIndexed(t, dir, cache)
		if _, fast := fastLoad(t, dir, cache); !fast {
			t.Fatal("no fast load to start from")
		}
		return dir, cache, stop
	}
	record := func(t *testing.T, dir, cache string) string {
		abs, _ := filepath.Abs(dir)
		return watchPath(cachePath(cache, abs))
	}
	t.Run("the watcher is gone", func(t *testing.T) {
		dir, cache, stop := setup(t)
		stop()
		if _, fast := fastLoad(t, dir, cache); fast {
			t.Fatal("a watcher that ended still vouched")
		}
	})
	tampered := func(t *testing.T, change func(*watchRecord)) (dir, cache string) {
		dir, cache, _ = setup(t)
		name := record(t, dir, cache)
		data, err := os.ReadFile(name)
		must(t, err)
		w, ok := parseWatchRecord(data, 1<<20)
		if !ok {
			t.Fatalf("cannot read %s", data)
		}
		change(&w)
		must(t, os.WriteFile(name, w.encode(), 0o600))
		return dir, cache
	}
	t.Run("another token", func(t *testing.T) {
		dir, cache := tampered(t, func(w *watchRecord) { w.tok.Gen++ })
		if _, fast := fastLoad(t, dir, cache); fast {
			t.Fatal("a token the watcher never gave vouched")
		}
	})
	t.Run("another index", func(t *testing.T) {
		dir, cache := tampered(t, func(w *watchRecord) { w.index += "0" })
		if _, fast := fastLoad(t, dir, cache); fast {
			t.Fatal("a record of another index vouched")
		}
	})
	t.Run("damaged", func(t *testing.T) {
		dir, cache, _ := setup(t)
		name := record(t, dir, cache)
		data, err := os.ReadFile(name)
		must(t, err)
		data[len(watchMagic)+8] ^= 1
		must(t, os.WriteFile(name, data, 0o600))
		if _, fast := fastLoad(t, dir, cache); fast {
			t.Fatal("a damaged record vouched")
		}
	})
	t.Run("ignored", func(t *testing.T) {
		dir, cache, _ := setup(t)
		before := watchUsed.Load()
		if _, err := LoadDir(dir, &Options{CacheDir: cache, IgnoreWatcher: true}); err != nil {
			t.Fatal(err)
		}
		if watchUsed.Load() != before {
			t.Fatal("IgnoreWatcher took the watcher's word")
		}
	})
	t.Run("writable by others", func(t *testing.T) {
		dir, cache, _ := setup(t)
		must(t, os.Chmod(record(t, dir, cache), 0o666))
		if _, fast := fastLoad(t, dir, cache); fast {
			t.Fatal("a record anyone could write vouched")
		}
	})
}

// A load that finds no watcher starts one (with StartWatcher), and only
// for a store of enough rule files.
func TestStartWatcher(t *testing.T) {
	indexed(t)
	old := watchMinFiles
	t.Cleanup(func() { watchMinFiles = old })
	dir, cache := t.TempDir(), t.TempDir()
	writeIndexStore(t, dir, 10)
	age()
	var started []string
	opts := &Options{CacheDir: cache, StartWatcher: func(d string) { started = append(started, d) }}
	if _, err := LoadDir(dir, opts); err != nil { // writes the index
		t.Fatal(err)
	}
	watchMinFiles = 1000
	if _, err := LoadDir(dir, opts); err != nil {
		t.Fatal(err)
	}
	if len(started) != 0 {
		t.Fatalf("a watcher was started for a store of %d files: %q", 5, started)
	}
	watchMinFiles = 1
	if _, err := LoadDir(dir, opts); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	if !storewatch.Local(dir) {
		return
	}
	if len(started) != 1 || started[0] != abs {
		t.Fatalf("started %q, want [%q]", started, abs)
	}
	// A watcher that could not serve is not started again by every load.
	if _, err := LoadDir(dir, opts); err != nil {
		t.Fatal(err)
	}
	if len(started) != 1 {
		t.Fatalf("started again within %v: %q", watchStartEvery, started)
	}
	oldEvery := watchStartEvery
	watchStartEvery = 0
	t.Cleanup(func() { watchStartEvery = oldEvery })
	if _, err := LoadDir(dir, opts); err != nil {
		t.Fatal(err)
	}
	if len(started) != 2 {
		t.Fatalf("not started again after %v: %q", watchStartEvery, started)
	}
}

func TestWatchRecordRoundTrip(t *testing.T) {
	w := watchRecord{index: "1 2 3 4 0000abcd", tok: storewatch.Token{ID: [16]byte{9}, Gen: 7}, stat: []int{0, 1, 5}}
	got, ok := parseWatchRecord(w.encode(), 6)
	if !ok || got.index != w.index || got.tok != w.tok || len(got.stat) != 3 || got.stat[2] != 5 {
		t.Fatalf("round trip: %+v, %v", got, ok)
	}
	if _, ok := parseWatchRecord(w.encode(), 5); ok {
		t.Fatal("a stamp past the index's was accepted")
	}
}

// FuzzWatchRecord: a record is either refused or reads back the same.
func FuzzWatchRecord(f *testing.F) {
	f.Add(watchRecord{index: "1 2 3 4 0000abcd", tok: storewatch.Token{Gen: 1}, stat: []int{0, 1}}.encode(), 4)
	f.Add([]byte(watchMagic+"\nindex x\ntoken y\nstat\ncrc 00000000\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		w, ok := parseWatchRecord(data, n)
		if !ok {
			return
		}
		again, ok := parseWatchRecord(w.encode(), n)
		if !ok || again.index != w.index || again.tok != w.tok || len(again.stat) != len(w.stat) {
			t.Fatalf("%q: %+v, then %+v %v", data, w, again, ok)
		}
	})
}
