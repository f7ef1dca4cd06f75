package main

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/testpki"
)

func httpGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// The exporter follows the store: a rule written while it runs takes
// effect for the next probe; a store that then fails to load keeps the
// last good policy and says so in its metrics.
func TestExporterReloadsTheStore(t *testing.T) {
	pki := testpki.New(t)
	srv := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "127.0.0.1")), nil)
	dir := fleetStore(t, pki)
	rule := filepath.Join(dir, "fleet.toml")
	if err := os.Rename(rule, filepath.Join(dir, "fleet.toml.off")); err != nil {
		t.Fatal(err)
	}
	addr, stderr := startExporter(t, dir)
	probe := "http://" + addr + "/probe?" + url.Values{"target": {srv.URL + "/"}}.Encode()
	wait := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if strings.Contains(httpGet(t, probe), want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %q after a store change; exporter log:\n%s", want, stderr)
			}
		}
	}
	wait(`httptrust_probe_refused{reason="unknown_authority"} 1`)
	if err := os.Rename(filepath.Join(dir, "fleet.toml.off"), rule); err != nil {
		t.Fatal(err)
	}
	wait("probe_success 1")
	if err := os.WriteFile(filepath.Join(dir, "broken.toml"), []byte("[[rule]]\nhosts = [\"**\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	metrics := "http://" + addr + "/metrics"
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(httpGet(t, metrics), "httptrust_exporter_store_last_reload_successful 0"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a broken store is not reported; log:\n%s", stderr)
		}
	}
	if body := httpGet(t, probe); !strings.Contains(body, "probe_success 1") {
		t.Errorf("the last good policy is not kept:\n%s", body)
	}
	if !strings.Contains(stderr.String(), "warning: the store did not reload; the last good policy stays in effect") {
		t.Errorf("no warning on stderr:\n%s", stderr)
	}
	for _, want := range []string{"go_goroutines", "process_resident_memory_bytes", "httptrust_exporter_store_last_reload_success_timestamp_seconds",
		`httptrust_exporter_probes_total{module="https",result="success"}`} {
		if !strings.Contains(httpGet(t, metrics), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}

func TestExporterUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"exporter"}, exitUsage, "--listen is required"},
		{[]string{"exporter", "--listen", "127.0.0.1:0", "extra"}, exitUsage, "takes no arguments"},
		{[]string{"--store", filepath.Join(t.TempDir(), "none"), "exporter", "--listen", "127.0.0.1:0"}, exitCAFile, "is not a folder"},
		{[]string{"exporter", "--listen", "127.0.0.1:0", "--timeout", "0"}, exitUsage, "--timeout"},
	} {
		var stderr strings.Builder
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" },
			terminal: func(any) bool { return false }, now: time.Now}
		if code := e.run(c.args); code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", c.args, code, c.code, c.want, stderr.String())
		}
	}
}

// The page and the probe log print a remedy's command with the exporter's
// --resolve and --store, so that it reaches the server that was probed,
// not whatever DNS says the host is.
func TestExporterCommandsKeepResolve(t *testing.T) {
	pki := testpki.New(t)
	srv := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(pki.SelfSigned(t, "dev.test")), nil)
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	resolve := "dev.test:" + srv.Port + ":127.0.0.1"
	addr, stderr := startExporter(t, dir, "--resolve", resolve)
	target := "https://dev.test:" + srv.Port + "/"
	want := "httptrust fetch --resolve " + resolve + " --store " + dir + " " + target
	log := httpGet(t, "http://"+addr+"/probe?"+url.Values{"target": {target}, "debug": {"true"}}.Encode())
	if !strings.Contains(log, "remedy command: "+want+"\n") {
		t.Errorf("the log has no %q:\n%s\nexporter: %s", want, log, stderr)
	}
	page := httpGet(t, "http://"+addr+"/")
	if !strings.Contains(page, "<code>"+want+"</code>") {
		t.Errorf("the page has no %q:\n%s", want, page)
	}
	if strings.Count(page, "httptrust fetch") != strings.Count(page, "httptrust fetch --resolve") {
		t.Errorf("a command without --resolve on the page:\n%s", page)
	}
}
