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
