package export

import (
	"crypto/tls"

	"encoding/json"
	"github.com/httptrust/httptrust/internal/testpki"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// findPython returns a python3 that has requests and httpx (Debian's
// /usr/bin/python3 with python3-requests and python3-httpx), or skips.
func findPython(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import requests, httpx").Run() == nil {
			return path
		}
	}
	skipOrFail(t, "no python3 with requests and httpx (Debian: python3-requests python3-httpx)")
	return ""
}

// pythonDriver connects to each probe through requests, httpx (sync and
// async) and a bare ssl socket, with names mapped to loopback.
const pythonDriver = `
import asyncio, json, socket, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[1])
probes = json.load(sys.stdin)
addrs = {p["host"]: p["ip"] for p in probes}
import idna
for p in probes:
    try:
        addrs.setdefault(idna.encode(p["host"], uts46=True).decode(), p["ip"])
    except idna.IDNAError:
        pass
def resolve(host):
    # Every .test name is on loopback (a redirect's target too).
    name = host.decode() if isinstance(host, bytes) else host
    return addrs.get(name) or ("127.0.0.1" if str(name).endswith(".test") else host)
real = socket.getaddrinfo
def fake(host, *a, **kw):
    return real(resolve(host), *a, **kw)
socket.getaddrinfo = fake
import asyncio.base_events as be
_gai = be.BaseEventLoop.getaddrinfo
async def fake_async(self, host, *a, **kw):
    return await _gai(self, resolve(host), *a, **kw)
be.BaseEventLoop.getaddrinfo = fake_async
import anyio._core._sockets as asock
_agai = asock.getaddrinfo
async def fake_anyio(host, *a, **kw):
    return await _agai(resolve(host), *a, **kw)
asock.getaddrinfo = fake_anyio
import httptrust_policy as hp
import httpx

def url(p):
    return "https://%s:%s/" % (p["host"], p["port"])

def via_requests(p):
    hp.session().get(url(p), timeout=10).raise_for_status()

def via_httpx(p):
    with hp.client(timeout=10, follow_redirects=True) as c:
        c.get(url(p)).raise_for_status()

def via_httpx_async(p):
    async def go():
        async with httpx.AsyncClient(transport=hp.AsyncTransport(), trust_env=False, timeout=10, follow_redirects=True) as c:
            (await c.get(url(p))).raise_for_status()
    asyncio.run(go())

def via_ssl(p):
    ctx = hp.context_for(p["host"], int(p["port"]))
    with socket.create_connection((p["ip"], int(p["port"])), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname=p["host"]) as t:
            t.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
            t.recv(10)

for name, fn in [("requests", via_requests), ("httpx", via_httpx), ("httpx-async", via_httpx_async), ("ssl", via_ssl)]:
    for p in probes:
        try:
            fn(p)
            res = "ok"
        except Exception as e:
            res = "refused: %s: %s" % (type(e).__name__, str(e).replace("\n", " ")[:200])
        print("%s\t%s\t%s" % (name, p["name"], res))
`

type jsonProbe struct {
	Name string `json:"name"`
	Host string `json:"host"`
	Port string `json:"port"`
	IP   string `json:"ip"`
}

func runPython(t *testing.T, py, dir string, probes []probe) map[string]map[string]string {
	t.Helper()
	return runPythonDriver(t, py, pythonDriver, dir, probes)
}

// runPythonFile runs the driver at path with the export in dir on its
// path and the probes on its input; it returns the results by client and
// probe.
func runPythonFile(t *testing.T, py, driver, dir string, probes []probe) map[string]map[string]string {
	t.Helper()
	var in []jsonProbe
	for _, p := range probes {
		ip, _, _ := strings.Cut(p.addr, ":")
		in = append(in, jsonProbe{p.name, p.host, p.port, ip})
	}
	data, _ := json.Marshal(in)
	cmd := exec.Command(py, driver, dir)
	cmd.Stdin = strings.NewReader(string(data))
	cmd.Env = append(os.Environ(), "HTTPS_PROXY=", "https_proxy=", "NO_PROXY=*")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python driver: %v\n%s", err, out)
	}
	got := map[string]map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 {
			continue
		}
		if got[parts[0]] == nil {
			got[parts[0]] = map[string]string{}
		}
		got[parts[0]][parts[1]] = parts[2]
	}
	return got
}

func TestPythonRuntime(t *testing.T) {
	py := findPython(t)
	w := newWorld(t)
	probes := w.scenario("")
	dir := w.write(Options{Format: "python"})
	got := runPython(t, py, dir, probes)
	for _, client := range []string{"requests", "httpx", "httpx-async", "ssl"} {
		check(t, "python "+client, probes, got[client])
	}
}

// TestIPRulesRuntime: an IP rule verified as its server_name, and a CIDR
// network, through the python and okhttp outputs.
func TestIPRulesRuntime(t *testing.T) {
	w := newWorld(t)
	p := w.pki
	w.cert("root.pem", p.Root)
	w.file("rules.toml", `
[[rule]]
hosts = ["127.0.0.1"]
anchors = ["root.pem"]
server_name = "named.test"

[[rule]]
hosts = ["127.0.0.0/8"]
anchors = ["root.pem"]
`)
	serve := func(name, ip string, leaf tls.Certificate, want bool) probe {
		s := testpki.StartTLS(t, ip, leaf, nil)
		return probe{name: name, host: ip, addr: s.Addr, port: s.Port, want: want}
	}
	probes := []probe{
		serve("ip: verified as server_name", "127.0.0.1", p.FullChain(p.Leaf(t, "named.test")), true),
		serve("ip: a certificate for the IP, not server_name", "127.0.0.1", p.FullChain(p.Leaf(t, "127.0.0.1")), false),
		serve("cidr: through the anchor", "127.0.0.2", p.FullChain(p.Leaf(t, "127.0.0.2")), true),
		serve("cidr: another CA", "127.0.0.2", chainOf(p.LeafFrom(t, p.OtherRoot(t), "127.0.0.2")), false),
	}
	py := findPython(t)
	got := runPython(t, py, w.write(Options{Format: "python"}), probes)
	for _, client := range []string{"requests", "httpx", "ssl"} {
		check(t, "python "+client, probes, got[client])
	}
	check(t, "okhttp", probes, runOkHttp(t, w.write(Options{Format: "okhttp"}), probes))
}
