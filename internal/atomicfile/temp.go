package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/httptrust/httptrust/internal/lockfile"
)

// tempAttempts bounds how often createTemp tries a new name.
const tempAttempts = 100

// tempPrefix returns the prefix of the names of base's temporary files.
func tempPrefix(base string) string {
	return "." + base + ".tmp-"
}

// isTemp reports whether name is the name of one of base's temporary files.
func isTemp(name, base string) bool {
	suffix, ok := strings.CutPrefix(name, tempPrefix(base))
	if !ok || len(suffix) != 16 {
		return false
	}
	for _, c := range suffix {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// createTemp creates a new temporary file for base in dir, mode 0600, and
// takes its lock, which marks it as a live writer's.
func createTemp(dir, base string) (*os.File, error) {
	for range tempAttempts {
		name := filepath.Join(dir, fmt.Sprintf("%s%016x", tempPrefix(base), rand.Uint64()))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ok, err := claim(f)
		if err != nil {
			f.Close()
			os.Remove(name)
			return nil, err
		}
		if ok {
			return f, nil
		}
		// A cleanup took the file between our create and lock. It removes
		// the name (or already did); start over with another.
		f.Close()
	}
	return nil, fmt.Errorf("no free temporary file name for %s in %s after %d attempts", base, dir, tempAttempts)
}

// claim locks the temporary file f that the caller just created and reports
// whether it is still the caller's: whether it got the lock and f's name
// still refers to f. On a platform without file locks it reports true: the
// write stays atomic, but cleanups cannot tell the file is live.
func claim(f *os.File) (bool, error) {
	ok, err := lockfile.TryLock(f)
	if errors.Is(err, errors.ErrUnsupported) {
		return true, nil
	}
	if err != nil || !ok {
		return false, err
	}
	return sameFile(f, f.Name()), nil
}

// removeStale removes the temporary files for base in dir that no live
// writer holds. It is best effort: a file it cannot remove now is tried
// again on the next write.
func removeStale(dir, base string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Type().IsRegular() && isTemp(e.Name(), base) {
			removeIfStale(filepath.Join(dir, e.Name()))
		}
	}
}

// removeIfStale removes the temporary file name if nobody holds its lock.
// While this holds the lock, no writer can own the file: a writer that
// created it and locks it later sees it gone and starts over. The name is
// checked to still be the file that was locked, since a writer that finished
// before the lock was taken renamed it away.
func removeIfStale(name string) {
	f, err := os.Open(name)
	if err != nil {
		return
	}
	defer f.Close()
	if ok, err := lockfile.TryLock(f); err != nil || !ok {
		return
	}
	if sameFile(f, name) {
		os.Remove(name)
	}
}

// sameFile reports whether name still refers to the open file f.
func sameFile(f *os.File, name string) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	ni, err := os.Lstat(name)
	return err == nil && os.SameFile(fi, ni)
}

// Sweep removes, from dir, the temporary files of every base that no live
// writer holds: what writers killed mid-write left behind. WriteFile does
// this for its own base; Sweep is for files that are never written again
// under the same name (content-addressed files).
func Sweep(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		i := strings.LastIndex(name, ".tmp-")
		if e.Type().IsRegular() && strings.HasPrefix(name, ".") && i > 1 && isTemp(name, name[1:i]) {
			removeIfStale(filepath.Join(dir, name))
		}
	}
}
