package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/mint"
)

// TestKeyPin checks that the pin mint --key-only prints for a key is the
// pin httptrust pin (certs.SPKIPin) gives every certificate of that key.
func TestKeyPin(t *testing.T) {
	for _, kt := range []mint.KeyType{mint.ECDSAP256, mint.ECDSAP384, mint.Ed25519, mint.RSA2048} {
		t.Run(kt.String(), func(t *testing.T) {
			key, err := mint.NewKey(kt)
			if err != nil {
				t.Fatal(err)
			}
			c, err := mint.New(mint.Template{Names: []string{"backup.test"}, Key: key}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := keyPin(key.Public())
			if err != nil {
				t.Fatal(err)
			}
			if want := certs.SPKIPin(c.Cert); got != want {
				t.Errorf("keyPin = %v, want %v", got, want)
			}
		})
	}
}

func TestBaseName(t *testing.T) {
	tests := []struct {
		names  []string
		client bool
		want   string
	}{
		{[]string{"localhost"}, false, "localhost"},
		{[]string{"localhost", "127.0.0.1", "::1"}, false, "localhost+2"},
		{[]string{"*.dev.local"}, false, "_wildcard.dev.local"},
		{[]string{"::1"}, false, "__1"},
		{[]string{"alice"}, true, "alice-client"},
		{[]string{"alice", "bob"}, true, "alice+1-client"},
	}
	for _, tt := range tests {
		if got := baseName(tt.names, tt.client); got != tt.want {
			t.Errorf("baseName(%q, %v) = %q, want %q", tt.names, tt.client, got, tt.want)
		}
	}
}

func TestURLHost(t *testing.T) {
	tests := []struct {
		names []string
		want  string
	}{
		{[]string{"localhost", "127.0.0.1"}, "localhost"},
		{[]string{"::1", "localhost"}, "[::1]"},
		{[]string{"*.dev.local", "dev.local"}, "dev.local"},
		{[]string{"*.dev.local"}, "www.dev.local"},
		{[]string{"10.0.0.1"}, "10.0.0.1"},
	}
	for _, tt := range tests {
		var ns []mintName
		for _, n := range tt.names {
			ns = append(ns, mintName{Name: n})
		}
		if got := urlHost(ns); got != tt.want {
			t.Errorf("urlHost(%q) = %q, want %q", tt.names, got, tt.want)
		}
	}
}

// TestMintUsage drives run for mint's usage errors: exit 2, the message,
// and nothing written, neither a certificate nor a CA.
func TestMintUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"mint"}, "mint needs the DNS names and IP addresses"},
		{[]string{"mint", "--days", "0", "a.test"}, "--days 0: give a number of days from 1 to 36500"},
		{[]string{"mint", "--days", "-5", "a.test"}, "--days -5"},
		{[]string{"mint", "--days", "100000", "a.test"}, "--days 100000"},
		{[]string{"mint", "--days", "ten", "a.test"}, "invalid argument"},
		{[]string{"mint", "bad name!"}, `DNS name "bad name!" contains`},
		{[]string{"mint", "https://x.test/"}, "DNS name"},
		{[]string{"mint", "x.test:8443"}, "DNS name"},
		{[]string{"mint", "--key-type", "dsa", "x"}, `--key-type "dsa": use ecdsa (P-256), ecdsa-p384, ed25519, rsa (2048-bit), rsa-3072, rsa-4096`},
		{[]string{"mint", "--password-env", "PW", "x.test"}, "set the password of the .p12 that --pkcs12 writes"},
		{[]string{"mint", "--pkcs12", "--cert-file", "x.pem", "x.test"}, "give --p12-file FILE, not --cert-file or --key-file"},
		{[]string{"mint", "--p12-file", "x.p12", "--key-file", "x.pem", "x.test"}, "give --p12-file FILE"},
		{[]string{"mint", "--ca-cert", "ca.pem", "x.test"}, "--ca-cert and --ca-key go together"},
		{[]string{"mint", "--ca-dir", "d", "--ca-cert", "a.pem", "--ca-key", "b.pem", "x.test"}, "not both"},
		{[]string{"mint", "--caroot", "x.test"}, "--caroot prints the CA's folder and takes no names"},
		{[]string{"mint", "--caroot", "--client", "--pkcs12"}, "makes nothing: drop --pkcs12, --client"},
		{[]string{"mint", "--ca-only", "x.test"}, "--ca-only makes no certificate, so it takes no names"},
		{[]string{"mint", "--ca-only", "--out", "ca2"}, "--ca-only makes the dev CA in its own folder: drop --out"},
		{[]string{"mint", "--ca-only", "--client"}, "drop --client"},
		{[]string{"mint", "--key-only", "api.test"}, "--key-only makes a key and no certificate, so it takes no names"},
		{[]string{"mint", "--key-only", "--pkcs12"}, "--key-only writes only an unencrypted key (0600): drop --pkcs12"},
		{[]string{"mint", "--key-only", "--days", "30", "--client"}, "drop --client, --days"},
		{[]string{"mint", "--key-only", "--key-type", "dsa"}, `--key-type "dsa"`},
	}
	dir := t.TempDir()
	t.Chdir(dir)
	caroot := filepath.Join(dir, "caroot")
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[1:], " "), func(t *testing.T) {
			e, out, errb := testEnv(t, "", false)
			e.getenv = func(k string) string {
				if k == envCARoot {
					return caroot
				}
				return ""
			}
			if code := e.run(tt.args); code != exitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitUsage, errb)
			}
			if !strings.Contains(errb.String(), "httptrust: error: "+tt.want) && !strings.Contains(errb.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", errb, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout: %q", out)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("the folder holds %d entries after a usage error", len(entries))
			}
		})
	}
}
