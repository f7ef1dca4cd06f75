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
	"strconv"
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

// ErrOtherUser is returned by Query when the socket of the store's
// watcher is held by another user's process: no watcher of this user can
// start for it.
var ErrOtherUser = errors.New("storewatch: the watcher's socket is another user's")

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
		return Token{}, fmt.Errorf("%w: user %d, not %d", ErrOtherUser, cred.Uid, os.Geteuid())
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
		unix.IN_CREATE | unix.IN_DELETE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR
	fileMask = unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_DONT_FOLLOW
)

// fileRef is a watched file: a descriptor (O_PATH) of the file itself,
// whatever its names are now.
type fileRef struct {
	fd int
}

// watcher is the state of Serve. Folders are held by descriptor and
// every entry is looked up relative to its folder, so that a folder above
// the store renamed or re-pointed changes nothing the watcher looks at.
type watcher struct {
	managedName string
	in          int
	root        int // O_PATH descriptor of the store folder
	managed     int // of its managed folder, -1 when there is none
	dirs        map[int32]int
	files       map[int32]fileRef
	// stamps are the files' stats at the last sweep (see sweep).
	stamps map[int32]fileStamp
	swept  time.Time
	// suspect are the files open for writing, or mapped writable, when
	// last looked at: such a writer may change them without an event, so
	// while any is, every answer is new (no two are equal).
	suspect map[int32]bool
	tok     Token
	gone    bool // the store folder was removed or moved, or cannot be served
}

// fileStamp is what a sweep compares.
type fileStamp struct {
	ino, size          int64
	mtime, ctime, mode int64
	nlink              uint64
}

// errNoLeases is returned by Serve where it cannot tell whether a file is
// open for writing: leases are off (fs.leases-enable), or a file is
// another user's.
var errNoLeases = errors.New("storewatch: cannot take a read lease on the store's files")

// ErrNotLocal is returned by Serve for a store on a file system it cannot
// serve (see the package doc).
var ErrNotLocal = errors.New("storewatch: the store is not on a local file system")

