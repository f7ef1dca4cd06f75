//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris

package lockfile

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// flock takes an exclusive flock(2) on f. With block it waits; without, it
// reports false if the lock is held elsewhere.
func flock(f *os.File, block bool) (bool, error) {
	how := unix.LOCK_EX
	if !block {
		how |= unix.LOCK_NB
	}
	var err error
	if cerr := control(f, func(fd int) {
		for {
			err = unix.Flock(fd, how)
			if !errors.Is(err, unix.EINTR) {
				return
			}
		}
	}); cerr != nil {
		return false, cerr
	}
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// funlock releases the flock(2) on f.
func funlock(f *os.File) error {
	var err error
	if cerr := control(f, func(fd int) { err = unix.Flock(fd, unix.LOCK_UN) }); cerr != nil {
		return cerr
	}
	return err
}

// control runs fn with f's descriptor, which stays open while fn runs.
func control(f *os.File, fn func(fd int)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(fd uintptr) { fn(int(fd)) })
}
