package httptrust_test

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/httptrust/httptrust"
)

// The x509-limbo conformance run (issue 5, item 2).
//
// Every SERVER case of x509-limbo goes through httptrust as a TLS client
// meets it: a policy whose only rule trusts the case's trusted_certs for
// its expected peer name (system roots off, validation_time as the clock),
// and that host's tls.Config VerifyConnection called with the peer
// certificate and the untrusted intermediates as the server's chain. The
// answers are compared with Go's own crypto/x509 (the results of
// x509-limbo's gocryptox509 harness beside the suite):
//
//   - httptrust never accepts a case that Go rejects (it may only narrow);
//   - it skips exactly what Go's harness skips (CLIENT validation,
//     max_chain_depth, CRLs, signature algorithm and key usage constraints);
//   - every case that Go accepts and httptrust rejects is listed in
//     limboDifferences with the step that refuses it: a new difference, a
//     changed step, or a difference that went away fails the test.
//
// testdata/limbo-differences.md has the comparison table.
//
// The data is part of the repository, in conformance/limbo (its README
// says where it comes from and why nothing in it expires). conformance/
// is a module of its own (conformance/go.mod, no code), so the module zip
// that importers download leaves it out: they never fetch its 8 MB. In a
// checkout the test needs the data and fails without it; in a copy
// unpacked from the module zip (an importer's go test all runs there, in
// the module cache) it skips.

// limboDir holds the suite and Go's results, relative to the module root,
// where the root package's tests run.
const limboDir = "conformance/limbo"

// A limboDifference is a case Go accepts and httptrust rejects.
type limboDifference struct {
	step  string // outcome.why: where httptrust refuses it
	cause string
}

var limboDifferences = map[string]limboDifference{
	// Go's harness module says "go 1.20", so it runs with that release's
	// GODEBUG x509negativeserial=1. This module says go 1.26, and since Go
	// 1.23 x509.ParseCertificate, so crypto/tls, refuses a negative serial
	// before any verifier runs (GODEBUG=x509negativeserial=1 accepts it).
	"rfc5280::serial::negative": {stepUnparsablePeer, "negative serial number: x509.ParseCertificate refuses it under the go >= 1.23 default x509negativeserial=0; Go's harness module (go 1.20) gets x509negativeserial=1"},
}

const (
	stepUnparsablePeer = "unparsable peer certificate"
	stepNoReason       = "verifier: an error without a reason"
)

// limboCase is the part of an x509-limbo test case the comparison reads.
type limboCase struct {
	ID                     string    `json:"id"`
	Features               []string  `json:"features"`
	ValidationKind         string    `json:"validation_kind"`
	TrustedCerts           []string  `json:"trusted_certs"`
	UntrustedIntermediates []string  `json:"untrusted_intermediates"`
	PeerCertificate        string    `json:"peer_certificate"`
	ValidationTime         *string   `json:"validation_time"`
	SignatureAlgorithms    []string  `json:"signature_algorithms"`
	KeyUsage               []string  `json:"key_usage"`
	ExtendedKeyUsage       []string  `json:"extended_key_usage"`
	ExpectedResult         string    `json:"expected_result"`
	ExpectedPeerName       *peerName `json:"expected_peer_name"`
	MaxChainDepth          *int      `json:"max_chain_depth"`
	CRLs                   []string  `json:"crls"`
}

type peerName struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// Results, as x509-limbo's results files write them.
const (
	success = "SUCCESS"
	failure = "FAILURE"
	skipped = "SKIPPED"
)

// outcome is httptrust's answer on one case.
type outcome struct {
	id     string
	expect string // limbo's expected_result
	result string // success, failure or skipped
	// why is the skip reason, or for a failure the step that refused it:
	// the VerifyError's reason, or a step before verification.
	why string
	err error // kept only where httptrust rejects what Go accepts, or without a reason
}

func TestLimboConformance(t *testing.T) {
	start := time.Now()
	goResults := readGoResults(t)
	outcomes, err := runLimbo(openLimbo(t, "limbo.json.gz"), start, goResults)
	if err != nil {
		t.Fatalf("limbo: reading the suite: %v", err)
	}
	tab := tabulate(t, outcomes, goResults)
	t.Logf("limbo: %d cases in %v on %d workers", len(outcomes), time.Since(start).Round(time.Millisecond), runtime.GOMAXPROCS(0))
	tab.log(t)
	if len(outcomes) != len(goResults) {
		t.Errorf("limbo: ran %d cases, Go's results have %d", len(outcomes), len(goResults))
	}
	for id := range limboDifferences {
		if _, ok := tab.differences[id]; !ok {
			t.Errorf("limbo: %s: the known difference is gone (httptrust agrees with Go now, or the case is missing): remove it from limboDifferences", id)
		}
	}
}

