package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/httptrust/httptrust/internal/lockfile"
)

// temps returns the names of the temporary files in dir.
func temps(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp-") {
			names = append(names, e.Name())
		}
	}
	return names
}

// checkFile fails t unless the file at path holds want.
func checkFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s holds %.40q (%d bytes), want %.40q (%d bytes)", path, got, len(got), want, len(want))
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rule.toml")
	for _, content := range []string{"first", "second, longer than the first", ""} {
		if err := WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		checkFile(t, path, []byte(content))
	}
	if got := temps(t, dir); len(got) != 0 {
		t.Errorf("temporary files left: %q", got)
	}
}

func TestWriteFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing", "x.toml")
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       error
	}{
		{"missing directory", missing, fs.ErrNotExist},
		{"path is a directory", sub, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteFile(tt.path, []byte("x"), 0o600)
			if err == nil {
				t.Fatal("WriteFile succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Op != "atomicfile: write" || pe.Path != tt.path {
				t.Errorf("err = %#v, want *fs.PathError{Op: \"atomicfile: write\", Path: %q}", err, tt.path)
			}
			if want := "atomicfile: write " + tt.path + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("err = %q, want prefix %q", err, want)
			}
		})
	}
	if got := temps(t, dir); len(got) != 0 {
		t.Errorf("temporary files left: %q", got)
	}
}

func TestWriteFileSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.toml")
	link := filepath.Join(dir, "link.toml")
	if err := os.WriteFile(target, []byte("target"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("target.toml", link); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(link, []byte("new"), 0o600)
	if !errors.Is(err, ErrSymlink) {
		t.Fatalf("WriteFile over a symlink: err = %v, want ErrSymlink", err)
	}
	if want := "atomicfile: write " + link + ": is a symbolic link; write its target instead"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	checkFile(t, target, []byte("target"))
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("link is no longer a symlink: %v, %v", fi, err)
	}
	if got := temps(t, dir); len(got) != 0 {
		t.Errorf("temporary files left: %q", got)
	}
}

func TestWriteNew(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "host.tofu")
	if err := WriteNew(path, []byte("first"), 0o600); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, []byte("first"))

	sub := filepath.Join(dir, "sub")
	link := filepath.Join(dir, "dangling")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere", link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, sub, link} {
		err := WriteNew(p, []byte("second"), 0o600)
		if !errors.Is(err, fs.ErrExist) {
			t.Errorf("WriteNew(%s) over an existing name: err = %v, want fs.ErrExist", p, err)
		}
		if want := "atomicfile: create " + p + ": "; err != nil && !strings.HasPrefix(err.Error(), want) {
			t.Errorf("err = %q, want prefix %q", err, want)
		}
	}
	checkFile(t, path, []byte("first"))
	if got := temps(t, dir); len(got) != 0 {
		t.Errorf("temporary files left: %q", got)
	}
}

// TestWriteNewRace checks that of many writers creating one file, exactly
// one succeeds and the file holds its content.
func TestWriteNewRace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "host.tofu")
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = WriteNew(path, []byte(fmt.Sprint("writer ", i)), 0o600) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("writers %d and %d both created the file", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, fs.ErrExist):
			t.Errorf("writer %d: err = %v, want fs.ErrExist", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer created the file")
	}
	checkFile(t, path, []byte(fmt.Sprint("writer ", winner)))
	if got := temps(t, dir); len(got) != 0 {
		t.Errorf("temporary files left: %q", got)
	}
}

