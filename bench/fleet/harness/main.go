// Command harness is the fleet benchmark's helper (see bench/fleet/run.sh
// and BENCHMARKS.md): loopback targets of a private CA, a load generator
// for blackbox_exporter's /probe protocol, and the floor, a bare Go loop
// doing a probe's work.
//
//	harness serve -dir DIR -first PORT -n N    N TLS servers on 127.0.0.1:PORT... (one process)
//	harness load -url URL -module M -targets FILE -c C -d DUR   drive an exporter
//	harness floor -targets FILE -c C [-d DUR] -module tls|https -ca FILE [-kex default|classic]   the floor
//	harness cpu PID                            CPU seconds (user+system) and peak RSS of PID
//	harness exporters -targets FILE -c C -d DUR -rounds R NAME=URL,PID,MODULE...
//	                                           interleaved rounds of load on each exporter
//	harness scan -targets FILE -c C -rounds R -ca FILE -- SCAN COMMAND...
//	                                           interleaved runs of the scan command and the floor
//
// load and floor print one JSON line: probes, successes, seconds, and for
// floor its own CPU seconds.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/httptrust/httptrust/mint"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: harness serve|load|floor|cpu ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "load":
		err = load(os.Args[2:])
	case "floor":
		err = floor(os.Args[2:])
	case "cpu":
		err = cpu(os.Args[2:])
	case "exporters":
		err = exporters(os.Args[2:])
	case "scan":
		err = scanBench(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(1)
	}
}

// serve starts n TLS servers of one private CA (root, intermediate, a
// leaf for 127.0.0.1) and writes DIR/root.pem, then DIR/ready.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dir := fs.String("dir", "", "where to write root.pem and ready")
	first := fs.Int("first", 20000, "first port")
	n := fs.Int("n", 1000, "number of ports")
	fs.Parse(args)
	root, err := mint.New(mint.Template{CommonName: "Fleet Bench Root", IsCA: true, MaxPathLen: -1}, nil)
	if err != nil {
		return err
	}
	inter, err := mint.New(mint.Template{CommonName: "Fleet Bench Intermediate", IsCA: true}, root)
	if err != nil {
		return err
	}
	leaf, err := mint.New(mint.Template{Names: []string{"127.0.0.1"}}, inter)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, "root.pem"), root.CertPEM(), 0o644); err != nil {
		return err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate(inter)}, NextProtos: []string{"h2", "http/1.1"},
		SessionTicketsDisabled: true}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	for p := *first; p < *first+*n; p++ {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h, TLSConfig: cfg, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
		srv.SetKeepAlivesEnabled(false)
		go srv.ServeTLS(ln, "", "")
	}
	if err := os.WriteFile(filepath.Join(*dir, "ready"), nil, 0o644); err != nil {
		return err
	}
	select {}
}

