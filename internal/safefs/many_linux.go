//go:build linux

package safefs

import (
	"io/fs"
	"path"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// StatMany stats names (store paths, as Stat takes) as Stat would, with
// up to workers at a time, calling each with every result in no order;
// each returning false stops the rest. The folders holding the names are
// resolved and checked once; a regular file in them is then statted
// relative to its folder (fstatat), which costs one lookup instead of one
// per component of its path. Anything else (a link, a folder, what is
// missing) takes Stat's way.
func (d *DirFS) StatMany(names []string, workers int, each func(i int, st fs.FileInfo, err error) bool) {
	type folder struct {
		fd  int
		err error
	}
	var mu sync.Mutex
	folders := map[string]*folder{}
	open := func(dir string) *folder {
		mu.Lock()
		defer mu.Unlock()
		if f, ok := folders[dir]; ok {
			return f
		}
		f := &folder{fd: -1}
		folders[dir] = f
		real, st, err := d.resolve("stat", dir)
		switch {
		case err != nil:
			f.err = err
		case !st.IsDir():
			f.err = &fs.PathError{Op: "stat", Path: real, Err: syscall.ENOTDIR}
		default:
			f.fd, f.err = unix.Open(real, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		}
		return f
	}
	defer func() {
		for _, f := range folders {
			if f.fd >= 0 {
				unix.Close(f.fd)
			}
		}
	}()
	one := func(name string) (fs.FileInfo, error) {
		if !fs.ValidPath(name) || name == "." {
			return d.Stat(name)
		}
		f := open(path.Dir(name))
		if f.err != nil {
			return d.Stat(name)
		}
		var st unix.Stat_t
		if err := unix.Fstatat(f.fd, path.Base(name), &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			return d.Stat(name)
		}
		info := &statInfo{name: path.Base(name), st: toSyscall(&st)}
		if err := checkOwnerMode(filepath.Join(d.root, filepath.FromSlash(name)), info, d.euid); err != nil {
			return nil, err
		}
		return info, nil
	}
	statEach(names, workers, one, each)
}

func toSyscall(s *unix.Stat_t) *syscall.Stat_t {
	return &syscall.Stat_t{Dev: s.Dev, Ino: s.Ino, Nlink: s.Nlink, Mode: s.Mode, Uid: s.Uid, Gid: s.Gid,
		Rdev: s.Rdev, Size: s.Size, Blksize: s.Blksize, Blocks: s.Blocks,
		Atim: syscall.Timespec{Sec: s.Atim.Sec, Nsec: s.Atim.Nsec},
		Mtim: syscall.Timespec{Sec: s.Mtim.Sec, Nsec: s.Mtim.Nsec},
		Ctim: syscall.Timespec{Sec: s.Ctim.Sec, Nsec: s.Ctim.Nsec}}
}

// statInfo is the fs.FileInfo of a regular file statted by StatMany.
type statInfo struct {
	name string
	st   *syscall.Stat_t
}

func (s *statInfo) Name() string       { return s.name }
func (s *statInfo) Size() int64        { return s.st.Size }
func (s *statInfo) ModTime() time.Time { return time.Unix(s.st.Mtim.Unix()) }
func (s *statInfo) IsDir() bool        { return false }
func (s *statInfo) Sys() any           { return s.st }
func (s *statInfo) Mode() fs.FileMode {
	m := fs.FileMode(s.st.Mode & 0o777)
	if s.st.Mode&syscall.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if s.st.Mode&syscall.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if s.st.Mode&syscall.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// Direct reports whether st, from StatMany, is of a regular file that is
// itself the entry of its name in a folder it resolved (no symbolic link
// at the name): a file whose every change an inotify watch on it and its
// folder sees.
func Direct(st fs.FileInfo) bool {
	_, ok := st.(*statInfo)
	return ok
}
