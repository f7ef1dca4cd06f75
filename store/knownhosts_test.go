package store

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

const childEnv = "HTTPTRUST_STORE_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	if mode := os.Getenv(faultsChildEnv); mode != "" {
		os.Exit(faultsChild(mode))
	}
	goleak.VerifyTestMain(m)
}

// child runs in a second process: "record DIR HOST:PORT PINBYTE N" records
// N hosts (or one host N=0) and prints whether its own key won.
func child(mode string) int {
	f := strings.Fields(mode)
	k := Open(f[1]).KnownHosts()
	var b byte
	fmt.Sscan(f[3], &b)
	var n int
	fmt.Sscan(f[4], &n)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if _, err := os.Stat(filepath.Join(f[1], "go")); err == nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	hosts := []string{f[2]}
	if n > 0 {
		hosts = hosts[:0]
		for i := 0; i < n; i++ {
			hosts = append(hosts, fmt.Sprintf("h%d-%s:443", i, f[2]))
		}
	}
	for _, h := range hosts {
		rec := httptrust.TOFURecord{HostPort: h, Pin: certs.Pin(sha256.Sum256([]byte{b})), FirstSeen: time.Now(), LastSeen: time.Now()}
		got, err := k.Record(rec)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		if n == 0 {
			fmt.Println(got.Pin == rec.Pin)
		}
	}
	return 0
}

func startChild(t *testing.T, args string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=record "+args)
	cmd.Stdout = &bytes.Buffer{}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// Two processes racing a first contact with different keys end with one
// record; the loser sees the winner's key (and fails as a changed
// certificate in the verifier).
func TestKnownHostsRacingFirstContact(t *testing.T) {
	for round := 0; round < 5; round++ {
		dir := t.TempDir()
		a := startChild(t, dir+" dev.test:443 1 0")
		b := startChild(t, dir+" dev.test:443 2 0")
		os.WriteFile(filepath.Join(dir, "go"), nil, 0o644)
		if err := a.Wait(); err != nil {
			t.Fatal(err)
		}
		if err := b.Wait(); err != nil {
			t.Fatal(err)
		}
		outs := a.Stdout.(*bytes.Buffer).String() + b.Stdout.(*bytes.Buffer).String()
		if strings.Count(outs, "true") != 1 || strings.Count(outs, "false") != 1 {
			t.Fatalf("round %d: outcomes %q, want one winner and one loser", round, outs)
		}
		recs, err := Open(dir).KnownHosts().List()
		if err != nil || len(recs) != 1 {
			t.Fatalf("records %v, %v", recs, err)
		}
	}
}

// Two processes recording at once lose nothing.
func TestKnownHostsConcurrentProcesses(t *testing.T) {
	dir := t.TempDir()
	a := startChild(t, dir+" a.test 1 100")
	b := startChild(t, dir+" b.test 2 100")
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o644)
	if err := a.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := b.Wait(); err != nil {
		t.Fatal(err)
	}
	recs, err := Open(dir).KnownHosts().List()
	if err != nil || len(recs) != 200 {
		t.Fatalf("%d records, %v; want 200", len(recs), err)
	}
}

func TestKnownHostsForgetAndDamage(t *testing.T) {
	s := Open(t.TempDir())
	k := s.KnownHosts()
	rec := httptrust.TOFURecord{HostPort: "dev.test:8443", Pin: certs.Pin{1}, FirstSeen: time.Unix(0, 0).UTC(), LastSeen: time.Unix(0, 0).UTC(), NotAfter: time.Unix(1e9, 0).UTC()}
	if _, err := k.Record(rec); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := k.Lookup("dev.test:8443"); err != nil || !ok || got != rec {
		t.Fatalf("lookup %+v %v %v", got, ok, err)
	}
	if err := k.Forget("DEV.test:8443"); err != nil {
		t.Fatal(err)
	}
	if err := k.Forget("dev.test:8443"); err == nil {
		t.Error("forgot twice")
	}
	// A damaged file is an error, never an empty set of records.
	os.WriteFile(filepath.Join(s.Dir, "managed", "known_hosts"), []byte("dev.test:443 sha256/garbage\n"), 0o644)
	if _, _, err := k.Lookup("dev.test:443"); err == nil || !strings.Contains(err.Error(), "known_hosts:1") {
		t.Errorf("damaged file: %v", err)
	}
	// The loader does not report the records file as junk.
	p, err := s.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Skipped()) != 0 {
		t.Errorf("skipped %v", p.Skipped())
	}
}

func FuzzParseKnownHosts(f *testing.F) {
	recs := map[string]httptrust.TOFURecord{
		"dev.test:443": {HostPort: "dev.test:443", Pin: certs.Pin{1}, FirstSeen: time.Unix(0, 0), LastSeen: time.Unix(99, 0)},
		"[::1]:8443":   {HostPort: "[::1]:8443", Pin: certs.Pin{2}},
	}
	f.Add(EncodeKnownHosts(recs))
	f.Add([]byte("# comment\n\nx:1 a b c d\n"))
	f.Add([]byte("dev.test:443 sha256/AAAA 00 2020-01-01T00:00:00Z 2020-01-01T00:00:00Z 2021-01-01T00:00:00Z\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := ParseKnownHosts("k", data)
		if err != nil {
			return
		}
		again, err := ParseKnownHosts("k", EncodeKnownHosts(recs))
		if err != nil || len(again) != len(recs) {
			t.Fatalf("round trip: %v (%d vs %d records)", err, len(again), len(recs))
		}
	})
}
