package certs

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// testPin is the pin of the bytes "pin", for messages that can be fixed.
var testPin = Pin(sha256.Sum256([]byte("pin")))

func TestSPKIPin(t *testing.T) {
	f := testPKI(t)
	p := SPKIPin(f.leaf)
	if p != Pin(sha256.Sum256(f.leaf.RawSubjectPublicKeyInfo)) {
		t.Error("SPKIPin is not sha256 of the SubjectPublicKeyInfo")
	}
	want := "sha256/" + base64.StdEncoding.EncodeToString(p[:])
	if p.String() != want {
		t.Errorf("String = %s, want %s", p, want)
	}
	back, err := ParsePin(p.String())
	if err != nil || back != p {
		t.Errorf("ParsePin(String) = %v, %v", back, err)
	}
	if SPKIPin(f.leaf) == SPKIPin(f.other) {
		t.Error("two keys share a pin")
	}
}

func TestParsePin(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString(testPin[:])
	raw := strings.TrimRight(b64, "=")
	short := base64.StdEncoding.EncodeToString(make([]byte, 20))
	ok := []string{
		"sha256/" + b64,
		"  sha256/" + b64 + "\n",
		"SHA256/" + b64,
		"sha256/" + raw,
		"sha256//" + b64,
		`pin-sha256="` + b64 + `"`,
		`pin-sha256=` + b64,
		` pin-sha256 = "` + b64 + `" `,
		`PIN-SHA256="` + b64 + `"`,
	}
	for _, s := range ok {
		p, err := ParsePin(s)
		if err != nil || p != testPin {
			t.Errorf("ParsePin(%q) = %v, %v", s, p, err)
		}
	}
	bad := []struct{ in, msg string }{
		{"", `certs: pin "": empty; ` + pinForms},
		{"sha256/", `certs: pin "sha256/": OkHttp form sha256/<base64>: no base64 after the prefix`},
		{"sha256/AAAA", `certs: pin "sha256/AAAA": OkHttp form sha256/<base64>: decodes to 3 bytes, a SHA-256 pin has 32`},
		{"sha256//" + short, `certs: pin "sha256//` + short + `": curl form sha256//<base64>: decodes to 20 bytes, ` +
			`a SHA-256 pin has 32 (20 bytes is SHA-1, which is not supported)`},
		{"sha256/!!!", `certs: pin "sha256/!!!": OkHttp form sha256/<base64>: not base64: illegal base64 data at input byte 0`},
		{"sha256/" + strings.NewReplacer("+", "-", "/", "_").Replace(b64) + "-",
			`certs: pin "sha256/` + strings.NewReplacer("+", "-", "/", "_").Replace(b64) + `-": OkHttp form sha256/<base64>: ` +
				`uses the URL-safe base64 alphabet ('-', '_'); pins use standard base64 ('+', '/')`},
		{"sha1/" + short, `certs: pin "sha1/` + short + `": sha1/ pins are not supported; pins are SHA-256 of the public key: sha256/<base64>`},
		{`pin-sha256 "` + b64 + `"`, `certs: pin "pin-sha256 \"` + b64 + `\"": HPKP form pin-sha256="<base64>": no "=" after pin-sha256`},
		{`pin-sha256="` + b64, `certs: pin "pin-sha256=\"` + b64 + `": HPKP form pin-sha256="<base64>": unbalanced quotes`},
		{`pin-sha256="`, `certs: pin "pin-sha256=\"": HPKP form pin-sha256="<base64>": unbalanced quotes`},
		{b64, `certs: pin "` + b64 + `": missing the "sha256/" prefix; write sha256/` + b64},
		{"md5/abc", `certs: pin "md5/abc": ` + pinForms},
		{strings.Repeat("ab", 32), `certs: pin "` + strings.Repeat("ab", 32) + `": this is a certificate fingerprint (hex), ` +
			`not a pin; a pin is the base64 SHA-256 of the public key, as in sha256/<base64>`},
	}
	for _, tc := range bad {
		_, err := ParsePin(tc.in)
		var se *SyntaxError
		if !errors.As(err, &se) || err.Error() != tc.msg {
			t.Errorf("ParsePin(%q)\n got %v\nwant %s", tc.in, err, tc.msg)
		}
	}
}

// A pin whose base64 starts with '/' reads the same in OkHttp's form as
// another string in curl's; both must parse to it.
func TestParsePinLeadingSlash(t *testing.T) {
	p := Pin{0xfc, 0x01, 0x02}
	b64 := base64.StdEncoding.EncodeToString(p[:])
	if b64[0] != '/' {
		t.Fatalf("base64 %s does not start with '/'", b64)
	}
	for _, s := range []string{p.String(), "sha256//" + b64, `pin-sha256="` + b64 + `"`} {
		got, err := ParsePin(s)
		if err != nil || got != p {
			t.Errorf("ParsePin(%q) = %v, %v", s, got, err)
		}
	}
	pins, err := ParsePins(p.String() + ";sha256//" + b64)
	if err != nil || len(pins) != 2 || pins[0] != p || pins[1] != p {
		t.Errorf("ParsePins = %v, %v", pins, err)
	}
}

func TestParsePins(t *testing.T) {
	a := testPin
	b := Pin(sha256.Sum256([]byte("backup")))
	a64, b64 := base64.StdEncoding.EncodeToString(a[:]), base64.StdEncoding.EncodeToString(b[:])
	ok := []struct {
		in   string
		want []Pin
	}{
		{"sha256//" + a64, []Pin{a}},
		{"sha256//" + a64 + ";sha256//" + b64, []Pin{a, b}},
		{"sha256//" + a64 + "; sha256//" + b64 + ";", []Pin{a, b}},
		{"sha256/" + a64 + ", sha256/" + b64, []Pin{a, b}},
		{`pin-sha256="` + a64 + `"; pin-sha256="` + b64 + `"; max-age=5184000; includeSubDomains; ` +
			`report-uri="https://example.test/hpkp?a=1;b=2"`, []Pin{a, b}},
		{`max-age=10; pin-sha256="` + b64 + `"; Report-To="x"`, []Pin{b}},
	}
	for _, tc := range ok {
		got, err := ParsePins(tc.in)
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("ParsePins(%q) = %v, %v", tc.in, got, err)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("ParsePins(%q)[%d] = %v, want %v", tc.in, i, got[i], tc.want[i])
			}
		}
	}
	bad := []struct{ in, msg string }{
		{"", `certs: pins "": no pin found; ` + pinForms + ", separated by ';'"},
		{" ; ;", `certs: pins " ; ;": no pin found; ` + pinForms + ", separated by ';'"},
		{"max-age=10; includeSubDomains", `certs: pins "max-age=10; includeSubDomains": no pin found; ` + pinForms + ", separated by ';'"},
		{"sha256//" + a64 + ";sha256//AAAA", `certs: pin "sha256//AAAA": curl form sha256//<base64>: decodes to 3 bytes, a SHA-256 pin has 32`},
		{"sha256//" + a64 + ";bogus", `certs: pin "bogus": ` + pinForms},
	}
	for _, tc := range bad {
		_, err := ParsePins(tc.in)
		if err == nil || err.Error() != tc.msg {
			t.Errorf("ParsePins(%q)\n got %v\nwant %s", tc.in, err, tc.msg)
		}
	}
}

func TestSyntaxErrorShortensInput(t *testing.T) {
	_, err := ParsePin(strings.Repeat("x", 5000))
	if err == nil || len(err.Error()) > 400 {
		t.Errorf("err = %.100v... (%d bytes)", err, len(err.Error()))
	}
}
