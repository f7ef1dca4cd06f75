package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/youmark/pkcs8"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
)

func TestIsHostPort(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"127.0.0.1:8441", true}, {"nas.local:5001", true}, {"[::1]:8443", true}, {"db:5432", true},
		{"cert.pem", false}, {"nas.local", false}, {"127.0.0.1", false}, {"::1", false}, {"a:b", false},
		{"C:\\certs\\a.pem", false}, {"dir/x:443", false}, {"x:0", false}, {"x:65536", false}, {"x:+5", false},
		{":443", false}, {"https://x:443", false}, {"a b:443", false},
	} {
		if got := isHostPort(tt.in); got != tt.want {
			t.Errorf("isHostPort(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseTarget(t *testing.T) {
	for _, tt := range []struct {
		in, url, port string
		err           string
	}{
		{"https://nas.local/", "https://nas.local/", "443", ""},
		{"nas.local", "https://nas.local", "443", ""},
		{"127.0.0.1:8441", "tls://127.0.0.1:8441", "8441", ""},
		{"[::1]:8443", "tls://[::1]:8443", "8443", ""},
		{"tls://db.internal:6379", "tls://db.internal:6379", "6379", ""},
		{"SMTP://mail.example", "smtp://mail.example", "25", ""},
		{"submission://mail.example", "submission://mail.example", "587", ""},
		{"smtps://mail.example", "smtps://mail.example", "465", ""},
		{"imap://mail.example", "imap://mail.example", "143", ""},
		{"ldap://dir.example", "ldap://dir.example", "389", ""},
		{"postgres://u:pw@db:6543/app?sslmode=require", "postgres://u:pw@db:6543/app?sslmode=require", "6543", ""},
		{"postgresql://db", "postgresql://db", "5432", ""},
		{"http://nas.local/", "http://nas.local/", "80", ""},
		{"tls://db.internal", "", "", "needs a port"},
		{"ftp://files.example", "", "", `unknown scheme "ftp"`},
		{"smtp://", "", "", "has no host"},
		{"postgres://u:secret@/db", "", "", "has no host"},
	} {
		u, err := parseTarget(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseTarget(%q): %v, want an error with %q", tt.in, err, tt.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("parseTarget(%q): the error shows the password: %v", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseTarget(%q): %v", tt.in, err)
			continue
		}
		_, port, _ := urlHostPort(u)
		if u.String() != tt.url || port != tt.port {
			t.Errorf("parseTarget(%q) = %s port %s, want %s port %s", tt.in, u, port, tt.url, tt.port)
		}
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"https://nas.local/", "nas.local", "127.0.0.1:8441", "[::1]:1", "tls://x", "smtp://m",
		"postgres://u:p@h/db", "ftp://x", "://", "a:b:c", "[::1", "x:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseTarget(s)
		if err != nil {
			return
		}
		if _, _, err := urlHostPort(u); err != nil {
			t.Fatalf("%q parsed, but has no host and port: %v", s, err)
		}
		if u.Hostname() == "" {
			t.Fatalf("%q parsed without a host", s)
		}
	})
}

func TestRetarget(t *testing.T) {
	rem := httptrust.Remedy{Text: "t", Commands: []httptrust.Command{
		{Name: "fetch", Args: []string{"--fingerprint", "X", "https://127.0.0.1:2525/"}},
		{Name: "get", Args: []string{"--fetch-intermediates", "https://127.0.0.1:2525/"}},
		{Name: "get", Args: []string{"--resolve", "mail.test:2525:<address>", "smtp://mail.test:2525"}},
		{Name: "trust add", Args: []string{"ca.pem", "--host", "127.0.0.1"}},
	}}
	u, _ := url.Parse("smtp://127.0.0.1:2525")
	got := retarget(rem, u, "127.0.0.1", "2525")
	var lines []string
	for _, c := range got.Commands {
		lines = append(lines, c.Name+" "+strings.Join(c.Args, " "))
	}
	want := []string{"fetch --fingerprint X smtp://127.0.0.1:2525", "diagnose --resolve mail.test:2525:<address> smtp://mail.test:2525",
		"trust add ca.pem --host 127.0.0.1"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("commands\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	hu, _ := url.Parse("https://127.0.0.1:2525/")
	if same := retarget(rem, hu, "127.0.0.1", "2525"); len(same.Commands) != 4 || same.Commands[1].Name != "get" {
		t.Errorf("an https remedy was changed: %+v", same.Commands)
	}
}

// TestPasswordPrompt: on a terminal, an encrypted key's password is asked
// for (without echo) when no flag gives it; a file that needs none asks
// nothing.
func TestPasswordPrompt(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := pkcs8.MarshalPrivateKey(key, []byte("s3cret-pw"), nil)
	if err != nil {
		t.Fatal(err)
	}
	encFile := filepath.Join(dir, "backup.key")
	if err := os.WriteFile(encFile, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: enc}), 0o600); err != nil {
		t.Fatal(err)
	}
	pin, _ := certs.PublicKeyPin(key.Public())
	store := filepath.Join(dir, "store")
	code, out, errb := runOnTerminal(t, store, "s3cret-pw\n", "pin", encFile)
	if code != exitOK || !strings.Contains(out, pin.String()+" private key (ECDSA P-256)") || !strings.Contains(errb, "password for "+encFile) {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errb)
	}
	if strings.Contains(out+errb, "s3cret-pw") {
		t.Error("the password was printed")
	}
	code, _, errb = runOnTerminal(t, store, "wrong\n", "inspect", encFile)
	if code != exitCAFile || !strings.Contains(errb, "wrong password") {
		t.Fatalf("wrong password: exit %d\n%s", code, errb)
	}

	// A PKCS#12 file without a password opens without a question.
	pki := testpki.New(t)
	leaf := pki.Leaf(t, "client.test")
	p12, err := pkcs12.Passwordless.Encode(leaf.Key, leaf.Cert, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	p12File := filepath.Join(dir, "open.p12")
	if err := os.WriteFile(p12File, p12, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errb = runOnTerminal(t, store, "", "inspect", p12File)
	if code != exitOK || strings.Contains(errb, "password") || !strings.Contains(out, "key of:    certificate 0") {
		t.Fatalf("passwordless PKCS#12: exit %d\n%s\n%s", code, out, errb)
	}
}
