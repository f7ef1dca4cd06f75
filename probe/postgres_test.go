package probe

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/testpki"
)

// postgresBin finds initdb and postgres: on the PATH, or in Debian's
// versioned folder.
func postgresBin() (initdb, postgres string, ok bool) {
	if i, err := exec.LookPath("initdb"); err == nil {
		if p, err := exec.LookPath("postgres"); err == nil {
			return i, p, true
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		i1, p1 := filepath.Join(dirs[i], "initdb"), filepath.Join(dirs[i], "postgres")
		if _, err := os.Stat(p1); err == nil {
			if _, err := os.Stat(i1); err == nil {
				return i1, p1, true
			}
		}
	}
	return "", "", false
}

// TestStartTLSRealPostgres probes a real PostgreSQL server, started on
// loopback with ssl = on, through SSLRequest. It is skipped when
// PostgreSQL is not installed (and with -short).
func TestStartTLSRealPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no PostgreSQL server is started")
	}
	initdb, postgres, ok := postgresBin()
	if !ok {
		t.Skip("PostgreSQL is not installed (no initdb and postgres): the fake server tests cover SSLRequest")
	}
	dir, err := os.MkdirTemp("", "httptrust-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// PostgreSQL refuses to run as root: run it as nobody then.
	var attr *syscall.SysProcAttr
	uid, gid := os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Skipf("running as root and there is no user nobody to run PostgreSQL as: %v", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		attr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	run := func(name string, args ...string) *exec.Cmd {
		c := exec.Command(name, args...)
		c.SysProcAttr = attr
		c.Dir = dir
		return c
	}
	if out, err := run(initdb, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync").CombinedOutput(); err != nil {
		t.Skipf("initdb failed, so no PostgreSQL to test against: %v\n%s", err, out)
	}
	pki := testpki.New(t)
	leaf := pki.SelfSigned(t, "db.test", "127.0.0.1")
	key, err := leaf.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"server.crt": leaf.CertPEM(), "server.key": key} {
		p := filepath.Join(data, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	conf := fmt.Sprintf("\nlisten_addresses = '127.0.0.1'\nport = %s\nssl = on\nunix_socket_directories = ''\nfsync = off\n", port)
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(conf)
	f.Close()
	var logs bytes.Buffer
	srv := run(postgres, "-D", data)
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Signal(os.Interrupt)
		srv.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PostgreSQL did not start listening on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tgt := Target{Host: "127.0.0.1", Port: port, Protocol: Postgres}
	res, err := Probe(ctx, tgt)
	if err != nil {
		t.Fatalf("probe: %v\n%s", err, logs.String())
	}
	if len(res.Chain) != 1 || !res.Chain[0].Equal(leaf.Cert) {
		t.Fatalf("chain %v", res.Chain)
	}
	if err := Confirm(ctx, tgt, leaf.Cert, nil); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	// The same server, probed as plain TLS, is not TLS at once.
	if _, err := Probe(ctx, Target{Host: "127.0.0.1", Port: port, Protocol: TLS}); err == nil {
		t.Error("a TLS probe of PostgreSQL's port captured a chain")
	}
}
