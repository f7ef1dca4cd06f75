package main

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// On a terminal, scan draws its progress on stderr and clears it before
// each result line and the summary.
func TestScanProgressOnTerminal(t *testing.T) {
	var args []string
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, "127.0.0.1:"+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		ln.Close()
	}
	var stdout, stderr strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" },
		terminal: func(f any) bool { return f == any(&stderr) }, now: time.Now}
	code := e.run(append([]string{"--store", t.TempDir(), "scan", "--concurrency", "1"}, args...))
	if code != exitFail {
		t.Errorf("exit %d, want 1", code)
	}
	got := stderr.String()
	if !strings.Contains(got, "\rscanning: 1/3, 0 refused, 1 failed") || !strings.Contains(got, "\r\x1b[Khttptrust: scanned 3 targets in ") ||
		strings.Count(got, "\n") != 1 {
		t.Errorf("stderr %q", got)
	}
	if n := strings.Count(stdout.String(), "FAILED"); n != 3 || strings.Contains(stdout.String(), "\r") {
		t.Errorf("stdout %q", stdout.String())
	}
}

// TestScanDetailRows: on a terminal a refusal's detail (text a certificate
// chose) is laid out in rows of 80 columns, each after the first marked as
// a continuation, so that no row passes for a line of its own ("ok ...");
// to a file or a pipe it stays one line per target.
func TestScanDetailRows(t *testing.T) {
	forged := strings.Repeat("x", 43) + "ok       bank.test:443  bank.test (bank.toml:1)  expires 2030-01-01" + strings.Repeat(" y", 30)
	for _, terminal := range []bool{true, false} {
		e, out, _ := testEnv(t, "", false)
		e.terminal = func(f any) bool { return terminal && f == e.stdout }
		s := &scanRun{e: e}
		s.detailLine("REFUSED  dev.test:443  (defaults)  certificate_expired: ", forged)
		rows := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if !terminal {
			if len(rows) != 1 {
				t.Errorf("to a pipe: %d rows, want 1:\n%s", len(rows), out)
			}
			continue
		}
		if len(rows) < 2 {
			t.Fatalf("on a terminal: %d rows:\n%s", len(rows), out)
		}
		for i, r := range rows {
			if columns(r) > viewWidth {
				t.Errorf("row %d is %d columns: %q", i, columns(r), r)
			}
			if i > 0 && !strings.HasPrefix(r, contMark) {
				t.Errorf("row %d does not start with %q: %q", i, contMark, r)
			}
		}
	}
}