// tabulate checks every outcome against Go's result and counts them. It
// reports the first 20 problems one by one, the rest as a count.
func tabulate(t *testing.T, outcomes []outcome, goResults map[string]string) *table {
	t.Helper()
	tab := newTable()
	problems := 0
	report := func(format string, args ...any) {
		if problems++; problems <= 20 {
			t.Errorf("limbo: "+format, args...)
		}
	}
	seen := make(map[string]bool, len(outcomes))
	for _, o := range outcomes {
		g, ok := goResults[o.id]
		switch {
		case !ok || seen[o.id]:
			report("%s: not in Go's results, or twice in the suite", o.id)
		case o.result == success && g != success:
			report("%s: httptrust accepts what Go's crypto/x509 says %s to (limbo expects %s): the policy layer may only narrow", o.id, g, o.expect)
		case (o.result == skipped) != (g == skipped):
			report("%s: httptrust %s (%s), Go %s: skip exactly what Go's harness skips", o.id, o.result, o.why, g)
		case o.why == stepNoReason:
			report("%s: the verifier's error does not say why: %v", o.id, o.err)
		case o.result == failure && g == success:
			want, known := limboDifferences[o.id]
			if !known || want.step != o.why {
				report("%s: httptrust rejects what Go accepts (limbo expects %s) at %q, want %q: %v", o.id, o.expect, o.why, want.step, o.err)
			}
			tab.differences[o.id] = want.cause
		}
		seen[o.id] = true
		tab.add(o, g)
	}
	if problems > 20 {
		t.Errorf("limbo: and %d more problems", problems-20)
	}
	return tab
}

// readGoResults returns Go's result per case id.
func readGoResults(t *testing.T) map[string]string {
	t.Helper()
	var doc struct {
		Results []struct {
			ID     string `json:"id"`
			Result string `json:"actual_result"`
		} `json:"results"`
	}
	if err := json.NewDecoder(openLimbo(t, "go1.26.8-results.json.gz")).Decode(&doc); err != nil {
		t.Fatalf("limbo: Go's results: %v", err)
	}
	m := make(map[string]string, len(doc.Results))
	for _, r := range doc.Results {
		m[r.ID] = r.Result
	}
	return m
}

// openLimbo opens a gzipped file of limboDir. When the file is missing it
// fails the test in a checkout of the repository, and skips it in a copy
// unpacked from the module zip, which leaves the data out.
func openLimbo(t *testing.T, name string) io.Reader {
	t.Helper()
	path := filepath.Join(limboDir, name)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		wd, _ := os.Getwd()
		if unpackedModule(wd) {
			t.Skipf("limbo: %s not found: %s is httptrust unpacked from its module zip, which leaves out the conformance module and its data; run the conformance test in a clone of the repository", path, wd)
		}
		t.Fatalf("limbo: %s not found: the x509-limbo data is part of the repository (conformance/limbo/README.md) and this checkout lacks it; restore it with: git checkout -- conformance", path)
	}
	if err != nil {
		t.Fatalf("limbo: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("limbo: %s: %v", path, err)
	}
	return zr
}

// unpackedModule reports whether root, the module root, is httptrust
// unpacked from its module zip rather than a checkout: the go command
// names such a directory path@version, and the zip has no
// conformance/go.mod. A checkout keeps that file even when the data is
// gone, so missing data there fails the test instead of skipping it.
func unpackedModule(root string) bool {
	_, err := os.Stat(filepath.Join(root, "conformance", "go.mod"))
	return errors.Is(err, fs.ErrNotExist) && strings.Contains(filepath.Base(root), "@")
}

