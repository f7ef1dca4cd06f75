// Package atomicfile writes files so that a reader, a crash or a concurrent
// writer in another process never sees them half written.
//
// A write goes to a temporary file in the same directory, named
// ".<base>.tmp-<16 hex digits>", which is written, synced, given its final
// mode and then renamed over (WriteFile) or linked to (WriteNew) the target,
// after which the directory is synced. Concurrent writers of one path do not
// corrupt it: the last rename wins whole. A read-modify-write sequence still
// needs a lock around it (see package lockfile).
//
// # Leftover temporary files
//
// A writer holds a lock (lockfile.TryLock) on its temporary file from just
// after creating it until it is done, and the kernel drops that lock when the
// writer dies, however it dies. So a temporary file of the same base that
// nobody holds a lock on belongs to a dead writer: each write removes those
// before it starts. The rule needs no clock, and it never removes the file
// of a live writer however slow that writer is. A writer that loses the race
// between creating its file and locking it to such a cleanup notices and
// starts over with a new name.
//
// # Symbolic links
//
// WriteFile refuses to replace a symbolic link at path and returns an error
// wrapping ErrSymlink: it neither writes through the link (which could write
// outside the directory) nor silently turns a person's link into a copy. A
// link that appears at path during the write is replaced, never followed.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// ErrSymlink is wrapped by the error WriteFile returns when path is a
// symbolic link.
var ErrSymlink = errors.New("is a symbolic link; write its target instead")

// WriteFile writes data to the file at path, replacing it atomically: at
// every moment, and after a crash at any moment, path holds either its old
// content or all of data. The file gets exactly the permissions perm.Perm(),
// whatever the umask; other bits of perm are ignored. It is owned by the
// writing user.
//
// If WriteFile returns an error, path is unchanged and the temporary file is
// removed, with one exception: if only the final sync of the directory fails,
// path already holds data, which may not survive a crash. Errors are
// *fs.PathError values with Op "atomicfile: write" and Path path.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	if err := write(path, data, perm, replace); err != nil {
		return &fs.PathError{Op: "atomicfile: write", Path: path, Err: err}
	}
	return nil
}

// WriteFileUnsynced is WriteFile without its syncs: path holds either its
// old content or all of data at every moment, but after a crash either may
// be lost unless the caller syncs the file system (SyncFS) before it relies
// on the new content. It is for writing many files at once.
func WriteFileUnsynced(path string, data []byte, perm fs.FileMode) error {
	if err := writeSync(path, data, perm, replace, false); err != nil {
		return &fs.PathError{Op: "atomicfile: write", Path: path, Err: err}
	}
	return nil
}

// WriteNew is like WriteFile but fails with an error wrapping fs.ErrExist if
// path exists (as a file, directory or symbolic link). It links the finished
// temporary file to path with link(2), which fails if path exists, so of two
// writers racing to create path exactly one succeeds and path holds its data;
// no lock is needed. It needs a file system with hard links. Errors are
// *fs.PathError values with Op "atomicfile: create" and Path path.
func WriteNew(path string, data []byte, perm fs.FileMode) error {
	if err := write(path, data, perm, os.Link); err != nil {
		return &fs.PathError{Op: "atomicfile: create", Path: path, Err: err}
	}
	return nil
}

// replace renames the temporary file tmp over path, unless path is a
// symbolic link. rename(2) replaces a link that appears after the check; it
// never follows one.
func replace(tmp, path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return ErrSymlink
	}
	return os.Rename(tmp, path)
}

// write writes data to a new temporary file next to path and publishes it
// with commit (replace or os.Link).
func write(path string, data []byte, perm fs.FileMode, commit func(tmp, path string) error) error {
	return writeSync(path, data, perm, commit, true)
}

func writeSync(path string, data []byte, perm fs.FileMode, commit func(tmp, path string) error, sync bool) error {
	dir, base := filepath.Dir(path), filepath.Base(path)
	removeStale(dir, base)
	f, err := createTemp(dir, base)
	if err != nil {
		return err
	}
	tmp := f.Name()
	// After a rename tmp no longer exists; after a link or a failure it is
	// removed here. (Closed first: Windows cannot remove an open file.)
	defer func() {
		f.Close()
		os.Remove(tmp)
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm.Perm()); err != nil {
		return err
	}
	if sync {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := commit(tmp, path); err != nil {
		return err
	}
	if !sync {
		return nil
	}
	return syncDir(dir)
}

// syncDir makes a rename or link in dir durable. File systems that cannot
// sync a directory (EINVAL, ENOTSUP) are taken at their word. Windows cannot
// open a directory for syncing; NTFS journals the rename itself.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	return err
}