// Serve watches the store folder root (absolute) and its folder managed
// (a name in it) and answers questions until none came from its user for
// idle, the folder is removed or moved, or another watcher of it already
// runs (then it returns nil at once). ready, if not nil, is called once
// it answers.
func Serve(root, managed string, idle time.Duration, ready func()) error {
	if !filepath.IsAbs(root) {
		return fmt.Errorf("storewatch: %s is not an absolute path", root)
	}
	if !Local(root) {
		return ErrNotLocal
	}
	rootFD, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("storewatch: %w", err)
	}
	defer unix.Close(rootFD)
	var st unix.Stat_t
	if err := unix.Fstat(rootFD, &st); err != nil {
		return err
	}
	// Bound first: a second watcher of the store does no work.
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
	in, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(in)
	w := &watcher{managedName: managed, in: in, root: rootFD, managed: -1,
		dirs: map[int32]int{}, files: map[int32]fileRef{}, stamps: map[int32]fileStamp{}, suspect: map[int32]bool{}}
	defer func() {
		if w.managed >= 0 {
			unix.Close(w.managed)
		}
		for _, f := range w.files {
			unix.Close(f.fd)
		}
	}()
	if _, err := rand.Read(w.tok.ID[:]); err != nil {
		return err
	}
	// Every watch is in place before the first answer: a change made
	// before it is one the asking process's own stat sees. So is a check
	// that no file is open for writing now: a writer through a shared
	// mapping or native AIO raises no event until it closes the file.
	if err := w.scan(); err != nil {
		return err
	}
	// One descriptor per file: leave room for new files and questions.
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && uint64(len(w.files))+256 > lim.Cur {
		return fmt.Errorf("storewatch: %d files, and only %d open files allowed", len(w.files), lim.Cur)
	}
	// A file system without leases (fs.leases-enable=0), or files of
	// another user, would leave every file suspect: not served.
	for wd, f := range w.files {
		free, ok := writersGone(f)
		if !ok {
			return errNoLeases
		}
		if !free {
			w.suspect[wd] = true
		}
	}
	w.sweep()
	if err := w.drain(); err != nil {
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
		// The folder's removal raises no event while the watcher holds
		// it open: its link count says so, looked at every second.
		wait = min(wait, time.Second)
		if _, err := unix.Poll(fds, int(wait.Milliseconds())+1); err != nil && err != unix.EINTR {
			return err
		}
		if w.removed() {
			return nil
		}
		// While questions come, the files are statted every few seconds
		// too, for writers that raise no event (see sweepEvery).
		if time.Since(last) < sweepActive && time.Since(w.swept) >= sweepEvery {
			w.sweep()
		}
		// Polling the mount table clears its flag: read it from this poll.
		// A file system mounted over a file or folder of the store hides
		// it from the watches and descriptors held: stop serving.
		if fds[2].Revents&(unix.POLLPRI|unix.POLLERR) != 0 {
			return nil
		}
		if err := w.drain(); err != nil {
			return err
		}
		for !w.gone {
			c, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
			if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
				return err // out of descriptors: end rather than answer nothing
			}
			if err != nil {
				break
			}
			cred, err := unix.GetsockoptUcred(c, unix.SOL_SOCKET, unix.SO_PEERCRED)
			if err != nil || cred.Uid != uint32(os.Geteuid()) {
				unix.Close(c) // another user's question keeps no watcher alive
				continue
			}
			last = time.Now()
			// Every event queued before the question is counted first.
			if w.mountsChanged(fds[2:]) {
				unix.Close(c)
				return nil
			}
			if err := w.drain(); err != nil {
				unix.Close(c)
				return err
			}
			if !w.gone && !w.removed() {
				// A write through a mapping changes the file's times only:
				// stat them before answering if the last look is old.
				if time.Since(w.swept) >= sweepEvery {
					w.sweep()
				}
				if w.writable() {
					w.tok.Gen++
				}
				tv := unix.NsecToTimeval(time.Second.Nanoseconds())
				unix.SetsockoptTimeval(c, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
				unix.Write(c, []byte(answer(w.tok, st.Dev, st.Ino)))
			}
			unix.Close(c)
		}
	}
	return nil
}

// removed reports whether the store folder was removed.
func (w *watcher) removed() bool {
	var st unix.Stat_t
	if unix.Fstat(w.root, &st) != nil || st.Nlink == 0 {
		w.gone = true
	}
	return w.gone
}

// A write through a shared mapping, native AIO or io_uring raises no
// inotify event until the writer's file is released (a mapping keeps it
// after the close). So a file found open for writing, or mapped writable,
// when the watcher starts or after a close, is suspect until it is found
// free again, and every answer is new while one is. A writer that opens a
// file after the start raises no event until its close, so while
// questions come (within sweepActive of the last) the watcher also stats
// its files every sweepEvery and counts any change it finds: such a
// writer's change is seen within that time, every other change at once.
var (
	sweepEvery  = 2 * time.Second
	sweepActive = 30 * time.Second
)

// writable reports whether a suspect file is still open for writing,
// looking at each again.
//
// At most maxProbes are looked at per answer, so that an answer after a
// burst of writes stays quick; the rest wait for the next. A file whose
// lease cannot be taken (another user's, written after the start) ends
// the watcher: it would stay suspect for good.
func (w *watcher) writable() bool {
	n := 0
	for wd := range w.suspect {
		if n++; n > maxProbes {
			break
		}
		f, ok := w.files[wd]
		if !ok {
			delete(w.suspect, wd)
			continue
		}
		free, usable := writersGone(f)
		if !usable {
			w.gone = true
			return true
		}
		if free {
			delete(w.suspect, wd)
		}
	}
	return len(w.suspect) > 0
}

// maxProbes bounds the lease probes made for one answer.
const maxProbes = 32

