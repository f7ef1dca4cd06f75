package main

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/testpki"
)

// nthServer serves the first TLS connection with cert (the probe) and
// treats every later one as later says: "stall" accepts and never
// answers, "close" stops listening, so that the next dial is refused.
func nthServer(t *testing.T, cert tls.Certificate, later string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var n atomic.Int32
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if n.Add(1) > 1 {
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
				continue
			}
			if later == "close" {
				ln.Close() // the connection accepted lives on
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
				tc.SetDeadline(time.Now().Add(5 * time.Second))
				tc.Handshake() // the probe aborts it
			}()
		}
	}()
	return "https://" + ln.Addr().String() + "/"
}

// TestFetchConfirmNetworkFailures: the handshake that checks the server
// holds its key is bounded by --max-time and --connect-timeout as the
// probe is, and a server that stops answering or listening there is a
// timeout (28) or a connection failure (7), as get says them, never a
// possible interception (60).
func TestFetchConfirmNetworkFailures(t *testing.T) {
	noLeaks(t)
	pki := testpki.New(t)
	dev := testpki.LeafOnly(pki.SelfSigned(t, "dev.test", "127.0.0.1"))
	for _, tt := range []struct {
		name, later string
		flags       []string
		want        int
		says        string
	}{
		{"stall, --max-time", "stall", []string{"--max-time", "1"}, exitTimeout, "the TLS handshake did not finish within"},
		{"stall, --connect-timeout", "stall", []string{"--connect-timeout", "1"}, exitTimeout, "allow longer with --connect-timeout SECONDS (now 1 s)"},
		{"refused", "close", nil, exitConnect, "nothing accepted the connection"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url := nthServer(t, dev, tt.later)
			e, out, errb := testEnv(t, "", false)
			start := time.Now()
			code := e.run(append(append([]string{"fetch", "--yes"}, tt.flags...), url))
			took := time.Since(start)
			if code != tt.want || took > 4*time.Second {
				t.Errorf("exit %d after %v, want %d within about 1 s\nstdout: %s\nstderr: %s", code, took.Round(time.Millisecond), tt.want, out, errb)
			}
			if strings.Contains(errb.String(), "intercept") || !strings.Contains(errb.String(), tt.says) || !strings.Contains(errb.String(), "nothing written") {
				t.Errorf("stderr does not say %q and nothing written (or speaks of interception):\n%s", tt.says, errb)
			}
		})
	}
}

// slowYes answers the prompt after a while.
type slowYes struct {
	wait time.Duration
	done bool
}

func (s *slowYes) Read(p []byte) (int, error) {
	if s.done {
		return 0, io.EOF
	}
	time.Sleep(s.wait)
	s.done = true
	return copy(p, "y\n"), nil
}

// TestFetchPromptNotTimed: the time a person takes to answer is not
// --max-time's.
func TestFetchPromptNotTimed(t *testing.T) {
	noLeaks(t)
	pki := testpki.New(t)
	srv := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(pki.SelfSigned(t, "dev.test", "127.0.0.1")), nil)
	e, out, errb := testEnv(t, "", true)
	e.stdin = &slowYes{wait: 1500 * time.Millisecond}
	if code := e.run([]string{"fetch", "--max-time", "1", srv.URL}); code != exitOK {
		t.Errorf("exit %d, want 0\nstdout: %s\nstderr: %s", code, out, errb)
	}
}
