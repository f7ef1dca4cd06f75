//go:build linux

package storewatch

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Supported reports whether watchers work on this system.
const Supported = true

// localFS are the file systems whose every change passes through this
// kernel, and so raises an inotify event.
var localFS = map[int64]string{
	unix.EXT4_SUPER_MAGIC:  "ext4", // also ext2 and ext3
	unix.XFS_SUPER_MAGIC:   "xfs",
	unix.BTRFS_SUPER_MAGIC: "btrfs",
	unix.TMPFS_MAGIC:       "tmpfs",
	unix.F2FS_SUPER_MAGIC:  "f2fs",
	0x2fc12fc1:             "zfs",
}

// Local reports whether the folder dir is on a file system a watcher can
// serve.
func Local(dir string) bool {
	var s unix.Statfs_t
	if unix.Statfs(dir, &s) != nil {
		return false
	}
	_, ok := localFS[int64(s.Type)]
	return ok
}

// socketName is the abstract socket of the watcher of the store folder
// root (absolute), whose device and inode are dev and ino.
// The mount namespace is part of it: a process that sees other mounts
// sees other files under the same names.
func socketName(root string, dev, ino uint64) string {
	ns, _ := os.Readlink("/proc/self/ns/mnt")
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d\x00%s\x00%d\x00%d\x00%s", os.Geteuid(), ns, dev, ino, root)))
	return "@httptrust-watch-" + hex.EncodeToString(sum[:16])
}

// queryTimeout bounds a question to a watcher; one that is slower is
// not waited for (the files are statted instead).
var queryTimeout = 200 * time.Millisecond

// Query asks the watcher of the store folder root (absolute; dev and ino
// as the process stats it) for its token. An error means no usable
// watcher: none runs, it runs as another user, it watches another folder
// or it did not answer in time.
func Query(root string, dev, ino uint64) (Token, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return Token{}, err
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(queryTimeout.Nanoseconds())
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: socketName(root, dev, ino)}); err != nil {
		return Token{}, err
	}
	// Believe only a watcher of this user: another user could have taken
	// the name first.
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return Token{}, err
	}
	if cred.Uid != uint32(os.Geteuid()) {
		return Token{}, fmt.Errorf("storewatch: the watcher runs as user %d, not %d", cred.Uid, os.Geteuid())
	}
	var buf [256]byte
	n := 0
	for n < len(buf) {
		k, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return Token{}, err
		}
		if k == 0 {
			break
		}
		n += k
		if buf[n-1] == '\n' {
			break
		}
	}
	return parseAnswer(string(buf[:n]), dev, ino)
}

// Masks of the watches: every change to a folder's entries or to a file.
const (
	dirMask = unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
		unix.IN_CREATE | unix.IN_DELETE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW
	fileMask = unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_DONT_FOLLOW
)

// watcher is the state of Serve.
type watcher struct {
	root, managed string // absolute
	in            int    // inotify
	dirs          map[int32]string
	tok           Token
	gone          bool // the store folder was removed or moved
}

// ErrNotLocal is returned by Serve for a store on a file system it cannot
// serve (see the package doc).
var ErrNotLocal = errors.New("storewatch: the store is not on a local file system")

