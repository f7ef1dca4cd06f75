package safefs

import (
	"fmt"
	"io/fs"
	"runtime"
	"strings"
)

// checkOwnerMode refuses what another user may change: a file or folder
// writable by others (a folder with the sticky bit excepted: others cannot
// rename or remove what is in it) or owned by a user other than this
// process's effective user (euid) or root. It checks nothing on Windows.
func checkOwnerMode(name string, st fs.FileInfo, euid int) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	what := "file"
	if st.IsDir() {
		what = "folder"
	}
	m := st.Mode()
	if m.Perm()&0o002 != 0 && !(st.IsDir() && m&fs.ModeSticky != 0) {
		return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf(
			"%w: the %s has mode %v, so any user of this machine could change what the store trusts; run chmod o-w %s",
			ErrWritableByOthers, what, m&(fs.ModeDir|fs.ModeSticky|fs.ModePerm), shellQuote(name))}
	}
	if uid, ok := owner(st); ok && uid != 0 && uid != euid {
		return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf(
			"%w: the %s is owned by uid %d, not by this user (uid %d) or root, so that user could change what the store trusts; run chown %d %s, or keep the store where only you or root own the folders",
			ErrOwnedByOther, what, uid, euid, euid, shellQuote(name))}
	}
	return nil
}

// shellQuote quotes a path for a command line when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:,@%=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
