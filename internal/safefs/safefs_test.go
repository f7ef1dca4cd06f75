package safefs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
)

// The mode bits of a file system that is not the OS's mean nothing: they
// are not checked. What is neither a regular file nor a folder is refused.
func TestAnyFSChecksOnlyTheFileType(t *testing.T) {
	fsys := fstest.MapFS{
		"open":             {Mode: fs.ModeDir | 0o777},
		"open/a.toml":      {Data: []byte("a"), Mode: 0o666},
		"pipe.toml":        {Mode: fs.ModeNamedPipe | 0o644},
		"managed/dev.toml": {Data: []byte("dev"), Mode: 0o644},
	}
	tests := []struct {
		name, want string // want: the content, or the error
	}{
		{"open/a.toml", "a"},
		{"managed/dev.toml", "dev"},
		{"pipe.toml", "pipe.toml: not a regular file"},
		{"open", "not a regular file"},
		{"missing.toml", "file does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := ReadFile(fsys, tt.name, 10)
			got := string(data)
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("ReadFile(%s) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

// An os.DirFS is guarded as Dir guards its folder; a guard is kept as it
// is; another file system gets the file-type guard.
func TestNewKnowsTheOSFileSystem(t *testing.T) {
	dir := t.TempDir()
	if d, ok := New(os.DirFS(dir)).(*DirFS); !ok || d.root != dir {
		t.Errorf("New(os.DirFS(%s)) = %#v, want Dir(%s)", dir, New(os.DirFS(dir)), dir)
	}
	d := Dir(dir)
	if New(d) != fs.FS(d) {
		t.Error("New(Dir(dir)) is not Dir(dir) itself")
	}
	a := New(fstest.MapFS{})
	if _, ok := a.(*anyFS); !ok || New(a) != a {
		t.Errorf("New(fstest.MapFS{}) = %#v, want one file-type guard", a)
	}
	if _, ok := New(os.DirFS("")).(*anyFS); !ok {
		t.Error("New(os.DirFS(\"\")) must stay as broken as os.DirFS(\"\") is, not become the working folder")
	}
}

// A file system of the OS that is not an os.DirFS (here one wrapped in
// another type) still has its modes checked on the store's own paths.
func TestAnyFSChecksOSFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("skipped: modes are not checked on Windows")
	}
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "a.toml"), []byte("a"), 0o644))
	wrapped := struct{ fs.FS }{os.DirFS(dir)}
	if _, err := ReadFile(wrapped, "a.toml", 10); err != nil {
		t.Fatalf("sound: %v", err)
	}
	must(t, os.Chmod(filepath.Join(dir, "a.toml"), 0o666))
	if _, err := ReadFile(wrapped, "a.toml", 10); !errors.Is(err, ErrWritableByOthers) {
		t.Fatalf("writable by others: %v, want ErrWritableByOthers", err)
	}
}

func TestReadFileCapped(t *testing.T) {
	fsys := fstest.MapFS{"big.toml": {Data: []byte("12345")}}
	if _, err := ReadFile(fsys, "big.toml", 5); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	_, err := ReadFile(fsys, "big.toml", 4)
	if !errors.Is(err, ErrTooLarge) || err.Error() != "read big.toml: too large: 5 bytes, more than the 4 allowed" {
		t.Fatalf("over the limit: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
