package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
)

// otherUID owns the files of the tests that need another user.
const otherUID = 12345

// knownHostsFaults are ways managed/known_hosts can be open to another
// user, each with the sentinel its refusal wraps.
var knownHostsFaults = []struct {
	name  string
	root  bool // needs root (os.Chown)
	setup func(t *testing.T, dir string)
	want  error
}{
	{"known_hosts writable by others", false, func(t *testing.T, dir string) {
		must(t, os.Chmod(recordFile(t, dir), 0o666))
	}, httptrust.ErrWritableByOthers},
	{"known_hosts.d writable by others", false, func(t *testing.T, dir string) {
		must(t, os.Chmod(filepath.Join(dir, KnownHostsDir), 0o777))
	}, httptrust.ErrWritableByOthers},
	{"managed writable by others", false, func(t *testing.T, dir string) {
		must(t, os.Chmod(filepath.Join(dir, httptrust.ManagedDir), 0o777))
	}, httptrust.ErrWritableByOthers},
	{"store folder writable by others", false, func(t *testing.T, dir string) {
		must(t, os.Chmod(dir, 0o777))
	}, httptrust.ErrWritableByOthers},
	{"store parent writable by others", false, func(t *testing.T, dir string) {
		must(t, os.Chmod(filepath.Dir(dir), 0o777))
	}, httptrust.ErrWritableByOthers},
	{"known_hosts a link into a folder writable by others", false, func(t *testing.T, dir string) {
		shared := filepath.Join(t.TempDir(), "shared")
		must(t, os.Mkdir(shared, 0o755))
		kh := recordFile(t, dir)
		must(t, os.Rename(kh, filepath.Join(shared, "known_hosts")))
		must(t, os.Symlink(filepath.Join(shared, "known_hosts"), kh))
		must(t, os.Chmod(shared, 0o777))
	}, httptrust.ErrWritableByOthers},
	{"known_hosts owned by another user", true, func(t *testing.T, dir string) {
		must(t, os.Chown(recordFile(t, dir), otherUID, otherUID))
	}, httptrust.ErrOwnedByOther},
	{"managed owned by another user", true, func(t *testing.T, dir string) {
		must(t, os.Chown(filepath.Join(dir, httptrust.ManagedDir), otherUID, otherUID))
	}, httptrust.ErrOwnedByOther},
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: giving a file to another user (os.Chown) needs root; run the tests as root to cover ownership")
	}
}

// khStore is a store holding one first-use record, in a parent folder of
// its own.
func khStore(t *testing.T) (*Store, httptrust.TOFURecord) {
	t.Helper()
	s := Open(filepath.Join(t.TempDir(), "store"))
	now := time.Now().UTC().Truncate(time.Second)
	rec := httptrust.TOFURecord{HostPort: "kh.test:443", Pin: certs.Pin(sha256.Sum256([]byte("k"))), FirstSeen: now, LastSeen: now, NotAfter: now}
	if _, err := s.KnownHosts().Record(rec); err != nil {
		t.Fatal(err)
	}
	return s, rec
}

// managed/known_hosts is checked on every read and before every write: a
// file or folder open to another user is an error, never "no record", and
// nothing is written.
func TestKnownHostsGuarded(t *testing.T) {
	for _, tt := range knownHostsFaults {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root {
				needRoot(t)
			}
			s, rec := khStore(t)
			k := s.KnownHosts()
			if got, ok, err := k.Lookup(rec.HostPort); err != nil || !ok || got.Pin != rec.Pin {
				t.Fatalf("control: %+v, %v, %v", got, ok, err)
			}
			tt.setup(t, s.Dir)
			before, _ := os.ReadFile(filepath.Join(s.Dir, KnownHostsFileFor(rec.HostPort)))
			if _, _, err := k.Lookup(rec.HostPort); !errors.Is(err, tt.want) {
				t.Errorf("Lookup: %v, want %v", err, tt.want)
			}
			if _, err := k.List(); !errors.Is(err, tt.want) {
				t.Errorf("List: %v, want %v", err, tt.want)
			}
			other := rec
			other.HostPort = sameFile(t, rec.HostPort)
			if _, err := k.Record(other); !errors.Is(err, tt.want) {
				t.Errorf("Record: %v, want %v", err, tt.want)
			}
			if err := k.Forget(rec.HostPort); !errors.Is(err, tt.want) {
				t.Errorf("Forget: %v, want %v", err, tt.want)
			}
			if after, _ := os.ReadFile(filepath.Join(s.Dir, KnownHostsFileFor(rec.HostPort))); string(after) != string(before) {
				t.Errorf("known_hosts changed:\n%s\nwant\n%s", after, before)
			}
		})
	}
}

