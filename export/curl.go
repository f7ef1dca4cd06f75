package export

import (
	"encoding/base64"
	"path"
	"strings"

	"github.com/httptrust/httptrust/certs"
)

// curlEmptyDir is the folder, inside the export, that the flag files give
// curl as its CA folder: Debian's curl keeps reading /etc/ssl/certs after
// --cacert, so an empty folder is what keeps the system roots out.
const curlEmptyDir = "empty-capath"

func genCurl(m *model) error {
	m.file(curlEmptyDir+"/README", 0o644, func() []byte {
		return []byte(m.comment("# ") + "#\n# This folder is empty on purpose: the flag files name it as curl's CA folder (--capath),\n# so that a curl built with a default CA folder (Debian: /etc/ssl/certs) trusts only the rule's certificates.\n")
	})
	for _, sc := range m.scopes {
		if sc.kind == kDefaults && !sc.noTrust && len(sc.anchors) == 0 && sc.system {
			continue // curl's own defaults
		}
		m.curlScope(sc)
	}
	return nil
}

func (m *model) outPath(name string) string {
	if m.o.OutDir == "" {
		return name
	}
	return path.Join(m.o.OutDir, name)
}

func (m *model) curlScope(sc *scope) {
	base := fileBase(sc)
	var lines []string
	cs := m.bundleCerts(sc)
	own := len(cs) > 0 || sc.noTrust || !sc.system
	if own {
		m.file(base+".pem", 0o644, func() []byte {
			head := m.comment("# ") + "#\n# The CA file of " + base + ".curl.\n"
			return append([]byte(head), pemBundle(cs, true)...)
		})
		lines = append(lines, "cacert = "+curlQuote(m.outPath(base+".pem")))
		if !sc.system {
			lines = append(lines, "# system_roots = false: an empty CA folder, so that no system root is trusted", "capath = "+curlQuote(m.outPath(curlEmptyDir)))
		} else {
			lines = append(lines, "# system_roots = true: curl's default CA folder (Debian: /etc/ssl/certs) stays trusted besides this file;",
				"# a curl built with a CA file only (no folder) trusts this file alone here (stricter)")
			m.warn(sc, "curl keeps the system roots beside the rule's certificates only where it is built with a default CA folder (Debian); elsewhere it trusts the certificates alone")
		}
	}
	if pins := m.curlPins(sc); pins != "" {
		lines = append(lines, "pinnedpubkey = "+curlQuote(pins))
	}
	lines = append(lines, "tlsv"+tlsName(sc.eff.MinTLS),
		"# The cipher suites and groups Go's TLS offers (httptrust's): no static RSA key exchange, DHE, CBC with SHA-256,",
		"# or other groups (Go's ML-KEM hybrids are left out: OpenSSL 3.0 does not have them).",
		"ciphers = "+curlQuote(opensslList(goSuites)),
		"tls13-ciphers = "+curlQuote(opensslList(goSuitesTLS13)),
		"curves = "+curlQuote(opensslCurves()),
		"# This file is the trust of these hosts alone: no redirect is followed (another host's trust is another file),",
		"# and only https is spoken, even where a later -L --max-redirs follows one.",
		"max-redirs = 0",
		`proto = "=https"`,
		`proto-redir = "=https"`)
	m.file(base+".curl", 0o644, func() []byte {
		head := m.comment("# ") + "#\n# curl flags for " + commentSafe(sc.label) + ". Use: curl -q -K " + commentSafe(m.outPath(base+".curl")) + " https://HOST/\n" +
			"# (-q first keeps a ~/.curlrc from adding flags such as --insecure).\n"
		return []byte(head + strings.Join(lines, "\n") + "\n")
	})
}

// curlPins returns the --pinnedpubkey value: the leaf's pins (curl pins the
// leaf's key only), or for a rule whose only trust is exact certificates,
// their keys.
func (m *model) curlPins(sc *scope) string {
	var keys []string
	add := func(p certs.Pin) { keys = append(keys, "sha256//"+base64.StdEncoding.EncodeToString(p[:])) }
	if sc.pinSet != nil {
		if !sc.pinSet.Enforce {
			return "" // report-only: dropped (the table says so)
		}
		for _, p := range sc.pins {
			if p.level != pinCA {
				add(p.pin)
			}
		}
		if len(keys) == 0 {
			return ""
		}
		return strings.Join(keys, ";")
	}
	if sc.exactOnly() {
		for _, c := range sc.exact {
			add(certs.SPKIPin(c))
		}
	}
	return strings.Join(keys, ";")
}

// curlQuote quotes s for a curl config file.
func curlQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}
