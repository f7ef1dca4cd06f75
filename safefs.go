package httptrust

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
)

// ErrWritableByOthers is wrapped when a store file or folder may be changed
// by any user of the machine: whoever can write it decides what is trusted.
var ErrWritableByOthers = errors.New("writable by others")

// safeFS guards a store: it refuses files and folders writable by others,
// and anything that is neither a regular file nor a folder (opening a FIFO
// would block).
type safeFS struct{ fs.FS }

func (s safeFS) Open(name string) (fs.File, error) {
	// The folders on the path count too: whoever can write a folder can
	// swap the file in it.
	for dir := path.Dir(name); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if err := s.checkWritable(dir); err != nil {
			return nil, err
		}
	}
	if err := s.checkWritable(name); err != nil {
		return nil, err
	}
	st, err := fs.Stat(s.FS, name)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() && !st.IsDir() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("not a regular file (%v)", st.Mode().Type())}
	}
	return s.FS.Open(name)
}

// checkWritable refuses name if others may write it.
func (s safeFS) checkWritable(name string) error {
	st, err := fs.Stat(s.FS, name)
	if err != nil {
		return err
	}
	if runtime.GOOS == "windows" || st.Mode().Perm()&0o002 == 0 {
		return nil
	}
	what := "file"
	if st.IsDir() {
		what = "folder"
	}
	return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf(
		"%w: the store %s has mode %v, so anyone on this machine could change what it trusts; run chmod o-w on it",
		ErrWritableByOthers, what, st.Mode().Perm())}
}
