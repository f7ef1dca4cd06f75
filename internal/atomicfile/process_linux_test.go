package atomicfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/lockfile"
)

// The test binary doubles as the helper process: with childEnv set to a role
// and pathEnv to a file, TestMain runs that role instead of the tests.
const (
	childEnv = "ATOMICFILE_TEST_CHILD"
	pathEnv  = "ATOMICFILE_TEST_PATH"
)

const (
	appends   = 200     // entries each appending process adds
	churnSize = 8 << 20 // bytes of each write of the churning process
)

func TestMain(m *testing.M) {
	switch role := os.Getenv(childEnv); role {
	case "":
		os.Exit(m.Run())
	case "churn":
		churn(os.Getenv(pathEnv))
	default:
		if err := appendLines(os.Getenv(pathEnv), role); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// appendLines appends appends lines "<id> <i>" to the file at path, one at a
// time, read-modify-write under a lock.
func appendLines(path, id string) error {
	for i := range appends {
		l, err := lockfile.Lock(context.Background(), path+".lock")
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		data = fmt.Appendf(data, "%s %d\n", id, i)
		if err := WriteFile(path, data, 0o600); err != nil {
			return err
		}
		if err := l.Unlock(); err != nil {
			return err
		}
	}
	return nil
}

// churnContent returns the content of the churning process's write n.
func churnContent(n int) []byte {
	return bytes.Repeat([]byte{byte('a' + n%26)}, churnSize)
}

// churn rewrites the file at path with large contents until it is killed.
func churn(path string) {
	for n := 0; ; n++ {
		if err := WriteFile(path, churnContent(n), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// child returns a command that runs the test binary in role on path.
func child(ctx context.Context, role, path string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role, pathEnv+"="+path)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestTwoProcessesAppend checks that two processes appending to one file
// read-modify-write style, each under the lock, lose no entry.
func TestTwoProcessesAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ids := []string{"a", "b"}
	var cmds []*exec.Cmd
	for _, id := range ids {
		cmd := child(ctx, id, path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("appending process: %v", err)
		}
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if got, want := len(lines), len(ids)*appends; got != want {
		t.Errorf("%d entries, want %d", got, want)
	}
	next := map[string]int{} // each process's entries appear in order
	for _, line := range lines {
		var id string
		var i int
		if _, err := fmt.Sscanf(line, "%s %d", &id, &i); err != nil || i != next[id] {
			t.Fatalf("entry %q: want %q %d", line, id, next[id])
		}
		next[id]++
	}
	for _, id := range ids {
		if next[id] != appends {
			t.Errorf("process %s: %d entries, want %d", id, next[id], appends)
		}
	}
}

// TestKilledWriter checks that a writer killed mid-write leaves the old or a
// new content, never a torn one, and that the next write removes its
// temporary file.
func TestKilledWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big")
	old := []byte("old content\n")
	if err := WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	// Kill the writer while a temporary file of it has data in it. It may
	// be a moment past the write, so try until it leaves one behind.
	var leftover []string
	for attempt := 0; len(leftover) == 0; attempt++ {
		if attempt == 10 {
			t.Fatal("the killed writer never left a temporary file behind")
		}
		killMidWrite(t, path)
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, old) && (len(got) != churnSize || !bytes.Equal(got, churnContent(int(got[0]-'a')))) {
			t.Fatalf("after the kill the file holds %d bytes starting %.20q: neither old nor a whole new content", len(got), got)
		}
		leftover = temps(t, dir)
	}

	if err := WriteFile(path, []byte("next"), 0o600); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, []byte("next"))
	if got := temps(t, dir); len(got) != 0 {
		t.Errorf("temporary files %q left after the next write; the killed writer left %q", got, leftover)
	}
}

// killMidWrite starts a churning process on path and kills it with SIGKILL
// once one of its temporary files holds data.
func killMidWrite(t *testing.T, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := child(ctx, "churn", path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for !writing(filepath.Dir(path)) {
		if ctx.Err() != nil {
			t.Error("the churning process never started writing")
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the churning process ended with %v, not by SIGKILL", err)
	}
}

// writing reports whether a temporary file in dir holds some but not all
// of a churning write.
func writing(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && isTemp(e.Name(), "big") && fi.Size() > 0 && fi.Size() < churnSize {
			return true
		}
	}
	return false
}