// TestConcurrentWriteFile checks that many goroutines replacing one file
// leave exactly one writer's full content.
func TestConcurrentWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "store.toml")
	const writers, size = 16, 256 << 10
	content := func(i int) []byte { return bytes.Repeat([]byte{byte('A' + i)}, size) }
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			for range 4 {
				if err := WriteFile(path, content(i), 0o600); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != size || got[0] < 'A' || got[0] >= 'A'+writers || !bytes.Equal(got, content(int(got[0]-'A'))) {
		t.Errorf("file is not one writer's full content: %d bytes starting %.20q", len(got), got)
	}
	if got := temps(t, dir); len(got) != 0 {
		t.Errorf("temporary files left: %q", got)
	}
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.toml")
	stale := filepath.Join(dir, ".x.toml.tmp-0123456789abcdef")
	live := filepath.Join(dir, ".x.toml.tmp-fedcba9876543210")
	keep := []string{
		".x.toml.tmp-0123",                   // not a name WriteFile makes
		".x.toml.tmp-0123456789ABCDEF",       // upper case hex
		".y.toml.tmp-0123456789abcdef",       // another file's
		".x.toml.tmp-a.tmp-0123456789abcdef", // x.toml.tmp-a's
		"x.toml.tmp-0123456789abcdef",        // not hidden
		".x.toml.tmp-0123456789abcdef0",      // too long
		".x.toml.tmp-0123456789abcdeg",       // not hex
	}
	for _, name := range append([]string{stale, live}, keep...) {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(name)), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A live writer holds its temporary file's lock.
	f, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ok, err := lockfile.TryLock(f); !ok || err != nil {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}

	if err := WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temporary file not removed: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("live writer's temporary file removed: %v", err)
	}
	for _, name := range keep {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("unrelated file %s removed: %v", name, err)
		}
	}

	f.Close() // the writer dies
	if err := WriteFile(path, []byte("newer"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(live); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dead writer's temporary file not removed: %v", err)
	}
}

// TestClaim checks how a writer decides that the temporary file it created
// is still its own after taking the lock.
func TestClaim(t *testing.T) {
	dir := t.TempDir()
	open := func(name string) *os.File {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}

	if ok, err := claim(open("free")); !ok || err != nil {
		t.Errorf("claim of an unlocked file = %v, %v; want true", ok, err)
	}

	held := open("held")
	if ok, err := lockfile.TryLock(open("held")); !ok || err != nil {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	if ok, err := claim(held); ok || err != nil {
		t.Errorf("claim of a file a cleanup holds = %v, %v; want false", ok, err)
	}

	removed := open("removed")
	if err := os.Remove(removed.Name()); err != nil {
		t.Fatal(err)
	}
	if ok, err := claim(removed); ok || err != nil {
		t.Errorf("claim of a file a cleanup removed = %v, %v; want false", ok, err)
	}

	replaced := open("replaced")
	if err := os.Remove(replaced.Name()); err != nil {
		t.Fatal(err)
	}
	open("replaced")
	if ok, err := claim(replaced); ok || err != nil {
		t.Errorf("claim of a file whose name now is another's = %v, %v; want false", ok, err)
	}
}

func TestIsTemp(t *testing.T) {
	tests := []struct {
		name, base string
		want       bool
	}{
		{".a.tmp-0123456789abcdef", "a", true},
		{"..lock.tmp-0123456789abcdef", ".lock", true},
		{".a.tmp-0123456789abcdef", "b", false},
		{".a.tmp-0123456789abcde", "a", false},
		{".a.tmp-0123456789abcdefa", "a", false},
		{".a.tmp-0123456789abcdeX", "a", false},
		{".a.tmp-", "a", false},
		{"a.tmp-0123456789abcdef", "a", false},
	}
	for _, tt := range tests {
		if got := isTemp(tt.name, tt.base); got != tt.want {
			t.Errorf("isTemp(%q, %q) = %v, want %v", tt.name, tt.base, got, tt.want)
		}
	}
}

func TestSweepRemovesStaleTempsOfAnyBase(t *testing.T) {
	dir := t.TempDir()
	stale := []string{".a.pem.tmp-0123456789abcdef", ".b.toml.tmp-fedcba9876543210"}
	keep := []string{"a.pem", ".a.pem.tmp-short", ".tmp-0123456789abcdef", "x.tmp-0123456789abcdef"}
	for _, n := range append(append([]string{}, stale...), keep...) {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	Sweep(dir)
	for _, n := range stale {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			t.Errorf("%s not swept", n)
		}
	}
	for _, n := range keep {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s removed", n)
		}
	}
}
