package httptrust

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/httptrust/httptrust/internal/atomicfile"
	"github.com/httptrust/httptrust/internal/safefs"
	"github.com/httptrust/httptrust/internal/storewatch"
)

// A store of many rule files costs one stat per file per process to
// check its index. A watcher of the store (internal/storewatch) spares
// that: a process that stats every file, having first taken the
// watcher's token, keeps the token beside the index (its "watch" file);
// a later process given the same token by the watcher knows no file the
// watcher covers changed since, and stats only the folders and the rule
// files it does not cover (a symbolic link, a file of another kind). A
// missing, other or moved token means statting every file, as without
// a watcher.

// watchMinFiles is the fewest rule files for which a watcher is asked
// (and started): below it, statting them costs less than asking.
var watchMinFiles = 500

// watchUsed counts the loads that took a watcher's word, for tests.
var watchUsed atomic.Int64

// watchPath is the file beside the index at idx that keeps its token.
func watchPath(idx string) string { return idx + ".watch" }

const watchMagic = "httptrust index watch 1"

// indexIdentity names one written index file: its inode, size,
// modification time and the checksum of its stamps. An index is only
// ever replaced by rename, so another index has another identity.
func indexIdentity(st fs.FileInfo, metaSum uint32) string {
	s, _ := osStamp(st)
	return fmt.Sprintf("%d %d %d %d %08x", s.dev, s.ino, s.size, s.mtime, metaSum)
}

// watchRecord is what the watch file says: the index it is for, the
// token the stat of every file was taken under, and the stamps (by
// position) the watcher does not cover.
type watchRecord struct {
	index string
	tok   storewatch.Token
	stat  []int
}

func (w watchRecord) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nindex %s\ntoken %s\nstat", watchMagic, w.index, w.tok)
	for _, i := range w.stat {
		fmt.Fprintf(&b, " %d", i)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "crc %08x\n", crc32.Checksum(b.Bytes(), castagnoli))
	return b.Bytes()
}

// parseWatchRecord reads what encode wrote, for an index of n stamps;
// anything else is no record.
func parseWatchRecord(data []byte, n int) (watchRecord, bool) {
	var w watchRecord
	body, sum, ok := bytes.Cut(data, []byte("crc "))
	if !ok || string(sum) != fmt.Sprintf("%08x\n", crc32.Checksum(body, castagnoli)) {
		return w, false
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if len(lines) != 4 || lines[0] != watchMagic {
		return w, false
	}
	var tok string
	w.index, ok = strings.CutPrefix(lines[1], "index ")
	if !ok {
		return w, false
	}
	if tok, ok = strings.CutPrefix(lines[2], "token "); !ok {
		return w, false
	}
	if w.tok, ok = storewatch.ParseToken(tok); !ok {
		return w, false
	}
	rest, ok := strings.CutPrefix(lines[3], "stat")
	if !ok {
		return w, false
	}
	for _, f := range strings.Fields(rest) {
		i, err := strconv.Atoi(f)
		if err != nil || i < 0 || i >= n {
			return w, false
		}
		w.stat = append(w.stat, i)
	}
	return w, true
}

// readWatchRecord reads the watch file of the index at idx, if it passes
// the checks the index does (its folders are the owner's or root's; the
// file is the store owner's or root's).
func readWatchRecord(idx string, storeOwner uint32, n int) (watchRecord, bool) {
	name := watchPath(idx)
	st, err := safefs.Dir(filepath.Dir(name)).Stat(filepath.Base(name))
	if err != nil || st.Size() > 1<<20 {
		return watchRecord{}, false
	}
	if owner, ok := ownerOf(st); !ok || (owner != storeOwner && owner != 0) {
		return watchRecord{}, false
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return watchRecord{}, false
	}
	return parseWatchRecord(data, n)
}

// storeCurrent reports whether the store d (at abs; root is its folder's
// stamp) is as the index at idx (of identity ident) recorded it in
// stamps, asking its watcher where the store has enough files, and
// starting one with start (if not nil) where none answers.
func storeCurrent(d *safefs.DirFS, abs, idx, ident string, root stamp, storeOwner uint32, stamps []stamp, opts *Options) bool {
	if len(stamps) < watchMinFiles || !storewatch.Supported || opts.IgnoreWatcher {
		return storeUnchanged(d, stamps, nil)
	}
	tok, err := storewatch.Query(abs, root.dev, root.ino)
	if err == nil {
		if w, ok := readWatchRecord(idx, storeOwner, len(stamps)); ok && w.index == ident && w.tok == tok {
			// Nothing the watcher covers changed since every file was
			// found as recorded: stat the folders and the rest.
			watchUsed.Add(1)
			some := make([]stamp, 0, len(w.stat)+2)
			for _, i := range w.stat {
				some = append(some, stamps[i])
			}
			return storeUnchanged(d, some, nil)
		}
	} else if opts.StartWatcher != nil && !errors.Is(err, storewatch.ErrOtherUser) && storewatch.Local(abs) && startDue(idx) {
		opts.StartWatcher(abs)
	}
	direct := make([]bool, len(stamps))
	if !storeUnchanged(d, stamps, direct) {
		return false
	}
	if err == nil {
		w := watchRecord{index: ident, tok: tok}
		for i, s := range stamps {
			if !direct[i] || !s.present || !watchedName(s.name) {
				w.stat = append(w.stat, i)
			}
		}
		// An acceleration only: a file that cannot be written is none.
		atomicfile.WriteFileUnsynced(watchPath(idx), w.encode(), 0o600)
	}
	return true
}

// watchStartEvery is how often a watcher of one store may be started: one
// that cannot serve (a managed folder that is a link, leases off, out of
// watches) ends at once, and is not started again by every load.
var watchStartEvery = time.Minute

// startDue reports whether a watcher of the store of the index at idx may
// be started now, and if so notes the time beside the index.
func startDue(idx string) bool {
	name := idx + ".watch-start"
	if st, err := os.Stat(name); err == nil && time.Since(st.ModTime()) < watchStartEvery && time.Since(st.ModTime()) > -time.Minute {
		return false
	}
	return atomicfile.WriteFileUnsynced(name, nil, 0o600) == nil
}

// watchedName reports whether a watcher covers the store path name when
// it is a regular file: one in the store's folder or its managed folder.
func watchedName(name string) bool {
	dir, base, ok := strings.Cut(name, "/")
	if !ok {
		return name != "." && name != ManagedDir
	}
	return dir == ManagedDir && !strings.Contains(base, "/")
}

// storeUnchanged stats every file the index was built from, several at a
// time, and reports whether each is exactly as it was. With direct, it
// also records which were regular files at their own names (see
// safefs.Direct).
func storeUnchanged(d *safefs.DirFS, stamps []stamp, direct []bool) bool {
	names := make([]string, len(stamps))
	for i, s := range stamps {
		names[i] = s.name
	}
	same := true
	var mu sync.Mutex
	d.StatMany(names, min(runtime.GOMAXPROCS(0)*2, 1+len(stamps)/256), func(i int, st fs.FileInfo, err error) bool {
		var now stamp
		switch {
		case errors.Is(err, fs.ErrNotExist):
			now = stamp{name: names[i]}
		case err != nil:
			now.name = "" // never equal
		default:
			var ok bool
			now, ok = osStamp(st)
			now.name = names[i]
			if !ok {
				now.name = ""
			}
			if direct != nil {
				direct[i] = safefs.Direct(st)
			}
		}
		if !now.equal(stamps[i]) {
			mu.Lock()
			same = false
			mu.Unlock()
			return false
		}
		return true
	})
	return same
}
