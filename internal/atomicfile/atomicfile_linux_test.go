package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWriteFileMode(t *testing.T) {
	tests := []struct {
		umask int
		perm  fs.FileMode
	}{
		{0o022, 0o600},
		{0o077, 0o644},
		{0o000, 0o600},
		{0o777, 0o640},
		{0o022, 0o400},
		{0o022, 0o600 | fs.ModeSetuid},
	}
	for _, tt := range tests {
		for _, write := range []func(string, []byte, fs.FileMode) error{WriteFile, WriteNew} {
			path := filepath.Join(t.TempDir(), "key.pem")
			old := syscall.Umask(tt.umask)
			err := write(path, []byte("secret"), tt.perm)
			syscall.Umask(old)
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fi.Mode(), tt.perm.Perm(); got != want {
				t.Errorf("umask %#o, perm %v: mode = %v, want %v", tt.umask, tt.perm, got, want)
			}
		}
	}
}

// TestReadOnlyDir checks that a write into a directory the writer may not
// write fails clearly, leaving the old file alone. Root may write anywhere,
// so the write runs on a thread without the capabilities that allow that.
func TestReadOnlyDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	path := filepath.Join(dir, "rule.toml")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })

	writers := []struct {
		op    string
		write func(string, []byte, fs.FileMode) error
	}{
		{"write", WriteFile},
		{"create", WriteNew},
	}
	for _, w := range writers {
		var err error
		withoutDACOverride(t, func() { err = w.write(path, []byte("new"), 0o644) })
		if !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("%s into a read-only directory: err = %v, want fs.ErrPermission", w.op, err)
		}
		prefix, suffix := "atomicfile: "+w.op+" "+path+": ", ": permission denied"
		if got := err.Error(); !strings.HasPrefix(got, prefix) || !strings.HasSuffix(got, suffix) {
			t.Errorf("err = %q, want %q...%q", got, prefix, suffix)
		}
		checkFile(t, path, []byte("old"))
		if got := temps(t, dir); len(got) != 0 {
			t.Errorf("temporary files left: %q", got)
		}
	}
}

// withoutDACOverride runs fn on a locked OS thread whose effective
// capabilities lack CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER, so
// that file permissions bind even for root. Capabilities belong to a thread;
// the thread ends with the goroutine, never serving other goroutines.
func withoutDACOverride(t *testing.T, fn func()) {
	t.Helper()
	errc := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with us
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		data[0].Effective &^= 1<<unix.CAP_DAC_OVERRIDE | 1<<unix.CAP_DAC_READ_SEARCH | 1<<unix.CAP_FOWNER
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		fn()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatalf("dropping capabilities: %v", err)
	}
}
