package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/store"
)

// minimalGo is the baseline: the smallest stdlib program that makes the
// same verified request, trusting the same CA file through RootCAs.
const minimalGo = `package main

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
)

func main() {
	pem, err := os.ReadFile(os.Args[1])
	if err != nil {
		os.Exit(77)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		os.Exit(77)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := c.Get(os.Args[2])
	if err != nil {
		os.Exit(60)
	}
	io.Copy(os.Stdout, resp.Body)
	resp.Body.Close()
}
`

// buildBench builds httptrust and the minimal program into dir.
func buildBench(b *testing.B, dir string) (httptrustBin, minimalBin string) {
	b.Helper()
	httptrustBin, minimalBin = filepath.Join(dir, "httptrust"), filepath.Join(dir, "minimal")
	if out, err := exec.Command("go", "build", "-o", httptrustBin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	src := filepath.Join(dir, "minimal-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		b.Fatal(err)
	}
	files := map[string]string{"go.mod": "module minimal\n\ngo 1.26\n", "main.go": minimalGo}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-o", minimalBin, ".")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build minimal: %v\n%s", err, out)
	}
	return httptrustBin, minimalBin
}

// fillStore gives a store n managed rules, each with its own certificate.
func fillStore(b *testing.B, pki *testpki.PKI, dir string, n int) {
	b.Helper()
	st := store.Open(dir)
	for i := 0; i < n; i++ {
		host := fmt.Sprintf("device%d.bench.test", i)
		c := pki.SelfSigned(b, host)
		if _, err := st.Add(context.Background(), store.Trust{Pattern: host, Certs: []*x509.Certificate{c.Cert}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCLIGet runs, interleaved, one process each of `httptrust get
// --cacert`, the minimal Go program and `curl --cacert` against the same
// local server, and reports each one's wall time per request and the
// ratios of the medians: httptrust must stay within 1.25x of the minimal
// Go program.
//
//	go test -run '^$' -bench CLIGet -count 5 ./cmd/httptrust/
func BenchmarkCLIGet(b *testing.B) {
	pki := testpki.New(b)
	srv := testpki.StartTLS(b, "127.0.0.1", pki.FullChain(pki.Leaf(b, "127.0.0.1")), nil)
	dir := b.TempDir()
	ht, minimal := buildBench(b, dir)
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pki.Root.CertPEM(), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, rules := range []int{0, 100} {
		storeDir := filepath.Join(dir, fmt.Sprintf("store-%d", rules))
		fillStore(b, pki, storeDir, rules)
		trusted := filepath.Join(dir, fmt.Sprintf("trusted-%d", rules))
		fillStore(b, pki, trusted, rules)
		if _, err := store.Open(trusted).Add(context.Background(), store.Trust{Pattern: "127.0.0.1", Kind: store.Anchor, Certs: []*x509.Certificate{pki.Root.Cert}}); err != nil {
			b.Fatal(err)
		}
		for _, mode := range []string{"cacert", "store"} {
			b.Run(fmt.Sprintf("trust=%s/store=%drules", mode, rules), func(b *testing.B) {
				benchCLI(b, mode, storeDir, trusted, ht, minimal, ca, srv.URL)
			})
		}
	}
}

// benchCLI runs the three clients interleaved and reports the ratios. In
// mode "cacert" httptrust trusts the server through --cacert; in mode
// "store" through an anchor rule of the store (trusted).
func benchCLI(b *testing.B, mode, storeDir, trusted, ht, minimal, ca, url string) {
	cmds := map[string][]string{
		"httptrust": {ht, "--store", storeDir, "get", "--cacert", ca, url},
		"minimal":   {minimal, ca, url},
	}
	if mode == "store" {
		cmds["httptrust"] = []string{ht, "--store", trusted, "get", url}
	}
	if curl, err := exec.LookPath("curl"); err == nil {
		cmds["curl"] = []string{curl, "-sS", "--cacert", ca, url}
	}
	runs := map[string][]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, name := range []string{"minimal", "httptrust", "curl"} {
			args, ok := cmds[name]
			if !ok {
				continue
			}
			start := time.Now()
			if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
				b.Fatalf("%s: %v\n%s", name, err, out)
			}
			runs[name] = append(runs[name], time.Since(start))
		}
	}
	b.StopTimer()
	// Medians: other processes on the machine make means noisy.
	per := func(name string) float64 {
		d := runs[name]
		slices.Sort(d)
		return float64(d[len(d)/2].Nanoseconds())
	}
	b.ReportMetric(per("httptrust"), "httptrust-ns/op")
	b.ReportMetric(per("minimal"), "minimal-go-ns/op")
	b.ReportMetric(per("httptrust")/per("minimal"), "httptrust/minimal")
	if _, ok := cmds["curl"]; ok {
		b.ReportMetric(per("curl"), "curl-ns/op")
		b.ReportMetric(per("httptrust")/per("curl"), "httptrust/curl")
	}
}
