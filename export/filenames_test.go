package export

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/httptrust/httptrust/mint"
)

// TestPerHostFileNamesNeverCollide: two patterns whose file names were
// once the same ("*.x" and a host named "star.x", ...) get a file each in
// the per-host formats, each holding its own rule's anchor.
func TestPerHostFileNamesNeverCollide(t *testing.T) {
	cases := []struct {
		name         string
		first, other string // rule lines: the hosts of rootA, and of the other root
		want         []string
	}{
		{"one-label vs star", `hosts = ["*.c.test"]`, `hosts = ["star.c.test"]`, []string{"one+c.test", "star.c.test"}},
		{"any-depth vs any", `hosts = ["**.c.test"]`, `hosts = ["any.c.test"]`, []string{"any+c.test", "any.c.test", "c.test"}},
		{"all_hosts vs defaults", "all_hosts = true\nsystem_roots = false", `hosts = ["defaults"]`, []string{"+defaults", "defaults"}},
		{"cidr vs ip:port", `hosts = ["10.0.0.0/8"]`, `hosts = ["10.0.0.0:8"]`, []string{"net+10.0.0.0-8", "10.0.0.0+8"}},
		{"ipv6 vs name", `hosts = ["fd00:0:0::1"]`, `hosts = ["fd00--1"]`, []string{"ip6+fd00--1", "fd00--1"}},
		{"port vs underscore", `hosts = ["h.test:5001"]`, `hosts = ["h.test_5001"]`, []string{"h.test+5001", "h.test_5001"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			other := w.pki.OtherRoot(t)
			w.cert("a.pem", w.pki.Root)
			w.cert("b.pem", other)
			w.file("rules.toml", "[[rule]]\n"+tc.first+"\nanchors = [\"a.pem\"]\n\n[[rule]]\n"+tc.other+"\nanchors = [\"b.pem\"]\nsystem_roots = false\n")
			for _, format := range []string{"curl", "pem", "java"} {
				res, err := w.tryBuild(Options{Format: format, AllowLossy: true, OutDir: "/out"})
				if err != nil {
					t.Fatalf("%s: %v", format, err)
				}
				names := map[string][]byte{}
				for _, f := range res.Files {
					if _, dup := names[f.Name]; dup {
						t.Errorf("%s: %s written twice", format, f.Name)
					}
					names[f.Name] = f.Data
				}
				ext := map[string]string{"curl": ".curl", "pem": ".pem", "java": ".p12"}[format]
				for i, base := range tc.want {
					data, ok := names[base+ext]
					if !ok {
						t.Errorf("%s: no %s%s in %v", format, base, ext, sortedKeys(names))
						continue
					}
					if format != "pem" || i > 1 {
						continue
					}
					// The first file holds rootA, the second the other root.
					mine, notMine := w.pki.Root, other
					if i == 1 {
						mine, notMine = other, w.pki.Root
					}
					if !holds(data, mine) || holds(data, notMine) {
						t.Errorf("pem: %s%s does not hold its own rule's anchor alone", base, ext)
					}
				}
			}
		})
	}
}

func holds(bundle []byte, c *mint.Cert) bool {
	return strings.Contains(string(bundle), string(pemBlock(c.Cert)))
}

func sortedKeys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestOneNameTwiceRefused: Build and WriteDir never write two outputs
// under one name.
func TestOneNameTwiceRefused(t *testing.T) {
	res := &Result{Files: []File{{Name: "a.pem", Data: []byte("a"), Mode: 0o644}, {Name: "a.pem", Data: []byte("b"), Mode: 0o644}}}
	dir := filepath.Join(t.TempDir(), "out")
	if err := WriteDir(dir, res, true); err == nil || !strings.Contains(err.Error(), "a.pem") {
		t.Fatalf("WriteDir wrote two files as one: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("something was written: %v", err)
	}
	if err := checkUniqueFiles(res.Files); err == nil {
		t.Error("checkUniqueFiles let a name through twice")
	}
}
