// Package lockfile provides exclusive advisory locks on files that work
// between processes and between goroutines of one process.
//
// On unix it uses flock(2) and on Windows LockFileEx. Both lock an open file
// (an open file description, a handle), not a process: two Lock calls in one
// process open the file twice and exclude each other like two processes do.
// The kernel releases the lock when its holder exits, however it exits.
//
// The locks are advisory: they exclude only other users of this package (or
// of flock on the same file). A lock file is never removed, since removing it
// would let a later locker lock a new file while an earlier holder still has
// the old one.
package lockfile

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// File is a held lock. The zero value holds no lock.
type File struct {
	f *os.File
}

// maxPoll bounds the wait between two attempts of a Lock whose context can be
// canceled.
const maxPoll = 50 * time.Millisecond

// Lock takes an exclusive lock on the file at path, creating it with mode
// 0600 if it does not exist, and waits until it gets the lock or ctx is done.
// If ctx is done first, Lock returns ctx.Err() wrapped, and it does so even
// when the lock is free.
//
// A ctx that can never be done (context.Background) waits in the kernel,
// which wakes the waiter when the lock is released. Otherwise Lock polls,
// from 1ms up to every 50ms; a waiter that polls can lose the lock to a
// process that retakes it at once, again and again.
func Lock(ctx context.Context, path string) (*File, error) {
	f, err := lock(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("lockfile: lock %s: %w", path, err)
	}
	return &File{f: f}, nil
}

func lock(ctx context.Context, path string) (*os.File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Read-only is enough to lock, and works on a lock file we may not write.
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := wait(ctx, f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func wait(ctx context.Context, f *os.File) error {
	if ctx.Done() == nil {
		_, err := flock(f, true)
		return err
	}
	delay := time.Millisecond
	for {
		ok, err := flock(f, false)
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, maxPoll)
	}
}

// Unlock releases the lock and closes the lock file. It returns an error
// wrapping fs.ErrClosed if l holds no lock (the zero File, or a second
// Unlock). Unlock must not be called concurrently with itself.
func (l *File) Unlock() error {
	if l == nil || l.f == nil {
		return fmt.Errorf("lockfile: unlock: %w", fs.ErrClosed)
	}
	f := l.f
	l.f = nil
	err := funlock(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("lockfile: unlock %s: %w", f.Name(), err)
	}
	return nil
}

// TryLock tries to take an exclusive lock on the open file f without waiting
// and reports whether it did. It reports false with a nil error if another
// open file holds the lock. The lock is held until f is closed.
//
// On a platform without file locks TryLock returns an error wrapping
// errors.ErrUnsupported.
func TryLock(f *os.File) (bool, error) {
	ok, err := flock(f, false)
	if err != nil {
		return false, fmt.Errorf("lockfile: lock %s: %w", f.Name(), err)
	}
	return ok, nil
}
