//go:build linux

package storewatch

import (
	"os"
	"path/filepath"
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
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("still serving a removed store")
		}
	})
	t.Run("store moved", func(t *testing.T) {
		parent := t.TempDir()
		root := filepath.Join(parent, "s")
		must(t, os.Mkdir(root, 0o755))
		_, _, done := serve(t, root, time.Minute)
		must(t, os.Rename(root, filepath.Join(parent, "t")))
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("still serving a moved store")
		}
	})
	t.Run("idle", func(t *testing.T) {
		root := t.TempDir()
		_, _, done := serve(t, root, 300*time.Millisecond)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("still serving after its idle time")
		}
	})
	t.Run("managed becomes a link", func(t *testing.T) {
		root := t.TempDir()
		dev, ino, done := serve(t, root, time.Minute)
		query(t, root, dev, ino)
		must(t, os.Symlink(t.TempDir(), filepath.Join(root, "managed")))
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("still serving with managed a link elsewhere")
		}
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