// recordFile returns the one file of first-use records of the store in dir.
func recordFile(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, KnownHostsDir, "*", "*"))
	if len(files) != 1 {
		t.Fatalf("files of records %v, want one", files)
	}
	return files[0]
}

// sameFile returns another host:port whose record is kept in the same
// file as hostport's.
func sameFile(t *testing.T, hostport string) string {
	t.Helper()
	for i := 0; i < 1<<20; i++ {
		hp := fmt.Sprintf("other%d.test:443", i)
		if KnownHostsFileFor(hp) == KnownHostsFileFor(hostport) {
			return hp
		}
	}
	t.Fatal("no host:port shares a file with " + hostport)
	return ""
}

// Without a known_hosts, a managed folder open to others is still refused:
// another user could plant one.
func TestKnownHostsMissingInAWritableFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	must(t, os.MkdirAll(filepath.Join(dir, httptrust.ManagedDir), 0o755))
	must(t, os.Chmod(filepath.Join(dir, httptrust.ManagedDir), 0o777))
	k := Open(dir).KnownHosts()
	if _, ok, err := k.Lookup("kh.test:443"); ok || !errors.Is(err, httptrust.ErrWritableByOthers) {
		t.Fatalf("Lookup: %v, %v; want ErrWritableByOthers", ok, err)
	}
	if _, err := k.Record(httptrust.TOFURecord{HostPort: "kh.test:443"}); !errors.Is(err, httptrust.ErrWritableByOthers) {
		t.Fatalf("Record: %v, want ErrWritableByOthers", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, KnownHostsFileFor("kh.test:443"))); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("known_hosts written: %v", err)
	}
	// A store that does not exist yet has no records, and the first
	// record creates it.
	fresh := Open(filepath.Join(t.TempDir(), "new")).KnownHosts()
	if _, ok, err := fresh.Lookup("kh.test:443"); ok || err != nil {
		t.Fatalf("Lookup in a new store: %v, %v", ok, err)
	}
}

// With store.KnownHosts as the library's TOFUStore, a known_hosts open to
// another user refuses the host as a bad configuration: the records cannot
// be read, which is never taken for a first contact.
func TestKnownHostsOpenToOthersRefusesTheHost(t *testing.T) {
	pki := testpki.New(t)
	dev := pki.SelfSigned(t, "kh.test")
	srv := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(dev), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	yes := true
	rules := []httptrust.Rule{{Hosts: []string{"kh.test"}, TOFU: &yes}}
	url := "https://kh.test:" + srv.Port + "/"
	for _, tt := range knownHostsFaults {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root {
				needRoot(t)
			}
			s := Open(filepath.Join(t.TempDir(), "store"))
			p, err := httptrust.New(rules, &httptrust.Options{TOFU: s.KnownHosts()})
			if err != nil {
				t.Fatal(err)
			}
			c := &http.Client{Transport: p.Transport(&http.Transport{DialContext: testpki.Dialer(map[string]string{"kh.test": "127.0.0.1"})})}
			defer c.CloseIdleConnections()
			if err := fetch(c, url); err != nil {
				t.Fatalf("first contact: %v", err)
			}
			c.CloseIdleConnections()
			tt.setup(t, s.Dir)
			err = fetch(c, url)
			var ve *httptrust.VerifyError
			if !errors.As(err, &ve) || ve.Reason != httptrust.ReasonBadConfig || !errors.Is(err, tt.want) ||
				!strings.Contains(ve.Detail, "first-use records cannot be read") {
				t.Fatalf("GET with %s: %v; want a bad configuration (first-use records cannot be read, %v)", tt.name, err, tt.want)
			}
		})
	}
}

