package integration_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/testpki"
)

// startHealth serves the standard gRPC health service on 127.0.0.1 with
// cert, until the test ends. It returns "127.0.0.1:PORT".
func startHealth(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
	healthpb.RegisterHealthServer(s, health.NewServer()) // "" is SERVING
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

// checkHealth makes one health call to target with cfg as the client's
// TLS config, the way a gRPC program passes a bare config.
func checkHealth(t *testing.T, target string, cfg *tls.Config, opts ...grpc.DialOption) (healthpb.HealthCheckResponse_ServingStatus, error) {
	t.Helper()
	opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	cc, err := grpc.NewClient(target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return healthpb.HealthCheckResponse_UNKNOWN, err
	}
	return resp.GetStatus(), nil
}

// resolveTo makes gRPC dial every name through testpki.Dialer: the names
// in resolve go to loopback and nothing else is reached, no DNS query is
// made. Use it with a "passthrough:///name:port" target.
func resolveTo(resolve map[string]string) grpc.DialOption {
	dial := testpki.Dialer(resolve)
	return grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		return dial(ctx, "tcp", addr)
	})
}

// A gRPC client verifies a private CA's server under the rule that
// anchors it, reached by IP and by name.
func TestGRPCTrustedCA(t *testing.T) {
	pki := testpki.New(t)
	addr := startHealth(t, pki.FullChain(pki.Leaf(t, "grpc.corp.test", "127.0.0.1")))
	_, port, _ := net.SplitHostPort(addr)
	var r refusals
	p := anchoredPolicy(t, pki.Root, []string{"**.corp.test", "127.0.0.1"}, &r)

	for _, tc := range []struct {
		name, hostport, target string
		opts                   []grpc.DialOption
	}{
		{"by IP", addr, addr, nil},
		{"by name", "grpc.corp.test:" + port, "passthrough:///grpc.corp.test:" + port,
			[]grpc.DialOption{resolveTo(map[string]string{"grpc.corp.test": "127.0.0.1"})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := checkHealth(t, tc.target, tlsConfigFor(t, p, tc.hostport), tc.opts...)
			if err != nil {
				t.Fatalf("health check: %v", err)
			}
			if got != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("status %v, want SERVING", got)
			}
		})
	}
	if n := len(r.list()); n != 0 {
		t.Errorf("%d refusals observed, want 0: %v", n, r.list())
	}
}

// A server whose certificate has the right names but comes from a CA no
// rule trusts is refused. gRPC flattens the error to text (a status with
// "authentication handshake failed" and httptrust's explanation); the
// *VerifyError, with its Remedy, reaches the program through the
// Observer as an EventRefused.
func TestGRPCRogueCA(t *testing.T) {
	pki := testpki.New(t)
	rogue := pki.OtherRoot(t)
	addr := startHealth(t, testpki.Chain(pki.LeafFrom(t, rogue, "grpc.corp.test", "127.0.0.1"), rogue))
	var r refusals
	p := anchoredPolicy(t, pki.Root, []string{"**.corp.test", "127.0.0.1"}, &r)

	_, err := checkHealth(t, addr, tlsConfigFor(t, p, addr))
	if err == nil {
		t.Fatal("health check to a rogue CA's server succeeded")
	}
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable {
		t.Fatalf("error %v (%T), want a status with code Unavailable", err, err)
	}
	if !strings.Contains(st.Message(), "authentication handshake failed") {
		t.Errorf("message %q lacks %q", st.Message(), "authentication handshake failed")
	}
	refused := r.list()
	if len(refused) == 0 {
		t.Fatal("no EventRefused observed")
	}
	ve := refused[0]
	if ve == nil {
		t.Fatal("EventRefused without a *VerifyError in Err")
	}
	if ve.Reason != httptrust.ReasonUnknownAuthority {
		t.Errorf("reason %v, want %v", ve.Reason, httptrust.ReasonUnknownAuthority)
	}
	if ve.Remedy.Action == httptrust.ActionNone || ve.Remedy.Text == "" {
		t.Errorf("remedy %+v, want an action and its text", ve.Remedy)
	}
	// gRPC quotes the handshake error inside its message, so compare the
	// parts that need no escaping: the host and port, and the reason.
	for _, want := range []string{"httptrust: " + addr, ve.Reason.String()} {
		if !strings.Contains(st.Message(), want) {
			t.Errorf("message %q lacks %q", st.Message(), want)
		}
	}
	if host, port, _ := net.SplitHostPort(addr); ve.Host != host || ve.Port != port {
		t.Errorf("refusal for %s:%s, want %s", ve.Host, ve.Port, addr)
	}
	// What gRPC returns is text: nothing typed survives in it.
	if errors.As(err, &ve) {
		t.Logf("gRPC now keeps the *VerifyError in its error: %v", ve)
	}
}

// A config is bound to the host it was made for: dialled to another
// server, even one the same CA vouches for under its own name, it
// verifies that server as the first host and refuses it.
func TestGRPCConfigBoundToHost(t *testing.T) {
	pki := testpki.New(t)
	a := startHealth(t, pki.FullChain(pki.Leaf(t, "a.corp.test")))
	b := startHealth(t, pki.FullChain(pki.Leaf(t, "b.corp.test")))
	_, portA, _ := net.SplitHostPort(a)
	_, portB, _ := net.SplitHostPort(b)
	var r refusals
	p := anchoredPolicy(t, pki.Root, []string{"**.corp.test"}, &r)
	dial := resolveTo(map[string]string{"a.corp.test": "127.0.0.1", "b.corp.test": "127.0.0.1"})
	cfgA := tlsConfigFor(t, p, "a.corp.test:"+portA)

	if _, err := checkHealth(t, "passthrough:///a.corp.test:"+portA, cfgA, dial); err != nil {
		t.Fatalf("host A with its own config: %v", err)
	}
	_, err := checkHealth(t, "passthrough:///b.corp.test:"+portB, cfgA, dial)
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("host B with host A's config: %v, want Unavailable", err)
	}
	refused := r.list()
	if len(refused) == 0 || refused[0].Reason != httptrust.ReasonNameMismatch || refused[0].Host != "a.corp.test" {
		t.Fatalf("refusals %v, want a name mismatch for a.corp.test", refused)
	}
	// B's own config reaches B.
	if _, err := checkHealth(t, "passthrough:///b.corp.test:"+portB, tlsConfigFor(t, p, "b.corp.test:"+portB), dial); err != nil {
		t.Errorf("host B with its own config: %v", err)
	}
}
