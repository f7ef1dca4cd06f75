package main

import (
	"strings"
	"testing"

	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

// TestNoForgedWrappedRows: a certificate whose subject is long and ends in
// what reads as a pin line ("sha256/<the operator's pin> CN=api.corp.test")
// cannot, on an 80-column terminal, start a row with that text in
// diagnose's steps (chain, expiry, pins), its fix, or check URL's tables:
// every line that holds it is cut or laid out in rows that fit.
func TestNoForgedWrappedRows(t *testing.T) {
	noLeaks(t)
	const real = "sha256/REALPINoftheREALserverFROMtheOPERATOR0000000="
	for _, tt := range []struct{ name, cn string }{
		// pin's row is "<51-character pin> CN=<cn>": 80 columns exactly
		{"at 80", "api" + strings.Repeat("x", 80-51-1-3-3) + real + " CN=api.corp.test"},
		{"at 80 in a detail", "api" + strings.Repeat("x", 80-9-3-3) + real + " CN=api.corp.test"},
		{"long", "api" + strings.Repeat("x", 400) + " " + real + " CN=api.corp.test"},
		{"spaced", "api" + strings.Repeat("x ", 60) + real + " CN=api.corp.test"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			leaf, err := mint.New(mint.Template{CommonName: tt.cn, Names: []string{"127.0.0.1"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			srv := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(leaf), nil)
			for _, args := range [][]string{{"diagnose", srv.URL}, {"check", srv.URL}} {
				e, out, errb := testEnv(t, "", false)
				e.run(args)
				if !strings.Contains(out.String(), "CN=api") {
					t.Fatalf("%s: the subject is not shown:\n%s%s", args[0], out, errb)
				}
				for _, w := range []struct{ name, text string }{{"stdout", out.String()}, {"stderr", errb.String()}} {
					for _, r := range screen(w.text, 80) {
						if (!r.first && strings.Contains(r.text, "REALPIN")) || strings.HasPrefix(strings.TrimLeft(r.text, " "), "sha256/REALPIN") {
							t.Errorf("%s %s: a row starts with the certificate's text where the terminal wraps: %q\n--- %s:\n%s", args[0], w.name, r.text, w.name, w.text)
						}
					}
				}
			}
		})
	}
}
