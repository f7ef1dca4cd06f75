package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/testpki"
)

// TestJSONShapes runs every command with --json, in its failure and its
// success modes, and checks the one shape: stdout is exactly one JSON
// object; a failure is {"error": ...} with the envelope's keys only (the
// required ones all there), a reason of the closed sets, and the exit code
// and hints the text output has; a success (and the report of check and
// diagnose, whatever they found) is an object without "error"; keys are
// snake_case, durations *_seconds numbers, days numbers.
func TestJSONShapes(t *testing.T) {
	noLeaks(t)
	pki := testpki.New(t)
	devCert := pki.SelfSigned(t, "dev.test", "127.0.0.1")
	dev := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(devCert), nil)
	api := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(pki.Leaf(t, "api.test", "127.0.0.1")), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/huge":
			w.Write(make([]byte, maxJSONBody+1))
		case "/missing":
			http.NotFound(w, r)
		default:
			io.WriteString(w, "hello\n")
		}
	}))
	silent := testpki.StartSilent(t, "127.0.0.1")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + ln.Addr().String() + "/"
	ln.Close()

	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	broken := filepath.Join(dir, "broken")
	if err := os.MkdirAll(broken, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "bad.toml"), []byte("[[rule]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := writeFile(t, "ca.pem", pki.Root.CertPEM())
	devPEM := writeFile(t, "dev.pem", devCert.CertPEM())
	notes := writeFile(t, "notes.txt", []byte("notes\n"))
	caroot := filepath.Join(dir, "caroot")
	mintOut := filepath.Join(dir, "minted")
	resolve := "api.test:" + api.Port + ":127.0.0.1"
	apiURL := "https://api.test:" + api.Port + "/"

	// Run in order: later commands see what earlier ones wrote.
	tests := []struct {
		name   string
		args   []string
		code   int
		report bool // check and diagnose print their report, whatever they found
	}{
		{"get ok", []string{"get", "--cacert", ca, api.URL}, exitOK, false},
		{"get refused", []string{"get", dev.URL}, exitVerify, false},
		{"get pin mismatch", []string{"get", "--cacert", ca, "--pin", "sha256/" + strings.Repeat("A", 43) + "=", api.URL}, exitPin, false},
		{"get closed port", []string{"get", closed}, exitConnect, false},
		{"get timeout", []string{"get", "--max-time", "0.2", silent.URL}, exitTimeout, false},
		{"get --fail", []string{"get", "-f", "--cacert", ca, api.URL + "/missing"}, exitHTTP, false},
		{"get body too large", []string{"get", "--cacert", ca, api.URL + "/huge"}, exitTooLarge, false},
		{"get usage", []string{"get"}, exitUsage, false},
		{"get curl --json", []string{"get", `{"a":1}`, api.URL}, exitUsage, false},
		{"get bad flag", []string{"get", "--nope", api.URL}, exitUsage, false},
		{"get CA file unusable", []string{"get", "--cacert", notes, api.URL}, exitCAFile, false},
		{"get store not loaded", []string{"--store", broken, "get", api.URL}, exitCAFile, false},
		{"unknown command", []string{"nope"}, exitUsage, false},
		{"fetch no consent", []string{"fetch", dev.URL}, exitFail, false},
		{"fetch wrong fingerprint", []string{"fetch", "--fingerprint", strings.Repeat("0", 64), dev.URL}, exitVerify, false},
		{"fetch", []string{"fetch", "--yes", dev.URL}, exitOK, false},
		{"fetch already trusted", []string{"fetch", dev.URL}, exitOK, false},
		{"fetch closed port", []string{"fetch", "--yes", closed}, exitConnect, false},
		{"inspect file", []string{"inspect", devPEM}, exitOK, false},
		{"inspect server", []string{"inspect", dev.URL}, exitOK, false},
		{"inspect unusable", []string{"inspect", notes}, exitCAFile, false},
		{"inspect closed port", []string{"inspect", closed}, exitConnect, false},
		{"pin file", []string{"pin", devPEM}, exitOK, false},
		{"pin server", []string{"pin", "--resolve", resolve, apiURL}, exitOK, false},
		{"pin missing file", []string{"pin", filepath.Join(dir, "none.pem")}, exitCAFile, false},
		{"pin closed port", []string{"pin", closed}, exitConnect, false},
		{"trust add", []string{"trust", "add", ca, "--host", "api.test"}, exitOK, false},
		{"trust add no host", []string{"trust", "add", ca}, exitUsage, false},
		{"trust list", []string{"trust", "list"}, exitOK, false},
		{"trust list store not loaded", []string{"--store", broken, "trust", "list"}, exitCAFile, false},
		{"get through the store", []string{"get", "--resolve", resolve, apiURL}, exitOK, false},
		{"get --tofu", []string{"get", "--tofu", "--resolve", "tofu.test:" + dev.Port + ":127.0.0.1", "https://tofu.test:" + dev.Port + "/"}, exitOK, false},
		{"trust forget", []string{"trust", "forget", "tofu.test:" + dev.Port}, exitOK, false},
		{"trust forget not found", []string{"trust", "forget", "tofu.test:" + dev.Port}, exitFail, false},
		{"trust remove", []string{"trust", "remove", "api.test"}, exitOK, false},
		{"trust remove not found", []string{"trust", "remove", "api.test"}, exitFail, false},
		{"check", []string{"check"}, exitOK, true},
		{"check servers", []string{"check", "--days", "100000", dev.URL}, exitFail, true},
		{"check store not loaded", []string{"--store", broken, "check"}, exitCAFile, true},
		{"diagnose ok", []string{"diagnose", dev.URL}, exitOK, true},
		{"diagnose usage", []string{"diagnose", "--cacert", ca, dev.URL}, exitUsage, false},
		{"diagnose untrusted", []string{"diagnose", api.URL}, exitVerify, true},
		{"mint", []string{"mint", "--out", mintOut, "j.test"}, exitOK, false},
		{"mint key", []string{"mint", "--key-only", "--key-file", filepath.Join(dir, "backup-key.pem")}, exitOK, false},
		{"mint key exists", []string{"mint", "--key-only", "--key-file", filepath.Join(dir, "backup-key.pem")}, exitWrite, false},
		{"mint usage", []string{"mint"}, exitUsage, false},
		{"demo", []string{"demo"}, exitUsage, false},
		{"completion", []string{"completion", "bash"}, exitUsage, false},
	}
	wantReason := map[string]string{
		"get refused": "self_signed_certificate", "get pin mismatch": "pin_mismatch", "get closed port": reasonCannotConnect,
		"get timeout": reasonTimeout, "get --fail": reasonHTTPError, "get body too large": reasonBodyTooLarge,
		"get usage": reasonUsage, "get curl --json": reasonUsage, "get bad flag": reasonUsage,
		"get CA file unusable": reasonUnusableFile, "get store not loaded": reasonStoreNotLoaded, "unknown command": reasonUsage,
		"fetch no consent": reasonNoConsent, "fetch wrong fingerprint": reasonFingerprintMismatch, "fetch closed port": reasonCannotConnect,
		"inspect closed port": reasonCannotConnect, "pin closed port": reasonCannotConnect,
		"inspect unusable": reasonUnusableFile, "pin missing file": reasonUnusableFile, "trust add no host": reasonUsage,
		"trust list store not loaded": reasonStoreNotLoaded, "trust forget not found": reasonNotFound,
		"trust remove not found": reasonNotFound, "diagnose usage": reasonUsage, "mint key exists": reasonCannotWrite,
		"mint usage": reasonUsage, "demo": reasonUsage, "completion": reasonUsage,
	}
	// The envelope names the server, and the chain it presented, where
	// they are known.
	wantChain := map[string]bool{"get refused": true, "get pin mismatch": true, "fetch no consent": true, "fetch wrong fingerprint": true}
	wantHost := map[string]bool{"get closed port": true, "get timeout": true, "get --fail": true, "get body too large": true,
		"fetch closed port": true, "inspect closed port": true, "pin closed port": true}
	reasons := map[string]bool{}
	for _, r := range cliReasons {
		reasons[r] = true
	}
	for _, r := range httptrust.Reasons() {
		reasons[r.Code()] = true
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: time.Now,
				getenv: func(k string) string {
					switch k {
					case "HTTPTRUST_STORE":
						return st
					case envCARoot:
						return caroot
					}
					return ""
				},
				terminal: func(any) bool { return false }}
			code := e.run(append([]string{"--json"}, tt.args...))
			if code != tt.code {
				t.Fatalf("httptrust --json %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(tt.args, " "), code, tt.code, &out, &errb)
			}
			doc := oneObject(t, out.Bytes())
			checkKeys(t, "", doc)
			errObj, failed := doc["error"]
			switch {
			case tt.code == exitOK || tt.report:
				if failed {
					t.Fatalf("a success (or a report) has an error key: %s", &out)
				}
				if tt.report && doc["exit_code"] != float64(tt.code) {
					t.Errorf("the report says exit_code %v, want %d", doc["exit_code"], tt.code)
				}
			default:
				checkEnvelope(t, doc, errObj, code, reasons, errb.String())
				env := errObj.(map[string]any)
				if got := env["reason"]; got != wantReason[tt.name] {
					t.Errorf("reason %v, want %q", got, wantReason[tt.name])
				}
				if _, ok := env["chain"]; ok != wantChain[tt.name] {
					t.Errorf("error has a chain: %v, want %v", ok, wantChain[tt.name])
				}
				if _, ok := env["host"]; ok != (wantChain[tt.name] || wantHost[tt.name]) {
					t.Errorf("error has a host: %v, want %v", ok, !ok)
				}
			}
		})
	}
}

