package httptrust

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"sync"
)

// ErrWritableByOthers is wrapped when a store file or folder may be changed
// by any user of the machine: whoever can write it decides what is trusted.
var ErrWritableByOthers = errors.New("writable by others")

// safeFS guards a store: it refuses files and folders writable by others,
// including the folders on the path to a file (whoever can write a folder
// can swap the file in it), and anything that is neither a regular file nor
// a folder (opening a FIFO would block). Folders found sound are
// remembered for the life of the safeFS, which is one load of the store.
type safeFS struct {
	fsys fs.FS

	mu     sync.Mutex
	okDirs map[string]bool
}

func newSafeFS(fsys fs.FS) *safeFS {
	if s, ok := fsys.(*safeFS); ok {
		return s
	}
	return &safeFS{fsys: fsys, okDirs: map[string]bool{}}
}

// Stat implements fs.StatFS with the same checks as Open.
func (s *safeFS) Stat(name string) (fs.FileInfo, error) {
	if err := s.checkDirs(name); err != nil {
		return nil, err
	}
	st, err := fs.Stat(s.fsys, name)
	if err != nil {
		return nil, err
	}
	return st, check(name, st)
}

// Open implements fs.FS.
func (s *safeFS) Open(name string) (fs.File, error) {
	if _, err := s.Stat(name); err != nil {
		return nil, err
	}
	return s.fsys.Open(name)
}

// checkDirs checks the folders on the path to name, each once.
func (s *safeFS) checkDirs(name string) error {
	for dir := path.Dir(name); ; dir = path.Dir(dir) {
		s.mu.Lock()
		ok := s.okDirs[dir]
		s.mu.Unlock()
		if !ok {
			st, err := fs.Stat(s.fsys, dir)
			if err != nil {
				return err
			}
			if err := check(dir, st); err != nil {
				return err
			}
			s.mu.Lock()
			s.okDirs[dir] = true
			s.mu.Unlock()
		}
		if dir == "." || dir == "/" {
			return nil
		}
	}
}

// check refuses what others may write, and what is neither a regular file
// nor a folder.
func check(name string, st fs.FileInfo) error {
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o002 != 0 {
		what := "file"
		if st.IsDir() {
			what = "folder"
		}
		return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf(
			"%w: the store %s has mode %v, so anyone on this machine could change what it trusts; run chmod o-w on it",
			ErrWritableByOthers, what, st.Mode().Perm())}
	}
	if !st.Mode().IsRegular() && !st.IsDir() {
		return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("not a regular file (%v)", st.Mode().Type())}
	}
	return nil
}