func fetch(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Add and Remove read the store's rule files through the same guard as
// the loader.
func TestAddRefusesRuleFilesOpenToOthers(t *testing.T) {
	tests := []struct {
		name  string
		root  bool
		setup func(t *testing.T, dir string)
		want  error
	}{
		{"person's rule file writable by others", false, func(t *testing.T, dir string) {
			must(t, os.Chmod(filepath.Join(dir, "corp.toml"), 0o666))
		}, httptrust.ErrWritableByOthers},
		{"rule file a link into a folder writable by others", false, func(t *testing.T, dir string) {
			shared := filepath.Join(t.TempDir(), "shared")
			must(t, os.Mkdir(shared, 0o777))
			must(t, os.Chmod(shared, 0o777))
			must(t, os.Rename(filepath.Join(dir, "corp.toml"), filepath.Join(shared, "corp.toml")))
			must(t, os.Symlink(filepath.Join(shared, "corp.toml"), filepath.Join(dir, "corp.toml")))
		}, httptrust.ErrWritableByOthers},
		{"managed rule file owned by another user", true, func(t *testing.T, dir string) {
			must(t, os.Chown(filepath.Join(dir, "managed", "x.test.toml"), otherUID, otherUID))
		}, httptrust.ErrOwnedByOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root {
				needRoot(t)
			}
			s := Open(t.TempDir())
			if _, err := s.Add(context.Background(), selfSignedTrust("x.test")); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(s.Dir, "corp.toml"), "[[rule]]\nhosts = [\"a.test\"]\n")
			tt.setup(t, s.Dir)
			if _, err := s.Add(context.Background(), selfSignedTrust("y.test")); !errors.Is(err, tt.want) {
				t.Errorf("Add: %v, want %v", err, tt.want)
			}
			if _, err := s.Remove(context.Background(), "x.test"); !errors.Is(err, tt.want) {
				t.Errorf("Remove: %v, want %v", err, tt.want)
			}
		})
	}
}

// check and trust list read the store's certificates and known_hosts
// through the same guard, and report a file open to others with its fix.
func TestCheckAndListReportFilesOpenToOthers(t *testing.T) {
	pki := testpki.New(t)
	s, rec := khStore(t)
	shared := filepath.Join(t.TempDir(), "shared")
	must(t, os.Mkdir(shared, 0o755))
	write(t, filepath.Join(shared, "root.pem"), string(pki.Root.CertPEM()))
	must(t, os.Symlink(filepath.Join(shared, "root.pem"), filepath.Join(s.Dir, "root.pem")))
	write(t, filepath.Join(s.Dir, "corp.toml"), "[[rule]]\nhosts = [\"**.corp.test\"]\nanchors = [\"root.pem\"]\n")
	if rep, err := s.Check(time.Now(), time.Hour); err != nil || strings.Contains(kinds(rep), "bad_") {
		t.Fatalf("control: %+v, %v", rep, err)
	}
	must(t, os.Chmod(shared, 0o777))
	must(t, os.Chmod(filepath.Join(s.Dir, KnownHostsFileFor(rec.HostPort)), 0o666))

	rep, err := s.Check(time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, f := range rep.Findings {
		found[f.File] = f.Kind + ": " + f.Message
	}
	for _, file := range []string{"root.pem", KnownHostsDir} {
		if got := found[file]; !strings.HasPrefix(got, "bad_file: ") || !strings.Contains(got, "writable by others") || !strings.Contains(got, "chmod o-w") {
			t.Errorf("check finding for %s: %q, want bad_file, writable by others, chmod o-w", file, got)
		}
	}
	entries, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.File == "root.pem" && !strings.Contains(e.Error, "writable by others") {
			t.Errorf("trust list of root.pem: %+v, want its error", e)
		}
	}
}
