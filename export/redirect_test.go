package export

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/httptrust/httptrust/internal/testpki"
)

// TestCurlRefusesRedirects: a flag file is one host's trust. Even with -L,
// curl must not follow a redirect to plain HTTP, nor to another host (which
// would keep this host's CA file), where the policy refuses both.
func TestCurlRefusesRedirects(t *testing.T) {
	curl := need(t, "curl")
	w := newWorld(t)
	other := w.pki.OtherRoot(t)
	w.cert("root.pem", w.pki.Root)
	w.cert("other.pem", other)
	w.file("rules.toml", "[[rule]]\nhosts = [\"r1.test\"]\nanchors = [\"root.pem\"]\nsystem_roots = false\n\n"+
		"[[rule]]\nhosts = [\"r2.test\"]\nanchors = [\"other.pem\"]\nsystem_roots = false\n")
	plain := testpki.StartHTTP(t, "127.0.0.1", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { rw.Write([]byte("cleartext")) }))
	// r2.test presents a certificate of r1.test's CA, which r2.test's rule refuses.
	r2 := testpki.StartTLS(t, "127.0.0.1", w.pki.FullChain(w.pki.Leaf(t, "r2.test")), http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { rw.Write([]byte("r2")) }))
	r1 := testpki.StartTLS(t, "127.0.0.1", w.pki.FullChain(w.pki.Leaf(t, "r1.test")), http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-http":
			http.Redirect(rw, r, "http://r1.test:"+plain.Port+"/", http.StatusFound)
		case "/to-r2":
			http.Redirect(rw, r, "https://r2.test:"+r2.Port+"/", http.StatusFound)
		default:
			rw.Write([]byte("r1"))
		}
	}))
	dir := w.write(Options{Format: "curl", AllowLossy: true})
	file := fileFor(dir, "r1.test", ".curl")
	get := func(path string, after ...string) (string, error) {
		args := []string{"-q", "-s", "-S", "--max-time", "10", "--noproxy", "*",
			"--resolve", "r1.test:" + r1.Port + ":127.0.0.1", "--resolve", "r1.test:" + plain.Port + ":127.0.0.1",
			"--resolve", "r2.test:" + r2.Port + ":127.0.0.1", "-K", file, "-L"}
		args = append(append(args, after...), "https://r1.test:"+r1.Port+path)
		out, err := exec.Command(curl, args...).CombinedOutput()
		return string(out), err
	}
	if out, err := get("/"); err != nil || out != "r1" {
		t.Fatalf("control: curl -K %s https://r1.test/: %v %s", file, err, out)
	}
	for _, path := range []string{"/to-http", "/to-r2"} {
		if out, err := get(path); err == nil || strings.Contains(out, "cleartext") {
			t.Errorf("curl -L followed %s: %v %q", path, err, out)
		}
	}
	// A caller who allows redirects after the file still never gets http.
	if out, err := get("/to-http", "--max-redirs", "5"); err == nil || strings.Contains(out, "cleartext") {
		t.Errorf("curl -L --max-redirs 5 followed a redirect to http: %v %q", err, out)
	}
	data, _ := os.ReadFile(file)
	for _, want := range []string{"max-redirs = 0", `proto-redir = "=https"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %s", file, want)
		}
	}
}

// TestJavaIndexTurnsRedirectsOff: the index tells to turn
// HttpsURLConnection's redirects off, and why.
func TestJavaIndexTurnsRedirectsOff(t *testing.T) {
	w := newWorld(t)
	w.cert("root.pem", w.pki.Root)
	w.file("rules.toml", "[[rule]]\nhosts = [\"r1.test\"]\nanchors = [\"root.pem\"]\nsystem_roots = false\n")
	res := w.build(Options{Format: "java", AllowLossy: true})
	for _, f := range res.Files {
		if f.Name == "index.txt" {
			if !strings.Contains(string(f.Data), "setInstanceFollowRedirects(false)") || !strings.Contains(string(f.Data), "another https host") {
				t.Errorf("index.txt does not say to turn redirects off:\n%s", f.Data)
			}
			return
		}
	}
	t.Fatal("no index.txt")
}
