package integration_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/mint"
)

// A gRPC client verified under a policy: TLSConfigFor gives the bare
// config gRPC's credentials.NewTLS takes, one per host:port. gRPC turns a
// refused handshake into text (status Unavailable); the *VerifyError, with
// its Reason and Remedy, reaches the program through Options.Observer.
func ExamplePolicy_TLSConfigFor_grpc() {
	// A private CA, and two health servers on loopback with certificates
	// for the same address: one from that CA, one from another. The
	// policy trusts the CA for 127.0.0.1, so the second is refused, and
	// the remedy is to fix that server, never to trust what it sent.
	ca := must(mint.New(mint.Template{CommonName: "Example Root", IsCA: true, MaxPathLen: -1}, nil))
	rogueCA := must(mint.New(mint.Template{CommonName: "Rogue Root", IsCA: true, MaxPathLen: -1}, nil))
	good, stop := serveHealth(must(mint.New(mint.Template{Names: []string{"127.0.0.1"}}, ca)).TLSCertificate())
	defer stop()
	rogue, stop := serveHealth(must(mint.New(mint.Template{Names: []string{"127.0.0.1"}}, rogueCA)).TLSCertificate())
	defer stop()

	refused := make(chan *httptrust.VerifyError, 1)
	policy, err := httptrust.New([]httptrust.Rule{
		{Hosts: []string{"127.0.0.1"}, AnchorCerts: []*x509.Certificate{ca.Cert}},
	}, &httptrust.Options{Observer: func(e httptrust.Event) {
		if ve, ok := e.Err.(*httptrust.VerifyError); ok && e.Kind == httptrust.EventRefused {
			select {
			case refused <- ve: // keep the first; gRPC may retry in the background
			default:
			}
		}
	}})
	if err != nil {
		log.Fatal(err)
	}

	for _, addr := range []string{good, rogue} {
		cfg, err := policy.TLSConfigFor(addr) // bound to this host:port
		if err != nil {
			log.Fatal(err)
		}
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		if err != nil {
			log.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		conn.Close()
		if err != nil {
			ve := <-refused
			fmt.Printf("%v: %v; remedy: %v\n", status.Code(err), ve.Reason, ve.Remedy.Action)
			continue
		}
		fmt.Println(resp.GetStatus())
	}
	// Output:
	// SERVING
	// Unavailable: unknown authority; remedy: replace_certificate
}

// serveHealth serves gRPC's health service on 127.0.0.1 with cert, and
// returns its "127.0.0.1:PORT" and the function that stops it.
func serveHealth(cert tls.Certificate) (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	s := grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
	healthpb.RegisterHealthServer(s, health.NewServer())
	go s.Serve(ln)
	return ln.Addr().String(), s.Stop
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}
