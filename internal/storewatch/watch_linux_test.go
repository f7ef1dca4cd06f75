//go:build linux

package storewatch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serve runs a watcher of root for the test and returns the store
// folder's device and inode, and a channel closed when it ends.
func serve(t *testing.T, root string, idle time.Duration) (dev, ino uint64, done <-chan struct{}) {
	t.Helper()
	if !Local(root) {
		t.Skipf("the test folder %s is not on a file system a watcher serves", root)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(root, &st); err != nil {
		t.Fatal(err)
	}
	ready, ended := make(chan struct{}), make(chan struct{})
	var err error
	go func() {
		defer close(ended)
		err = Serve(root, "managed", idle, func() { close(ready) })
	}()
	select {
	case <-ready:
	case <-ended:
		t.Fatalf("Serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher never answered")
	}
	t.Cleanup(func() {
		os.RemoveAll(root)
		select {
		case <-ended:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the watcher did not end when its store was removed")
		}
	})
	return st.Dev, st.Ino, ended
}

// ends waits for the watcher to end, failing with why after ten seconds.
func ends(t *testing.T, done <-chan struct{}, why string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal(why)
	}
}

func query(t *testing.T, root string, dev, ino uint64) Token {
	t.Helper()
	tok, err := Query(root, dev, ino)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	return tok
}

