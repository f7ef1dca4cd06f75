package export

import (
	"crypto/tls"
	"strings"
)

// The TLS parameters Go's client offers by default, which httptrust
// keeps: the formats that can set them per host (okhttp, curl) offer
// these and no others, so that a server that speaks only what Go refuses
// (static RSA key exchange, DHE, CBC with SHA-256, the X448 or ffdhe
// groups) is refused there too.

// goSuite is a cipher suite with its OpenSSL name (the Java name is the
// IANA one, tls.CipherSuiteName).
type goSuite struct {
	id      uint16
	openssl string
}

// goSuites are the TLS 1.0-1.2 cipher suites of Go's default client, in
// its order (crypto/tls defaults.go: ECDHE with AES-GCM or ChaCha20, then
// ECDHE with AES-CBC and SHA-1; RSA key exchange, 3DES, CBC with SHA-256
// and RC4 are off).
var goSuites = []goSuite{
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256"},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256"},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384"},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384"},
	{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305"},
	{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305"},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE-ECDSA-AES128-SHA"},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE-RSA-AES128-SHA"},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE-ECDSA-AES256-SHA"},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE-RSA-AES256-SHA"},
}

// goSuitesTLS13 are the TLS 1.3 cipher suites of Go (all three).
var goSuitesTLS13 = []goSuite{
	{tls.TLS_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256"},
	{tls.TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384"},
	{tls.TLS_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256"},
}

// goCurve is a key exchange group with its OpenSSL name.
type goCurve struct {
	id      tls.CurveID
	openssl string
}

// goCurves are the groups of Go's default client that OpenSSL 3.0 (curl
// 7.88 on Debian 12) knows: Go offers the ML-KEM hybrids first, which
// OpenSSL has only from 3.5, so they are left out (stricter).
var goCurves = []goCurve{
	{tls.X25519, "X25519"}, {tls.CurveP256, "P-256"}, {tls.CurveP384, "P-384"}, {tls.CurveP521, "P-521"},
}

// opensslList joins the OpenSSL names of suites.
func opensslList(suites []goSuite) string {
	var names []string
	for _, s := range suites {
		names = append(names, s.openssl)
	}
	return strings.Join(names, ":")
}

func opensslCurves() string {
	var names []string
	for _, c := range goCurves {
		names = append(names, c.openssl)
	}
	return strings.Join(names, ":")
}

// javaSuites are the Java (IANA) names of Go's suites, TLS 1.3 first.
func javaSuites() []string {
	var names []string
	for _, s := range append(append([]goSuite{}, goSuitesTLS13...), goSuites...) {
		names = append(names, tls.CipherSuiteName(s.id))
	}
	return names
}
