package export

import (
	"crypto/tls"
	"errors"
	"net"
	"sort"
	"testing"
)

// TestGoDefaultTLSParameters: the cipher suites the okhttp and curl
// outputs offer are those Go's client offers by default (httptrust's),
// and their groups are among Go's.
func TestGoDefaultTLSParameters(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	hello := make(chan *tls.ClientHelloInfo, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		tls.Server(c, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			hello <- h
			return nil, errors.New("enough")
		}}).Handshake()
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: "x.test"})
	if err == nil {
		c.Close()
	}
	h := <-hello
	var got, want []string
	for _, s := range h.CipherSuites {
		got = append(got, tls.CipherSuiteName(s))
	}
	want = javaSuites()
	sort.Strings(got)
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("Go offers %v, the exports %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("Go offers %v, the exports %v", got, want)
		}
	}
	offered := map[tls.CurveID]bool{}
	for _, c := range h.SupportedCurves {
		offered[c] = true
	}
	for _, c := range goCurves {
		if !offered[c.id] {
			t.Errorf("the exports offer %s, which Go does not (%v)", c.openssl, h.SupportedCurves)
		}
	}
}
