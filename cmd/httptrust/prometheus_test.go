package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/testpki"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startExporter runs `httptrust exporter` in the test's process on a
// loopback port and returns its address; it stops with the test.
func startExporter(t *testing.T, storeDir string, args ...string) (string, *syncBuffer) {
	t.Helper()
	stderr := &syncBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr, getenv: func(string) string { return "" },
		terminal: func(any) bool { return false }, now: time.Now}
	root := e.rootCmd()
	root.SetArgs(append([]string{"exporter", "--store", storeDir, "--listen", "127.0.0.1:0"}, args...))
	root.SetOut(io.Discard)
	root.SetErr(stderr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("exporter: %v", err)
		}
	})
	re := regexp.MustCompile(`exporter listening on http://([0-9.:]+)/`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			return m[1], stderr
		}
		select {
		case err := <-done:
			t.Fatalf("the exporter stopped: %v\n%s", err, stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("the exporter did not start:\n%s", stderr)
	return "", nil
}

// fleetStore writes a store that trusts the PKI's root for 127.0.0.1.
func fleetStore(t *testing.T, pki *testpki.PKI) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"ca.pem":     pki.Root.CertPEM(),
		"fleet.toml": []byte("[[rule]]\nhosts = [\"127.0.0.1\"]\nanchors = [\"ca.pem\"]\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A real Prometheus, with the scrape configuration and alert rules of
// docs/, scrapes the exporter: a trusted target has probe_success 1, a
// refused one 0 with its reason and its certificate's expiry.
func TestPrometheusScrapesTheExporter(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("HTTPTRUST_CI_PROMETHEUS") == "1" {
			t.Fatal("prometheus is not on PATH, and .ci/run should have installed it (Debian package prometheus)")
		}
		t.Skip("prometheus is not on PATH: this test needs a real Prometheus (Debian package prometheus; .ci/run installs it)")
	}
	pki := testpki.New(t)
	good := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "127.0.0.1")), nil)
	expired := pki.Expired(t, "127.0.0.1")
	bad := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(expired), nil)
	addr, _ := startExporter(t, fleetStore(t, pki))

	goodURL, badURL := good.URL+"/", bad.URL+"/"
	tlsTarget := "127.0.0.1:" + good.Port
	dir := t.TempDir()
	cfg := scrapeConfig(t, addr, []string{goodURL, badURL}, []string{tlsTarget})
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(filepath.Join("..", "..", "docs", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), rules, 0o600); err != nil {
		t.Fatal(err)
	}
	promAddr := freePort(t)
	var plog syncBuffer
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &plog, &plog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	q := func(expr string) []promSample { return promQuery(t, promAddr, expr) }

	// Wait for every target to be scraped once.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if len(q(`probe_success`)) == 3 && len(q(`up{job="httptrust_exporter"} == 1`)) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not scrape the targets in time; its log:\n%s", plog.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, c := range []struct {
		expr string
		want float64
	}{
		{fmt.Sprintf(`probe_success{job="httptrust_https",instance=%q}`, goodURL), 1},
		{fmt.Sprintf(`probe_http_status_code{instance=%q}`, goodURL), 200},
		{fmt.Sprintf(`probe_success{job="httptrust_tls",instance=%q}`, tlsTarget), 1},
		{fmt.Sprintf(`probe_success{instance=%q}`, badURL), 0},
		{fmt.Sprintf(`httptrust_probe_refused{instance=%q,reason="certificate_expired"}`, badURL), 1},
		{fmt.Sprintf(`probe_ssl_earliest_cert_expiry{instance=%q}`, badURL), float64(expired.Cert.NotAfter.Unix())},
		{fmt.Sprintf(`httptrust_cert_not_after_timestamp_seconds{instance=%q,chain="presented",position="0",role="leaf"}`, badURL), float64(expired.Cert.NotAfter.Unix())},
		{fmt.Sprintf(`count(probe_ssl_last_chain_expiry_timestamp_seconds{instance=%q}) or vector(0)`, badURL), 0},
		{fmt.Sprintf(`httptrust_probe_rule_info{instance=%q,pattern="127.0.0.1",rule="fleet.toml:1"}`, goodURL), 1},
		{`httptrust_exporter_store_last_reload_successful`, 1},
	} {
		got := q(c.expr)
		if len(got) != 1 || got[0].value != c.want {
			t.Errorf("%s = %v, want %v", c.expr, got, c.want)
		}
	}
	// Prometheus loaded and evaluates the alert rules: the expired
	// certificate's alert is pending (for: 1h).
	alert := `ALERTS{alertname="HTTPTrustCertificateExpiresSoon",alertstate="pending"}`
	for deadline := time.Now().Add(20 * time.Second); len(q(alert)) == 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s; alerts: %v", alert, q(`ALERTS`))
		}
	}
	if got := q(alert); len(got) != 1 || got[0].metric["instance"] != badURL {
		t.Errorf("%s: %v", alert, got)
	}
}

