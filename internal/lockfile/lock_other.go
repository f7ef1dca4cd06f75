//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris || windows)

package lockfile

import (
	"errors"
	"fmt"
	"os"
)

// errUnsupported is returned on platforms without file locks.
var errUnsupported = fmt.Errorf("file locks are not available on this platform: %w", errors.ErrUnsupported)

// flock fails: this platform has no file locks.
func flock(*os.File, bool) (bool, error) { return false, errUnsupported }

// funlock fails: this platform has no file locks.
func funlock(*os.File) error { return errUnsupported }
