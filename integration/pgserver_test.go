package integration_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/httptrust/httptrust/mint"
)

// pgServer is a PostgreSQL server the test started on 127.0.0.1 with
// ssl = on, stopped when the test ends. pg_hba.conf is initdb's own with
// trust: TCP connections from 127.0.0.1 are accepted with and without
// TLS, so a client that falls back to plaintext gets in, and a test sees it.
type pgServer struct {
	Host, Port string
	Addr       string // "127.0.0.1:PORT"
}

// pgBinaries finds initdb and postgres: on PATH (following a link to the
// folder that holds both, as /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin
// is set up on some machines) or under /usr/lib/postgresql/*/bin, the
// highest major version first. It returns "" when there are none.
func pgBinaries() (initdb, postgres string) {
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	major := func(dir string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		return n
	}
	sort.Slice(found, func(i, j int) bool { return major(found[i]) > major(found[j]) })
	dirs = append(dirs, found...)
	for _, d := range dirs {
		i, p := filepath.Join(d, "initdb"), filepath.Join(d, "postgres")
		if isExecutable(i) && isExecutable(p) {
			return i, p
		}
	}
	return "", ""
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// startPostgres runs initdb and postgres in a folder of t.TempDir(), with
// cert (PEM: the leaf, then its intermediates) and key as the server's
// certificate. Without PostgreSQL installed it skips the test, except
// under CI, whose .ci/run installs it: there a missing server fails.
//
// postgres refuses to run as root. Run as root, the test starts initdb
// and postgres as the "postgres" user the Debian package creates, or as
// "nobody", and gives that user the folder.
func startPostgres(t *testing.T, leaf *mint.Cert, chain ...*mint.Cert) *pgServer {
	t.Helper()
	initdb, postgres := pgBinaries()
	if initdb == "" {
		msg := "postgres not installed: apt-get install postgresql (no initdb and postgres on PATH or under /usr/lib/postgresql/*/bin)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; .ci/run installs it, so under CI this is a failure")
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	cred := serverCredential(t, dir)
	data := filepath.Join(dir, "data")
	run(t, cred, initdb, "-D", data, "-U", "postgres", "--auth=trust", "--no-sync",
		"--no-instructions", "--encoding=UTF8", "--locale=C")

	pemChain := leaf.CertPEM()
	for _, c := range chain {
		pemChain = append(pemChain, c.CertPEM()...)
	}
	key, err := leaf.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	writeOwned(t, cred, filepath.Join(data, "server.crt"), pemChain, 0o644)
	writeOwned(t, cred, filepath.Join(data, "server.key"), key, 0o600) // postgres insists on 0600

	// A free port can be taken between our probe and postgres's bind;
	// a second try with another port settles that.
	var lastErr error
	for range 3 {
		port := freePort(t)
		if err := serve(t, cred, postgres, data, port); err != nil {
			lastErr = err
			continue
		}
		return &pgServer{Host: "127.0.0.1", Port: port, Addr: net.JoinHostPort("127.0.0.1", port)}
	}
	t.Fatalf("postgres did not start: %v", lastErr)
	return nil
}

// serverCredential returns the credential to run PostgreSQL with: nil
// when the test is not root; otherwise the postgres (or nobody) user, who
// is given dir and may pass through the folder above it.
func serverCredential(t *testing.T, dir string) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("running as root, and postgres refuses to: no postgres or nobody user to run it as (%v)", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	// t.TempDir's parent is 0700 and root's: let the server's user through.
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

func command(cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return cmd
}

// run runs a command to completion, failing the test with its output.
func run(t *testing.T, cred *syscall.Credential, name string, args ...string) {
	t.Helper()
	if out, err := command(cred, name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(name), err, out)
	}
}

func writeOwned(t *testing.T, cred *syscall.Credential, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// serve starts postgres on 127.0.0.1:port, TCP only (no Unix socket), and
// waits until it accepts a connection; it registers its stop with t. An
// error means it exited first or did not come up in time.
func serve(t *testing.T, cred *syscall.Credential, postgres, data, port string) error {
	t.Helper()
	cmd := command(cred, postgres, "-D", data, "-h", "127.0.0.1", "-p", port, "-k", "",
		"-c", "ssl=on", "-c", "ssl_cert_file=server.crt", "-c", "ssl_key_file=server.key",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	// If the test binary dies, postgres stops rather than lingering.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	var log lockedBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt) // fast shutdown
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn := fmt.Sprintf("host=127.0.0.1 port=%s user=postgres dbname=postgres sslmode=disable connect_timeout=1", port)
	for {
		conn, err := pgconn.Connect(ctx, dsn)
		if err == nil {
			conn.Close(ctx)
			t.Cleanup(stop)
			return nil
		}
		select {
		case werr := <-exited:
			return fmt.Errorf("postgres exited (%v):\n%s", werr, log.String())
		case <-ctx.Done():
			stop()
			return fmt.Errorf("postgres not accepting connections on port %s after 30s (%v):\n%s", port, err, log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// lockedBuffer is a bytes.Buffer that postgres's output and the test
// may use at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
