package integration_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/httptrust/httptrust"
)

// A PostgreSQL connection through pgx, verified under a policy. This
// example only compiles: it needs a PostgreSQL server whose certificate
// the policy trusts (postgres_test.go starts one and runs the same code).
//
// pgx makes one connection attempt per host and, for sslmode=prefer or
// allow, one more without TLS; the first is Config.TLSConfig, the others
// are Config.Fallbacks. Setting only Config.TLSConfig leaves two holes: a
// refused certificate falls back to plaintext under sslmode=prefer (the
// default), and every host after the first is checked by pgx's own config
// (none at all under sslmode=require). verifyEveryAttempt closes both.
func ExamplePolicy_TLSConfigFor_pgx() {
	policy, err := httptrust.LoadDir("/etc/myapp/trust", nil)
	if err != nil {
		log.Fatal(err)
	}
	// verify-full (or require): the policy decides what is trusted, and the
	// connection string does not ask for a plaintext attempt.
	cfg, err := pgx.ParseConfig("postgres://app@db.corp.example:5432/app?sslmode=verify-full")
	if err != nil {
		log.Fatal(err)
	}
	if err := verifyEveryAttempt(&cfg.Config, policy); err != nil { // pgxpool: &poolCfg.ConnConfig.Config
		log.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	var refused *httptrust.VerifyError
	if errors.As(err, &refused) {
		log.Fatalf("%v\nto fix: %s", refused, refused.Remedy)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(context.Background())
	var ssl bool
	err = conn.QueryRow(context.Background(), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl)
	fmt.Println(ssl, err)
}

// verifyEveryAttempt gives every connection attempt pgx will make (the
// first host and each fallback) the policy's config for its own
// host:port, and drops the attempts without TLS, so that a refused
// certificate never falls back to plaintext. A first attempt without TLS
// (sslmode=disable or allow, or a Unix socket) is an error. A client
// certificate comes from the host's rule (client_certificate), not from
// sslcert and sslkey, which this replaces.
func verifyEveryAttempt(cfg *pgconn.Config, policy *httptrust.Policy) error {
	if cfg.TLSConfig == nil {
		return fmt.Errorf("postgres %s: the first attempt is without TLS (sslmode=disable or allow, or a Unix socket): use sslmode=verify-full", cfg.Host)
	}
	first, err := policyConfig(policy, cfg.Host, cfg.Port, cfg.TLSConfig)
	if err != nil {
		return err
	}
	cfg.TLSConfig = first
	kept := cfg.Fallbacks[:0]
	for _, fb := range cfg.Fallbacks {
		if fb.TLSConfig == nil {
			continue // the plaintext retry of sslmode=prefer
		}
		if fb.TLSConfig, err = policyConfig(policy, fb.Host, fb.Port, fb.TLSConfig); err != nil {
			return err
		}
		kept = append(kept, fb)
	}
	cfg.Fallbacks = kept
	return nil
}

// policyConfig is the policy's config for host:port, keeping the ALPN
// protocol pgx asks for with sslnegotiation=direct (PostgreSQL 17).
func policyConfig(policy *httptrust.Policy, host string, port uint16, pgxOwn *tls.Config) (*tls.Config, error) {
	if strings.HasPrefix(host, "/") {
		return nil, fmt.Errorf("postgres %s: a Unix socket has no TLS", host)
	}
	cfg, err := policy.TLSConfigFor(net.JoinHostPort(host, strconv.Itoa(int(port))))
	if err != nil {
		return nil, err
	}
	cfg.NextProtos = pgxOwn.NextProtos
	return cfg, nil
}
