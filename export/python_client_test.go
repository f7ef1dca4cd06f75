package export

import (
	"os/exec"
	"strings"
	"testing"
)

// pythonSnippet runs a script with the python export of w's store on its
// path (sys.argv[1], then args) and returns its "name\tresult" lines.
func pythonSnippet(t *testing.T, w *world, script string, args, env []string) map[string]string {
	t.Helper()
	py := findPython(t)
	cmd := exec.Command(py, append([]string{"-c", script, w.write(Options{Format: "python"})}, args...)...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return parseResults(string(out))
}

// TestPythonClientRefusesBypass: client() and the transports refuse the
// arguments that would let a request go through a transport, proxy or
// trust other than the policy's.
func TestPythonClientRefusesBypass(t *testing.T) {
	w := newWorld(t)
	w.scenario("")
	got := pythonSnippet(t, w, `
import sys, ssl
sys.path.insert(0, sys.argv[1])
import httpx
import httptrust_policy as hp
cases = [
    ("client proxies", lambda: hp.client(proxies="http://127.0.0.1:9")),
    ("client proxy", lambda: hp.client(proxy="http://127.0.0.1:9")),
    ("client mounts", lambda: hp.client(mounts={"https://": httpx.HTTPTransport()})),
    ("client transport", lambda: hp.client(transport=httpx.HTTPTransport())),
    ("client app", lambda: hp.client(app=lambda *a: None)),
    ("client verify", lambda: hp.client(verify=False)),
    ("client verify context", lambda: hp.client(verify=ssl.create_default_context())),
    ("client cert", lambda: hp.client(cert="client.pem")),
    ("client trust_env=True", lambda: hp.client(trust_env=True)),
    ("Transport verify", lambda: hp.Transport(verify=False)),
    ("Transport proxy", lambda: hp.Transport(proxy="http://127.0.0.1:9")),
    ("AsyncTransport verify", lambda: hp.AsyncTransport(verify=False)),
    ("AsyncTransport trust_env=True", lambda: hp.AsyncTransport(trust_env=True)),
]
for name, fn in cases:
    try:
        fn()
        print(name + "\taccepted")
    except TypeError as e:
        print(name + "\trefused: " + str(e))
for name, fn in [("client trust_env=False", lambda: hp.client(trust_env=False)),
                 ("client http2=False limits", lambda: hp.client(http2=False, limits=httpx.Limits(max_connections=3), timeout=5)),
                 ("client of the scenario", lambda: hp.client(timeout=5, follow_redirects=True))]:
    c = fn()
    t = c._transport_for_url(httpx.URL("https://anchor.test/"))
    print(name + "\t" + ("ok" if isinstance(t, hp.Transport) else "wrong transport: " + type(t).__name__))
`, nil, []string{"HTTPS_PROXY=http://127.0.0.1:9", "ALL_PROXY=http://127.0.0.1:9"})
	for name, res := range got {
		want := "refused"
		if strings.HasPrefix(name, "client trust_env=False") || strings.HasPrefix(name, "client http2") || strings.HasPrefix(name, "client of the scenario") {
			want = "ok"
		}
		if !strings.HasPrefix(res, want) {
			t.Errorf("%s: got %q, want %s", name, res, want)
		}
	}
	if len(got) != 16 {
		t.Errorf("got %d results, want 16: %v", len(got), got)
	}
}

// TestPythonRefusedErrorIsSSLError: a refusal of the module (a pin, an
// exact certificate) reaches httpx async callers as OpenSSL's own refusal
// does, not as a TypeError: anyio reads strerror of an ssl.SSLError.
func TestPythonRefusedErrorIsSSLError(t *testing.T) {
	w := newWorld(t)
	probes := w.scenario("")
	var pinned, other probe
	for _, p := range probes {
		switch p.name {
		case "pinned: a wrong pin":
			pinned = p
		case "anchor: another CA":
			other = p
		}
	}
	got := pythonSnippet(t, w, `
import asyncio, socket, ssl, sys
sys.path.insert(0, sys.argv[1])
import httpx
import httptrust_policy as hp
import anyio._core._sockets as asock
_agai = asock.getaddrinfo
async def fake(host, *a, **kw):
    return await _agai("127.0.0.1", *a, **kw)
asock.getaddrinfo = fake
async def get(url):
    async with httpx.AsyncClient(transport=hp.AsyncTransport(), trust_env=False, timeout=10) as c:
        await c.get(url)
for name, url in [("pin", sys.argv[2]), ("openssl", sys.argv[3])]:
    try:
        asyncio.run(get(url))
        print(name + "\taccepted")
    except (httpx.ConnectError, ssl.SSLError) as e:
        print(name + "\t" + type(e).__name__ + ": " + str(e).replace("\n", " "))
    except Exception as e:
        print(name + "\tunexpected " + type(e).__name__ + ": " + str(e).replace("\n", " "))
e = hp.RefusedError("httptrust: x")
print("attributes\t%s|%s|%s|%s" % (e.errno, e.strerror, e.reason, str(e)))
`, []string{"https://pinned.test:" + pinned.port + "/", "https://anchor.test:" + other.port + "/"}, nil)
	if got["pin"] == "" || !strings.Contains(got["pin"], "httptrust") || strings.HasPrefix(got["pin"], "unexpected") || got["pin"] == "accepted" {
		t.Errorf("a pin refusal through httpx async: %q, want an httpx.ConnectError or ssl.SSLError naming httptrust", got["pin"])
	}
	typ := func(s string) string { n, _, _ := strings.Cut(s, ":"); return n }
	if o := got["openssl"]; o == "accepted" || strings.HasPrefix(o, "unexpected") {
		t.Errorf("OpenSSL's refusal through httpx async: %q", o)
	} else if typ(o) == "SSLCertVerificationError" && typ(got["pin"]) != "RefusedError" || typ(o) == "ConnectError" && typ(got["pin"]) != "ConnectError" {
		t.Errorf("a pin refusal (%q) does not reach httpx async as OpenSSL's (%q) does", got["pin"], o)
	}
	if want := "1|httptrust: x|CERTIFICATE_VERIFY_FAILED|httptrust: x"; got["attributes"] != want {
		t.Errorf("RefusedError attributes: %q, want %q", got["attributes"], want)
	}
}
