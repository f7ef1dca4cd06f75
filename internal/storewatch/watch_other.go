//go:build !linux

package storewatch

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// Supported reports whether watchers work on this system.
const Supported = false

var errUnsupported = errors.New("storewatch: not supported on this system")

// ErrNotLocal is returned by Serve for a store on a file system it cannot
// serve.
var ErrNotLocal = errUnsupported

// ErrOtherUser is returned by Query when the watcher's socket is another
// user's.
var ErrOtherUser = errors.New("storewatch: the watcher's socket is another user's")

// Local reports whether the folder dir is on a file system a watcher can
// serve: none here.
func Local(string) bool { return false }

// Query finds no watcher here.
func Query(string, uint64, uint64) (Token, error) { return Token{}, errUnsupported }

// Serve is not supported here.
func Serve(string, string, time.Duration, func()) error { return errUnsupported }

// Start starts nothing here.
func Start(string, string, string) error { return errUnsupported }

// DefaultIdle is how long a watcher waits for a question before it ends.
const DefaultIdle = 10 * time.Minute

// Main reports that watchers are not supported here.
func Main([]string, string) int {
	fmt.Fprintln(os.Stderr, "httptrust:", errUnsupported)
	return 1
}