func write(t *testing.T, name, data string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestQueryWithoutWatcher(t *testing.T) {
	root := t.TempDir()
	if _, err := Query(root, 1, 2); err == nil {
		t.Fatal("Query found a watcher where none runs")
	}
}

// TestEveryChangeIsCounted makes each kind of change and asks at once:
// the answer must already count it (the watcher reads every queued event
// before it answers).
func TestEveryChangeIsCounted(t *testing.T) {
	root := filepath.Join(t.TempDir(), "store")
	outside := t.TempDir()
	must(t, os.Mkdir(root, 0o755))
	write(t, filepath.Join(root, "a.toml"), "[[rule]]\n")
	write(t, filepath.Join(root, "b.toml"), "[[rule]]\n")
	must(t, os.Mkdir(filepath.Join(root, "managed"), 0o755))
	write(t, filepath.Join(root, "managed", "m.toml"), "[[rule]]\n")
	write(t, filepath.Join(outside, "linked.toml"), "[[rule]]\n")
	must(t, os.Link(filepath.Join(outside, "linked.toml"), filepath.Join(root, "linked.toml")))
	dev, ino, _ := serve(t, root, time.Minute)

	changes := []struct {
		name   string
		change func()
	}{
		{"rewritten in place, same size", func() {
			f, err := os.OpenFile(filepath.Join(root, "a.toml"), os.O_WRONLY, 0)
			must(t, err)
			_, err = f.WriteAt([]byte("[[rulf]]\n"), 0)
			must(t, err)
			must(t, f.Close())
		}},
		{"appended to", func() {
			f, err := os.OpenFile(filepath.Join(root, "b.toml"), os.O_WRONLY|os.O_APPEND, 0)
			must(t, err)
			_, err = f.WriteString("x")
			must(t, err)
			must(t, f.Close())
		}},
		{"times set back", func() {
			must(t, os.Chtimes(filepath.Join(root, "a.toml"), time.Unix(1, 0), time.Unix(1, 0)))
		}},
		{"mode changed", func() { must(t, os.Chmod(filepath.Join(root, "a.toml"), 0o600)) }},
		{"written through a hard link in another folder", func() {
			write(t, filepath.Join(outside, "linked.toml"), "[[rule]]\nhosts = []\n")
		}},
		{"a file added", func() { write(t, filepath.Join(root, "c.toml"), "") }},
		{"the added file written", func() { write(t, filepath.Join(root, "c.toml"), "[[rule]]\n") }},
		{"replaced by rename", func() {
			write(t, filepath.Join(root, ".tmp"), "[[rule]]\n")
			must(t, os.Rename(filepath.Join(root, ".tmp"), filepath.Join(root, "b.toml")))
		}},
		{"the renamed file written", func() { write(t, filepath.Join(root, "b.toml"), "[[rule]]\n\n") }},
		{"a file removed", func() { must(t, os.Remove(filepath.Join(root, "c.toml"))) }},
		{"a managed file written", func() { write(t, filepath.Join(root, "managed", "m.toml"), "x") }},
		{"managed removed", func() { must(t, os.RemoveAll(filepath.Join(root, "managed"))) }},
		{"managed made again", func() { must(t, os.Mkdir(filepath.Join(root, "managed"), 0o755)) }},
		{"a file added to the new managed", func() { write(t, filepath.Join(root, "managed", "n.toml"), "") }},
		{"that file written", func() { write(t, filepath.Join(root, "managed", "n.toml"), "[[rule]]\n") }},
	}
	for _, c := range changes {
		before := query(t, root, dev, ino)
		if again := query(t, root, dev, ino); again != before {
			t.Fatalf("before %s: the token moved without a change: %v, %v", c.name, before, again)
		}
		c.change()
		if after := query(t, root, dev, ino); after == before {
			t.Errorf("%s: the token did not change (%v)", c.name, after)
		}
	}
	// No lag: a write is counted by the very next question, every time.
	name := filepath.Join(root, "a.toml")
	for i := range 300 {
		before := query(t, root, dev, ino)
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		must(t, err)
		_, err = f.WriteAt([]byte{byte('a' + i%26)}, 3)
		must(t, err)
		must(t, f.Close())
		if after := query(t, root, dev, ino); after == before {
			t.Fatalf("write %d: not counted by the next question", i)
		}
	}
}

func TestAnswerNamesItsFolder(t *testing.T) {
	root := t.TempDir()
	dev, ino, _ := serve(t, root, time.Minute)
	if _, err := Query(root, dev, ino+1); err == nil {
		t.Fatal("a question for another folder's inode was answered")
	}
	if _, err := Query(root+"/", dev, ino); err == nil {
		t.Fatal("a question under another path was answered")
	}
}

func TestWatcherEnds(t *testing.T) {
	t.Run("store removed", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "s")
		must(t, os.Mkdir(root, 0o755))
		_, _, done := serve(t, root, time.Minute)
		must(t, os.RemoveAll(root))
		ends(t, done, "still serving a removed store")
	})
	t.Run("store moved", func(t *testing.T) {
		parent := t.TempDir()
		root := filepath.Join(parent, "s")
		must(t, os.Mkdir(root, 0o755))
		_, _, done := serve(t, root, time.Minute)
		must(t, os.Rename(root, filepath.Join(parent, "t")))
		ends(t, done, "still serving a moved store")
	})
	t.Run("idle", func(t *testing.T) {
		root := t.TempDir()
		_, _, done := serve(t, root, 300*time.Millisecond)
		ends(t, done, "still serving after its idle time")
	})
	t.Run("managed becomes a link", func(t *testing.T) {
		root := t.TempDir()
		dev, ino, done := serve(t, root, time.Minute)
		query(t, root, dev, ino)
		must(t, os.Symlink(t.TempDir(), filepath.Join(root, "managed")))
		ends(t, done, "still serving with managed a link elsewhere")
	})
	t.Run("second watcher", func(t *testing.T) {
		root := t.TempDir()
		dev, ino, _ := serve(t, root, time.Minute)
		tok := query(t, root, dev, ino)
		if err := Serve(root, "managed", time.Minute, func() { t.Error("a second watcher served") }); err != nil {
			t.Fatal(err)
		}
		if again := query(t, root, dev, ino); again != tok {
			t.Fatalf("the first watcher's token changed: %v, %v", tok, again)
		}
	})
}

func TestServeRefuses(t *testing.T) {
	t.Run("managed is a link", func(t *testing.T) {
		root := t.TempDir()
		must(t, os.Symlink(t.TempDir(), filepath.Join(root, "managed")))
		if err := Serve(root, "managed", time.Minute, func() { t.Error("served") }); err == nil {
			t.Fatal("served a store whose managed folder is a link")
		}
	})
	t.Run("relative path", func(t *testing.T) {
		if err := Serve("store", "managed", time.Minute, nil); err == nil {
			t.Fatal("served a relative path")
		}
	})
	t.Run("not local", func(t *testing.T) {
		if Local("/proc") {
			t.Fatal("/proc taken for a local file system")
		}
		if err := Serve("/proc", "managed", time.Minute, nil); err != ErrNotLocal {
			t.Fatalf("Serve(/proc) = %v, want ErrNotLocal", err)
		}
	})
}

func TestMainUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"a", "b"}, {"a", "--idle=x"}, {"a", "--idle=-1s"}} {
		if code := Main(args, "managed"); code != 2 {
			t.Errorf("Main(%q) = %d, want 2", args, code)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A file open for writing, or mapped writable, may change without an
// event: a watcher does not start while one is, and ends when a file stays
// writable after a close.
func TestWritersWithoutEvents(t *testing.T) {
	// While a file is open for writing or mapped writable from before
	// the start, no two answers are equal; once it is free, they are.
	unique := func(t *testing.T, root string, dev, ino uint64, want bool) {
		t.Helper()
		a, b := query(t, root, dev, ino), query(t, root, dev, ino)
		if (a != b) != want {
			t.Fatalf("two answers %v, %v: unique %v, want %v", a, b, a != b, want)
		}
	}
	t.Run("open for writing at the start", func(t *testing.T) {
		root := t.TempDir()
		write(t, filepath.Join(root, "a.toml"), "[[rule]]\n")
		f, err := os.OpenFile(filepath.Join(root, "a.toml"), os.O_RDWR, 0)
		must(t, err)
		dev, ino, _ := serve(t, root, time.Minute)
		unique(t, root, dev, ino, true)
		must(t, f.Close())
		query(t, root, dev, ino)
		unique(t, root, dev, ino, false)
	})
	t.Run("mapped writable at the start, its file closed", func(t *testing.T) {
		root := t.TempDir()
		write(t, filepath.Join(root, "a.toml"), "[[rule]]\n")
		m := mapWritable(t, filepath.Join(root, "a.toml"))
		dev, ino, _ := serve(t, root, time.Minute)
		unique(t, root, dev, ino, true)
		must(t, syscall.Munmap(m))
		query(t, root, dev, ino)
		unique(t, root, dev, ino, false)
	})
	t.Run("open for writing twice, one closed", func(t *testing.T) {
		root := t.TempDir()
		name := filepath.Join(root, "a.toml")
		write(t, name, "[[rule]]\n")
		dev, ino, _ := serve(t, root, time.Minute)
		f1, err := os.OpenFile(name, os.O_RDWR, 0)
		must(t, err)
		f2, err := os.OpenFile(name, os.O_RDWR, 0)
		must(t, err)
		must(t, f1.Close())
		query(t, root, dev, ino)
		unique(t, root, dev, ino, true)
		must(t, f2.Close())
		query(t, root, dev, ino)
		unique(t, root, dev, ino, false)
	})
	t.Run("mapped writable after the start, its file closed, then written", func(t *testing.T) {
		fastSweep(t)
		root := t.TempDir()
		write(t, filepath.Join(root, "a.toml"), "[[rule]]\n")
		dev, ino, _ := serve(t, root, time.Minute)
		m := mapWritable(t, filepath.Join(root, "a.toml"))
		defer syscall.Munmap(m)
		before := query(t, root, dev, ino)
		time.Sleep(20 * time.Millisecond) // past the file system clock's tick
		copy(m, "[[rulf]]\n")
		counted(t, root, dev, ino, before)
	})
	t.Run("written through a mapping while open", func(t *testing.T) {
		fastSweep(t)
		root := t.TempDir()
		name := filepath.Join(root, "a.toml")
		write(t, name, "[[rule]]\n")
		dev, ino, _ := serve(t, root, time.Minute)
		f, err := os.OpenFile(name, os.O_RDWR, 0)
		must(t, err)
		defer f.Close()
		m, err := syscall.Mmap(int(f.Fd()), 0, 9, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
		must(t, err)
		defer syscall.Munmap(m)
		before := query(t, root, dev, ino)
		time.Sleep(20 * time.Millisecond) // past the file system clock's tick
		copy(m, "[[rulf]]\n")
		counted(t, root, dev, ino, before)
	})
}

// A write through a mapping during a quiet spell (no question, so no
// sweep), or to a file whose second name was removed, is counted by the
// first question more than sweepEvery after it.
func TestMappedWritesAfterAQuietSpell(t *testing.T) {
	oldEvery, oldActive := sweepEvery, sweepActive
	sweepEvery, sweepActive = 200*time.Millisecond, 50*time.Millisecond
	t.Cleanup(func() { sweepEvery, sweepActive = oldEvery, oldActive })
	for _, hardLink := range []bool{false, true} {
		t.Run(fmt.Sprintf("hard link %v", hardLink), func(t *testing.T) {
			root := t.TempDir()
			name := filepath.Join(root, "a.toml")
			write(t, name, "[[rule]]\n")
			dev, ino, _ := serve(t, root, time.Minute)
			if hardLink {
				must(t, os.Link(name, filepath.Join(root, "b.toml")))
				query(t, root, dev, ino)
				must(t, os.Remove(filepath.Join(root, "b.toml")))
			}
			m := mapWritable(t, name) // its file closed: one event, then none
			defer syscall.Munmap(m)
			query(t, root, dev, ino)
			before := query(t, root, dev, ino)
			time.Sleep(100 * time.Millisecond) // quiet: past sweepActive
			copy(m, "[[rulf]]\n")
			time.Sleep(250 * time.Millisecond) // past sweepEvery
			if after := query(t, root, dev, ino); after == before {
				t.Fatal("the first question after a quiet spell did not count a write through a mapping")
			}
		})
	}
}

// fastSweep makes watchers of the test stat their files every 50 ms.
func fastSweep(t *testing.T) {
	old := sweepEvery
	sweepEvery = 50 * time.Millisecond
	t.Cleanup(func() { sweepEvery = old })
}

// counted waits until the watcher's token moves from before: a write
// through a mapping is counted by a sweep.
func counted(t *testing.T, root string, dev, ino uint64, before Token) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); query(t, root, dev, ino) == before; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a write through a mapping was never counted")
		}
	}
}