// oneObject decodes data as exactly one JSON object.
func oneObject(t *testing.T, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, data)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("stdout holds more than one JSON value:\n%s", data)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("stdout is a %T, not an object:\n%s", v, data)
	}
	return obj
}

// checkEnvelope checks a failure: {"error": {...}} alone, the envelope's
// keys only, its required keys, a known reason, the exit code, and the
// error and hint lines of stderr.
func checkEnvelope(t *testing.T, doc map[string]any, errObj any, code int, reasons map[string]bool, stderr string) {
	t.Helper()
	if len(doc) != 1 {
		t.Errorf("a failure has keys besides error: %v", doc)
	}
	env, ok := errObj.(map[string]any)
	if !ok {
		t.Fatalf("error is a %T, not an object", errObj)
	}
	for k := range env {
		if !slices.Contains(errorKeys, k) {
			t.Errorf("error has the key %q, not one of the envelope's %v", k, errorKeys)
		}
	}
	for _, k := range []string{"message", "reason", "hints", "exit_code"} {
		if _, ok := env[k]; !ok {
			t.Errorf("error has no %q: %v", k, env)
		}
	}
	if env["exit_code"] != float64(code) {
		t.Errorf("exit_code %v, want %d", env["exit_code"], code)
	}
	reason, _ := env["reason"].(string)
	if !reasons[reason] {
		t.Errorf("reason %q is neither a CLI reason nor a library reason", reason)
	}
	msg, _ := env["message"].(string)
	if msg == "" || !strings.Contains(stderr, "httptrust: error: "+msg+"\n") {
		t.Errorf("message %q is not the error line of stderr:\n%s", msg, stderr)
	}
	var hints []string
	list, _ := env["hints"].([]any)
	for _, h := range list {
		hints = append(hints, h.(string))
	}
	var printed []string
	for _, l := range strings.Split(stderr, "\n") {
		if h, ok := strings.CutPrefix(l, "httptrust: hint: "); ok {
			printed = append(printed, h)
		}
	}
	if !slices.Equal(hints, printed) {
		t.Errorf("hints %q, but stderr prints %q", hints, printed)
	}
	if r, ok := env["remedy"].(map[string]any); ok {
		for _, k := range []string{"action", "out_of_band", "text"} {
			if _, ok := r[k]; !ok {
				t.Errorf("remedy has no %q: %v", k, r)
			}
		}
		cmds, _ := r["commands"].([]any)
		for _, c := range cmds {
			if !slices.Contains(hints, "  "+c.(string)) {
				t.Errorf("the remedy's command %q is not among the hints %q", c, hints)
			}
		}
	}
}

