package safefs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
)

// maxLinks bounds the symbolic links followed for one name, as the kernel
// does (40 on Linux).
const maxLinks = 40

// errLoop is returned for a name that goes through more than maxLinks
// symbolic links.
var errLoop = errors.New("too many levels of symbolic links")

// DirFS is a store folder of the OS, guarded. Each name is resolved through
// its symbolic links, and the real file and every real folder passed
// through, from the file system root down, are checked (see the package
// doc). Errors are *fs.PathError values naming the real path. Folders found
// sound are remembered for the life of the DirFS, which is one load of the
// store; files are checked on every Stat and Open. A DirFS is safe for
// concurrent use.
type DirFS struct {
	root string // absolute
	err  error  // from making root absolute
	euid int    // the user besides root who may own the store

	mu     sync.Mutex
	okDirs map[string]bool
}

// Dir returns the store folder dir, guarded.
func Dir(dir string) *DirFS {
	root, err := filepath.Abs(dir)
	return &DirFS{root: root, err: err, euid: os.Geteuid(), okDirs: map[string]bool{}}
}

// Stat implements fs.StatFS: the real file's information, once it and the
// folders above it pass the checks.
func (d *DirFS) Stat(name string) (fs.FileInfo, error) {
	_, st, err := d.resolve("stat", name)
	return st, err
}

// Open implements fs.FS. It opens the real file it checked, and refuses it
// if it was replaced in between.
func (d *DirFS) Open(name string) (fs.File, error) {
	real, st, err := d.resolve("open", name)
	if err != nil {
		return nil, err
	}
	return openSame(real, st)
}

// openSame opens the file at real if it is still the file st describes.
func openSame(real string, st fs.FileInfo) (*file, error) {
	f, err := os.Open(real)
	if err != nil {
		return nil, err
	}
	got, err := f.Stat()
	if err == nil && !os.SameFile(st, got) {
		err = &fs.PathError{Op: "open", Path: real, Err: errors.New("replaced while it was being checked; try again")}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &file{File: f, st: got}, nil
}

// file is an open store file (or folder, whose ReadDir it keeps) that
// answers Stat with what its opening found.
type file struct {
	*os.File
	st fs.FileInfo
}

func (f *file) Stat() (fs.FileInfo, error) { return f.st, nil }

// resolve finds the real path of name and checks it and every folder on
// the way.
func (d *DirFS) resolve(op, name string) (string, fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return "", nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if d.err != nil {
		return "", nil, &fs.PathError{Op: op, Path: name, Err: d.err}
	}
	real, st, err := d.walk(filepath.Join(d.root, filepath.FromSlash(name)))
	if err != nil {
		return "", nil, err
	}
	if st == nil {
		if st, err = os.Lstat(real); err != nil {
			return "", nil, err
		}
	}
	if !st.Mode().IsRegular() && !st.IsDir() {
		return "", nil, notRegular(op, real, st.Mode())
	}
	if st.IsDir() {
		return real, st, d.checkDir(real, st)
	}
	return real, st, checkOwnerMode(real, st, d.euid)
}

// walk resolves the absolute path p as the kernel does, one component at a
// time, and checks every real folder it passes through: the folders above
// the real file, and also those holding a symbolic link on the way (whoever
// can write one can point the link elsewhere). On Windows, where nothing is
// checked, it is filepath.EvalSymlinks.
//
// It returns the real path and its Lstat information, or nil when the
// last component was a folder already found sound. Such a folder is not
// looked at again during the life of d, as the checks themselves are not:
// only its owner or root could have changed it since. Links are read every
// time, so a lazy read after a ConfigMap swaps "..data" finds the new data.
func (d *DirFS) walk(p string) (string, fs.FileInfo, error) {
	if runtime.GOOS == "windows" {
		real, err := filepath.EvalSymlinks(p)
		return real, nil, err
	}
	real, rest := "/", p
	if err := d.checkDir(real, nil); err != nil {
		return "", nil, err
	}
	var st fs.FileInfo
	for links := 0; rest != ""; {
		var c string
		var more bool // a slash follows c: it must be a folder
		c, rest, more = strings.Cut(rest, "/")
		switch c {
		case "", ".":
			continue
		case "..":
			real, st = filepath.Dir(real), nil // real has no links: its parent is the folder above
			continue
		}
		next := filepath.Join(real, c)
		if d.sound(next) {
			real, st = next, nil
			continue
		}
		var err error
		if st, err = os.Lstat(next); err != nil {
			return "", nil, err
		}
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			if links++; links > maxLinks {
				return "", nil, &fs.PathError{Op: "open", Path: next, Err: errLoop}
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", nil, err
			}
			if filepath.IsAbs(target) {
				real = "/"
			}
			if more {
				target += "/" + rest
			}
			rest, st = target, nil
			continue
		case st.IsDir():
			if err := d.checkDir(next, st); err != nil {
				return "", nil, err
			}
		case more:
			return "", nil, &fs.PathError{Op: "open", Path: next, Err: syscall.ENOTDIR}
		}
		real = next
	}
	return real, st, nil
}

// sound reports whether dir is a real folder already found sound.
func (d *DirFS) sound(dir string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.okDirs[dir]
}

// checkDir checks the real folder dir (st is its Lstat, or nil), once.
func (d *DirFS) checkDir(dir string, st fs.FileInfo) error {
	if d.sound(dir) {
		return nil
	}
	if st == nil {
		var err error
		if st, err = os.Lstat(dir); err != nil {
			return err
		}
	}
	if err := checkOwnerMode(dir, st, d.euid); err != nil {
		return err
	}
	d.mu.Lock()
	d.okDirs[dir] = true
	d.mu.Unlock()
	return nil
}
