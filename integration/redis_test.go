package integration_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// startRedis runs redis-server on 127.0.0.1 with TLS only (no plaintext
// port), presenting leaf and chain, until the test ends. Without
// redis-server it skips, except under CI, whose .ci/run installs it.
func startRedis(t *testing.T, leaf *mint.Cert, chain ...*mint.Cert) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server not installed: apt-get install redis-server"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; .ci/run installs it, so under CI this is a failure")
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	pemChain := leaf.CertPEM()
	for _, c := range chain {
		pemChain = append(pemChain, c.CertPEM()...)
	}
	key, err := leaf.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	crt, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	writeOwned(t, nil, crt, pemChain, 0o644)
	writeOwned(t, nil, keyFile, key, 0o600)

	var lastErr error
	for range 3 {
		port := freePort(t)
		cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", "0", "--tls-port", port,
			"--tls-cert-file", crt, "--tls-key-file", keyFile, "--tls-auth-clients", "no",
			"--save", "", "--appendonly", "no", "--dir", dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		var log lockedBuffer
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		addr := net.JoinHostPort("127.0.0.1", port)
		if lastErr = waitListening(addr, exited, &log); lastErr == nil {
			t.Cleanup(stop)
			return addr
		}
		stop()
	}
	t.Fatalf("redis-server did not start: %v", lastErr)
	return ""
}

// waitListening waits until addr accepts TCP connections, or the process
// exits, or 10 seconds pass.
func waitListening(addr string, exited <-chan error, log *lockedBuffer) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited (%v):\n%s", err, log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after 10s:\n%s", addr, log.String())
		}
	}
}

func TestRedis(t *testing.T) {
	pki := testpki.New(t)
	addr := startRedis(t, pki.Leaf(t, "cache.corp.test", "127.0.0.1"), pki.Intermediate)
	_, port, _ := net.SplitHostPort(addr)
	hosts := []string{"**.corp.test", "127.0.0.1"}
	trusted := anchoredPolicy(t, pki.Root, hosts, nil)
	var refused refusals
	untrusted := anchoredPolicy(t, pki.OtherRoot(t), hosts, &refused)

	setGet := func(t *testing.T, opts *redis.Options) error {
		t.Helper()
		opts.DialerRetries = 1 // one handshake per dial; see "untrusted" below
		c := redis.NewClient(opts)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Set(ctx, "k", t.Name(), 0).Err(); err != nil {
			return err
		}
		got, err := c.Get(ctx, "k").Result()
		if err == nil && got != t.Name() {
			t.Errorf("GET k = %q, want %q", got, t.Name())
		}
		return err
	}

	t.Run("TLSConfig", func(t *testing.T) {
		if err := setGet(t, &redis.Options{Addr: addr, TLSConfig: tlsConfigFor(t, trusted, addr)}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		err := setGet(t, &redis.Options{Addr: addr, TLSConfig: tlsConfigFor(t, untrusted, addr), MaxRetries: -1})
		var ve *httptrust.VerifyError
		if !errors.As(err, &ve) || ve.Reason != httptrust.ReasonUnknownAuthority {
			t.Fatalf("error %v, want a *httptrust.VerifyError for an unknown authority", err)
		}
	})
	// go-redis does no TLS of its own when Options.Dialer is set: the
	// dialer must. Policy.DialTLSContext is one; through a name mapped to
	// loopback, the dialer dials and completes the handshake itself.
	t.Run("Dialer", func(t *testing.T) {
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := trusted.DialTLSContext(ctx, network, addr)
			if err != nil {
				return nil, err // never a nil *tls.Conn inside a non-nil net.Conn
			}
			return c, nil
		}
		if err := setGet(t, &redis.Options{Addr: addr, Dialer: dial}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Dialer by name", func(t *testing.T) {
		raw := testpki.Dialer(map[string]string{"cache.corp.test": "127.0.0.1"})
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			cfg, err := trusted.TLSConfigFor(addr)
			if err != nil {
				return nil, err
			}
			c, err := raw(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(c, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			return tc, nil
		}
		if err := setGet(t, &redis.Options{Addr: "cache.corp.test:" + port, Dialer: dial}); err != nil {
			t.Fatal(err)
		}
	})
	// go-redis retries a failed dial (DialerRetries, 5 by default, 100 ms
	// apart) without looking at why it failed, so one command against an
	// untrusted server makes several handshakes. Setting DialerRetries
	// bounds them; nothing in go-redis tells a refusal from a network error.
	t.Run("dial retries", func(t *testing.T) {
		before := len(refused.list())
		c := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: tlsConfigFor(t, untrusted, addr), MaxRetries: -1})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Ping(ctx).Err(); err == nil {
			t.Fatal("PING to an untrusted server succeeded")
		}
		n := len(refused.list()) - before
		if n < 1 {
			t.Fatal("no refusal observed")
		}
		t.Logf("one PING with the default DialerRetries: %d handshakes refused", n)
	})
}
