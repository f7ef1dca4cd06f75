package integration_test

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/testpki"
)

// One PostgreSQL server (initdb costs about a second) serves every case:
// "trusted" is a policy that anchors its CA, "untrusted" one that anchors
// another CA, so the same server stands for a rogue one.
func TestPostgres(t *testing.T) {
	pki := testpki.New(t)
	srv := startPostgres(t, pki.Leaf(t, "db.corp.test", "127.0.0.1"), pki.Intermediate)
	hosts := []string{"**.corp.test", "127.0.0.1"}
	trusted := anchoredPolicy(t, pki.Root, hosts, nil)
	var refused refusals
	untrusted := anchoredPolicy(t, pki.OtherRoot(t), hosts, &refused)
	db := pgAt(srv)

	t.Run("verify-full by IP", func(t *testing.T) {
		cfg := db.config(t, "host=127.0.0.1 port=%s sslmode=verify-full")
		if err := verifyEveryAttempt(&cfg.Config, trusted); err != nil {
			t.Fatal(err)
		}
		if ssl := db.connectSSL(t, cfg); !ssl {
			t.Error("pg_stat_ssl.ssl = false, want true")
		}
	})
	t.Run("verify-full by name", func(t *testing.T) {
		cfg := db.config(t, "host=db.corp.test port=%s sslmode=verify-full")
		if err := verifyEveryAttempt(&cfg.Config, trusted); err != nil {
			t.Fatal(err)
		}
		if ssl := db.connectSSL(t, cfg); !ssl {
			t.Error("pg_stat_ssl.ssl = false, want true")
		}
	})
	t.Run("untrusted server", func(t *testing.T) {
		cfg := db.config(t, "host=127.0.0.1 port=%s sslmode=verify-full")
		if err := verifyEveryAttempt(&cfg.Config, untrusted); err != nil {
			t.Fatal(err)
		}
		err := db.connectErr(t, cfg)
		var ve *httptrust.VerifyError
		if !errors.As(err, &ve) {
			t.Fatalf("error %v, want a *httptrust.VerifyError through pgconn's error", err)
		}
		var cve *tls.CertificateVerificationError
		if ve.Reason != httptrust.ReasonUnknownAuthority || ve.Host != "127.0.0.1" || ve.Port != srv.Port || !errors.As(err, &cve) {
			t.Errorf("refusal %v (reason %v, %s:%s), want unknown authority for %s, inside a *tls.CertificateVerificationError", ve, ve.Reason, ve.Host, ve.Port, srv.Addr)
		}
		if len(refused.list()) == 0 {
			t.Error("no EventRefused observed")
		}
	})
	// The hazard: under sslmode=prefer (pgx's default) a refused
	// certificate is followed by a second attempt without TLS, and the
	// server lets it in. With verifyEveryAttempt the plaintext attempt is
	// dropped: the refusal is the result, and nothing is sent in clear.
	t.Run("prefer does not fall back to plaintext", func(t *testing.T) {
		cfg := db.config(t, "host=127.0.0.1 port=%s sslmode=prefer")
		if err := verifyEveryAttempt(&cfg.Config, untrusted); err != nil {
			t.Fatal(err)
		}
		var dials dialLog
		dials.install(cfg)
		err := db.connectErr(t, cfg)
		var ve *httptrust.VerifyError
		if !errors.As(err, &ve) {
			t.Errorf("error %v, want a *httptrust.VerifyError", err)
		}
		if got, want := dials.list(), []string{"ssl"}; !slices.Equal(got, want) {
			t.Errorf("connection attempts opened with %v, want %v (one, TLS, no plaintext)", got, want)
		}
	})
	// The same connection string with only Config.TLSConfig set: pgx
	// retries in plaintext and gets in. This is why the recipe exists, and
	// it shows that the dial log above would see a plaintext attempt.
	t.Run("prefer with TLSConfig alone falls back to plaintext", func(t *testing.T) {
		cfg := db.config(t, "host=127.0.0.1 port=%s sslmode=prefer")
		cfg.TLSConfig = tlsConfigFor(t, untrusted, srv.Addr)
		var dials dialLog
		dials.install(cfg)
		if ssl := db.connectSSL(t, cfg); ssl {
			t.Error("pg_stat_ssl.ssl = true, want the plaintext fallback pgx documents")
		}
		if got, want := dials.list(), []string{"ssl", "plaintext"}; !slices.Equal(got, want) {
			t.Errorf("connection attempts opened with %v, want %v", got, want)
		}
	})
	// Several hosts: the first is down, so pgx tries the second, which
	// must be verified as itself under the policy; under sslmode=require
	// pgx's own config for it checks nothing.
	t.Run("every host is verified", func(t *testing.T) {
		down := freePort(t) // nothing listens there
		dsn := "host=127.0.0.1,127.0.0.1 port=" + down + ",%s sslmode=require"
		cfg := db.config(t, dsn)
		if err := verifyEveryAttempt(&cfg.Config, trusted); err != nil {
			t.Fatal(err)
		}
		if ssl := db.connectSSL(t, cfg); !ssl {
			t.Error("trusted second host: pg_stat_ssl.ssl = false, want true")
		}

		cfg = db.config(t, dsn)
		if err := verifyEveryAttempt(&cfg.Config, untrusted); err != nil {
			t.Fatal(err)
		}
		err := db.connectErr(t, cfg)
		var ve *httptrust.VerifyError
		if !errors.As(err, &ve) || ve.Port != srv.Port {
			t.Errorf("untrusted second host: error %v, want a *httptrust.VerifyError for port %s", err, srv.Port)
		}

		// Only Config.TLSConfig set: the second host is reached over TLS
		// that verified nothing.
		cfg = db.config(t, dsn)
		cfg.TLSConfig = tlsConfigFor(t, untrusted, "127.0.0.1:"+down)
		if ssl := db.connectSSL(t, cfg); !ssl {
			t.Error("pgx's own require config: pg_stat_ssl.ssl = false, want true (unverified TLS)")
		}
	})
}

