// Package safefs reads the files of a trust store only when no other user
// of the machine could have changed them: whoever can write a rule file, a
// certificate, a key or known_hosts, or a folder above one of them, decides
// what the store trusts.
//
// Dir guards a store on the OS file system, as OpenSSH's StrictModes guards
// ~/.ssh: every file is resolved through its symbolic links, and the real
// file, every real folder passed through on the way and every folder above
// the store are refused when writable by others (a folder with the sticky
// bit excepted, like /tmp: others cannot rename or remove what is in it) or
// owned by a user other than the process's effective user or root. The
// checks are off on Windows, whose permissions are ACLs.
//
// New guards any fs.FS. An os.DirFS gets the checks of Dir; another file
// system (embed.FS, fstest.MapFS) gets only the refusal of anything that is
// neither a regular file nor a folder (opening a FIFO would block): its mode
// bits mean nothing, unless its files report OS file information, which is
// then checked as Dir checks the store's own paths.
//
// ReadFile is the one capped reader of store files.
package safefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"reflect"
	"sync"
)

var (
	// ErrWritableByOthers is wrapped when a store file or folder, or a
	// folder above it, may be changed by any user of the machine.
	ErrWritableByOthers = errors.New("writable by others")
	// ErrOwnedByOther is wrapped when a store file or folder, or a folder
	// above it, is owned by a user other than this process's or root.
	ErrOwnedByOther = errors.New("owned by another user")
	// ErrTooLarge is wrapped when a file is larger than its reader allows.
	ErrTooLarge = errors.New("too large")
)

// ReadFile reads the regular file name of at most max bytes from fsys,
// guarded as New guards it (a guard is used as it is). A file that is too
// large is an *fs.PathError wrapping ErrTooLarge.
func ReadFile(fsys fs.FS, name string, max int64) ([]byte, error) {
	f, err := New(fsys).Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular("read", name, st.Mode())
	}
	if st.Size() > max {
		return nil, tooLarge(name, fmt.Sprintf("%d bytes", st.Size()), max)
	}
	// Read what Stat announced in one go, and one byte more to see a file
	// that grew.
	data := make([]byte, 0, st.Size()+1)
	for int64(len(data)) <= max {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := f.Read(data[len(data):min(int64(cap(data)), max+1)])
		data = data[:len(data)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if int64(len(data)) > max {
		return nil, tooLarge(name, "it grew", max)
	}
	return data, nil
}

func tooLarge(name, size string, max int64) error {
	return &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w: %s, more than the %d allowed", ErrTooLarge, size, max)}
}

// New returns fsys guarded: fsys itself when it is already a guard, Dir of
// its folder for an os.DirFS, and otherwise a guard that refuses anything
// neither a regular file nor a folder, and checks modes and owners only of
// files that report OS file information.
func New(fsys fs.FS) fs.FS {
	switch fsys.(type) {
	case *DirFS, *anyFS:
		return fsys
	}
	if dir, ok := osDir(fsys); ok {
		return Dir(dir)
	}
	return &anyFS{fsys: fsys, euid: os.Geteuid(), okDirs: map[string]bool{}}
}

// OnOS reports whether fsys is a store folder on the OS file system (a
// Dir, or an os.DirFS), as opposed to one built into the program
// (embed.FS) or made in memory.
func OnOS(fsys fs.FS) bool {
	if _, ok := fsys.(*DirFS); ok {
		return true
	}
	_, ok := osDir(fsys)
	return ok
}

var dirFSType = reflect.TypeOf(os.DirFS("."))

// osDir returns the folder of an os.DirFS, which keeps it unexported (as a
// string type), so that a store given as os.DirFS(dir) to LoadFS or
// Options.FS is guarded as LoadDir guards dir.
func osDir(fsys fs.FS) (string, bool) {
	v := reflect.ValueOf(fsys)
	if !v.IsValid() || v.Type() != dirFSType || v.Kind() != reflect.String || v.String() == "" {
		return "", false
	}
	return v.String(), true
}

// anyFS guards an fs.FS that is not known to be the OS's. Folders found
// sound are remembered for its life, which is one load of the store.
type anyFS struct {
	fsys fs.FS
	euid int

	mu     sync.Mutex
	okDirs map[string]bool
}

// Stat implements fs.StatFS with the checks of Open.
func (a *anyFS) Stat(name string) (fs.FileInfo, error) {
	if err := a.checkDirs(name); err != nil {
		return nil, err
	}
	st, err := fs.Stat(a.fsys, name)
	if err != nil {
		return nil, err
	}
	return st, a.check(name, st)
}

// Open implements fs.FS.
func (a *anyFS) Open(name string) (fs.File, error) {
	if _, err := a.Stat(name); err != nil {
		return nil, err
	}
	return a.fsys.Open(name)
}

// checkDirs checks the folders on the path to name, each once.
func (a *anyFS) checkDirs(name string) error {
	for dir := path.Dir(name); ; dir = path.Dir(dir) {
		a.mu.Lock()
		ok := a.okDirs[dir]
		a.mu.Unlock()
		if !ok {
			st, err := fs.Stat(a.fsys, dir)
			if err != nil {
				return err
			}
			if err := a.check(dir, st); err != nil {
				return err
			}
			a.mu.Lock()
			a.okDirs[dir] = true
			a.mu.Unlock()
		}
		if dir == "." || dir == "/" {
			return nil
		}
	}
}

func (a *anyFS) check(name string, st fs.FileInfo) error {
	if !st.Mode().IsRegular() && !st.IsDir() {
		return notRegular("open", name, st.Mode())
	}
	if fromOS(st) {
		return checkOwnerMode(name, st, a.euid)
	}
	return nil
}

func notRegular(op, name string, m fs.FileMode) error {
	return &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("not a regular file (%v)", m.Type())}
}
