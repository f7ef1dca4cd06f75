package main

import (
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
