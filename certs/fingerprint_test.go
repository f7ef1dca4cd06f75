package certs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestCertFingerprint(t *testing.T) {
	f := testPKI(t)
	fp := CertFingerprint(f.leaf)
	sum := sha256.Sum256(f.leaf.Raw)
	if fp.String() != hex.EncodeToString(sum[:]) {
		t.Errorf("String = %s", fp)
	}
	colon := fp.Colon()
	if len(colon) != 95 || colon != strings.ToUpper(colon) || strings.ReplaceAll(colon, ":", "") != strings.ToUpper(fp.String()) {
		t.Errorf("Colon = %s", colon)
	}
	for _, s := range []string{fp.String(), colon} {
		back, err := ParseFingerprint(s)
		if err != nil || back != fp {
			t.Errorf("ParseFingerprint(%q) = %v, %v", s, back, err)
		}
	}
}

func TestParseFingerprint(t *testing.T) {
	want := Fingerprint(sha256.Sum256([]byte("cert")))
	lower := want.String()
	colon := want.Colon()
	spaced := strings.ReplaceAll(colon, ":", " ")
	for _, s := range []string{
		lower, strings.ToUpper(lower), colon, strings.ToLower(colon), spaced, "  " + lower + "\n",
		"sha256:" + lower, "SHA256:" + colon, "SHA256 Fingerprint=" + colon, "sha256 fingerprint=" + lower,
		"sha-256: " + colon, "sha256=" + lower,
	} {
		got, err := ParseFingerprint(s)
		if err != nil || got != want {
			t.Errorf("ParseFingerprint(%q) = %v, %v", s, got, err)
		}
	}
	const hint = "openssl x509 -noout -fingerprint -sha256 -in FILE prints it"
	sha1 := strings.Repeat("AB:", 19) + "AB"
	bad := []struct{ in, msg string }{
		{sha1, `certs: fingerprint "` + sha1 + `": 40 hex digits is a SHA-1 fingerprint, which is not supported; give the SHA-256 one (` + hint + `)`},
		{"SHA1 Fingerprint=" + sha1, `certs: fingerprint "SHA1 Fingerprint=` + sha1 + `": a SHA-1 fingerprint, which is not supported; give the SHA-256 one (` + hint + `)`},
		{"md5:" + strings.Repeat("a", 32), `certs: fingerprint "md5:` + strings.Repeat("a", 32) + `": an MD5 fingerprint, which is not supported; give the SHA-256 one (` + hint + `)`},
		{strings.Repeat("a", 32), `certs: fingerprint "` + strings.Repeat("a", 32) + `": 32 hex digits is an MD5 fingerprint, which is not supported; give the SHA-256 one (` + hint + `)`},
		{lower[:62], `certs: fingerprint "` + lower[:62] + `": 62 hex digits, a SHA-256 fingerprint has 64`},
		{lower + "00", `certs: fingerprint "` + lower + `00": 66 hex digits, a SHA-256 fingerprint has 64`},
		{"", `certs: fingerprint "": 0 hex digits, a SHA-256 fingerprint has 64`},
		{"zz" + lower[2:], `certs: fingerprint "zz` + lower[2:] + `": 'z' is not a hex digit; expected 64 hex digits, optionally separated by ':' or ' '`},
		{"sha256/" + strings.Repeat("A", 43) + "=", `certs: fingerprint "sha256/` + strings.Repeat("A", 43) + `=": this is an SPKI pin, ` +
			`not a certificate fingerprint; give it as a pin, or give the fingerprint (` + hint + `)`},
	}
	for _, tc := range bad {
		_, err := ParseFingerprint(tc.in)
		var se *SyntaxError
		if !errors.As(err, &se) || err.Error() != tc.msg {
			t.Errorf("ParseFingerprint(%q)\n got %v\nwant %s", tc.in, err, tc.msg)
		}
	}
}
