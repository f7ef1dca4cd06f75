package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/store"
)

// scaleStore writes a store whose rule for 127.0.0.1 anchors the test CA,
// beside n-1 other rules (each anchoring the same CA for one host of its
// own) spread over files rule files; n = 1 is the one-rule store.
func scaleStore(b *testing.B, dir string, ca []byte, n, files int) {
	b.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o644); err != nil {
		b.Fatal(err)
	}
	bufs := make([]strings.Builder, files)
	bufs[0].WriteString("[[rule]]\nhosts = [\"127.0.0.1\"]\nanchors = [\"ca.pem\"]\n\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&bufs[i%files], "[[rule]]\nhosts = [\"device%d.fleet.test\"]\nanchors = [\"ca.pem\"]\n\n", i)
	}
	for i := range bufs {
		name := filepath.Join(dir, fmt.Sprintf("rules-%05d.toml", i))
		if err := os.WriteFile(name, []byte(bufs[i].String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCLIStoreScale runs, interleaved, one `httptrust get` process
// through a one-rule store and through stores of 100,000 rules (in one
// file, and in 10,000 files), and `get --tofu` with one first-use record
// and with a million, against the same local server, and reports the
// ratios of the medians: each must stay within 1.5x of its one-rule (or
// one-record) store. Each process sees its store as a new process does:
// a rule file changed between two runs is seen by the second.
//
//	go test -run '^$' -bench CLIStoreScale -benchtime 40x -count 3 ./cmd/httptrust/
func BenchmarkCLIStoreScale(b *testing.B) {
	pki := testpki.New(b)
	srv := testpki.StartTLS(b, "127.0.0.1", pki.FullChain(pki.Leaf(b, "127.0.0.1")), nil)
	dir := b.TempDir()
	ht, _ := buildBench(b, dir)
	cache := filepath.Join(dir, "cache")
	stores := map[string]string{}
	for _, s := range []struct {
		name         string
		rules, files int
	}{{"1rule", 1, 1}, {"100000rules-1file", 100_000, 1}, {"100000rules-10000files", 100_000, 10_000}, {"100000rules-10000files-nowatcher", 100_000, 10_000}} {
		stores[s.name] = filepath.Join(dir, s.name)
		scaleStore(b, stores[s.name], pki.Root.CertPEM(), s.rules, s.files)
	}
	// First use: a self-signed server for --tofu, and stores with one
	// record (its own) and with a million.
	dev := pki.SelfSigned(b, "127.0.0.1")
	tofuSrv := testpki.StartTLS(b, "127.0.0.1", testpki.Chain(dev), nil)
	tofuHost := strings.TrimPrefix(tofuSrv.URL, "https://")
	for _, n := range []int{1, 1_000_000} {
		name := fmt.Sprintf("tofu-%drecords", n)
		stores[name] = filepath.Join(dir, name)
		fillRecords(b, stores[name], n-1)
		if _, err := store.Open(stores[name]).KnownHosts().Record(tofuRecordOf(dev.Cert, tofuHost)); err != nil {
			b.Fatal(err)
		}
	}
	env := append(os.Environ(), "XDG_CACHE_HOME="+cache)
	run := func(name string, args ...string) time.Duration {
		cmd := exec.Command(ht, append([]string{"--store", stores[name]}, args...)...)
		cmd.Env = env
		if strings.HasSuffix(name, "-nowatcher") {
			cmd.Env = append(env, "HTTPTRUST_WATCH=off")
		}
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", name, err, out)
		}
		return time.Since(start)
	}
	cases := []struct{ name, url, flag string }{
		{"1rule", srv.URL, ""}, {"100000rules-1file", srv.URL, ""}, {"100000rules-10000files", srv.URL, ""},
		{"100000rules-10000files-nowatcher", srv.URL, ""},
		{"tofu-1records", tofuSrv.URL, "--tofu"}, {"tofu-1000000records", tofuSrv.URL, "--tofu"},
	}
	// Warm: a first run builds the index, a second starts the watcher of
	// the 10,000-file store, a third stats every file under its token.
	for range 3 {
		for _, c := range cases {
			run(c.name, argsOf(c.flag, c.url)...)
		}
		time.Sleep(100 * time.Millisecond)
	}
	runs := map[string][]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, c := range cases {
			runs[c.name] = append(runs[c.name], run(c.name, argsOf(c.flag, c.url)...))
		}
		runs["statfloor"] = append(runs["statfloor"], statFloor(b, stores["100000rules-10000files"]))
	}
	b.StopTimer()
	med := func(name string) float64 {
		d := runs[name]
		slices.Sort(d)
		return float64(d[len(d)/2].Nanoseconds())
	}
	for _, c := range cases {
		b.ReportMetric(med(c.name), c.name+"-ns/op")
	}
	b.ReportMetric(med("100000rules-1file")/med("1rule"), "1file/1rule")
	b.ReportMetric(med("100000rules-10000files")/med("1rule"), "10000files/1rule")
	b.ReportMetric(med("100000rules-10000files-nowatcher")/med("1rule"), "10000files-nowatcher/1rule")
	b.ReportMetric(med("tofu-1000000records")/med("tofu-1records"), "1Mrecords/1record")
	// The least any process can spend to see a change in any of 10,000
	// files (an edit in place changes no folder): one stat of each. A
	// one-rule get plus that is the best ratio the 10,000-file store can
	// reach without trusting a stale index.
	b.ReportMetric(med("statfloor"), "statfloor-ns/op")
	b.ReportMetric((med("1rule")+med("statfloor"))/med("1rule"), "floor10000files/1rule")
}

// statFloor stats every rule file of the store in dir, in parallel on
// every core, as cheaply as Go can (one lstat each), and returns the time
// it took.
func statFloor(b *testing.B, dir string) time.Duration {
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, filepath.Join(dir, e.Name()))
	}
	start := time.Now()
	workers := runtime.GOMAXPROCS(0) * 2
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(names); i += workers {
				if _, err := os.Lstat(names[i]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

func argsOf(flag, url string) []string {
	if flag == "" {
		return []string{"get", url}
	}
	return []string{"get", flag, url}
}

func tofuRecordOf(c *x509.Certificate, hostport string) httptrust.TOFURecord {
	now := time.Now().UTC().Truncate(time.Second)
	return httptrust.TOFURecord{HostPort: hostport, Pin: certs.SPKIPin(c), CertSHA: certs.CertFingerprint(c), FirstSeen: now, LastSeen: now, NotAfter: c.NotAfter.UTC().Truncate(time.Second)}
}

// fillRecords writes n first-use records into the store in dir, file by
// file as store.KnownHosts keeps them.
func fillRecords(b *testing.B, dir string, n int) {
	b.Helper()
	byFile := map[string]map[string]httptrust.TOFURecord{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		hp := fmt.Sprintf("dev%d.fleet.test:443", i)
		name := store.KnownHostsFileFor(hp)
		if byFile[name] == nil {
			byFile[name] = map[string]httptrust.TOFURecord{}
		}
		sum := sha256.Sum256([]byte(hp))
		byFile[name][hp] = httptrust.TOFURecord{HostPort: hp, Pin: certs.Pin(sum), CertSHA: certs.Fingerprint(sum), FirstSeen: t0, LastSeen: t0, NotAfter: t0.AddDate(1, 0, 0)}
	}
	for name, recs := range byFile {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, store.EncodeKnownHosts(recs), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	_ = context.Background
}
