package export

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// pep263 is the regular expression by which Python finds a source
// encoding declaration on line 1 or 2 (PEP 263, the tokenizer's).
var pep263 = regexp.MustCompile(`^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)`)

// checkPythonEncodingLines checks that line 1 of every python file of an
// export declares UTF-8 and that line 2 holds no declaration.
func checkPythonEncodingLines(t *testing.T, res *Result) {
	t.Helper()
	n := 0
	for _, f := range res.Files {
		if !strings.HasSuffix(f.Name, ".py") {
			continue
		}
		n++
		lines := strings.SplitN(string(f.Data), "\n", 3)
		if len(lines) < 3 {
			t.Fatalf("%s: fewer than 3 lines", f.Name)
		}
		if m := pep263.FindStringSubmatch(lines[0]); m == nil || m[1] != "utf-8" {
			t.Errorf("%s: line 1 does not declare utf-8: %q", f.Name, lines[0])
		}
		if pep263.MatchString(lines[1]) {
			t.Errorf("%s: line 2 holds an encoding declaration: %q", f.Name, lines[1])
		}
	}
	if n == 0 {
		t.Fatal("no python file in the export")
	}
}

// selfSignedWithDNS makes a self-signed leaf whose DNS names are given as
// they stand (Go takes any IA5 text as a dNSName).
func selfSignedWithDNS(t *testing.T, names ...string) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestPythonEncodingDeclaration: the store path is written into the
// module's header; a path holding "coding=shift_jis_2004" must not become
// the module's source encoding (PEP 263 reads lines 1 and 2), in which a
// backslash reads as a yen sign and a DNS name of an exact certificate,
// written as a string literal with \" escapes, would run as code on import.
func TestPythonEncodingDeclaration(t *testing.T) {
	w := newWorld(t)
	w.store = filepath.Join(t.TempDir(), "trust-coding=shift_jis_2004")
	if err := os.Mkdir(w.store, 0o700); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "ran")
	payload := `x"+str(open('` + marker + `','w').write('ran')),],[]),#`
	w.file("dev.pem", string(selfSignedWithDNS(t, "dev.test", payload)))
	w.file("dev.toml", "[[rule]]\nhosts = [\"dev.test\"]\ncertificates = [\"dev.pem\"]\n")

	res := w.build(Options{Format: "python"})
	checkPythonEncodingLines(t, res)
	for _, f := range res.Files {
		if !strings.Contains(string(f.Data), "coding=shift_jis_2004") {
			t.Fatalf("%s: the test store's path is not in the header, so this test shows nothing", f.Name)
		}
	}

	py := findPython(t)
	dir := w.write(Options{Format: "python"})
	script := `
import sys
sys.path.insert(0, sys.argv[1])
import httptrust_policy as hp
names = [n for s in hp._SCOPES for x in s["exact"] for n in x[3]]
print("\n".join(names))
`
	out, err := exec.Command(py, "-c", script, dir).CombinedOutput()
	if _, serr := os.Stat(marker); serr == nil {
		t.Fatalf("importing the module ran a certificate's DNS name as code\n%s", out)
	}
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "dev.test\n"+payload; got != want {
		t.Errorf("the exact certificate's DNS names read back as\n%s\nwant\n%s", got, want)
	}
}

// TestPythonEncodingLinesFixed: lines 1 and 2 of the module are the same
// whatever the store path, version and file names say.
func TestPythonEncodingLinesFixed(t *testing.T) {
	for _, store := range []string{"/s/coding=latin-1", "/s/# vim: set fileencoding=cp864 :", "coding:hz"} {
		m := &model{o: Options{Format: "python", Version: "coding=shift_jis_2004", Store: store}}
		if err := genPython(m); err != nil {
			t.Fatal(err)
		}
		m.render()
		checkPythonEncodingLines(t, &Result{Files: m.files})
	}
}

// TestNoEncodingFromStoreText: no other output lets the store's text choose
// how it is read. Java and Dart have no declaration in the file (javac's
// -encoding is the build's; Dart source is UTF-8): their outputs are ASCII,
// read alike by every ASCII-based encoding a build may use. XML and plist
// declare UTF-8 in a fixed prolog on line 1, before any header text.
func TestNoEncodingFromStoreText(t *testing.T) {
	stores := []func(w *world){
		func(w *world) { w.scenario("") },
		func(w *world) {
			w.file("rules.toml", "[[rule]]\nhosts = [\"a.example.com\"]\nsystem_roots = true\npins = [\""+randomPin(t)+"\", \""+randomPin(t)+"\"]\n")
		},
	}
	checked := map[string]bool{}
	for _, fill := range stores {
		w := newWorld(t)
		w.store = filepath.Join(t.TempDir(), "coding=shift_jis_2004 \u00e9")
		if err := os.Mkdir(w.store, 0o700); err != nil {
			t.Fatal(err)
		}
		fill(w)
		for _, format := range Formats {
			res, err := w.tryBuild(Options{Format: format, AllowLossy: true})
			if err != nil {
				continue
			}
			checked[format] = true
			for _, f := range res.Files {
				checkEncodingFixed(t, format, f)
			}
		}
	}
	for _, format := range Formats {
		if !checked[format] {
			t.Errorf("%s: no store of this test exports", format)
		}
	}
}

func checkEncodingFixed(t *testing.T, format string, f File) {
	t.Helper()
	data := string(f.Data)
	switch filepath.Ext(f.Name) {
	case ".java", ".dart":
		for i := 0; i < len(data); i++ {
			if data[i] >= 0x80 {
				t.Errorf("%s: %s holds a byte that is not ASCII at %d", format, f.Name, i)
				break
			}
		}
	case ".xml", ".plist":
		if !strings.HasPrefix(strings.ToLower(data), `<?xml version="1.0" encoding="utf-8"?>`+"\n") {
			t.Errorf("%s: %s does not start with the fixed UTF-8 prolog: %.60q", format, f.Name, data)
		}
	}
}
