package export

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// There is no Dart runtime here: these tests read the generated library
// (TestDartGrammar parses it with a Dart grammar) and check that each
// refusal the runtime tests prove for okhttp and python is in its code.

// dartSource exports the scenario store as dart and returns the library.
func dartSource(t *testing.T) string {
	t.Helper()
	w := newWorld(t)
	w.scenario("")
	data, err := os.ReadFile(filepath.Join(w.write(Options{Format: "dart"}), DartLibrary))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// dartFunc returns the body of the first function whose header contains
// sig, by brace matching (the generated code has no braces in strings
// there).
func dartFunc(t *testing.T, src, sig string) string {
	t.Helper()
	i := strings.Index(src, sig)
	if i < 0 {
		t.Fatalf("no %q in the dart library", sig)
	}
	open := strings.IndexByte(src[i:], '{')
	depth := 0
	for j := i + open; j < len(src); j++ {
		switch src[j] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return src[i : j+1]
			}
		}
	}
	t.Fatalf("%q: unbalanced braces", sig)
	return ""
}

func wantIn(t *testing.T, what, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Errorf("%s: no %q in\n%s", what, p, body)
		}
	}
}

// TestDartRefusesNonASCIIHosts: dart:io has no UTS-46 mapping, so a name
// that is not lower-case ASCII after lower-casing (Uri percent-encodes
// straße.test) is refused rather than routed as it stands.
func TestDartRefusesNonASCIIHosts(t *testing.T) {
	body := dartFunc(t, dartSource(t), "static String _normalize(String host)")
	wantIn(t, "_normalize", body, `RegExp(r'^[a-z0-9_.-]+$').hasMatch(name)`, "throw HttptrustRefused(")
	if strings.Contains(body, "return h.toLowerCase();") {
		t.Errorf("_normalize returns a lower-cased name unchecked:\n%s", body)
	}
}

// TestDartRefusesPlainHTTP: dart:io follows redirects itself and tells the
// connection factory nothing of them, so the factory refuses every plain
// connection: a redirect from https to http never leaves TLS.
func TestDartRefusesPlainHTTP(t *testing.T) {
	body := dartFunc(t, dartSource(t), "Future<ConnectionTask<Socket>> _connect(")
	i := strings.Index(body, "if (url.scheme != 'https') {")
	if i < 0 {
		t.Fatalf("_connect does not test the scheme:\n%s", body)
	}
	branch := dartFunc(t, body[i:], "if (url.scheme != 'https')")
	wantIn(t, "_connect, plain http", branch, "throw HttptrustRefused(")
	if strings.Contains(branch, "Socket.startConnect") {
		t.Errorf("_connect still opens plain connections:\n%s", branch)
	}
}

// TestDartChecksLeafDER: the library refuses a leaf with a negative serial
// and one signed with an algorithm Go does not verify, from its DER.
func TestDartChecksLeafDER(t *testing.T) {
	src := dartSource(t)
	body := dartFunc(t, src, "void _checkCert(_Scope s, X509Certificate leaf, String name)")
	wantIn(t, "_checkCert", body, "serial[0] & 0x80 != 0", "algorithm == _rsaPss ? _pssParams.contains(params) : _signatures.contains(algorithm)",
		"!signatureOk", "throw HttptrustRefused(")
	wantIn(t, "_check", dartFunc(t, src, "void _check(_Scope s, X509Certificate? leaf, String name)"), "_checkCert(s, leaf, name);")
	sigs := dartFunc(t, src, "const Set<String> _signatures =")
	for _, weak := range []string{"2a864886f70d010105", "2a8648ce3d0401", "2a864886f70d010104", oidRSAPSS} { // SHA-1 RSA, ECDSA-SHA1, MD5 RSA, PSS (by its parameters)
		if strings.Contains(sigs, weak) {
			t.Errorf("_signatures accepts %s", weak)
		}
	}
	pss := dartFunc(t, src, "const Set<String> _pssParams =")
	for _, p := range goPSSParams() {
		if !strings.Contains(pss, "'"+p+"'") {
			t.Errorf("_pssParams lacks %s", p)
		}
	}
	if n := strings.Count(pss, "'"); n != 2*len(goPSSParams()) {
		t.Errorf("_pssParams holds %d strings, want %d", n/2, len(goPSSParams()))
	}
	wantIn(t, "_rsaPss", src, "const String _rsaPss = '"+oidRSAPSS+"';")
}