func readTargets(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" && !strings.HasPrefix(s, "#") {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}

type report struct {
	Probes  int64   `json:"probes"`
	OK      int64   `json:"ok"`
	Seconds float64 `json:"seconds"`
	CPU     float64 `json:"cpu_seconds,omitempty"`
}

// run calls probe from c workers over targets (cycling), for d or, when
// d is 0, once through the targets.
func run(targets []string, c int, d time.Duration, probe func(string) bool) report {
	var next, probes, ok atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if d == 0 && i >= int64(len(targets)) || d > 0 && time.Now().After(deadline) {
					return
				}
				probes.Add(1)
				if probe(targets[i%int64(len(targets))]) {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return report{Probes: probes.Load(), OK: ok.Load(), Seconds: time.Since(start).Seconds()}
}

// load drives an exporter's /probe with c concurrent requests.
func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	base := fs.String("url", "", "the exporter's /probe URL")
	module := fs.String("module", "", "the module parameter")
	list := fs.String("targets", "", "targets file")
	c := fs.Int("c", 64, "concurrency")
	d := fs.Duration("d", 5*time.Second, "duration")
	fs.Parse(args)
	targets, err := readTargets(*list)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *c, MaxIdleConns: *c}, Timeout: 30 * time.Second}
	rep := run(targets, *c, *d, func(t string) bool {
		req, _ := http.NewRequest(http.MethodGet, *base+"?"+url.Values{"target": {t}, "module": {*module}}.Encode(), nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200 && strings.Contains(string(b), "\nprobe_success 1\n")
	})
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// floor probes the targets itself: a fresh connection and a full
// handshake verified against the root (and for https a GET, keep-alive
// off), reporting nothing.
func floor(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ExitOnError)
	list := fs.String("targets", "", "targets file: host:port, or https:// URLs")
	c := fs.Int("c", 64, "concurrency")
	d := fs.Duration("d", 0, "duration (0: once through the targets)")
	module := fs.String("module", "tls", "tls or https")
	ca := fs.String("ca", "", "root certificate file")
	kex := fs.String("kex", "default", "key exchanges offered: default (Go's, with X25519MLKEM768) or classic (X25519, P-256)")
	fs.Parse(args)
	targets, err := readTargets(*list)
	if err != nil {
		return err
	}
	pool, err := readPool(*ca)
	if err != nil {
		return err
	}
	probe, err := floorProbe(*module, pool, *kex)
	if err != nil {
		return err
	}
	cpu0 := selfCPU()
	rep := run(targets, *c, *d, probe)
	rep.CPU = selfCPU() - cpu0
	return json.NewEncoder(os.Stdout).Encode(rep)
}

func readPool(ca string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(ca)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no certificate in " + ca)
	}
	return pool, nil
}

// floorProbe returns the floor's probe of a target: a fresh connection
// and a full handshake verified against pool, and for https a GET with
// keep-alive off; nothing is reported.
func floorProbe(module string, pool *x509.CertPool, kex string) (func(string) bool, error) {
	var curves []tls.CurveID
	switch kex {
	case "default":
	case "classic":
		curves = []tls.CurveID{tls.X25519, tls.CurveP256}
	default:
		return nil, fmt.Errorf("kex %q: want default or classic", kex)
	}
	switch module {
	case "tls":
		return func(t string) bool {
			t = strings.TrimPrefix(strings.TrimPrefix(t, "tls://"), "https://")
			t = strings.TrimSuffix(t, "/")
			host, _, _ := net.SplitHostPort(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", t)
			if err != nil {
				return false
			}
			defer raw.Close()
			cfg := &tls.Config{RootCAs: pool, ServerName: host, SessionTicketsDisabled: true, CurvePreferences: curves}
			return tls.Client(raw, cfg).HandshakeContext(ctx) == nil
		}, nil
	case "https":
		return func(t string) bool {
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, ForceAttemptHTTP2: true,
				TLSClientConfig: &tls.Config{RootCAs: pool, SessionTicketsDisabled: true, CurvePreferences: curves}}}
			resp, err := c.Get(t)
			if err != nil {
				return false
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode/100 == 2
		}, nil
	}
	return nil, fmt.Errorf("module %q", module)
}

func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return tv(ru.Utime) + tv(ru.Stime)
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// cpu prints the CPU seconds and the peak RSS (VmHWM, KiB) of a process.
func cpu(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: harness cpu PID")
	}
	c, rss, err := procUsage(args[0])
	if err != nil {
		return err
	}
	fmt.Printf("{\"cpu_seconds\":%.2f,\"peak_rss_kib\":%d}\n", c, rss)
	return nil
}

// procUsage returns the CPU seconds (user and system) of process pid and
// its peak resident set (VmHWM) in KiB, from /proc.
func procUsage(pid string) (float64, int64, error) {
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, 0, err
	}
	var hwm int64
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			hwm, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	const ticks = 100 // USER_HZ on Linux
	return (ut + st) / ticks, hwm, nil
}
