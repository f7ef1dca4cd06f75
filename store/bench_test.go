package store

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

// FillKnownHosts writes n first-use records ("dev<i>.fleet.test:443") into
// the store in dir, file by file as KnownHosts keeps them, without going
// through Record: a million records take seconds rather than hours.
func fillKnownHosts(tb testing.TB, dir string, n int) {
	tb.Helper()
	byFile := map[string]map[string]httptrust.TOFURecord{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		hp := fmt.Sprintf("dev%d.fleet.test:443", i)
		name := KnownHostsFileFor(hp)
		if byFile[name] == nil {
			byFile[name] = map[string]httptrust.TOFURecord{}
		}
		sum := sha256.Sum256([]byte(hp))
		byFile[name][hp] = httptrust.TOFURecord{HostPort: hp, Pin: certs.Pin(sum), CertSHA: certs.Fingerprint(sum), FirstSeen: t0, LastSeen: t0, NotAfter: t0.AddDate(1, 0, 0)}
	}
	for name, recs := range byFile {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, filepath.FromSlash(name))), 0o700); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), EncodeKnownHosts(recs), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkKnownHosts measures a lookup of a recorded host and a new
// record in a store of one record and in one of a million, side by side:
// both must stay within 1.5x of the one-record store.
//
//	go test -run '^$' -bench KnownHosts -count 6 ./store | tee kh.txt
//	benchstat -col /records kh.txt
func BenchmarkKnownHosts(b *testing.B) {
	for _, n := range []int{1, 1_000_000} {
		dir := b.TempDir()
		fillKnownHosts(b, dir, n)
		k := Open(dir).KnownHosts()
		runtime.GC()
		b.Run(fmt.Sprintf("op=lookup/records=%d", n), func(b *testing.B) {
			hp := fmt.Sprintf("dev%d.fleet.test:443", n/2)
			for i := 0; i < b.N; i++ {
				if _, ok, err := k.Lookup(hp); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run(fmt.Sprintf("op=lookup-miss/records=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, ok, err := k.Lookup(fmt.Sprintf("new%d.fleet.test:443", i)); err != nil || ok {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run(fmt.Sprintf("op=record-new/records=%d", n), func(b *testing.B) {
			now := time.Now()
			for i := 0; i < b.N; i++ {
				hp := fmt.Sprintf("rec%d-%d.fleet.test:443", i, now.UnixNano())
				sum := sha256.Sum256([]byte(hp))
				if _, err := k.Record(httptrust.TOFURecord{HostPort: hp, Pin: certs.Pin(sum), FirstSeen: now, LastSeen: now}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