// Serve watches the store folder root (absolute) and its folder managed
// (a name in it) and answers questions until none came for idle, the
// folder is removed or moved, or another watcher of it already runs
// (then it returns nil at once). ready, if not nil, is called once it
// answers.
func Serve(root, managed string, idle time.Duration, ready func()) error {
	if !filepath.IsAbs(root) {
		return fmt.Errorf("storewatch: %s is not an absolute path", root)
	}
	var st unix.Stat_t
	if err := unix.Stat(root, &st); err != nil {
		return err
	}
	if !Local(root) {
		return ErrNotLocal
	}
	in, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(in)
	w := &watcher{root: root, managed: filepath.Join(root, managed), in: in, dirs: map[int32]string{}}
	if _, err := rand.Read(w.tok.ID[:]); err != nil {
		return err
	}
	// Every watch is in place before the first answer: a change made
	// before it is one the asking process's own stat sees.
	if err := w.scan(); err != nil {
		return err
	}
	ln, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer unix.Close(ln)
	if err := unix.Bind(ln, &unix.SockaddrUnix{Name: socketName(root, st.Dev, st.Ino)}); err != nil {
		if errors.Is(err, unix.EADDRINUSE) {
			return nil // another watcher serves this store
		}
		return err
	}
	if err := unix.Listen(ln, 64); err != nil {
		return err
	}
	if ready != nil {
		ready()
	}
	// A file system mounted over a file of the store raises no inotify
	// event; the kernel flags /proc/self/mountinfo on every mount and
	// unmount instead.
	mounts, err := unix.Open("/proc/self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("storewatch: %w", err)
	}
	defer unix.Close(mounts)
	last := time.Now()
	fds := []unix.PollFd{{Fd: int32(in), Events: unix.POLLIN}, {Fd: int32(ln), Events: unix.POLLIN}, {Fd: int32(mounts), Events: unix.POLLPRI}}
	for !w.gone {
		wait := time.Until(last.Add(idle))
		if wait <= 0 {
			return nil
		}
		if _, err := unix.Poll(fds, int(wait.Milliseconds())+1); err != nil && err != unix.EINTR {
			return err
		}
		// Polling the mount table clears its flag: read it from this poll.
		if fds[2].Revents&(unix.POLLPRI|unix.POLLERR) != 0 {
			w.tok.Gen++
		}
		if err := w.drain(); err != nil {
			return err
		}
		for !w.gone {
			c, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
			if err != nil {
				break
			}
			last = time.Now()
			// Every event queued before the question is counted first.
			if w.mountsChanged(fds[2:]) {
				w.tok.Gen++
			}
			if err := w.drain(); err != nil {
				unix.Close(c)
				return err
			}
			if cred, err := unix.GetsockoptUcred(c, unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil && cred.Uid == uint32(os.Geteuid()) && !w.gone {
				tv := unix.NsecToTimeval((time.Second).Nanoseconds())
				unix.SetsockoptTimeval(c, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
				unix.Write(c, []byte(answer(w.tok, st.Dev, st.Ino)))
			}
			unix.Close(c)
		}
	}
	return nil
}

// mountsChanged reports whether a mount or unmount happened since it was
// last asked (polling the mount table clears its flag).
func (w *watcher) mountsChanged(fd []unix.PollFd) bool {
	p := []unix.PollFd{{Fd: fd[0].Fd, Events: unix.POLLPRI}}
	n, err := unix.Poll(p, 0)
	return err == nil && n > 0 && p[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0
}

// scan watches both folders and every regular file in them. Watching
// what is already watched changes nothing, so scan is also how lost
// events are made up for.
func (w *watcher) scan() error {
	for _, dir := range []string{w.root, w.managed} {
		if err := w.watchDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// watchDir watches the folder dir (the store's or its managed folder)
// and every regular file in it. A managed folder that is missing or is
// not a folder is not watched: its creation is an event of the store's.
func (w *watcher) watchDir(dir string) error {
	wd, err := unix.InotifyAddWatch(w.in, dir, dirMask)
	if err != nil {
		if dir == w.managed && errors.Is(err, unix.ENOENT) {
			return nil
		}
		// A folder that is a symbolic link (or not a folder) is refused:
		// what changes where it leads raises no event here.
		return fmt.Errorf("storewatch: watch %s: %w", dir, err)
	}
	w.dirs[int32(wd)] = dir
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Type().IsRegular() {
			if err := w.watchFile(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// watchFile watches a regular file, through any of its names: an inotify
// watch is on the file itself, so a write through a hard link elsewhere
// is seen too.
func (w *watcher) watchFile(name string) error {
	_, err := unix.InotifyAddWatch(w.in, name, fileMask)
	if errors.Is(err, unix.ENOENT) {
		return nil // gone again: its removal is an event
	}
	if err != nil {
		// Out of watches (fs.inotify.max_user_watches): this store is
		// not served; its files are statted.
		return fmt.Errorf("storewatch: watch %s: %w", name, err)
	}
	return nil
}

// drain reads every queued event. Any event counts as a change; a new
// file or managed folder is watched before any question is answered.
func (w *watcher) drain() error {
	var buf [64 * 1024]byte
	for {
		n, err := unix.Read(w.in, buf[:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return nil
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		w.tok.Gen++
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameB := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
				if err := w.scan(); err != nil {
					return err
				}
				continue
			}
			dir, isDir := w.dirs[ev.Wd]
			if !isDir {
				continue
			}
			if ev.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_UNMOUNT|unix.IN_IGNORED) != 0 {
				delete(w.dirs, ev.Wd)
				if dir == w.root {
					w.gone = true
					return nil
				}
				continue
			}
			name := cstring(nameB)
			if name == "" || ev.Mask&(unix.IN_CREATE|unix.IN_MOVED_TO) == 0 {
				continue
			}
			full := filepath.Join(dir, name)
			var st unix.Stat_t
			if unix.Lstat(full, &st) != nil {
				continue
			}
			switch {
			case full == w.managed:
				// A managed folder that is a link or no folder: stop
				// serving, so that every process stats its files.
				if err := w.watchDir(full); err != nil {
					w.gone = true
					return nil
				}
			case st.Mode&unix.S_IFMT == unix.S_IFREG:
				if err := w.watchFile(full); err != nil {
					return err
				}
			}
		}
	}
}

// cstring is the NUL-padded name of an inotify event.
func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// Start runs exe (the httptrust binary; argv0 as the process was named)
// as the watcher of the store folder root, in a session of its own, and
// does not wait for it. A second watcher of the same store ends at once.
func Start(exe, argv0, root string) error {
	cmd := exec.Command(exe, Command, root)
	cmd.Args[0] = argv0
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reaped by a process that outlives it, such as the exporter
	return nil
}

// DefaultIdle is how long a watcher waits for a question before it ends.
const DefaultIdle = 10 * time.Minute

// Main is the watcher's command line (args after Command): DIR
// [--idle DURATION]. It returns the exit code.
func Main(args []string, managed string) int {
	idle := DefaultIdle
	var root string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--idle="); ok {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				fmt.Fprintf(os.Stderr, "httptrust: %s: bad --idle: %q\n", Command, v)
				return 2
			}
			idle = d
			continue
		}
		if root != "" {
			fmt.Fprintf(os.Stderr, "httptrust: usage: httptrust %s DIR [--idle=DURATION]\n", Command)
			return 2
		}
		root = a
	}
	if root == "" {
		fmt.Fprintf(os.Stderr, "httptrust: usage: httptrust %s DIR [--idle=DURATION]\n", Command)
		return 2
	}
	if err := Serve(root, managed, idle, nil); err != nil {
		fmt.Fprintf(os.Stderr, "httptrust: %s: %v\n", Command, err)
		return 1
	}
	return 0
}
