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

func tofuRec(hp string, b byte) httptrust.TOFURecord {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return httptrust.TOFURecord{HostPort: hp, Pin: certs.Pin{b}, CertSHA: certs.Fingerprint{b}, FirstSeen: t0, LastSeen: t0, NotAfter: t0.AddDate(1, 0, 0)}
}

// Each record lives in the file its host:port names, one line of plain
// text under a header; a lookup reads that file only.
func TestKnownHostsOneFileOfRecordsPerHash(t *testing.T) {
	s := Open(t.TempDir())
	k := s.KnownHosts()
	hosts := []string{"a.test:443", "b.test:8443", "[::1]:443", "10.0.0.5:5001"}
	for i, hp := range hosts {
		if _, err := k.Record(tofuRec(hp, byte(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	for i, hp := range hosts {
		name := KnownHostsFileFor(hp)
		if !strings.HasPrefix(name, KnownHostsDir+"/") || len(name) != len(KnownHostsDir)+6 || name[len(KnownHostsDir)+3] != '/' {
			t.Fatalf("file for %s: %q", hp, name)
		}
		data, err := os.ReadFile(filepath.Join(s.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want := string(EncodeKnownHosts(map[string]httptrust.TOFURecord{hp: tofuRec(hp, byte(i+1))}))
		if !strings.HasPrefix(string(data), knownHostsHeader) || !strings.Contains(string(data), strings.TrimPrefix(want, knownHostsHeader)) {
			t.Errorf("%s holds\n%s\nwant the line of\n%s", name, data, want)
		}
		got, ok, err := k.Lookup(hp)
		if err != nil || !ok || got != tofuRec(hp, byte(i+1)) {
			t.Errorf("Lookup(%s) = %+v, %v, %v", hp, got, ok, err)
		}
	}
	if recs, err := k.List(); err != nil || len(recs) != len(hosts) {
		t.Fatalf("List: %d records, %v", len(recs), err)
	}
	// Forgetting the last record of a file removes the file.
	if err := k.Forget("a.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, KnownHostsFileFor("a.test:443"))); !os.IsNotExist(err) {
		t.Errorf("the file of a.test's record is still there: %v", err)
	}
	if _, ok, err := k.Lookup("a.test:443"); ok || err != nil {
		t.Errorf("forgotten record: %v, %v", ok, err)
	}
}

// The single file of earlier versions is read as it is, and the next
// write moves its records into the folder: nothing is lost, a record
// already moved (newer) wins, and the old file is gone.
func TestKnownHostsMigratesTheSingleFile(t *testing.T) {
	s := Open(t.TempDir())
	k := s.KnownHosts()
	old := map[string]httptrust.TOFURecord{}
	for i := 0; i < 300; i++ {
		hp := fmt.Sprintf("dev%d.test:443", i)
		old[hp] = tofuRec(hp, byte(i))
	}
	legacy := filepath.Join(s.Dir, filepath.FromSlash(LegacyKnownHostsFile))
	must(t, os.MkdirAll(filepath.Dir(legacy), 0o700))
	must(t, os.WriteFile(legacy, EncodeKnownHosts(old), 0o644))
	if got, ok, err := k.Lookup("dev7.test:443"); err != nil || !ok || got != old["dev7.test:443"] {
		t.Fatalf("lookup in the single file: %+v %v %v", got, ok, err)
	}
	// A move cut short: one record is already in the folder, renewed.
	renewed := tofuRec("dev9.test:443", 9)
	renewed.LastSeen = renewed.LastSeen.Add(time.Hour)
	must(t, os.MkdirAll(filepath.Dir(filepath.Join(s.Dir, KnownHostsFileFor(renewed.HostPort))), 0o700))
	must(t, os.WriteFile(filepath.Join(s.Dir, KnownHostsFileFor(renewed.HostPort)), EncodeKnownHosts(map[string]httptrust.TOFURecord{renewed.HostPort: renewed}), 0o644))
	if got, _, _ := k.Lookup(renewed.HostPort); got != renewed {
		t.Fatalf("moved record: %+v, want %+v", got, renewed)
	}
	if _, err := k.Record(tofuRec("new.test:443", 1)); err != nil {
		t.Fatal(err)
	}
	// The single file is left as a stub that versions which read it
	// refuse as damaged, rather than take every host for a first contact.
	if data, err := os.ReadFile(legacy); err != nil || string(data) != legacyStub {
		t.Fatalf("the single file after the move: %q, %v; want the stub", data, err)
	}
	if _, err := ParseKnownHosts(LegacyKnownHostsFile, []byte(legacyStub)); err == nil {
		t.Error("the stub reads as records")
	}
	recs, err := k.List()
	if err != nil || len(recs) != len(old)+1 {
		t.Fatalf("after the move: %d records, %v; want %d", len(recs), err, len(old)+1)
	}
	for _, r := range recs {
		want := old[r.HostPort]
		switch r.HostPort {
		case "new.test:443":
			want = tofuRec("new.test:443", 1)
		case renewed.HostPort:
			want = renewed
		}
		if r != want {
			t.Errorf("%s: %+v, want %+v", r.HostPort, r, want)
		}
	}
}

// A damaged file of records is an error for every host whose record it
// would hold, naming the file and line; a record in the wrong file, or a
// stranger in the folder, is an error for whatever reads them all.
func TestKnownHostsDamage(t *testing.T) {
	s := Open(t.TempDir())
	k := s.KnownHosts()
	if _, err := k.Record(tofuRec("dev.test:443", 1)); err != nil {
		t.Fatal(err)
	}
	name := KnownHostsFileFor("dev.test:443")
	file := filepath.Join(s.Dir, name)
	good, _ := os.ReadFile(file)
	must(t, os.WriteFile(file, append(append([]byte{}, good...), "x.test:443 sha256/AAAA\n"...), 0o644))
	for _, hp := range []string{"dev.test:443", sameFile(t, "dev.test:443")} {
		if _, _, err := k.Lookup(hp); err == nil || !strings.Contains(err.Error(), name+":4: damaged first-use record") {
			t.Errorf("Lookup(%s) in a damaged file: %v", hp, err)
		}
	}
	if _, err := k.Record(tofuRec(sameFile(t, "dev.test:443"), 2)); err == nil {
		t.Error("recorded into a damaged file")
	}
	// Two records for one host:port.
	must(t, os.WriteFile(file, append(append([]byte{}, good...), good[len(knownHostsHeader):]...), 0o644))
	if _, _, err := k.Lookup("dev.test:443"); err == nil || !strings.Contains(err.Error(), "a second record for dev.test:443") {
		t.Errorf("two records: %v", err)
	}
	// A record in a file it does not belong in.
	must(t, os.WriteFile(file, good, 0o644))
	other := "other.test:443"
	for KnownHostsFileFor(other) == name {
		other = "x" + other
	}
	must(t, os.MkdirAll(filepath.Dir(filepath.Join(s.Dir, KnownHostsFileFor(other))), 0o700))
	must(t, os.WriteFile(filepath.Join(s.Dir, KnownHostsFileFor(other)), EncodeKnownHosts(map[string]httptrust.TOFURecord{"dev.test:443": tofuRec("dev.test:443", 1)}), 0o644))
	if _, err := k.List(); err == nil || !strings.Contains(err.Error(), "belongs in "+name) {
		t.Errorf("misplaced record: %v", err)
	}
	must(t, os.Remove(filepath.Join(s.Dir, KnownHostsFileFor(other))))
	// Something else in the folder.
	for _, stray := range []string{"notes.txt", filepath.Base(filepath.Dir(file)) + "/notes.txt"} {
		p := filepath.Join(s.Dir, KnownHostsDir, stray)
		must(t, os.WriteFile(p, []byte("x"), 0o644))
		if _, err := k.List(); err == nil || !strings.Contains(err.Error(), stray+": not a file of first-use records") {
			t.Errorf("stranger %s: %v", stray, err)
		}
		must(t, os.Remove(p))
	}
}

// findRecord, which reads one line of a file, agrees with
// ParseKnownHosts, which reads them all.
func FuzzFindRecord(f *testing.F) {
	recs := map[string]httptrust.TOFURecord{}
	for i := 0; len(recs) < 4; i++ { // records that share one file
		if hp := fmt.Sprintf("h%d.test:443", i); KnownHostsFileFor(hp) == KnownHostsFileFor("h0.test:443") {
			recs[hp] = tofuRec(hp, byte(i))
		}
	}
	for hp := range recs {
		f.Add(EncodeKnownHosts(recs), hp)
	}
	f.Add([]byte("# c\n\nh.test:443 sha256/AAAA 00 2020-01-01T00:00:00Z 2020-01-01T00:00:00Z 2021-01-01T00:00:00Z\n"), "h.test:443")
	f.Add([]byte("h.test:443 a b c d e\nh.test:443 a b c d e\n"), "h.test:443")
	f.Add([]byte("h.test:443\tsha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 0000000000000000000000000000000000000000000000000000000000000000 2020-01-01T00:00:00Z 2020-01-01T00:00:00Z 2021-01-01T00:00:00Z\n"), "h.test:443")
	f.Fuzz(func(t *testing.T, data []byte, hp string) {
		name := KnownHostsFileFor(hp)
		all, perr := ParseKnownHosts(name, data)
		rec, ok, ferr := findRecord(name, data, hp)
		belong := true
		for other := range all {
			belong = belong && KnownHostsFileFor(other) == name
		}
		if perr == nil && belong {
			want, wok := all[hp]
			if ferr != nil || ok != wok || rec != want {
				t.Fatalf("findRecord(%q) = %+v, %v, %v; ParseKnownHosts has %+v, %v", hp, rec, ok, ferr, want, wok)
			}
		}
		if ok && ferr == nil {
			if r, err := parseRecord(rec.HostPort + " " + rec.Pin.String() + " " + rec.CertSHA.String() + " " + rec.FirstSeen.UTC().Format(time.RFC3339) + " " + rec.LastSeen.UTC().Format(time.RFC3339) + " " + rec.NotAfter.UTC().Format(time.RFC3339)); err != nil || r.HostPort != hp {
				t.Fatalf("found %+v for %q: %v", r, hp, err)
			}
		}
	})
}

// Damage never reads as "no record" for any host whose record the file
// would hold: a file emptied or cut to its header, a record's host or port
// changed by a bit, a record moved into another host's file.
func TestKnownHostsDamageIsNeverNoRecord(t *testing.T) {
	s := Open(t.TempDir())
	k := s.KnownHosts()
	neighbour := sameFile(t, "dev.test:443")
	for _, hp := range []string{"dev.test:443", neighbour} {
		if _, err := k.Record(tofuRec(hp, 1)); err != nil {
			t.Fatal(err)
		}
	}
	name := KnownHostsFileFor("dev.test:443")
	file := filepath.Join(s.Dir, name)
	good, _ := os.ReadFile(file)
	cases := map[string][]byte{
		"emptied":                   {},
		"cut to its header":         []byte(knownHostsHeader),
		"a host changed by a bit":   []byte(strings.Replace(string(good), "dev.test:443", "deu.test:443", 1)),
		"a port changed":            []byte(strings.Replace(string(good), "dev.test:443", "dev.test:453", 1)),
		"CRLF and tabs still count": []byte(strings.ReplaceAll(strings.Replace(string(good), " ", "\t", 1), "\n", "\r\n")),
	}
	for what, data := range cases {
		t.Run(what, func(t *testing.T) {
			must(t, os.WriteFile(file, data, 0o644))
			defer os.WriteFile(file, good, 0o644)
			for _, hp := range []string{"dev.test:443", neighbour} {
				rec, ok, err := k.Lookup(hp)
				if what == "CRLF and tabs still count" {
					if err != nil || !ok || rec != tofuRec(hp, 1) {
						t.Errorf("Lookup(%s): %+v, %v, %v", hp, rec, ok, err)
					}
					continue
				}
				if err == nil {
					t.Errorf("Lookup(%s) = %v, no error: the damage reads as a record or as none", hp, ok)
				}
			}
		})
	}
	// A record moved by hand into another host's file: that file is damaged
	// for its own hosts too.
	other := "other.test:443"
	for KnownHostsFileFor(other) == name {
		other = "x" + other
	}
	if _, err := k.Record(tofuRec(other, 2)); err != nil {
		t.Fatal(err)
	}
	otherFile := filepath.Join(s.Dir, KnownHostsFileFor(other))
	otherData, _ := os.ReadFile(otherFile)
	must(t, os.WriteFile(otherFile, append(otherData, good[len(knownHostsHeader):]...), 0o644))
	if _, _, err := k.Lookup(other); err == nil || !strings.Contains(err.Error(), "belongs in "+name) {
		t.Errorf("a misplaced record: %v", err)
	}
}