var (
	snakeKey   = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	goDuration = regexp.MustCompile(`^-?([0-9.]+(ns|us|µs|ms|s|m|h))+$`)
)

// checkKeys walks v: every key snake_case (but HTTP headers' names), no
// Go duration as text, *_seconds and days numbers.
func checkKeys(t *testing.T, path string, v any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			p := path + "." + k
			if path != ".headers" && !snakeKey.MatchString(k) {
				t.Errorf("%s: the key is not snake_case", p)
			}
			if strings.HasSuffix(k, "_seconds") || k == "days" || k == "days_left" || strings.HasSuffix(k, "_days") {
				if _, ok := sub.(float64); !ok {
					t.Errorf("%s is a %T, not a number", p, sub)
				}
			}
			checkKeys(t, p, sub)
		}
	case []any:
		for _, sub := range x {
			checkKeys(t, path+"[]", sub)
		}
	case string:
		if goDuration.MatchString(x) && strings.ContainsAny(x, "hms") {
			t.Errorf("%s: %q reads as a Go duration; durations are *_seconds numbers", path, x)
		}
	}
}

// TestJSONDocumented checks that README.md's "JSON output" section names
// every key of the envelope and every reason a failure can carry.
func TestJSONDocumented(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(data), "\n## JSON output\n")
	if !ok {
		t.Fatal(`README.md has no "## JSON output" section`)
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	var want []string
	want = append(want, errorKeys...)
	want = append(want, cliReasons...)
	for _, r := range httptrust.Reasons() {
		want = append(want, r.Code())
	}
	for _, w := range want {
		if !strings.Contains(sec, "`"+w+"`") {
			t.Errorf("README.md's JSON output section does not name `%s`", w)
		}
	}
	for _, r := range cliReasons {
		if !regexp.MustCompile("(?m)^\\| `" + r + "` \\| \\d+ \\|").MatchString(sec) {
			t.Errorf("README.md's table of CLI reasons has no row for %s with its exit code", r)
		}
	}
}

func TestLooksLikeJSON(t *testing.T) {
	tests := []struct {
		arg  string
		want bool
	}{
		{`{"a":1}`, true}, {`[1,2]`, true}, {`"x"`, true}, {"42", true}, {"-1.5e3", true},
		{"true", true}, {"false", true}, {"null", true}, {"@body.json", true}, {"-", true}, {" {} ", true},
		{"https://api.example/", false}, {"127.0.0.1:8443", false}, {"192.168.1.20", false}, {"01", false},
		{"api.example", false}, {"", false}, {"truex", false}, {"1.", false},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			if got := looksLikeJSON(tt.arg); got != tt.want {
				t.Errorf("looksLikeJSON(%q) = %v, want %v", tt.arg, got, tt.want)
			}
		})
	}
}

// FuzzLooksLikeJSON: whatever looksLikeJSON reads as JSON is never a URL
// get would take, and it never panics.
func FuzzLooksLikeJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, "42", "-", "@f", "https://h/", "127.0.0.1:443", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if looksLikeJSON(s) && strings.HasPrefix(strings.TrimSpace(s), "https://") {
			t.Errorf("looksLikeJSON(%q) reads a URL as JSON", s)
		}
	})
}