// stampOf stats the file held by fd; one that cannot be is the zero stamp.
func stampOf(fd int) fileStamp {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return fileStamp{}
	}
	return fileStamp{ino: int64(st.Ino), size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(), mode: int64(st.Mode), nlink: uint64(st.Nlink)}
}

// sweep stats every watched file relative to its folder and counts a
// change if any differs from the last sweep.
func (w *watcher) sweep() {
	w.swept = time.Now()
	changed := false
	var dead []int32
	for wd, f := range w.files {
		now := stampOf(f.fd)
		if old, ok := w.stamps[wd]; ok && old != now {
			changed = true
		}
		w.stamps[wd] = now
		if now.nlink == 0 {
			dead = append(dead, wd)
		}
	}
	for _, wd := range dead {
		w.forget(wd)
	}
	if changed {
		w.tok.Gen++
	}
}

// writersGone reports whether no one holds the file f open for writing,
// by a mapping too: a read lease is granted only then. It is given back at
// once. ok is false where a lease cannot tell (leases off, a file of
// another user).
func writersGone(f fileRef) (free, ok bool) {
	fd, err := unix.Open(fdPath(f.fd, ""), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return false, false
	}
	defer unix.Close(fd)
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_RDLCK); err != nil {
		return false, errors.Is(err, unix.EAGAIN)
	}
	unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_UNLCK)
	return true, true
}

// mountsChanged reports whether a mount or unmount happened since it was
// last asked (polling the mount table clears its flag).
func (w *watcher) mountsChanged(fd []unix.PollFd) bool {
	p := []unix.PollFd{{Fd: fd[0].Fd, Events: unix.POLLPRI}}
	n, err := unix.Poll(p, 0)
	return err == nil && n > 0 && p[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0
}

// fdPath names what the descriptor fd holds, and name in it, for calls
// that take a path (inotify_add_watch): the kernel resolves it through the
// descriptor, whatever became of the path the folder was opened by.
func fdPath(fd int, name string) string {
	p := "/proc/self/fd/" + strconv.Itoa(fd)
	if name != "" {
		p += "/" + name
	}
	return p
}

// scan watches both folders and every regular file in them. Watching
// what is already watched changes nothing, so scan is also how lost
// events are made up for.
func (w *watcher) scan() error {
	if err := w.watchDir(w.root); err != nil {
		return err
	}
	return w.watchManaged()
}

// watchManaged watches the managed folder and its files. A managed that
// is missing is not watched: its creation is an event of the store's. One
// that is a link, or not a folder, is refused: what changes where it
// leads raises no event here.
func (w *watcher) watchManaged() error {
	fd, err := unix.Openat(w.root, w.managedName, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storewatch: %s: %w", w.managedName, err)
	}
	if w.managed >= 0 {
		unix.Close(w.managed)
	}
	w.managed = fd
	return w.watchDir(fd)
}

// watchDir watches the folder held by fd and every regular file in it.
func (w *watcher) watchDir(fd int) error {
	wd, err := unix.InotifyAddWatch(w.in, fdPath(fd, ""), dirMask)
	if err != nil {
		return fmt.Errorf("storewatch: watch a folder: %w", err)
	}
	w.dirs[int32(wd)] = fd
	ents, err := os.ReadDir(fdPath(fd, ""))
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Type().IsRegular() {
			if _, err := w.watchFile(fd, e.Name()); err != nil {
				return err
			}
		}
	}
	return nil
}

