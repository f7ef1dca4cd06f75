package export

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// routingStore has patterns of every kind whose precedence matters.
func routingStore(w *world) {
	pin := `pins = ["` + randomPin(w.t) + `", "` + randomPin(w.t) + `"]`
	var b strings.Builder
	for _, h := range []string{"**.corp.test", "*.corp.test", "a.corp.test", "a.corp.test:8443", "**.x.corp.test",
		"*.b.corp.test", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", "fd00::/32", "fd00::1", "[fd00::1]:8443"} {
		b.WriteString("[[rule]]\nhosts = [\"" + h + "\"]\n" + pin + "\n\n")
	}
	w.file("rules.toml", b.String())
}

var routingHosts = [][2]string{
	{"a.corp.test", "443"}, {"A.Corp.Test.", "443"}, {"a.corp.test", "8443"}, {"corp.test", "443"},
	{"y.corp.test", "443"}, {"z.y.corp.test", "443"}, {"x.corp.test", "443"}, {"q.x.corp.test", "443"},
	{"b.corp.test", "443"}, {"c.b.corp.test", "443"}, {"d.c.b.corp.test", "443"}, {"other.test", "443"},
	{"10.1.2.3", "443"}, {"::ffff:10.1.2.3", "443"}, {"10.1.9.9", "443"}, {"10.9.9.9", "443"}, {"11.0.0.1", "443"},
	{"fd00::1", "443"}, {"fd00::1", "8443"}, {"fd00::2", "443"}, {"fd01::1", "443"},
}

// wantRoutes is the scope label httptrust's own lookup chooses for each
// host.
func wantRoutes(t *testing.T, w *world) map[string]string {
	p := w.policy()
	want := map[string]string{}
	for _, hp := range routingHosts {
		host := hp[0]
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		eff, err := p.Lookup(host + ":" + hp[1])
		if err != nil {
			t.Fatal(err)
		}
		label := eff.Pattern
		norm, _ := normalizeForTest(hp[0])
		switch {
		case label == "":
			label = "hosts without a rule"
		case strings.HasPrefix(label, "**.") && label[3:] == norm:
			label = norm + " (the name itself, under " + label + ")"
		}
		want[hp[0]+" "+hp[1]] = label
	}
	return want
}

func normalizeForTest(h string) (string, error) {
	return strings.ToLower(strings.TrimSuffix(h, ".")), nil
}

const pythonRouting = `
import sys
sys.path.insert(0, sys.argv[1])
import httptrust_policy as hp
for line in sys.stdin:
    host, port = line.split()
    print("%s %s\t%s" % (host, port, hp._SCOPES[hp.scope_for(host, int(port))]["label"]))
`

func TestRoutingPython(t *testing.T) {
	py := findPython(t)
	w := newWorld(t)
	routingStore(w)
	dir := w.write(Options{Format: "python"})
	script := filepath.Join(t.TempDir(), "route.py")
	os.WriteFile(script, []byte(pythonRouting), 0o600)
	got := runRouting(t, exec.Command(py, script, dir))
	compareRoutes(t, "python", wantRoutes(t, w), got)
}

const javaRouting = `
package httptrust.export;
import java.io.*;
public class Route {
    public static void main(String[] a) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split(" ");
            java.lang.reflect.Field sf = HttptrustPolicy.class.getDeclaredField("SCOPES");
            sf.setAccessible(true);
            Object s = ((Object[]) sf.get(null))[HttptrustPolicy.scopeFor(f[0], Integer.parseInt(f[1]))];
            java.lang.reflect.Field lf = s.getClass().getDeclaredField("label");
            lf.setAccessible(true);
            System.out.println(f[0] + " " + f[1] + "\t" + lf.get(s));
        }
    }
}
`

func TestRoutingOkHttp(t *testing.T) {
	javac := need(t, "javac")
	java := need(t, "java")
	cp := okhttpClasspath(t)
	w := newWorld(t)
	routingStore(w)
	dir := w.write(Options{Format: "okhttp"})
	src := filepath.Join(t.TempDir(), "Route.java")
	os.WriteFile(src, []byte(javaRouting), 0o600)
	classes := t.TempDir()
	if out, err := exec.Command(javac, "-cp", cp, "-d", classes, filepath.Join(dir, "httptrust", "export", OkHttpClass+".java"), src).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	got := runRouting(t, exec.Command(java, "-cp", classes+":"+cp, "httptrust.export.Route"))
	compareRoutes(t, "okhttp", wantRoutes(t, w), got)
}

func runRouting(t *testing.T, cmd *exec.Cmd) map[string]string {
	t.Helper()
	var in strings.Builder
	for _, hp := range routingHosts {
		in.WriteString(hp[0] + " " + hp[1] + "\n")
	}
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return parseResults(string(out))
}

func compareRoutes(t *testing.T, runtime string, want, got map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s goes to %q, httptrust says %q", runtime, k, got[k], v)
		}
	}
}