func TestUnpackedModule(t *testing.T) {
	tests := []struct {
		name  string
		dir   string
		gomod bool // conformance/go.mod exists
		want  bool
	}{
		{"module cache", "httptrust@v1.2.3", false, true},
		{"checkout", "httptrust", true, false},
		{"checkout without conformance", "httptrust", false, false},
		{"checkout in a folder named with @", "httptrust@work", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), tt.dir)
			if err := os.MkdirAll(filepath.Join(root, "conformance"), 0o755); err != nil {
				t.Fatal(err)
			}
			if tt.gomod {
				if err := os.WriteFile(filepath.Join(root, "conformance", "go.mod"), []byte("module x\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := unpackedModule(root); got != tt.want {
				t.Errorf("unpackedModule(%s) = %v, want %v", tt.dir, got, tt.want)
			}
		})
	}
}

// runLimbo streams the suite's test cases to GOMAXPROCS workers, which
// decode and evaluate them while the rest of the file is read.
func runLimbo(suite io.Reader, now time.Time, goResults map[string]string) ([]outcome, error) {
	jobs := make(chan []byte, 256)
	var (
		mu  sync.Mutex
		out []outcome
		wg  sync.WaitGroup
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for raw := range jobs {
				o := evaluateJSON(raw, now)
				if o.result != failure || (goResults[o.id] != success && o.why != stepNoReason) {
					o.err = nil // keep no certificates alive
				}
				mu.Lock()
				out = append(out, o)
				mu.Unlock()
			}
		})
	}
	err := scanCases(suite, func(c []byte) { jobs <- c })
	close(jobs)
	wg.Wait()
	slices.SortFunc(out, func(a, b outcome) int { return strings.Compare(a.id, b.id) })
	return out, err
}

func evaluateJSON(raw []byte, now time.Time) outcome {
	c := new(limboCase)
	if err := json.Unmarshal(raw, c); err != nil {
		return outcome{id: fmt.Sprintf("undecodable case %.60q: %v", raw, err), result: failure}
	}
	return evaluate(c, now)
}

// harnessSkip returns why Go's harness (x509-limbo's gocryptox509) skips c,
// or "" when it runs it.
func harnessSkip(c *limboCase) string {
	switch {
	case c.ValidationKind != "SERVER":
		return "CLIENT validation (not a TLS client's check)"
	case c.MaxChainDepth != nil || slices.Contains(c.Features, "max-chain-depth"):
		return "max_chain_depth (crypto/x509 has no such option)"
	case len(c.CRLs) > 0 || slices.Contains(c.Features, "has-crl"):
		return "CRLs (crypto/x509 does not check revocation)"
	case len(c.SignatureAlgorithms) > 0:
		return "signature algorithm constraints"
	case len(c.KeyUsage) > 0 && !slices.Contains(c.KeyUsage, "digitalSignature"):
		return "key usage constraints"
	}
	return ""
}

// evaluate runs one case through a policy whose only rule trusts the case's
// anchors for its peer name, as httptrust meets a server's chain.
func evaluate(c *limboCase, now time.Time) outcome {
	o := outcome{id: c.ID, expect: c.ExpectedResult, result: failure}
	if why := harnessSkip(c); why != "" {
		o.result, o.why = skipped, why
		return o
	}
	if c.ValidationTime != nil {
		ts, err := time.Parse(time.RFC3339, *c.ValidationTime)
		if err != nil {
			o.result, o.why = skipped, "validation_time is not RFC 3339"
			return o
		}
		now = ts
	}
	// What no rule can state, no rule trusts: httptrust fails closed.
	host, why := ruleHost(c)
	if why != "" {
		o.why = "not expressible: " + why
		return o
	}
	peer, err := parsePeer(c.PeerCertificate)
	if err != nil {
		// crypto/tls refuses the handshake before VerifyConnection runs.
		o.why, o.err = stepUnparsablePeer, err
		return o
	}
	no := false
	policy, err := httptrust.New([]httptrust.Rule{{
		Hosts:       []string{host},
		AnchorCerts: parsePEMCerts(c.TrustedCerts),
		SystemRoots: &no,
	}}, &httptrust.Options{Clock: func() time.Time { return now }, SystemRoots: x509.NewCertPool()})
	if err != nil {
		o.why, o.err = "not expressible: host pattern refused", err
		return o
	}
	cfg, err := policy.TLSConfigFor(host)
	if err != nil {
		o.why, o.err = "not expressible: host refused", err
		return o
	}
	chain := append([]*x509.Certificate{peer}, parsePEMCerts(c.UntrustedIntermediates)...)
	if err := cfg.VerifyConnection(tls.ConnectionState{PeerCertificates: chain}); err != nil {
		o.why, o.err = stepNoReason, err
		var ve *httptrust.VerifyError
		if errors.As(err, &ve) && ve.Reason != httptrust.ReasonUnknown {
			o.why = "verifier: " + ve.Reason.String()
		}
		return o
	}
	o.result = success
	return o
}

