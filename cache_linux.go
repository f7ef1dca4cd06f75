//go:build linux

package httptrust

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/httptrust/httptrust/internal/safefs"
)

// osStamp reads the identity and times of a file of the OS.
func osStamp(st fs.FileInfo) (stamp, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return stamp{}, false
	}
	return stamp{present: true, dev: uint64(s.Dev), ino: uint64(s.Ino), size: s.Size,
		mtime: s.Mtim.Nano(), ctime: s.Ctim.Nano(), mode: uint32(s.Mode)}, true
}

// mapFile maps the index file name into memory, read-only, once it and
// the folders above it pass the store's checks (only its owner or root may
// change them). The index is replaced by rename, never rewritten in place,
// so the mapping stays whole.
func mapFile(name string) ([]byte, fs.FileInfo, func(), error) {
	checked, err := safefs.Dir(filepath.Dir(name)).Stat(filepath.Base(name))
	if err != nil {
		return nil, nil, nil, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, nil, err
	}
	if _, ok := ownerOf(st); !ok || !os.SameFile(checked, st) || !st.Mode().IsRegular() || st.Size() <= 0 || st.Size() > 1<<32 {
		return nil, nil, nil, errors.New("not an index file")
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, nil, err
	}
	return data, st, func() { syscall.Munmap(data) }, nil
}

// ownerOf returns the user that owns a file of the OS.
func ownerOf(st fs.FileInfo) (uint32, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return s.Uid, true
}
