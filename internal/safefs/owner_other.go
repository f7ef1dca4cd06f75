//go:build !unix

package safefs

import "io/fs"

// owner reports no owner: this OS has no Unix owners to check.
func owner(fs.FileInfo) (uid int, ok bool) { return 0, false }

// fromOS reports false: modes are checked only where they are Unix modes.
func fromOS(fs.FileInfo) bool { return false }