// pg connects to one test server.
type pg struct{ srv *pgServer }

func pgAt(srv *pgServer) pg { return pg{srv} }

// config parses a connection string whose %s is the server's port, as
// user postgres to database postgres, resolving db.corp.test to
// 127.0.0.1 without DNS and refusing every other name.
func (p pg) config(t *testing.T, format string) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(fmt.Sprintf(format, p.srv.Port) + " user=postgres dbname=postgres connect_timeout=10")
	if err != nil {
		t.Fatal(err)
	}
	cfg.LookupFunc = func(_ context.Context, host string) ([]string, error) {
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return []string{host}, nil
		}
		if host == "db.corp.test" {
			return []string{"127.0.0.1"}, nil
		}
		return nil, &net.DNSError{Err: "no such host (tests resolve only db.corp.test)", Name: host, IsNotFound: true}
	}
	return cfg
}

func (p pg) connect(t *testing.T, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		t.Cleanup(func() { conn.Close(context.Background()) })
	}
	return conn, err
}

// connectSSL connects, which must succeed, and reports whether the
// server sees the session as TLS.
func (p pg) connectSSL(t *testing.T, cfg *pgx.ConnConfig) bool {
	t.Helper()
	conn, err := p.connect(t, cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ssl bool
	if err := conn.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil {
		t.Fatalf("query: %v", err)
	}
	return ssl
}

// connectErr connects, which must fail, and returns the error.
func (p pg) connectErr(t *testing.T, cfg *pgx.ConnConfig) error {
	t.Helper()
	_, err := p.connect(t, cfg)
	if err == nil {
		t.Fatal("connected, want a refusal")
	}
	return err
}

// dialLog records how each connection pgx opens begins: "ssl" for an
// SSLRequest, "tls" for a TLS ClientHello (sslnegotiation=direct),
// "plaintext" for anything else (a StartupMessage in clear).
type dialLog struct {
	mu    sync.Mutex
	first []string
}

func (d *dialLog) install(cfg *pgx.ConnConfig) {
	var dialer net.Dialer
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &firstWrite{Conn: c, log: d}, nil
	}
}

func (d *dialLog) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.first)
}

type firstWrite struct {
	net.Conn
	log  *dialLog
	once sync.Once
}

const sslRequestCode = 80877103 // PostgreSQL's SSLRequest

func (c *firstWrite) Write(b []byte) (int, error) {
	c.once.Do(func() {
		kind := "plaintext"
		switch {
		case len(b) >= 8 && binary.BigEndian.Uint32(b[4:8]) == sslRequestCode:
			kind = "ssl"
		case len(b) > 0 && b[0] == 0x16: // a TLS handshake record
			kind = "tls"
		}
		c.log.mu.Lock()
		c.log.first = append(c.log.first, kind)
		c.log.mu.Unlock()
	})
	return c.Conn.Write(b)
}
