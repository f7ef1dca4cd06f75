package export

import (
	"context"
	"github.com/httptrust/httptrust/mint"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// okhttpJars are Debian's libokhttp-java jars and what they need.
var okhttpJars = []string{"okhttp.jar", "okhttp-tls.jar", "okio.jar", "bcprov.jar"}

func okhttpClasspath(t *testing.T) string {
	t.Helper()
	var cp []string
	for _, j := range okhttpJars {
		p := filepath.Join("/usr/share/java", j)
		if _, err := os.Stat(p); err != nil {
			if j == "bcprov.jar" {
				continue
			}
			skipOrFail(t, "no "+p+" (Debian: libokhttp-java)")
		}
		cp = append(cp, p)
	}
	return strings.Join(cp, ":")
}

// okhttpDriver calls each probe through the generated client, with names
// mapped to loopback by OkHttp's Dns.
const okhttpDriver = `
import java.io.*;
import java.net.InetAddress;
import java.util.*;
import okhttp3.*;

public class Driver {
    public static void main(String[] args) throws Exception {
        OkHttpClient base = new OkHttpClient.Builder()
            .dns(host -> Collections.singletonList(InetAddress.getByName(host.matches("[0-9.]+") ? host : "127.0.0.1")))
            .connectTimeout(java.time.Duration.ofSeconds(10)).readTimeout(java.time.Duration.ofSeconds(10))
            .build();
        OkHttpClient client = httptrust.export.HttptrustPolicy.client(base);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split("\t");
            String res;
            try (Response r = client.newCall(new Request.Builder().url("https://" + f[1] + ":" + f[2] + "/").build()).execute()) {
                res = r.isSuccessful() ? "ok" : "refused: HTTP " + r.code();
            } catch (Exception e) {
                res = "refused: " + e;
            }
            System.out.println(f[0] + "\t" + res.replace('\n', ' '));
            System.out.flush();
        }
        // OkHttp's connection threads would keep the JVM for minutes.
        System.exit(0);
    }
}
`

func TestOkHttpRuntime(t *testing.T) {
	w := newWorld(t)
	probes := w.scenario("")
	check(t, "okhttp", probes, runOkHttp(t, w.write(Options{Format: "okhttp"}), probes))
}

// runOkHttp compiles the okhttp export with a driver and runs the probes.
func runOkHttp(t *testing.T, dir string, probes []probe) map[string]string {
	t.Helper()
	javac := need(t, "javac")
	java := need(t, "java")
	cp := okhttpClasspath(t)
	src := filepath.Join(dir, "httptrust", "export", OkHttpClass+".java")
	drv := filepath.Join(t.TempDir(), "Driver.java")
	if err := os.WriteFile(drv, []byte(okhttpDriver), 0o600); err != nil {
		t.Fatal(err)
	}
	classes := t.TempDir()
	if out, err := exec.Command(javac, "-Xlint:all,-path", "-Werror", "-cp", cp, "-d", classes, src, drv).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	var in strings.Builder
	for _, p := range probes {
		in.WriteString(p.name + "\t" + p.host + "\t" + p.port + "\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, java, "-cp", classes+":"+cp, "Driver")
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("java: %v\n%s", err, out)
	}
	return parseResults(string(out))
}

// TestExpiredAnchor: a valid leaf under an anchor that has expired is
// refused by httptrust; Java does not check an anchor's own validity, so
// the okhttp code checks every certificate of the chain, and the java and
// android formats refuse an expired anchor.
func TestExpiredAnchor(t *testing.T) {
	w := newWorld(t)
	old, err := mint.New(mint.Template{CommonName: "Old Root", IsCA: true, MaxPathLen: -1,
		NotBefore: w.pki.Now.AddDate(-2, 0, 0), NotAfter: w.pki.Now.Add(-time.Hour)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := mint.New(mint.Template{Names: []string{"old.test"}, NotBefore: w.pki.Now.Add(-time.Hour), NotAfter: w.pki.Now.AddDate(0, 1, 0)}, old)
	if err != nil {
		t.Fatal(err)
	}
	w.cert("old.pem", old)
	w.file("rules.toml", "[[rule]]\nhosts = [\"old.test\"]\nanchors = [\"old.pem\"]\n")
	probes := []probe{w.serve("a valid leaf under an expired anchor", "old.test", chainOf(leaf), false)}
	check(t, "okhttp", probes, runOkHttp(t, w.write(Options{Format: "okhttp"}), probes))
	py := findPython(t)
	got := runPython(t, py, w.write(Options{Format: "python"}), probes)
	for _, client := range []string{"requests", "httpx", "ssl"} {
		check(t, "python "+client, probes, got[client])
	}
	curl := need(t, "curl")
	dir := w.write(Options{Format: "curl", AllowLossy: true})
	check(t, "curl", probes, map[string]string{probes[0].name: curlGet(t, curl, fileFor(dir, "old.test", ".curl"), probes[0])})
	for _, format := range []string{"java", "android"} {
		if _, err := w.tryBuild(Options{Format: format}); err == nil || !strings.Contains(err.Error(), "does not check an anchor's own validity") {
			t.Errorf("%s: want a refusal of the expired anchor, got %v", format, err)
		}
	}
}
