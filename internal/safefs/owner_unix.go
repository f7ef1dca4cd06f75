//go:build unix

package safefs

import (
	"io/fs"
	"syscall"
)

// owner returns the user that owns a file of the OS.
func owner(st fs.FileInfo) (uid int, ok bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(s.Uid), true
}

// fromOS reports whether st describes a file of the OS, whose mode and
// owner mean what they say.
func fromOS(st fs.FileInfo) bool {
	_, ok := st.Sys().(*syscall.Stat_t)
	return ok
}
