package fleet

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/prometheus/common/expfmt"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/testpki"
)

// benchBed is one loopback server of a private CA and the policy that
// trusts the CA for it.
type benchBed struct {
	srv    *testpki.Server
	policy *httptrust.Policy
	pool   *x509.CertPool
}

func newBenchBed(b *testing.B) *benchBed {
	pki := testpki.New(b)
	srv := testpki.StartTLS(b, "127.0.0.1", pki.FullChain(pki.Leaf(b, "127.0.0.1")), nil)
	p, err := httptrust.New([]httptrust.Rule{{Hosts: []string{"127.0.0.1"}, AnchorCerts: certsOf(pki.Root)}}, &httptrust.Options{SystemRoots: x509.NewCertPool()})
	if err != nil {
		b.Fatal(err)
	}
	return &benchBed{srv: srv, policy: p, pool: pki.Pool()}
}

// BenchmarkProbe is one probe per op, against the floor: a bare Go loop
// doing the same work (a fresh connection and full handshake verified
// against the same root, offering the same key exchanges, and for https a
// GET) with nothing reported; floor-go-default offers Go's default key
// exchanges instead (the post-quantum hybrid first). Compare impl=fleet
// with impl=floor for each module. The server runs in the same process:
// its handshakes are in every figure.
func BenchmarkProbe(b *testing.B) {
	bed := newBenchBed(b)
	pr := &Prober{Policy: func() *httptrust.Policy { return bed.policy }}
	ctx := context.Background()
	for _, m := range []Module{ModuleTLS, ModuleHTTPS} {
		tg, err := ParseTarget(bed.srv.URL + "/")
		if err != nil {
			b.Fatal(err)
		}
		b.Run("module="+string(m)+"/impl=fleet", func(b *testing.B) {
			for b.Loop() {
				if r := pr.Probe(ctx, tg, m); !r.OK {
					b.Fatal(r.Err)
				}
			}
		})
		b.Run("module="+string(m)+"/impl=fleet+metrics", func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				r := pr.Probe(ctx, tg, m)
				if !r.OK {
					b.Fatal(r.Err)
				}
				buf.Reset()
				if err := WriteMetrics(&buf, expfmt.NewFormat(expfmt.TypeTextPlain), NewCollector(r)); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The exporter's whole exchange: a keep-alive GET of /probe, as
		// Prometheus sends it, and the answer read.
		b.Run("module="+string(m)+"/impl=exporter", func(b *testing.B) {
			srv := httptest.NewServer(NewExporter(pr, 0, "bench"))
			defer srv.Close()
			client := srv.Client()
			u := srv.URL + "/probe?" + url.Values{"target": {tg.Raw}, "module": {string(m)}}.Encode()
			var buf bytes.Buffer
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				buf.ReadFrom(resp.Body)
				resp.Body.Close()
				if !bytes.Contains(buf.Bytes(), []byte("\nprobe_success 1\n")) {
					b.Fatalf("probe failed:\n%s", buf.Bytes())
				}
			}
		})
		for _, f := range []struct {
			name   string
			curves []tls.CurveID
		}{{"floor", DefaultKeyExchanges}, {"floor-go-default", nil}} {
			b.Run("module="+string(m)+"/impl="+f.name, func(b *testing.B) {
				for b.Loop() {
					if err := floorProbe(ctx, bed.srv.Addr, "127.0.0.1", bed.pool, f.curves, m == ModuleHTTPS); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// floorProbe is the floor of a probe: what any prober must do, in plain
// Go (bench/fleet/harness does the same).
func floorProbe(ctx context.Context, addr, name string, roots *x509.CertPool, curves []tls.CurveID, get bool) error {
	cfg := &tls.Config{RootCAs: roots, ServerName: name, SessionTicketsDisabled: true, CurvePreferences: curves}
	if get {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true, ForceAttemptHTTP2: true}}
		resp, err := c.Get("https://" + addr + "/")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer raw.Close()
	return tls.Client(raw, cfg).HandshakeContext(ctx)
}

// BenchmarkWriteProbe is the encoding of one https probe's answer in the
// text format: through a registry (WriteMetrics), by WriteProbe, and as
// the exporter does it, with the certificates' label values kept.
func BenchmarkWriteProbe(b *testing.B) {
	bed := newBenchBed(b)
	pr := &Prober{Policy: func() *httptrust.Policy { return bed.policy }}
	tg, err := ParseTarget(bed.srv.URL + "/")
	if err != nil {
		b.Fatal(err)
	}
	r := pr.Probe(context.Background(), tg, ModuleHTTPS)
	if !r.OK {
		b.Fatal(r.Err)
	}
	f := expfmt.NewFormat(expfmt.TypeTextPlain)
	var buf bytes.Buffer
	b.Run("impl=registry", func(b *testing.B) {
		for b.Loop() {
			buf.Reset()
			if err := WriteMetrics(&buf, f, NewCollector(r)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=WriteProbe", func(b *testing.B) {
		for b.Loop() {
			buf.Reset()
			if err := WriteProbe(&buf, f, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=exporter", func(b *testing.B) {
		names := newCertNames()
		var out []byte
		for b.Loop() {
			if out, err = appendProbe(out[:0], f, r, names); err != nil {
				b.Fatal(err)
			}
		}
	})
}