func mapWritable(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	must(t, err)
	defer f.Close()
	m, err := syscall.Mmap(int(f.Fd()), 0, 9, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	must(t, err)
	return m
}

// Entries are looked up relative to the folders the watcher holds: a
// folder above the store renamed while managed is replaced changes
// nothing it watches; a store reached through a link is served.
func TestWatcherHoldsItsFolders(t *testing.T) {
	t.Run("parent renamed, managed replaced", func(t *testing.T) {
		parent := t.TempDir()
		root := filepath.Join(parent, "a", "store")
		must(t, os.MkdirAll(filepath.Join(root, "managed"), 0o755))
		write(t, filepath.Join(root, "managed", "m.toml"), "[[rule]]\n")
		dev, ino, _ := serve(t, root, time.Minute)
		query(t, root, dev, ino)
		moved := filepath.Join(parent, "b", "store")
		must(t, os.Rename(filepath.Join(parent, "a"), filepath.Join(parent, "b")))
		must(t, os.Mkdir(filepath.Join(moved, "managed.new"), 0o755))
		write(t, filepath.Join(moved, "managed.new", "m.toml"), "[[rule]]\n")
		must(t, os.RemoveAll(filepath.Join(moved, "managed")))
		must(t, os.Rename(filepath.Join(moved, "managed.new"), filepath.Join(moved, "managed")))
		query(t, root, dev, ino) // a question makes it read its events
		must(t, os.Rename(filepath.Join(parent, "b"), filepath.Join(parent, "a")))
		before := query(t, root, dev, ino)
		f, err := os.OpenFile(filepath.Join(root, "managed", "m.toml"), os.O_WRONLY, 0)
		must(t, err)
		_, err = f.WriteAt([]byte("[[rulf]]\n"), 0)
		must(t, err)
		must(t, f.Close())
		if after := query(t, root, dev, ino); after == before {
			t.Fatal("a write in the new managed folder was not counted")
		}
	})
	t.Run("store reached through a link", func(t *testing.T) {
		real := t.TempDir()
		link := filepath.Join(t.TempDir(), "store")
		must(t, os.Symlink(real, link))
		write(t, filepath.Join(real, "a.toml"), "[[rule]]\n")
		dev, ino, _ := serve(t, link, time.Minute)
		t.Cleanup(func() { os.RemoveAll(real) }) // before serve's: ends the watcher
		before := query(t, link, dev, ino)
		write(t, filepath.Join(link, "a.toml"), "[[rulf]]\n")
		if after := query(t, link, dev, ino); after == before {
			t.Fatal("a write was not counted")
		}
	})
}

func TestCloseInheritedOnExec(t *testing.T) {
	var p [2]int
	must(t, syscall.Pipe(p[:])) // no close-on-exec
	defer syscall.Close(p[0])
	defer syscall.Close(p[1])
	closeInheritedOnExec()
	for _, fd := range p {
		flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
		if errno != 0 || flags&syscall.FD_CLOEXEC == 0 {
			t.Errorf("fd %d: flags %#x, %v: not marked close-on-exec", fd, flags, errno)
		}
	}
}

// Another user can neither keep a watcher alive nor pass for one.
func TestOtherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run a process as another user")
	}
	// The system's python, which another user can run (not a shim in
	// root's home).
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Skip("/usr/bin/python3 is not installed (.ci/run installs it): skipping")
	}
	nobody := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	t.Run("its questions keep no watcher alive", func(t *testing.T) {
		root := t.TempDir()
		must(t, os.Chmod(filepath.Dir(root), 0o755))
		_, _, done := serve(t, root, 500*time.Millisecond)
		var st syscall.Stat_t
		must(t, syscall.Stat(root, &st))
		cmd := exec.Command(python, "-c", `
import socket, sys, time
end = time.time() + 5
while time.time() < end:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect("\0" + sys.argv[1])
    except OSError:
        pass
    s.close()
    time.sleep(0.05)
`, strings.TrimPrefix(socketName(root, st.Dev, st.Ino), "@"))
		cmd.SysProcAttr = nobody
		must(t, cmd.Start())
		defer cmd.Process.Kill()
		select {
		case <-done:
		case <-time.After(4 * time.Second):
			t.Fatal("another user's questions kept the watcher alive past its idle time")
		}
	})
	t.Run("its socket is not believed", func(t *testing.T) {
		root := t.TempDir()
		var st syscall.Stat_t
		must(t, syscall.Stat(root, &st))
		cmd := exec.Command(python, "-c", `
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind("\0" + sys.argv[1])
s.listen(8)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(sys.argv[2].encode())
    c.close()
`, strings.TrimPrefix(socketName(root, st.Dev, st.Ino), "@"), answer(Token{Gen: 1}, st.Dev, st.Ino))
		cmd.SysProcAttr = nobody
		out, err := cmd.StdoutPipe()
		must(t, err)
		must(t, cmd.Start())
		defer cmd.Process.Kill()
		buf := make([]byte, 6)
		if _, err := io.ReadFull(out, buf); err != nil {
			t.Fatal(err)
		}
		if tok, err := Query(root, st.Dev, st.Ino); !errors.Is(err, ErrOtherUser) {
			t.Fatalf("Query = %v, %v; want ErrOtherUser", tok, err)
		}
	})
}

// A file replaced by rename, over and over (as atomic saves do), leaves
// no descriptor or watch behind for the files it replaced.
func TestReplacedFilesAreForgotten(t *testing.T) {
	root := t.TempDir()
	name := filepath.Join(root, "a.toml")
	write(t, name, "[[rule]]\n")
	dev, ino, _ := serve(t, root, time.Minute)
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		must(t, err)
		return len(ents)
	}
	query(t, root, dev, ino)
	before := fds()
	for i := range 500 {
		write(t, name+".tmp", fmt.Sprintf("[[rule]]\n# %d\n", i))
		must(t, os.Rename(name+".tmp", name))
		if i%50 == 0 {
			query(t, root, dev, ino)
		}
	}
	query(t, root, dev, ino)
	time.Sleep(sweepEvery + 100*time.Millisecond)
	query(t, root, dev, ino) // after a sweep
	if after := fds(); after > before+8 {
		t.Fatalf("%d descriptors open after 500 saves, %d before", after, before)
	}
}
