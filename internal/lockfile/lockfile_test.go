package lockfile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// childEnv, when set, makes the test binary act as a helper process that
// locks the path named by the variable, prints "locked" and waits to be killed.
const childEnv = "LOCKFILE_TEST_HOLD"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		if _, err := Lock(context.Background(), path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("locked")
		time.Sleep(time.Minute)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

func TestGoroutinesExclude(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"kernel wait", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
		{"polling", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Minute)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lock")
			var inside, overlaps, total atomic.Int32
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for range 25 {
						ctx, cancel := tt.ctx()
						l, err := Lock(ctx, path)
						cancel()
						if err != nil {
							t.Error(err)
							return
						}
						if inside.Add(1) != 1 {
							overlaps.Add(1)
						}
						time.Sleep(100 * time.Microsecond)
						inside.Add(-1)
						total.Add(1)
						if err := l.Unlock(); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			if got := overlaps.Load(); got != 0 {
				t.Errorf("%d times two goroutines held the lock at once", got)
			}
			if got, want := total.Load(), int32(8*25); got != want {
				t.Errorf("locked %d times, want %d", got, want)
			}
		})
	}
}

func TestContextDone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	held, err := Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Lock(ctx, path)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock on a held lock with a deadline: err = %v, want context.DeadlineExceeded", err)
	}
	if want := "lockfile: lock " + path + ": context deadline exceeded"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Lock returned %v after the deadline", d)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := Lock(ctx, path); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock canceled while waiting: err = %v, want context.Canceled", err)
	}
}

func TestContextDoneBeforeLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Lock(ctx, path); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock with a canceled context on a free lock: err = %v, want context.Canceled", err)
	}
}

func TestUnlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	l, err := Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if ok := tryOpen(t, path); ok {
		t.Fatal("TryLock took a lock that Lock holds")
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if ok := tryOpen(t, path); !ok {
		t.Error("TryLock after Unlock did not get the lock")
	}
	if err := l.Unlock(); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("second Unlock: err = %v, want fs.ErrClosed", err)
	}
	var zero File
	if err := zero.Unlock(); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Unlock of the zero File: err = %v, want fs.ErrClosed", err)
	}
	var nilFile *File
	if err := nilFile.Unlock(); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Unlock of a nil *File: err = %v, want fs.ErrClosed", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("lock file gone after Unlock: %v", err)
	}
}

// tryOpen opens path and reports whether TryLock got its lock.
func tryOpen(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ok, err := TryLock(f)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestLockError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "lock")
	_, err := Lock(context.Background(), path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Lock in a missing directory: err = %v, want fs.ErrNotExist", err)
	}
	if want := "lockfile: lock " + path + ": "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %q, want prefix %q", err, want)
	}
}

// TestOtherProcess checks that a lock held by another process excludes this
// one, and that the kernel releases it when that process is killed.
func TestOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "locked\n" {
		t.Fatalf("child said %q, %v; want \"locked\"", line, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock while another process holds it: err = %v, want context.DeadlineExceeded", err)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := Lock(ctx, path)
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	if err := l.Unlock(); err != nil {
		t.Error(err)
	}
}