// ruleHost returns the host a rule names for c, or why no rule can.
func ruleHost(c *limboCase) (host, why string) {
	switch {
	case c.ExpectedPeerName == nil:
		return "", "no expected peer name (a rule needs a host)"
	case c.ExpectedPeerName.Kind != "DNS" && c.ExpectedPeerName.Kind != "IP":
		return "", c.ExpectedPeerName.Kind + " peer name (a rule names DNS or IP hosts)"
	case len(c.ExtendedKeyUsage) > 0 && !slices.Equal(c.ExtendedKeyUsage, []string{"serverAuth"}):
		return "", "extended key usage other than serverAuth (httptrust verifies TLS servers)"
	}
	return c.ExpectedPeerName.Value, ""
}

// parsePeer decodes the peer certificate as Go's harness does: one PEM
// CERTIFICATE block and nothing after it.
func parsePeer(s string) (*x509.Certificate, error) {
	b, rest := pem.Decode([]byte(s))
	switch {
	case b == nil || b.Type != "CERTIFICATE":
		return nil, errors.New("not a PEM certificate")
	case len(rest) > 0:
		return nil, fmt.Errorf("%d bytes after the certificate", len(rest))
	}
	return x509.ParseCertificate(b.Bytes)
}

// parsePEMCerts parses PEM certificates as x509.CertPool.AppendCertsFromPEM
// does in Go's harness: blocks that are not certificates or do not parse
// are left out.
func parsePEMCerts(pems []string) []*x509.Certificate {
	var out []*x509.Certificate
	for _, s := range pems {
		rest := []byte(s)
		for len(rest) > 0 {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			if b.Type != "CERTIFICATE" || len(b.Headers) != 0 {
				continue
			}
			if c, err := x509.ParseCertificate(b.Bytes); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// scanCases passes each element of the suite's "testcases" array to emit
// as its own JSON text. Only the array's structure is scanned here (strings
// are skipped with bytes.IndexByte), so that decoding runs on the workers;
// a window of the stream is held in memory, never the whole 41 MB.
func scanCases(suite io.Reader, emit func([]byte)) error {
	dec := json.NewDecoder(suite)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("not a JSON object (%v)", err)
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return err
		}
		if key != "testcases" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return fmt.Errorf("testcases is not an array (%v)", err)
		}
		return scanArray(io.MultiReader(dec.Buffered(), suite), 1<<20, emit)
	}
	return errors.New("no testcases")
}

// scanArray passes each object of a JSON array, read from r after its '['
// in steps of at least size bytes, to emit.
func scanArray(r io.Reader, size int, emit func([]byte)) error {
	w := &window{r: r, size: size}
	for {
		obj, err := w.next()
		if obj == nil || err != nil {
			return err
		}
		emit(obj)
	}
}

// window reads the objects of a JSON array from r, after its '['.
type window struct {
	r    io.Reader
	size int
	buf  []byte // read and not yet returned
	eof  bool
}

var errShort = errors.New("unexpected end of the suite")

// next returns the next object of the array, or nil at its end. The
// object aliases a buffer that is never written again.
func (w *window) next() ([]byte, error) {
	for {
		i := skipSpace(w.buf, 0)
		if i < len(w.buf) && w.buf[i] == ',' {
			i = skipSpace(w.buf, i+1)
		}
		if i < len(w.buf) && w.buf[i] == ']' {
			return nil, nil
		}
		if i < len(w.buf) {
			n, err := objectLen(w.buf[i:])
			if err == nil {
				obj := w.buf[i : i+n : i+n]
				w.buf = w.buf[i+n:]
				return obj, nil
			}
			if err != errShort {
				return nil, err
			}
		}
		if w.eof {
			return nil, errShort
		}
		if err := w.fill(); err != nil {
			return nil, err
		}
	}
}

