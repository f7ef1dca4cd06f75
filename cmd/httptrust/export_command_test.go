package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/export"
	"github.com/httptrust/httptrust/internal/testpki"
)

func testPin(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return certs.SPKIPin(&x509.Certificate{RawSubjectPublicKeyInfo: der}).String()
}

// readExport returns the files of an export folder by name.
func readExport(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel != export.ManifestFile {
			files[filepath.ToSlash(rel)], err = os.ReadFile(p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// headerCommand returns the words of the "Command:" line of the export's
// header, as a POSIX shell reads them.
func headerCommand(t *testing.T, sh string, files map[string][]byte) (string, []string) {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		for _, l := range strings.Split(string(files[n]), "\n") {
			_, cmd, ok := strings.Cut(l, "Command: ")
			if !ok {
				continue
			}
			out, err := exec.Command(sh, "-c", `httptrust() { for a in "$@"; do printf '%s\0' "$a"; done; }; `+cmd).Output()
			if err != nil {
				t.Fatalf("%s: the command %q does not run in sh: %v", n, cmd, err)
			}
			return n, append([]string{"httptrust"}, strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")...)
		}
	}
	t.Fatal("no Command line in any file")
	return "", nil
}

// TestExportCommandReproduces: the command a header prints, run again,
// gives the same bytes, in every format, with a store path that needs
// quoting and holds "--" (which an XML comment cannot).
func TestExportCommandReproduces(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to read the command as a shell does")
	}
	pki := testpki.New(t)
	st := filepath.Join(t.TempDir(), "my--store it's")
	if err := os.Mkdir(st, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(st, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("root.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.Root.DER})))
	write("rules.toml", `
[[rule]]
hosts = ["**.pub.example.com"]
pins = ["`+testPin(t)+`", "`+testPin(t)+`"]

[[rule]]
hosts = ["api.corp.test"]
anchors = ["root.pem"]
system_roots = false
tofu = true
`)
	for _, format := range export.Formats {
		t.Run(format, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out --"+format)
			args := []string{"--store", st, "export", format, "--allow-lossy", "-o", out, "--host", "**.pub.example.com"}
			if format != "ios-ats" && format != "trustkit" {
				args = append(args, "--host", "api.corp.test")
			}
			if format == "okhttp" {
				args = append(args, "--package", "my.app")
			}
			if _, stderr, code := runStore(st, args); code != 0 {
				t.Fatalf("export: exit %d\n%s", code, stderr)
			}
			first := readExport(t, out)
			file, words := headerCommand(t, sh, first)
			want := []string{"httptrust", "--store", st, "export", format}
			if len(words) < len(want) || !slices.Equal(words[:len(want)], want) {
				t.Fatalf("%s: command %q", file, words)
			}
			for _, w := range []string{"--allow-lossy", "**.pub.example.com"} {
				if !slices.Contains(words, w) {
					t.Errorf("%s: command %q lacks %s", file, words, w)
				}
			}
			if format == "okhttp" && !slices.Contains(words, "my.app") {
				t.Errorf("%s: command %q lacks --package my.app", file, words)
			}
			if format == "curl" && !slices.Contains(words, out) {
				t.Errorf("%s: command %q lacks -o (its files name the folder)", file, words)
			}
			again := words[1:]
			if !slices.Contains(again, "-o") {
				again = append(again, "-o", out) // the folder does not change the bytes
			}
			if _, stderr, code := runStore(st, again); code != 0 {
				t.Fatalf("the header's command: exit %d\n%s", code, stderr)
			}
			second := readExport(t, out)
			if len(first) != len(second) {
				t.Fatalf("%d files, then %d", len(first), len(second))
			}
			for n, data := range first {
				if !bytes.Equal(data, second[n]) {
					t.Errorf("%s differs when made again by the header's command", n)
				}
			}
		})
	}
}
