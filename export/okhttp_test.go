package export

import (
	"context"
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
            .dns(host -> Collections.singletonList(InetAddress.getByName("127.0.0.1")))
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
	javac := need(t, "javac")
	java := need(t, "java")
	cp := okhttpClasspath(t)
	w := newWorld(t)
	probes := w.scenario("")
	dir := w.write(Options{Format: "okhttp"})
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
	start := time.Now()
	defer func() { t.Logf("java ran %v", time.Since(start)) }()
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("java: %v\n%s", err, out)
	}
	check(t, "okhttp", probes, parseResults(string(out)))
}