// scrapeConfig is docs/prometheus.yml with the exporter's address, the
// targets and a one-second interval.
func scrapeConfig(t *testing.T, exporter string, https, tlsTargets []string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	for old, new := range map[string]string{
		"127.0.0.1:9220":           exporter,
		"scrape_interval: 60s":     "scrape_interval: 1s",
		"scrape_timeout: 10s":      "scrape_timeout: 1s",
		"evaluation_interval: 60s": "evaluation_interval: 1s",
	} {
		if !strings.Contains(cfg, old) {
			t.Fatalf("docs/prometheus.yml has no %q", old)
		}
		cfg = strings.ReplaceAll(cfg, old, new)
	}
	list := func(ts []string) string {
		q := make([]string, len(ts))
		for i, s := range ts {
			q[i] = strconv.Quote(s)
		}
		return `- targets: [` + strings.Join(q, ", ") + `]`
	}
	targets := regexp.MustCompile(`- targets: \["https://[^\n]*\]`)
	if !targets.MatchString(cfg) {
		t.Fatal("docs/prometheus.yml: no https targets line")
	}
	cfg = targets.ReplaceAllLiteralString(cfg, list(https))
	tlsRe := regexp.MustCompile(`- targets: \["db\.internal[^\n]*\]`)
	if !tlsRe.MatchString(cfg) {
		t.Fatal("docs/prometheus.yml: no tls targets line")
	}
	return tlsRe.ReplaceAllLiteralString(cfg, list(tlsTargets))
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type promSample struct {
	metric map[string]string
	value  float64
}

func (s promSample) String() string { return fmt.Sprintf("%v=%v", s.metric, s.value) }

// promQuery evaluates expr through Prometheus's HTTP query API; nothing
// (not an error) while Prometheus is starting.
func promQuery(t *testing.T, addr, expr string) []promSample {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/v1/query?" + url.Values{"query": {expr}}.Encode())
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil
	}
	if r.Status != "success" {
		if resp.StatusCode == http.StatusBadRequest {
			t.Fatalf("query %s: %s", expr, r.Error)
		}
		return nil
	}
	var out []promSample
	for _, s := range r.Data.Result {
		str, _ := s.Value[1].(string)
		v, _ := strconv.ParseFloat(str, 64)
		out = append(out, promSample{metric: s.Metric, value: v})
	}
	return out
}

// The alert rules of docs/ pass promtool.
func TestAlertRulesCheck(t *testing.T) {
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("HTTPTRUST_CI_PROMETHEUS") == "1" {
			t.Fatal("promtool is not on PATH, and .ci/run should have installed it (Debian package prometheus)")
		}
		t.Skip("promtool is not on PATH (Debian package prometheus): the alert rules are not checked")
	}
	for _, args := range [][]string{{"check", "rules", "../../docs/alerts.yml"}, {"check", "config", "../../docs/prometheus.yml"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("SUCCESS")) {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
