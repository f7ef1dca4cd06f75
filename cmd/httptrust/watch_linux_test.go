//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/storewatch"
	"github.com/httptrust/httptrust/internal/testpki"
)

// A store of many rule files: real `httptrust get` processes start the
// watcher themselves, and a rule file edited in place between two of
// them is seen by the second, every time.
func TestWatcherProcessSeesEdits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts many processes")
	}
	pki := testpki.New(t)
	srv := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "127.0.0.1")), nil)
	dir := filepath.Join(t.TempDir(), "store")
	cache := t.TempDir()
	if !storewatch.Local(filepath.Dir(dir)) {
		t.Skip("the test folder is not on a file system a watcher serves")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", string(pki.Root.CertPEM()))
	const trusted = "[[rule]]\nhosts = [\"127.0.0.1\"]\nanchors = [\"ca.pem\"]\n"
	const pinned = "[[rule]]\nhosts = [\"127.0.0.1\"]\npins = [\"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]\n"
	write("rules-00000.toml", trusted)
	for i := 1; i < 600; i++ {
		var b strings.Builder
		for j := 0; j < 2; j++ {
			fmt.Fprintf(&b, "[[rule]]\nhosts = [\"device%d-%d.fleet.test\"]\nanchors = [\"ca.pem\"]\n\n", i, j)
		}
		write(fmt.Sprintf("rules-%05d.toml", i), b.String())
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	get := func() error {
		cmd := exec.Command(exe, "--store", dir, "get", "-s", "-o", os.DevNull, srv.URL)
		cmd.Args[0] = "httptrust" // the test binary runs as the CLI (testscript.Main)
		cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache, "HTTPTRUST_CACHE_DIR=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	var root syscall.Stat_t
	if err := syscall.Stat(dir, &root); err != nil {
		t.Fatal(err)
	}
	watching := func() bool {
		_, err := storewatch.Query(dir, root.Dev, root.Ino)
		return err == nil
	}
	t.Cleanup(func() {
		os.RemoveAll(dir)
		for deadline := time.Now().Add(10 * time.Second); watching(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Error("the watcher did not end when its store was removed")
				return
			}
		}
	})

	// The watch file beside the index holds the watcher's current token:
	// the next run takes the watcher's word instead of statting.
	vouched := func() bool {
		tok, err := storewatch.Query(dir, root.Dev, root.Ino)
		if err != nil {
			return false
		}
		recs, _ := filepath.Glob(filepath.Join(cache, "httptrust", "stores", "*.idx.watch"))
		for _, r := range recs {
			data, _ := os.ReadFile(r)
			if strings.Contains(string(data), "\ntoken "+tok.String()+"\n") {
				return true
			}
		}
		return false
	}
	for round := 0; round < 2; round++ {
		time.Sleep(2100 * time.Millisecond) // older than the index's racy window
		for i := 0; i < 2; i++ {            // the index, then the watcher
			if err := get(); err != nil {
				t.Fatal(err)
			}
		}
		for deadline := time.Now().Add(20 * time.Second); !watching(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("no watcher started for a store of 600 rule files")
			}
		}
		if err := get(); err != nil { // a full stat under its token
			t.Fatal(err)
		}
		if !vouched() {
			t.Fatalf("round %d: no watch record under the watcher's token", round)
		}
		if err := get(); err != nil { // on its word
			t.Fatal(err)
		}
		write("rules-00000.toml", pinned)
		if err := get(); err == nil {
			t.Fatalf("round %d: the edit to a wrong pin was not seen: the request succeeded", round)
		}
		write("rules-00000.toml", trusted)
		if err := get(); err != nil {
			t.Fatalf("round %d: the edit back was not seen: %v", round, err)
		}
	}
	if !watching() {
		t.Fatal("the watcher ended during the test")
	}
}