// watchFile watches a regular file, through any of its names: an inotify
// watch is on the file itself, so a write through a hard link elsewhere
// is seen too.
func (w *watcher) watchFile(dir int, name string) (int32, error) {
	fd, err := unix.Openat(dir, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return -1, nil // gone again: its removal is an event
	}
	if err != nil {
		// Out of descriptors: this store is not served; its files are
		// statted.
		return -1, fmt.Errorf("storewatch: %s: %w", name, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return -1, nil // replaced again: that is an event
	}
	wd, err := unix.InotifyAddWatch(w.in, fdPath(fd, ""), fileMask&^unix.IN_DONT_FOLLOW)
	if err != nil {
		unix.Close(fd)
		// Out of watches (fs.inotify.max_user_watches): this store is
		// not served; its files are statted.
		return -1, fmt.Errorf("storewatch: watch %s: %w", name, err)
	}
	if _, seen := w.files[int32(wd)]; seen {
		unix.Close(fd) // the same file under another name
		return int32(wd), nil
	}
	w.files[int32(wd)] = fileRef{fd: fd}
	w.stamps[int32(wd)] = stampOf(fd)
	if st := w.stamps[int32(wd)]; st.nlink == 0 {
		w.forget(int32(wd)) // replaced between its lookup and its watch
		return -1, nil
	}
	return int32(wd), nil
}

// drain reads every queued event. A change counts; an open or a close
// after reading is only counted in opens. A new file or managed folder is
// watched before any question is answered.
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
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameB := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if err := w.event(ev.Wd, ev.Mask, cstring(nameB)); err != nil {
				return err
			}
			if w.gone {
				return nil
			}
		}
	}
}

// event takes in one event.
func (w *watcher) event(wd int32, mask uint32, name string) error {
	if mask&unix.IN_Q_OVERFLOW != 0 {
		w.tok.Gen++
		return w.scan()
	}
	if ref, isFile := w.files[wd]; isFile {
		w.tok.Gen++
		var st unix.Stat_t
		if mask&unix.IN_IGNORED == 0 && unix.Fstat(ref.fd, &st) == nil && st.Nlink == 0 {
			// Removed under every name: its descriptor, which keeps it,
			// goes (and with it the watch).
			w.forget(wd)
			return nil
		}
		switch {
		case mask&unix.IN_IGNORED != 0:
			w.forget(wd)
		case mask&unix.IN_CLOSE_WRITE != 0:
			// Maybe still writable (a mapping kept after the close,
			// another open): suspect until the next answer finds it free.
			// Not looked at now: a lease taken right after a close would
			// make another writer's non-blocking open fail.
			w.suspect[wd] = true
		}
		return nil
	}
	fd, isDir := w.dirs[wd]
	if !isDir {
		return nil
	}
	w.tok.Gen++
	if mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_UNMOUNT|unix.IN_IGNORED) != 0 {
		delete(w.dirs, wd)
		if fd == w.root {
			w.gone = true
		}
		return nil
	}
	if name == "" || mask&(unix.IN_CREATE|unix.IN_MOVED_TO) == 0 {
		return nil
	}
	if fd == w.root && name == w.managedName {
		// A managed folder that is a link or no folder: stop serving, so
		// that every process stats its files.
		if err := w.watchManaged(); err != nil {
			w.gone = true
		}
		return nil
	}
	var st unix.Stat_t
	if unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return nil // gone again: its removal is an event
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		// A writer that opened it before its watch raises an event at its
		// close, which finds it still writable if it mapped it.
		_, err := w.watchFile(fd, name)
		return err
	}
	return nil
}

// forget stops watching the file of watch wd.
func (w *watcher) forget(wd int32) {
	if f, ok := w.files[wd]; ok {
		unix.InotifyRmWatch(w.in, uint32(wd))
		unix.Close(f.fd)
	}
	delete(w.files, wd)
	delete(w.stamps, wd)
	delete(w.suspect, wd)
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
	cmd.Dir = "/" // holds no folder of the caller's busy
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	closeInheritedOnExec()
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reaped by a process that outlives it, such as the exporter
	return nil
}

// closeInheritedOnExec marks close-on-exec the descriptors this process
// inherited without the mark (a lock file of flock(1), a pipe a caller
// reads to its end), which must not stay open in a watcher that lives for
// minutes. Everything Go opened has the mark already; the process that
// starts a watcher execs nothing else.
func closeInheritedOnExec() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
				unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags|unix.FD_CLOEXEC)
			}
		}
	}
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
