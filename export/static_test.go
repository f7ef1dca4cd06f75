package export

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fileFor returns the file an export wrote for a probe's host with ext,
// or "" when there is none.
func fileFor(dir, host, ext string) string {
	p := filepath.Join(dir, host+ext)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// withoutPins drops the probes of the pinned host (for formats that drop
// pins, which the export then lists).
func withoutPins(ps []probe) []probe {
	var out []probe
	for _, p := range ps {
		if p.host != "pinned.test" {
			out = append(out, p)
		}
	}
	return out
}

func TestCurlRuntime(t *testing.T) {
	curl := need(t, "curl")
	w := newWorld(t)
	probes := withoutCNOnly(w.scenario(""))
	dir := w.write(Options{Format: "curl", AllowLossy: true})
	got := map[string]string{}
	var run []probe
	for _, p := range probes {
		f := fileFor(dir, p.host, ".curl")
		if f == "" {
			continue // no rule: curl's own defaults, not the export's
		}
		run = append(run, p)
		got[p.name] = curlGet(t, curl, f, p)
	}
	check(t, "curl", run, got)
}

// curlGet runs curl -q -K file against the probe, with extra arguments
// before -K, and says "ok" or why curl refused.
func curlGet(t *testing.T, curl, file string, p probe, before ...string) string {
	t.Helper()
	args := append([]string{"-q", "-s", "-S", "-o", "/dev/null", "--max-time", "10",
		"--resolve", p.host + ":" + p.port + ":127.0.0.1", "--noproxy", "*"}, before...)
	args = append(args, "-K", file, "https://"+p.host+":"+p.port+"/")
	out, err := exec.Command(curl, args...).CombinedOutput()
	if err != nil {
		return "refused: " + strings.TrimSpace(string(out))
	}
	return "ok"
}

// TestCurlIgnoresSystemCAFolder proves that the flag files keep curl's CA
// folder out: a certificate that only a CA in a CA folder vouches for (the
// stand-in for /etc/ssl/certs, which Debian's curl reads even with
// --cacert) is refused when the flag file comes after it, and accepted when
// the folder is given after the file (so the folder itself works).
func TestCurlIgnoresSystemCAFolder(t *testing.T) {
	curl := need(t, "curl")
	openssl := need(t, "openssl")
	w := newWorld(t)
	w.cert("root.pem", w.pki.Root)
	w.file("rules.toml", "[[rule]]\nhosts = [\"anchor.test\"]\nanchors = [\"root.pem\"]\n")
	public := w.pki.OtherRoot(t)
	caDir := t.TempDir()
	pubFile := filepath.Join(caDir, "public.pem")
	if err := os.WriteFile(pubFile, pemBlock(public.Cert), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(openssl, "rehash", caDir).CombinedOutput(); err != nil {
		t.Fatalf("openssl rehash: %v\n%s", err, out)
	}
	p := w.serve("public CA only", "anchor.test", chainOf(w.pki.LeafFrom(t, public, "anchor.test")), false)
	dir := w.write(Options{Format: "curl", AllowLossy: true})
	file := fileFor(dir, "anchor.test", ".curl")
	if res := curlGet(t, curl, file, p, "--capath", caDir); res == "ok" {
		t.Fatalf("a certificate only the CA folder vouches for was accepted under the flag file: trust widened")
	}
	// The control: the folder given after the file wins, and it works.
	args := []string{"-q", "-s", "-S", "-o", "/dev/null", "--resolve", p.host + ":" + p.port + ":127.0.0.1", "--noproxy", "*",
		"-K", file, "--capath", caDir, "https://" + p.host + ":" + p.port + "/"}
	if out, err := exec.Command(curl, args...).CombinedOutput(); err != nil {
		t.Fatalf("control: the CA folder after the flag file should make curl accept: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(file)
	if !strings.Contains(string(data), "capath = ") {
		t.Fatalf("no capath in the flag file:\n%s", data)
	}
}

func TestPEMRuntime(t *testing.T) {
	openssl := need(t, "openssl")
	w := newWorld(t)
	probes := withoutCNOnly(withoutPins(w.scenario("")))
	dir := w.write(Options{Format: "pem", AllowLossy: true})
	got := map[string]string{}
	var run []probe
	for _, p := range probes {
		f := fileFor(dir, p.host, ".pem")
		if f == "" {
			continue
		}
		run = append(run, p)
		cmd := exec.Command(openssl, "s_client", "-connect", p.addr, "-servername", p.host, "-verify_hostname", p.host,
			"-CAfile", f, "-no-CApath", "-no-CAstore", "-verify_return_error", "-brief")
		cmd.Stdin = strings.NewReader("")
		out, err := cmd.CombinedOutput()
		if err != nil {
			got[p.name] = "refused: " + lastLine(string(out))
		} else {
			got[p.name] = "ok"
		}
	}
	check(t, "openssl s_client", run, got)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// javaProbe connects with HttpsURLConnection, trusting one truststore.
const javaProbe = `
import java.io.*;
import java.net.URL;
import java.security.KeyStore;
import javax.net.ssl.*;

public class Probe {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split("\t");
            String res;
            try {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                try (InputStream s = new FileInputStream(f[1])) { ks.load(s, "changeit".toCharArray()); }
                TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
                tmf.init(ks);
                SSLContext ctx = SSLContext.getInstance("TLS");
                ctx.init(null, tmf.getTrustManagers(), null);
                HttpsURLConnection c = (HttpsURLConnection) new URL("https://" + f[2] + ":" + f[3] + "/").openConnection();
                c.setSSLSocketFactory(ctx.getSocketFactory());
                c.setConnectTimeout(10000);
                c.setReadTimeout(10000);
                c.getInputStream().close();
                res = "ok (" + ks.size() + " entries)";
            } catch (Exception e) {
                res = "refused: " + e;
            }
            System.out.println(f[0] + "\t" + res.replace('\n', ' '));
        }
    }
}
`

func TestJavaRuntime(t *testing.T) {
	javac := need(t, "javac")
	java := need(t, "java")
	w := newWorld(t)
	probes := withoutCNOnly(withoutPins(w.scenario("allow_expired = true")))
	dir := w.write(Options{Format: "java", AllowLossy: true})
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "Probe.java"), []byte(javaProbe), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(javac, "-d", src, filepath.Join(src, "Probe.java")).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	var hosts, input strings.Builder
	var run []probe
	for _, p := range probes {
		f := fileFor(dir, p.host, ".p12")
		if f == "" {
			continue
		}
		run = append(run, p)
		input.WriteString(p.name + "\t" + f + "\t" + p.host + "\t" + p.port + "\n")
		hosts.WriteString("127.0.0.1 " + p.host + "\n")
	}
	hostsFile := filepath.Join(src, "hosts")
	if err := os.WriteFile(hostsFile, []byte(hosts.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(java, "-Djdk.net.hosts.file="+hostsFile, "-cp", src, "Probe")
	cmd.Stdin = strings.NewReader(input.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("java: %v\n%s", err, out)
	}
	got := parseResults(string(out))
	for k, v := range got {
		if strings.HasPrefix(v, "ok") {
			got[k] = "ok"
		}
	}
	check(t, "java HttpsURLConnection", run, got)
}

func TestJavaRefusesExactWithoutAllowExpired(t *testing.T) {
	w := newWorld(t)
	w.scenario("")
	_, err := w.tryBuild(Options{Format: "java", AllowLossy: true})
	var e *Error
	if !errors.As(err, &e) || !e.Refused() || !strings.Contains(err.Error(), "allow_expired = true") {
		t.Fatalf("want a refusal naming allow_expired, got %v", err)
	}
}
