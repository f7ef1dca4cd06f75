package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// runStore runs the CLI with the store st, not on a terminal.
func runStore(st string, args []string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: time.Now,
		getenv: func(k string) string {
			if k == "HTTPTRUST_STORE" {
				return st
			}
			return ""
		},
		terminal: func(any) bool { return false }}
	code = e.run(args)
	return out.String(), errb.String(), code
}

// printedCommands are the httptrust command lines the hints of stderr
// print, as words.
func printedCommands(stderr string) [][]string {
	var cmds [][]string
	for _, l := range strings.Split(stderr, "\n") {
		if c, ok := strings.CutPrefix(l, "httptrust: hint:   httptrust "); ok {
			cmds = append(cmds, shellWords(c))
		}
	}
	return cmds
}

// shellWords splits a line as sh would one that httptrust.ShellQuote
// quoted: words between spaces, 'quoted' parts, '\” for a quote.
func shellWords(line string) []string {
	var words []string
	var b strings.Builder
	in, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			b.WriteByte(c)
		case c == '\'':
			quoted, in = true, true
		case c == '\\' && i+1 < len(line):
			i++
			b.WriteByte(line[i])
			in = true
		case c == ' ':
			if in {
				words = append(words, b.String())
				b.Reset()
				in = false
			}
		default:
			b.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, b.String())
	}
	return words
}

// copyStore copies the store folder st to a new one.
func copyStore(t *testing.T, st string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "store")
	if _, err := os.Stat(st); os.IsNotExist(err) {
		return dst
	}
	err := filepath.WalkDir(st, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(st, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, info.Mode().Perm())
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// managedPatterns are the hosts of the store's own rules.
func managedPatterns(t *testing.T, st string) []string {
	t.Helper()
	out, errb, code := runStore(st, []string{"--json", "trust", "list"})
	if code != 0 {
		t.Fatalf("trust list: exit %d: %s%s", code, out, errb)
	}
	var list struct {
		Entries []struct {
			Hosts   []string `json:"hosts"`
			Managed bool     `json:"managed"`
		} `json:"entries"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	var pats []string
	for _, r := range list.Entries {
		if r.Managed {
			pats = append(pats, r.Hosts...)
		}
	}
	return pats
}

// TestFollowPrintedCommands follows every command fetch prints, with the
// fingerprint the operator gives put in for the placeholder, as a person
// would: each must succeed. So a refusal is either the end (it prints no
// command) or names commands that work, never a dead end: in particular
// --host with a certificate that needs an allowance (a name mismatch, an
// expiry), which a rule may hold for one exact host only, is refused at
// once with the commands that can succeed. For a host that trusts
// something already, no printed command holds --yes or the fingerprint
// of the connection; and no command writes a rule for a pattern the
// person did not name (the URL's host and port, its host, or --host).
func TestFollowPrintedCommands(t *testing.T) {
	noLeaks(t)
	pki := testpki.New(t)
	ca := writeFile(t, "ca.pem", pki.Root.CertPEM())
	past := time.Now().Add(-72 * time.Hour)
	expired, err := mint.New(mint.Template{Names: []string{"dev.lab.test", "127.0.0.1"}, NotBefore: past, NotAfter: past.Add(48 * time.Hour)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	servers := []struct {
		name    string
		cert    *mint.Cert
		host    string // the URL's host
		resolve bool   // reach it by name through --resolve
	}{
		{"name mismatch", pki.SelfSigned(t, "localhost"), "127.0.0.1", false},
		{"expired, by name", expired, "dev.lab.test", true},
		{"expired, by IP", expired, "127.0.0.1", false},
	}
	for _, sv := range servers {
		srv := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(sv.cert), nil)
		url, pre := srv.URL+"/", []string(nil)
		if sv.resolve {
			url = "https://" + sv.host + ":" + srv.Port + "/"
			pre = []string{"--resolve", sv.host + ":" + srv.Port + ":127.0.0.1"}
		}
		fp := certs.CertFingerprint(sv.cert.Cert).String()
		hostPort := sv.host + ":" + srv.Port
		for _, protected := range []bool{false, true} {
			for _, flags := range [][]string{
				nil,
				{"--yes"},
				{"--allow-name-mismatch", "--allow-expired", "--yes"},
				{"--host", "*.lab.test"},
				{"--host", "*.lab.test", "--yes"},
				{"--host", "**.lab.test", "--fingerprint", fp},
				{"--host", sv.host, "--host", "*.lab.test"},
				{"--host", sv.host},
			} {
				name := sv.name + ", " + strings.Join(flags, " ")
				if protected {
					name = "protected, " + name
				}
				t.Run(name, func(t *testing.T) {
					st := filepath.Join(t.TempDir(), "store")
					if protected {
						if _, errb, code := runStore(st, []string{"trust", "add", ca, "--host", sv.host}); code != 0 {
							t.Fatal(errb)
						}
					}
					asked := append([]string{sv.host, hostPort}, flagValues(flags, "--host")...)
					args := append(append(append([]string{"fetch"}, pre...), flags...), url)
					follow(t, st, args, fp, 0, func(cmd []string) {
						line := strings.Join(cmd, " ")
						if protected && (slices.Contains(cmd, "--yes") || (strings.Contains(line, fp) && !slices.Contains(flags, fp))) {
							t.Errorf("a host that trusts something: the printed command offers --yes or the connection's fingerprint: %s", line)
						}
					}, func(st string) {
						for _, p := range managedPatterns(t, st) {
							if !slices.Contains(asked, p) && !(protected && p == sv.host) {
								t.Errorf("a rule for %s, which was not asked for (%v)", p, asked)
							}
						}
					})
				})
			}
		}
	}
}

// follow runs args in a copy of the store st; every command it prints is
// checked by each and followed, with fp (the operator's) for the
// placeholder, in its own copy, to a depth of three. A printed command
// must succeed; written is called on every store a command succeeded in.
func follow(t *testing.T, st string, args []string, fp string, depth int, each func([]string), written func(string)) {
	t.Helper()
	st = copyStore(t, st)
	out, errb, code := runStore(st, args)
	switch {
	case code == 0:
		written(st)
		return
	case depth > 0:
		t.Errorf("the printed command failed (exit %d): httptrust %s\n%s%s", code, strings.Join(args, " "), out, errb)
		return
	}
	cmds := printedCommands(errb)
	if len(cmds) == 0 {
		t.Errorf("refused with no command to go on (exit %d): httptrust %s\n%s", code, strings.Join(args, " "), errb)
	}
	for _, cmd := range cmds {
		each(cmd)
		var filled []string
		other := false
		for _, w := range cmd {
			switch {
			case w == httptrust.PlaceholderFingerprint:
				w = fp
			case httptrust.IsPlaceholder(w):
				other = true // a file or name only the operator has
			}
			filled = append(filled, w)
		}
		if !other && depth < 3 {
			follow(t, st, filled, fp, depth+1, each, written)
		}
	}
}

// flagValues are the values of flag in args.
func flagValues(args []string, flag string) []string {
	var vs []string
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			vs = append(vs, args[i+1])
		}
	}
	return vs
}