// fill reads more of the stream into a new buffer, so that the objects
// already returned stay intact.
func (w *window) fill() error {
	b := make([]byte, len(w.buf), len(w.buf)+max(w.size, len(w.buf)))
	copy(b, w.buf)
	n, err := io.ReadFull(w.r, b[len(b):cap(b)])
	w.buf = b[:len(b)+n]
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		w.eof, err = true, nil
	}
	return err
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// objectLen returns the length of the JSON object at the start of b, or
// errShort when b ends inside it. The workers' json.Unmarshal validates it.
func objectLen(b []byte) (int, error) {
	if b[0] != '{' {
		return 0, fmt.Errorf("a test case is not a JSON object: %.40q", b)
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			n := stringLen(b[i+1:])
			if n < 0 {
				return 0, errShort
			}
			i += n + 1
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1, nil
			}
		}
	}
	return 0, errShort
}

// stringLen returns the index in b of the quote that closes the JSON string
// whose body b starts, or -1.
func stringLen(b []byte) int {
	for off := 0; ; {
		k := bytes.IndexByte(b[off:], '"')
		if k < 0 {
			return -1
		}
		k += off
		escapes := 0
		for j := k - 1; j >= 0 && b[j] == '\\'; j-- {
			escapes++
		}
		if escapes%2 == 0 {
			return k
		}
		off = k + 1
	}
}

// FuzzScanArray checks scanArray against encoding/json: where an array of
// objects decodes, it finds the same objects; on any input it returns.
func FuzzScanArray(f *testing.F) {
	f.Add([]byte(`[{"id": "a\\\"}{", "x": [{}]}, {"id": "b"}]`))
	f.Add([]byte(` [ ] `))
	f.Add([]byte(`[{"id": "\u0022}"}, {}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []string
		i := skipSpace(data, 0)
		if i == len(data) || data[i] != '[' {
			return
		}
		err := scanArray(bytes.NewReader(data[i+1:]), 1+len(data)%5, func(c []byte) { got = append(got, string(c)) })
		var arr []json.RawMessage
		if json.Unmarshal(data, &arr) != nil {
			return
		}
		var want []string
		for _, c := range arr {
			if c[0] != '{' {
				return
			}
			want = append(want, string(c))
		}
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("scanArray = %q, %v; encoding/json finds %q", got, err, want)
		}
	})
}

// table counts the comparison for the report.
type table struct {
	total, run, agree int
	skips             map[string]int    // reason -> cases
	differences       map[string]string // id -> cause
	rejections        map[string]int    // httptrust's step -> cases
	// vsLimbo counts, per verifier, the run cases against limbo's
	// expected_result.
	vsLimbo map[string]map[string]int
}

func newTable() *table {
	return &table{skips: map[string]int{}, differences: map[string]string{}, rejections: map[string]int{},
		vsLimbo: map[string]map[string]int{"go": {}, "httptrust": {}}}
}

func (tab *table) add(o outcome, g string) {
	tab.total++
	if o.result == skipped {
		tab.skips[o.why]++
		return
	}
	tab.run++
	if o.result == g {
		tab.agree++
	}
	if o.result == failure {
		tab.rejections[o.why]++
	}
	tab.vsLimbo["go"][versus(g, o.expect)]++
	tab.vsLimbo["httptrust"][versus(o.result, o.expect)]++
}

func versus(got, expect string) string {
	if got == expect {
		return "matches expected_result"
	}
	return got + " where limbo expects " + expect
}

func (tab *table) log(t *testing.T) {
	t.Helper()
	t.Logf("cases %d: run %d, agree with Go %d, httptrust stricter %d, skipped %d",
		tab.total, tab.run, tab.agree, len(tab.differences), tab.total-tab.run)
	for _, k := range slices.Sorted(maps.Keys(tab.skips)) {
		t.Logf("  skipped as Go's harness does: %-50s %5d", k, tab.skips[k])
	}
	for _, id := range slices.Sorted(maps.Keys(tab.differences)) {
		t.Logf("  stricter than Go: %s: %s", id, tab.differences[id])
	}
	for _, k := range slices.Sorted(maps.Keys(tab.rejections)) {
		t.Logf("  httptrust rejects at %-50s %5d", k, tab.rejections[k])
	}
	for _, v := range []string{"go", "httptrust"} {
		for _, k := range slices.Sorted(maps.Keys(tab.vsLimbo[v])) {
			t.Logf("  vs limbo: %-9s %-40s %5d", v, k, tab.vsLimbo[v][k])
		}
	}
}
