package httptrust

import (
	"io/fs"

	"github.com/httptrust/httptrust/internal/safefs"
)

// ErrWritableByOthers is wrapped when a store file or folder, or a folder
// above it or above what a symbolic link in it reaches, may be changed by
// any user of the machine: whoever can write it decides what is trusted.
// A folder with the sticky bit (like /tmp) is not refused for it: others
// cannot rename or remove what is in it.
var ErrWritableByOthers = safefs.ErrWritableByOthers

// ErrOwnedByOther is wrapped when a store file or folder, or a folder above
// it or above what a symbolic link in it reaches, is owned by a user other
// than the process's effective user or root: that user decides what is
// trusted.
var ErrOwnedByOther = safefs.ErrOwnedByOther

// newSafeFS guards a store. A store on the OS file system (LoadDir, or an
// os.DirFS given to LoadFS or Options.FS) is checked as OpenSSH's
// StrictModes checks ~/.ssh: each file is resolved through its symbolic
// links, and the real file and every real folder up to the file system
// root are refused when writable by others (a sticky folder excepted) or
// owned by another user than the process's or root; the checks are off on
// Windows. Any other fs.FS (embed.FS, fstest.MapFS) has mode bits that mean
// nothing: only what is neither a regular file nor a folder is refused
// (opening a FIFO would block). Folders found sound are remembered for the
// life of the guard, which is one load of the store.
func newSafeFS(fsys fs.FS) fs.FS { return safefs.New(fsys) }
