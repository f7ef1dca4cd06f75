//go:build windows

package lockfile

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// flock takes an exclusive LockFileEx lock on the first byte of f. With block
// it waits; without, it reports false if the lock is held elsewhere.
func flock(f *os.File, block bool) (bool, error) {
	flags := uint32(windows.LOCKFILE_EXCLUSIVE_LOCK)
	if !block {
		flags |= windows.LOCKFILE_FAIL_IMMEDIATELY
	}
	var err error
	if cerr := control(f, func(h windows.Handle) {
		err = windows.LockFileEx(h, flags, 0, 1, 0, new(windows.Overlapped))
	}); cerr != nil {
		return false, cerr
	}
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return false, nil
	}
	return err == nil, err
}

// funlock releases the lock flock took on f.
func funlock(f *os.File) error {
	var err error
	if cerr := control(f, func(h windows.Handle) {
		err = windows.UnlockFileEx(h, 0, 1, 0, new(windows.Overlapped))
	}); cerr != nil {
		return cerr
	}
	return err
}

// control runs fn with f's handle, which stays open while fn runs.
func control(f *os.File, fn func(h windows.Handle)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(h uintptr) { fn(windows.Handle(h)) })
}
