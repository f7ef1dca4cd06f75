package export

import (
	"crypto/elliptic"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// PythonModule is the file name of the python format's module.
const PythonModule = "httptrust_policy.py"

// pythonFirstLines open every python file: Python reads its source encoding
// from a comment on line 1 or 2 (PEP 263), so neither may hold text of the
// store's (its path, a file name): a store path with "coding=shift_jis_2004"
// would make Python read each backslash as a yen sign, and every \" of a
// string literal would end it. Line 1 declares UTF-8, in which the module is
// written; line 2 is fixed (Python reads it only when line 1 declares none).
const pythonFirstLines = "# -*- coding: utf-8 -*-\n# Generated code: the lines below say what made it and from which store.\n"

func genPython(m *model) error {
	scopes, rt := m.codeModel(false)
	m.file(PythonModule, 0o644, func() []byte {
		var b strings.Builder
		b.WriteString(pythonFirstLines)
		b.WriteString(m.comment("# "))
		b.WriteString(pythonDoc)
		b.WriteString("\n_SCOPES = [\n")
		for _, s := range scopes {
			b.WriteString(pythonScope(s))
		}
		b.WriteString("]\n\n")
		fmt.Fprintf(&b, "_EXACT = %s\n_ONE = %s\n_ANY = %s\n_APEX = %s\n", pyMap(rt.exact), pyMap(rt.one), pyMap(rt.any), pyMap(rt.apex))
		b.WriteString("_CIDR = [\n")
		for _, c := range rt.cidr {
			fmt.Fprintf(&b, "    (%s, %d),\n", strconv.Quote(fmt.Sprintf("%s/%d", c.network, c.bits)), c.id)
		}
		b.WriteString("]\n")
		if rt.def < 0 {
			b.WriteString("_DEFAULT = None  # an export of some hosts only: every other host is refused\n")
		} else {
			fmt.Fprintf(&b, "_DEFAULT = %d\n", rt.def)
		}
		b.WriteString(pythonSignatures())
		b.WriteString(pythonKeys())
		b.WriteString(pythonTLS())
		b.WriteString(pythonCode)
		return []byte(b.String())
	})
	return nil
}

// pythonSignatures are the signature algorithms Go verifies, as the DER
// the module compares.
func pythonSignatures() string {
	set := func(hexes []string) string {
		return "{bytes.fromhex(h) for h in (\n    " + strings.Join(quoteAll(hexes), ",\n    ") + ")}"
	}
	return "\n# The signature algorithms Go verifies (DER OID values): RSA PKCS#1\n" +
		"# SHA-256/384/512, ECDSA SHA-256/384/512, Ed25519 (no SHA-1, MD5 or DSA);\n" +
		"# RSA-PSS only with these parameters (DER): SHA-256/384/512 for the hash and\n" +
		"# MGF1, a salt as long as the hash.\n" +
		"_SIGNATURES = " + set(goSignatureOIDs) + "\n" +
		"_RSA_PSS = bytes.fromhex(" + strconv.Quote(oidRSAPSS) + ")\n" +
		"_PSS_PARAMS = " + set(goPSSParams()) + "\n"
}

// pythonCiphers are the TLS 1.0-1.2 cipher suites Go's client offers by
// default (Go 1.26, crypto/tls defaultCipherSuites), in OpenSSL's names:
// ECDHE with AES-GCM, ChaCha20-Poly1305 and AES-CBC with SHA-1; no RSA key
// exchange, DHE, CBC with SHA-256, 3DES or RC4.
// TestPythonOffersGosParameters compares them with Go's ClientHello.
var pythonCiphers = []string{
	"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
	"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
	"ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
	"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA",
	"ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
}

// pythonTLS13 are the TLS 1.3 cipher suites Go's client offers, in
// OpenSSL's names (OpenSSL offers the same three by default; Python 3.11
// cannot set them, so the module checks the one negotiated).
var pythonTLS13 = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}

func pythonTLS() string {
	return "\n# The cipher suites Go's client offers: TLS 1.0-1.2 (OpenSSL's names, set on\n" +
		"# each context) and TLS 1.3 (OpenSSL's defaults; the module checks the one\n" +
		"# negotiated). The key exchange group: P-256 alone (Python's ssl sets one\n" +
		"# group, set_ecdh_curve, not a list; Go's client offers X25519, P-256,\n" +
		"# P-384, P-521 and hybrids of them with ML-KEM).\n" +
		"_CIPHERS = " + strconv.Quote(strings.Join(pythonCiphers, ":")) + "\n" +
		"_SUITES = frozenset(_CIPHERS.split(\":\") + " + pyList(pythonTLS13) + ")\n" +
		"_GROUP = \"prime256v1\"\n"
}

// pythonKeys are the public key algorithms and curves Go reads, as the
// DER OID values the module compares, and each curve's field prime and b
// (y^2 = x^3 - 3x + b), with which the module checks that a point is on
// it, as Go's parser does.
func pythonKeys() string {
	oid := func(ids ...int) string {
		der := mustMarshal(asn1.ObjectIdentifier(ids))
		return strconv.Quote(hex.EncodeToString(der[2:]))
	}
	var b strings.Builder
	b.WriteString("\n# The public keys Go reads (DER OID values): RSA (rsaEncryption), EC on the\n" +
		"# curves below, Ed25519, DSA (read, never used). Any other algorithm (Ed448,\n" +
		"# X25519, X448, RSASSA-PSS, ...) Go does not read: it cannot use such a key.\n")
	fmt.Fprintf(&b, "_KEY_RSA = bytes.fromhex(%s)\n", oid(1, 2, 840, 113549, 1, 1, 1))
	fmt.Fprintf(&b, "_KEY_EC = bytes.fromhex(%s)\n", oid(1, 2, 840, 10045, 2, 1))
	fmt.Fprintf(&b, "_KEY_ED25519 = bytes.fromhex(%s)\n", oid(1, 3, 101, 112))
	fmt.Fprintf(&b, "_KEY_DSA = bytes.fromhex(%s)\n", oid(1, 2, 840, 10040, 4, 1))
	b.WriteString("# The curves Go reads: OID value -> (name, field prime p, b, bytes of a coordinate).\n_CURVES = {\n")
	for _, c := range []struct {
		curve elliptic.Curve
		oid   []int
	}{
		{elliptic.P224(), []int{1, 3, 132, 0, 33}},
		{elliptic.P256(), []int{1, 2, 840, 10045, 3, 1, 7}},
		{elliptic.P384(), []int{1, 3, 132, 0, 34}},
		{elliptic.P521(), []int{1, 3, 132, 0, 35}},
	} {
		p := c.curve.Params()
		fmt.Fprintf(&b, "    bytes.fromhex(%s): (%s, 0x%x,\n        0x%x, %d),\n", oid(c.oid...), strconv.Quote(p.Name), p.P, p.B, (p.BitSize+7)/8)
	}
	b.WriteString("}\n")
	return b.String()
}

func quoteAll(items []string) []string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return q
}

func pyBool(v bool) string {
	if v {
		return "True"
	}
	return "False"
}

func pyStr(s string) string {
	if s == "" {
		return "None"
	}
	return strconv.Quote(s)
}

func pyMap(mp map[string]int) string {
	keys := make([]string, 0, len(mp))
	for k := range mp {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", strconv.Quote(k), mp[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func pyList(items []string) string {
	var q []string
	for _, s := range items {
		q = append(q, strconv.Quote(s))
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func pythonScope(s *codeScope) string {
	var b strings.Builder
	fmt.Fprintf(&b, "    {  # %d: %s\n", s.id, commentSafe(s.label))
	fmt.Fprintf(&b, "        \"label\": %s,\n", strconv.Quote(s.label))
	fmt.Fprintf(&b, "        \"refuse\": %s,\n", pyStr(s.refuse))
	fmt.Fprintf(&b, "        \"system\": %s,\n", pyBool(s.system))
	b.WriteString("        \"cadata\": " + strconv.Quote(string(pemBundle(s.anchors, false))) + ",\n")
	fmt.Fprintf(&b, "        \"exact_only\": %s,\n", pyBool(s.exactOnly))
	b.WriteString("        \"exact\": [\n")
	for _, x := range s.exact {
		fmt.Fprintf(&b, "            # %s\n", commentSafe(certName(x.cert)))
		fmt.Fprintf(&b, "            (%s, %d, %d, %s, %s),\n", strconv.Quote(pemB64(x.cert.Raw)), x.notBefore, x.notAfter, pyList(x.dns), pyList(x.ips))
	}
	b.WriteString("        ],\n")
	fmt.Fprintf(&b, "        \"pins\": %s,\n", pyList(s.pins))
	fmt.Fprintf(&b, "        \"pins_end\": %s,\n", pyStr(s.pinsEnd))
	fmt.Fprintf(&b, "        \"enforce\": %s,\n", pyBool(s.enforce))
	fmt.Fprintf(&b, "        \"allow_expired\": %s,\n", pyBool(s.allowExpired))
	fmt.Fprintf(&b, "        \"allow_name_mismatch\": %s,\n", pyBool(s.allowNameMismatch))
	fmt.Fprintf(&b, "        \"server_name\": %s,\n", pyStr(s.serverName))
	fmt.Fprintf(&b, "        \"min_tls\": %s,\n", strconv.Quote(s.minTLS))
	b.WriteString("    },\n")
	return b.String()
}

const pythonDoc = `"""Trust for each host, as the httptrust policy says: an ssl.SSLContext per
host (context_for), a requests session (session / Adapter) and httpx
transports (Transport, AsyncTransport; client).

Every host gets the trust of its rule and no other: a certificate trusted for
one host never vouches for another. Verification is never turned off, and
nothing global is changed. Each context offers the cipher suites Go's
client offers and one key exchange group, P-256. After each handshake the
chain OpenSSL verified (Python 3.10 and later show it) is checked as
httptrust checks it: the pins against each of its certificates, and what Go
refuses and OpenSSL does not (a negative serial number, a signature
algorithm Go does not verify, a key Go cannot use, a wildcard under an
excluded name constraint). Where Python shows no verified chain (3.9 and
earlier), only the rules of exact certificates alone work.

    import httptrust_policy
    s = httptrust_policy.session()                 # requests
    s.get("https://device.local/")
    c = httptrust_policy.client()                  # httpx
    ctx = httptrust_policy.context_for("device.local", 443)   # ssl, urllib3, ...
"""

import _ssl
import datetime
import hashlib
import ipaddress
import ssl
import sys
import time
import warnings
from base64 import b64decode, b64encode

try:
    import idna as _idna  # requests and httpx need it too
except ImportError:
    _idna = None
`

const pythonCode = `

_TLS = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
        "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
_VERSIONS = {"TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
             "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}


class RefusedError(ssl.SSLCertVerificationError):
    """A connection the policy does not trust, or a host it does not cover.
    It carries errno, strerror and reason as ssl's own errors do, so that
    libraries that read them (anyio, under httpx async) treat it as one."""

    def __init__(self, message):
        super().__init__(1, message)
        self.reason = "CERTIFICATE_VERIFY_FAILED"
        self.library = "httptrust"
        self.verify_code = 1
        self.verify_message = message

    def __str__(self):
        return self.strerror


def _is_normal(s):
    """Whether s is already a host name in the form httptrust compares:
    lower-case ASCII labels of letters, digits, "_" and inner "-"."""
    if not s or len(s) > 253 or not s.isascii():
        return False
    labels = s.split(".")
    for label in labels:
        if not label or len(label) > 63 or label[0] == "-" or label[-1] == "-":
            return False
        if label.strip("abcdefghijklmnopqrstuvwxyz0123456789_-"):
            return False
    return not labels[-1].isdigit()


def _norm(host):
    """The form in which httptrust compares host, and whether it is an IP:
    names are mapped as httptrust maps them (UTS-46, non-transitional: the
    idna package, never Python's IDNA 2003 codec); a name that cannot be
    mapped so is refused."""
    host = (host or "").strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        ip = ipaddress.ip_address(host)
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return str(ip), True
    except ValueError:
        pass
    if host.endswith("."):
        host = host[:-1]
    if _is_normal(host):
        return host, False
    if _idna is None:
        if host.isascii() and _is_normal(host.lower()):
            return host.lower(), False
        raise RefusedError("httptrust: %r: a name that is not lower-case ASCII needs the idna package "
                           "(pip install idna) to be mapped as httptrust maps it" % host)
    try:
        ascii = _idna.encode(host, uts46=True, transitional=False).decode("ascii").lower()
    except (_idna.IDNAError, UnicodeError, ValueError) as e:
        raise RefusedError("httptrust: %r is not a host name httptrust can match: %s" % (host, e))
    if not _is_normal(ascii):
        raise RefusedError("httptrust: %r is not a host name httptrust can match" % host)
    return ascii, False


def _port_key(host, port):
    if ":" in host:
        return "[%s]:%d" % (host, port)
    return "%s:%d" % (host, port)


def scope_for(host, port=443):
    """Returns the index in _SCOPES of the rule that decides host:port, as
    httptrust's precedence says, or raises RefusedError."""
    h, is_ip = _norm(host)
    for key in (_port_key(h, int(port or 443)), h):
        if key in _EXACT:
            return _EXACT[key]
    if is_ip:
        addr = ipaddress.ip_address(h)
        for net, i in _CIDR:
            net = ipaddress.ip_network(net)
            if addr.version == net.version and addr in net:
                return i
    else:
        if h in _APEX:
            return _APEX[h]
        labels = h.split(".")
        for n in range(1, len(labels)):
            parent = ".".join(labels[n:])
            if n == 1 and parent in _ONE:
                return _ONE[parent]
            if parent in _ANY:
                return _ANY[parent]
    if _DEFAULT is None:
        raise RefusedError("httptrust: %s is not a host of this export" % host)
    return _DEFAULT


class _Malformed(ValueError):
    """A certificate the module reads as Go's parser would, and refuses."""


def _der(b, i, end, want=None):
    """The DER element at b[i:end]: its tag, the start of its value, and its
    end. Only DER is read: a one-byte tag, a definite length in its shortest
    form, all of it before end."""
    if end - i < 2:
        raise _Malformed("truncated DER")
    tag, n = b[i], b[i + 1]
    if tag & 0x1F == 0x1F:
        raise _Malformed("a DER tag of more than one byte")
    i += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4 or end - i < k or b[i] == 0:
            raise _Malformed("a DER length that is not in its shortest form")
        n = int.from_bytes(b[i:i + k], "big")
        if n < 0x80:
            raise _Malformed("a DER length that is not in its shortest form")
        i += k
    if n > end - i:
        raise _Malformed("truncated DER")
    if want is not None and tag != want:
        raise _Malformed("DER tag 0x%02x where 0x%02x belongs" % (tag, want))
    return tag, i, i + n


def _items(b, start, end):
    """The DER elements that fill b[start:end], each (tag, start of its
    value, end, start of the element)."""
    out = []
    while start < end:
        tag, s, e = _der(b, start, end)
        out.append((tag, s, e, start))
        start = e
    return out


def _one(b, want):
    """The value of the one DER element b holds (start, end), nothing after it."""
    _, s, e = _der(b, 0, len(b), want)
    if e != len(b):
        raise _Malformed("bytes after a DER element")
    return s, e


def _integer(v, what):
    """A DER INTEGER's value bytes as Go reads them (shortest form)."""
    if not v or len(v) > 1 and (v[0] == 0 and v[1] < 0x80 or v[0] == 0xFF and v[1] >= 0x80):
        raise _Malformed("a malformed " + what)
    return v


def _oid(v):
    """An OBJECT IDENTIFIER's value, checked: base-128 numbers in their
    shortest form (at most 28 bits each)."""
    if not v or v[-1] & 0x80:
        raise _Malformed("a malformed object identifier")
    n = 0  # the bytes of the number so far
    for x in v:
        if n == 0 and x == 0x80:
            raise _Malformed("a malformed object identifier")
        n = n + 1 if x & 0x80 else 0
        if n > 3:
            raise _Malformed("an object identifier with a number of more than 28 bits")
    return bytes(v)


def _ia5(v, what):
    if any(x >= 0x80 for x in v):
        raise _Malformed("a %s that is not ASCII" % what)
    return bytes(v).decode("ascii")


def _domain_ok(s, constraint):
    """Whether Go reads s as a DNS name (or, constraint, a DNS name
    constraint, which may start with "."): no trailing dot, no empty label,
    the characters 33 to 126 only."""
    if not s:
        return True
    if s[-1] == ".":
        return False
    if constraint and s[0] == ".":
        s = s[1:]
    return all(label and all(33 <= ord(ch) <= 126 for ch in label) for label in s.split("."))


_ATEXT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_{|}~" + chr(96))


def _mailbox_ok(s):
    """Whether s is a mailbox of the plain form Go reads (dot-separated
    atoms, "@", a domain). Quoted and escaped local parts, which Go reads
    too, are refused: stricter."""
    local, at, domain = s.partition("@")
    return (at == "@" and domain != "" and _domain_ok(domain, False)
            and all(part and set(part) <= _ATEXT for part in local.split(".")))


_OID_SAN = bytes.fromhex("551d11")
_OID_NC = bytes.fromhex("551d1e")
_SAN_TAGS = {0x81: "emails", 0x82: "dns", 0x86: "uris"}


def _san(v, critical, c):
    """Reads a subjectAltName extension into c as Go does: the DNS names,
    email addresses and URIs ASCII, the IP addresses 4 or 16 bytes; other
    kinds of name are skipped."""
    s, e = _one(v, 0x30)
    for tag, a, b, _ in _items(v, s, e):
        if tag in _SAN_TAGS:
            c[_SAN_TAGS[tag]].append(_ia5(v[a:b], "subject alternative name"))
        elif tag == 0x87:
            if b - a not in (4, 16):
                raise _Malformed("an IP address of %d bytes" % (b - a))
            c["ips"].append(bytes(v[a:b]))
    if critical and not (c["dns"] or c["emails"] or c["uris"] or c["ips"]):
        raise _Malformed("a critical subjectAltName with no name Go reads")


def _ip_mask_ok(mask):
    bits = int.from_bytes(mask, "big")
    inverse = ~bits & ((1 << 8 * len(mask)) - 1)
    return inverse & (inverse + 1) == 0


def _name_constraints(v, critical):
    """Reads a NameConstraints extension as Go does. Every value is checked
    as Go's parser checks it; an IP range with host bits set or in IPv4-mapped
    form is refused too (Go's matching of those is its own: stricter). A kind
    of name Go does not handle (a directory name, ...) is refused when the
    extension is critical, as Go refuses it, and left to OpenSSL when not."""
    s, e = _one(v, 0x30)
    parts = _items(v, s, e)
    trees = {}
    for tag, a, b, _ in parts:
        which = {0xA0: "permitted", 0xA1: "excluded"}.get(tag)
        if which is None or which in trees or which == "permitted" and "excluded" in trees:
            raise _Malformed("an invalid NameConstraints extension")
        trees[which] = (a, b)
    if all(a == b for a, b in trees.values()):
        raise _Malformed("an empty NameConstraints extension")
    nc = {}
    for which in ("permitted", "excluded"):
        dns, ips, emails, uris = [], [], [], []
        a, b = trees.get(which, (0, 0))
        for tag, s, e, _ in _items(v, a, b):
            if tag != 0x30:
                raise _Malformed("an invalid NameConstraints extension")
            btag, bs, be = _der(v, s, e)  # the base; Go reads nothing after it
            val = v[bs:be]
            if btag == 0x82:
                d = _ia5(val, "DNS name constraint")
                if not _domain_ok(d, True):
                    raise _Malformed("a DNS name constraint Go cannot read: %r" % d)
                dns.append(d)
            elif btag == 0x87:
                if len(val) not in (8, 32):
                    raise _Malformed("an IP name constraint of %d bytes" % len(val))
                n = len(val) // 2
                ip, mask = bytes(val[:n]), bytes(val[n:])
                if not _ip_mask_ok(mask):
                    raise _Malformed("an IP name constraint with an invalid mask")
                if any(x & ~m & 0xFF for x, m in zip(ip, mask)) or n == 16 and _to4(ip) is not None:
                    raise _Malformed("an IP name constraint with host bits set or in IPv4-mapped form")
                ips.append((ip, mask))
            elif btag == 0x81:
                m = _ia5(val, "email name constraint")
                if not (_mailbox_ok(m) if "@" in m else _domain_ok(m, True)):
                    raise _Malformed("an email name constraint Go cannot read (or that this module does not): %r" % m)
                emails.append(m)
            elif btag == 0x86:
                u = _ia5(val, "URI name constraint")
                try:
                    ipaddress.ip_address(u)
                    is_ip = True
                except ValueError:
                    is_ip = ":" in u
                if is_ip or not _domain_ok(u, True):
                    raise _Malformed("a URI name constraint Go cannot read: %r" % u)
                uris.append(u)
            elif critical:
                raise _Malformed("a critical NameConstraints extension with a kind of name Go does not handle")
        nc[which] = (dns, ips, emails, uris)
    return nc


def _bits(v, what):
    """A BIT STRING's value as Go reads it (at most 7 unused bits, each 0):
    the number of unused bits."""
    if not v or v[0] > 7 or len(v) == 1 and v[0] or v[-1] & ((1 << v[0]) - 1):
        raise _Malformed("a malformed " + what)
    return v[0]


def _positive(v, what):
    """A DER INTEGER that must be positive, as Go reads it: its value."""
    if _integer(v, what)[0] & 0x80 or v == b"\x00":
        raise _Malformed("a %s that is not positive" % what)
    return int.from_bytes(v, "big")


def _dotted(oid):
    """An OID's value in dotted form, for messages."""
    out, n = [], 0
    for x in oid:
        n = n << 7 | x & 0x7F
        if not x & 0x80:
            out.append(n)
            n = 0
    first = min(out[0] // 40, 2)
    return ".".join(str(x) for x in [first, out[0] - 40 * first] + out[1:])


def _public_key(der, s, e):
    """The public key of the SubjectPublicKeyInfo whose value is der[s:e],
    read as Go's parser reads it (or more strictly): a key of an algorithm
    Go reads that Go cannot parse (RSA parameters other than NULL, an EC
    curve Go does not know, an EC point that is compressed or not on its
    curve, Ed25519 parameters, ...) is refused, as Go refuses the whole
    certificate. Returns ("rsa", (bits, exponent, odd modulus)), ("ec",
    curve name), ("ed25519", None), ("dsa", None), or ("other", the OID in
    dotted form) for an algorithm Go does not read (Ed448, X25519, X448,
    RSASSA-PSS, ...)."""
    parts = _items(der, s, e)
    if [p[0] for p in parts] != [0x30, 0x03]:
        raise _Malformed("a malformed subjectPublicKeyInfo")
    (_, as_, ae, _), (_, ks, ke, _) = parts
    alg = _items(der, as_, ae)
    if not alg or alg[0][0] != 0x06 or len(alg) > 2:
        raise _Malformed("a malformed public key algorithm")
    oid = _oid(der[alg[0][1]:alg[0][2]])
    params, key = der[alg[0][2]:ae], der[ks:ke]
    unused = _bits(key, "public key")
    if oid not in (_KEY_RSA, _KEY_EC, _KEY_ED25519, _KEY_DSA):
        return "other", _dotted(oid)
    if unused:
        raise _Malformed("a public key that is not a whole number of bytes")
    key = key[1:]
    if oid == _KEY_RSA:
        if params != b"\x05\x00":
            raise _Malformed("an RSA key without NULL parameters")
        ks, ke = _one(key, 0x30)
        f = _items(key, ks, ke)
        if [x[0] for x in f] != [0x02, 0x02]:
            raise _Malformed("a malformed RSA key")
        n = _positive(key[f[0][1]:f[0][2]], "RSA modulus")
        if f[1][2] - f[1][1] > 8:
            raise _Malformed("an RSA exponent of more than 63 bits")
        x = _positive(key[f[1][1]:f[1][2]], "RSA exponent")
        return "rsa", (n.bit_length(), x, n & 1)
    if oid == _KEY_EC:
        if not params or params[0] != 0x06:
            raise _Malformed("EC parameters that are not a named curve")
        ps, pe = _one(params, 0x06)
        curve = _CURVES.get(_oid(params[ps:pe]))
        if curve is None:
            raise _Malformed("an EC key on a curve Go does not know (%s)" % _dotted(params[ps:pe]))
        name, p, b, size = curve
        if len(key) != 1 + 2 * size or key[0] != 4:
            raise _Malformed("an EC point that is not in uncompressed form")
        x, y = int.from_bytes(key[1:1 + size], "big"), int.from_bytes(key[1 + size:], "big")
        if x >= p or y >= p or (y * y - x * x * x + 3 * x - b) % p:
            raise _Malformed("an EC point that is not on its curve")
        return "ec", name
    if oid == _KEY_ED25519:
        if params or len(key) != 32:
            raise _Malformed("a malformed Ed25519 key")
        return "ed25519", None
    # DSA: Go reads the key (and never verifies with it).
    ys, ye = _one(key, 0x02)
    _positive(key[ys:ye], "DSA key")
    ps, pe = _one(params, 0x30)
    f = _items(params, ps, pe)
    if [x[0] for x in f] != [0x02, 0x02, 0x02]:
        raise _Malformed("malformed DSA parameters")
    for _, a, z, _ in f:
        _positive(params[a:z], "DSA parameter")
    return "dsa", None


def _parse(der):
    """What the module reads of a DER certificate: its serial number, SPKI,
    signature algorithm, names and name constraints. It is read as strictly
    as Go's parser reads it, or more: what Go cannot parse is refused.
    Raises _Malformed."""
    der = bytes(der)
    s, e = _one(der, 0x30)
    parts = _items(der, s, e)
    if [p[0] for p in parts] != [0x30, 0x30, 0x03]:
        raise _Malformed("not a certificate")
    (_, ts, te, _), (_, as_, ae, _), (_, bs, be, _) = parts
    _bits(der[bs:be], "signature")
    tbs = _items(der, ts, te)
    version = 0
    if tbs and tbs[0][0] == 0xA0:
        _, vs, ve, _ = tbs.pop(0)
        _, s, e = _der(der, vs, ve, 0x02)
        if e != ve:
            raise _Malformed("a malformed version")
        version = int.from_bytes(_integer(der[s:e], "version"), "big", signed=True)
        if version not in (0, 1, 2):
            raise _Malformed("an invalid version")
    if len(tbs) < 6 or [p[0] for p in tbs[:6]] != [0x02, 0x30, 0x30, 0x30, 0x30, 0x30]:
        raise _Malformed("a malformed TBSCertificate")
    serial, inner, _, _, _, spki = tbs[:6]
    if der[inner[1]:inner[2]] != der[as_:ae]:
        raise _Malformed("inner and outer signature algorithms that differ")
    alg = _items(der, as_, ae)
    if not alg or alg[0][0] != 0x06:
        raise _Malformed("a malformed signature algorithm")
    c = {"serial": _integer(der[serial[1]:serial[2]], "serial number"), "spki": der[spki[3]:spki[2]],
         "key": _public_key(der, spki[1], spki[2]),
         "alg": _oid(der[alg[0][1]:alg[0][2]]), "params": der[alg[0][2]:ae],
         "dns": [], "emails": [], "uris": [], "ips": [], "san": False, "nc": None}
    # After the SPKI: a v2 certificate may have the unique identifiers, a
    # v3 one extensions too, each once and in this order.
    allowed = ((), (0x81, 0x82), (0x81, 0x82, 0xA3))[version]
    last = 0
    for tag, s, e, _ in tbs[6:]:
        if tag not in allowed or allowed.index(tag) < last:
            raise _Malformed("a malformed TBSCertificate")
        last = allowed.index(tag) + 1
        if tag == 0xA3:
            _extensions(der, s, e, c)
    return c


def _extensions(der, s, e, c):
    """Reads the extensions ([3] EXPLICIT SEQUENCE OF Extension) into c:
    each once, the criticality a DER BOOLEAN, the value an OCTET STRING."""
    _, s, end = _der(der, s, e, 0x30)
    if end != e:
        raise _Malformed("malformed extensions")
    seen = set()
    for tag, xs, xe, _ in _items(der, s, e):
        fields = _items(der, xs, xe) if tag == 0x30 else ()
        if not fields or fields[0][0] != 0x06:
            raise _Malformed("a malformed extension")
        oid = _oid(der[fields[0][1]:fields[0][2]])
        critical, k = False, 1
        if k < len(fields) and fields[k][0] == 0x01:
            flag = der[fields[k][1]:fields[k][2]]
            if flag not in (b"\x00", b"\xff"):
                raise _Malformed("a malformed extension")
            critical, k = flag == b"\xff", k + 1
        if k != len(fields) - 1 or fields[k][0] != 0x04:
            raise _Malformed("a malformed extension")
        if oid in seen:
            raise _Malformed("a certificate with an extension twice")
        seen.add(oid)
        value = der[fields[k][1]:fields[k][2]]
        if oid == _OID_SAN:
            c["san"] = True
            _san(value, critical, c)
        elif oid == _OID_NC:
            c["nc"] = _name_constraints(value, critical)


def _to4(ip):
    """net.IP.To4: the IPv4 address of ip (4 bytes, or 16 in IPv4-mapped
    form), else None."""
    if len(ip) == 4:
        return ip
    if len(ip) == 16 and ip[:10] == bytes(10) and ip[10:12] == b"\xff\xff":
        return ip[12:]
    return None


def _ip_in(ip, net):
    """Whether net (address, mask) holds ip, as Go's net.IPNet.Contains
    decides."""
    n, mask = net
    if len(mask) != len(n):
        return False
    if _to4(ip) is not None:
        ip = _to4(ip)
    if len(ip) != len(n):
        return False
    return all(a & m == b & m for a, b, m in zip(n, ip, mask))


def _dns_in(name, constraint):
    """Whether a DNS name is within a DNS name constraint, as Go matches
    them (dnsHasSuffix): "x.test" holds itself and the names below it,
    ".x.test" the names below it, "" every name; letters in any case."""
    if not constraint:
        return True
    n, c = name.lower(), constraint.lower()
    if len(c) > len(n) or not n.endswith(c):
        return False
    return c[0] == "." or len(n) == len(c) or n[-len(c) - 1] == "."


def _dns_excluded(name, excluded):
    """Whether an excluded DNS constraint holds name, as Go decides: a
    wildcard ("*.x.test") is excluded where a name it matches is ("bad.x.test"
    excludes it, its first label cut); OpenSSL does not exclude it."""
    if any(_dns_in(name, c) for c in excluded):
        return True
    if name.startswith("*"):
        parent = name.lower()[name.find("."):] if "." in name else None
        return parent is not None and any("." in c and c.lower()[c.find("."):] == parent for c in excluded)
    return False


def _check_constraints(certs, name):
    """Applies the DNS and IP name constraints of every CA certificate of
    the verified chain, the anchor's own too, to the names of every
    certificate below it that has a subjectAltName extension, as Go does:
    a DNS name Go cannot match against them (a trailing dot, an empty label)
    is refused, and so is a wildcard that matches an excluded name. Email
    addresses and URIs below a CA with name constraints are refused: this
    module does not match them as Go does."""
    for j in range(1, len(certs)):
        nc = certs[j]["nc"]
        if nc is None:
            continue
        (pdns, pips, _, _), (edns, eips, _, _) = nc["permitted"], nc["excluded"]
        for c in certs[:j]:
            if not c["san"]:
                continue
            if c["emails"] or c["uris"]:
                raise RefusedError("httptrust: %s: a certificate of the chain has an email address or URI under a CA's "
                                   "name constraints, which this module does not match as httptrust does" % name)
            for d in c["dns"]:
                if not _domain_ok(d, False):
                    raise RefusedError("httptrust: %s: the DNS name %r cannot be matched against a CA's name constraints" % (name, d))
                if pdns and not any(_dns_in(d, x) for x in pdns) or _dns_excluded(d, edns):
                    raise RefusedError("httptrust: %s: the DNS name %s is outside the name constraints of a CA of the chain" % (name, d))
            for ip in c["ips"]:
                if pips and not any(_ip_in(ip, x) for x in pips) or any(_ip_in(ip, x) for x in eips):
                    raise RefusedError("httptrust: %s: an IP address is outside the name constraints of a CA of the chain" % name)


_SIG_NAMES = {"1.2.840.113549.1.1.5": ": RSA with SHA-1", "1.2.840.113549.1.1.4": ": RSA with MD5",
              "1.2.840.10045.4.1": ": ECDSA with SHA-1", "1.2.840.113549.1.1.10": ": RSA-PSS with other parameters",
              "1.2.840.10040.4.3": ": DSA with SHA-1", "2.16.840.1.101.3.4.3.2": ": DSA with SHA-256"}


def _signature_ok(alg, params):
    """Whether Go verifies a signature of this algorithm (the OID's DER
    value) and parameters (their DER): RSA-PSS only with the parameters of
    SHA-256/384/512 (_PSS_PARAMS), the others whatever their parameters."""
    if alg == _RSA_PSS:
        return params in _PSS_PARAMS
    return alg in _SIGNATURES


def _parsed(der, name):
    """der parsed, or RefusedError: what Go cannot parse (a negative serial
    number, malformed DER), httptrust refuses."""
    try:
        c = _parse(der)
    except (_Malformed, IndexError, ValueError) as e:
        raise RefusedError("httptrust: %s: a certificate httptrust cannot parse: %s" % (name, e))
    if c["serial"][0] & 0x80:
        raise RefusedError("httptrust: %s: a certificate with a negative serial number, which httptrust cannot parse" % name)
    return c


_LDH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def _pattern_ok(d):
    """Go's validHostnamePattern: labels of letters, digits, "_" and "-"
    (not first), none empty (so no trailing dot), a whole "*" as the first
    label at most."""
    if not d or d == "*":
        return False
    for i, label in enumerate(d.split(".")):
        if i == 0 and label == "*":
            continue
        if not label or label[0] == "-" or not set(label) <= _LDH:
            return False
    return True


def _ip_key(x):
    """An IP address (text or 4 or 16 bytes) as net.IP.Equal compares it."""
    b = ipaddress.ip_address(x).packed
    return _to4(b) or b


def _name_ok(name, dns, ips):
    """Whether a certificate with these names covers name, as Go's
    x509.Certificate.VerifyHostname decides (no common name): an IP
    address is covered by an IP name of the same address; a host name
    (its trailing dot cut, lower case, as _norm gives it) by a DNS name
    that is a valid pattern and matches it label by label, in any case, a
    "*" first label standing for one label. A DNS name that is not a valid
    pattern (a trailing dot, an empty label, ...) covers only the same
    string, which a host name never is when that name ends in a dot:
    "td.test." does not cover td.test."""
    h, is_ip = _norm(name)
    if is_ip:
        want = _ip_key(h)
        return any(_ip_key(bytes(x) if not isinstance(x, str) else x) == want for x in ips)
    labels = h.split(".")
    for d in dns:
        if _pattern_ok(d):
            p = d.lower().split(".")
            if len(p) == len(labels) and all(a == b or i == 0 and a == "*" for i, (a, b) in enumerate(zip(p, labels))):
                return True
        elif d not in ("", ".") and d.lower() == h:
            return True
    return False


def _key_unusable(c, server):
    """Why Go cannot use the public key of c, a certificate the module
    parsed: as a server's key in a TLS handshake (server), or to verify a
    signature of a certificate c issued; None when it can. Go's TLS takes an
    RSA key (rsaEncryption), an EC key on P-256, P-384 or P-521, or
    Ed25519; its verifier P-224 too. RSA keys need 1024 bits or more and an
    odd exponent from 3 to 2^31-1."""
    kind, detail = c["key"]
    if kind == "rsa":
        bits, exponent, odd = detail
        if bits < 1024:
            return "an RSA key of %d bits (httptrust needs 1024 or more)" % bits
        if not (odd and exponent & 1 and 3 <= exponent <= 0x7FFFFFFF):
            return "an RSA key whose modulus or exponent httptrust refuses"
        return None
    if kind == "ec":
        if server and detail == "P-224":
            return "an EC key on P-224, which httptrust's TLS does not take from a server"
        return None
    if kind == "ed25519":
        return None
    if kind == "dsa":
        return "a DSA key, which httptrust never uses"
    return "a public key of algorithm %s%s, which httptrust cannot use" % (detail, _KEY_NAMES.get(detail, ""))


_KEY_NAMES = {"1.3.101.110": " (X25519)", "1.3.101.111": " (X448)", "1.3.101.113": " (Ed448)",
              "1.2.840.113549.1.1.10": " (RSASSA-PSS)"}


def _check_keys(s, certs, sent, name):
    """The public keys of a handshake, as Go's TLS takes them: the server's
    certificate must hold one Go can use as a server's key, every CA
    certificate of the verified chain (the anchor too) one Go verifies
    signatures with, and no certificate the server sent an RSA key of more
    than 8192 bits."""
    for c in sent:
        if c["key"][0] == "rsa" and c["key"][1][0] > 8192:
            raise RefusedError("httptrust: %s: the server sent a certificate with an RSA key of %d bits; "
                               "httptrust takes 8192 at most" % (name, c["key"][1][0]))
    why = _key_unusable(certs[0], True)
    if why:
        raise RefusedError("httptrust: %s: the server's certificate has %s" % (name, why))
    if not s["exact_only"]:
        for c in certs[1:]:
            why = _key_unusable(c, False)
            if why:
                raise RefusedError("httptrust: %s: a CA certificate of the verified chain has %s: httptrust "
                                   "cannot verify what it signed" % (name, why))


def _check_tls(scope, name, version, cipher):
    """The TLS version and cipher suite negotiated, as httptrust's client
    takes them: the rule's lowest version or a later one, a suite Go's
    client offers (the context offers no other, unless someone changed it)."""
    s = _SCOPES[scope]
    v = _VERSIONS.get(version)
    if v is None or v < _TLS[s["min_tls"]]:
        raise RefusedError("httptrust: %s: %s was negotiated; the rule (%s) needs TLS %s or later"
                           % (name, version, s["label"], s["min_tls"]))
    if cipher not in _SUITES:
        raise RefusedError("httptrust: %s: the cipher suite %s was negotiated, which httptrust does not offer"
                           % (name, cipher))


def _check(scope, der, name, sent=None, verified=None):
    """Checks a handshake as httptrust would, after OpenSSL's verification:
    der is the server's certificate, sent the certificates it sent and
    verified the chain OpenSSL verified (DER, the leaf first and the anchor
    last), each None where this Python does not show it. A rule of exact
    certificates alone needs neither: its chain is the leaf."""
    s = _SCOPES[scope]
    if der is None:
        raise RefusedError("httptrust: %s: the server presented no certificate" % name)
    if s["exact_only"]:
        chain = [der]
    elif verified is None:
        raise RefusedError("httptrust: %s: this Python (%s) does not show the verified chain, which the checks of "
                           "the rule (%s) need: its pins, and the name constraints, serial numbers and signatures "
                           "of its CAs; use Python 3.10 or later" % (name, sys.version.split()[0], s["label"]))
    else:
        chain = [bytes(c) for c in verified]
        if not chain:
            raise RefusedError("httptrust: %s: OpenSSL shows no verified chain for this connection (a resumed "
                               "session?), and the checks of the rule (%s) need it" % (name, s["label"]))
        if chain[0] != der:
            raise RefusedError("httptrust: %s: the verified chain does not start with the server's certificate" % name)
    certs = [_parsed(c, name) for c in chain]
    # Go parses every certificate the server sends.
    _check_keys(s, certs, [_parsed(c, name) for c in sent or ()] + certs[:1], name)
    if not s["exact_only"]:
        # Every signature of the chain but the anchor's own, which nothing
        # checks.
        for c in certs[:-1]:
            if not _signature_ok(c["alg"], c["params"]):
                raise RefusedError("httptrust: %s: a certificate of the chain is signed with an algorithm httptrust "
                                   "does not verify (%s%s; httptrust verifies RSA PKCS#1 and ECDSA with SHA-256/384/512, "
                                   "RSA-PSS with SHA-256/384/512 and a salt as long as the hash, Ed25519)"
                                   % (name, _dotted(c["alg"]), _SIG_NAMES.get(_dotted(c["alg"]), "")))
        _check_constraints(certs, name)
    if s["exact_only"]:
        found = None
        for pem, nb, na, dns, ips in s["exact"]:
            if b64decode(pem) == der:
                found = (nb, na, dns, ips)
        if found is None:
            raise RefusedError("httptrust: %s: the server's certificate is not the one the rule trusts (%s)" % (name, s["label"]))
        nb, na, dns, ips = found
        now = time.time()
        if not s["allow_expired"] and not (nb <= now <= na):
            raise RefusedError("httptrust: %s: the trusted certificate is outside its validity window" % name)
        if not s["allow_name_mismatch"] and not _name_ok(name, dns, ips):
            raise RefusedError("httptrust: %s: the trusted certificate does not cover this name" % name)
    if s["pins"]:
        if s["pins_end"] and datetime.date.today().isoformat() >= s["pins_end"]:
            warnings.warn("httptrust: pins for %s have expired and are not enforced" % name)
            return
        pins = [b64decode(p) for p in s["pins"]]
        if not any(hashlib.sha256(c["spki"]).digest() in pins for c in certs):
            msg = "httptrust: %s: no pin of the rule (%s) matches the verified chain" % (name, s["label"])
            if s["enforce"]:
                raise RefusedError(msg)
            warnings.warn(msg + " (report-only: allowed)")


def _chain(conn, method):
    """A chain of conn's handshake (get_verified_chain: the one OpenSSL
    verified; get_unverified_chain: the certificates the server sent) as
    DER, the leaf first: the method of the socket or object (Python 3.13
    and later), else that of the _ssl object beneath it (3.10 to 3.12);
    None where this Python has neither."""
    get = getattr(conn, method, None)
    if get is None:
        get = getattr(getattr(conn, "_sslobj", None), method, None)
    if get is None:
        return None
    return [c if isinstance(c, bytes) else c.public_bytes(_ssl.ENCODING_DER) for c in get() or ()]


class _Checked:
    def _httptrust_check(self):
        ctx = self.context
        name = ctx._httptrust_name or self.server_hostname
        cipher = self.cipher()
        _check_tls(ctx._httptrust_scope, name, self.version(), cipher[0] if cipher else None)
        _check(ctx._httptrust_scope, self.getpeercert(True), name,
               _chain(self, "get_unverified_chain"), _chain(self, "get_verified_chain"))


class _Socket(_Checked, ssl.SSLSocket):
    def do_handshake(self, *args, **kwargs):
        super().do_handshake(*args, **kwargs)
        self._httptrust_check()


class _Object(_Checked, ssl.SSLObject):
    def do_handshake(self):
        super().do_handshake()
        self._httptrust_check()


class _Context(ssl.SSLContext):
    sslsocket_class = _Socket
    sslobject_class = _Object

    def wrap_socket(self, sock, *args, server_hostname=None, **kwargs):
        return super().wrap_socket(sock, *args, server_hostname=self._httptrust_sni(server_hostname), **kwargs)

    def wrap_bio(self, incoming, outgoing, *args, server_hostname=None, **kwargs):
        return super().wrap_bio(incoming, outgoing, *args, server_hostname=self._httptrust_sni(server_hostname), **kwargs)

    def _httptrust_sni(self, server_hostname):
        # The name the certificate must cover: the rule's server_name, else
        # the host this context is for (urllib3 passes none for an IP). A
        # context is for one host: another name would get its rule's trust.
        # A name goes to ssl in its ASCII form (ssl would encode it with
        # IDNA 2003, which maps some names to others).
        s = _SCOPES[self._httptrust_scope]
        if server_hostname is not None:
            h, is_ip = _norm(server_hostname)
            if h != self._httptrust_host:
                raise RefusedError("httptrust: a context for %s cannot connect to %s; use context_for(%r)"
                                   % (self._httptrust_host, server_hostname, server_hostname))
            if not is_ip:
                server_hostname = h
        return s["server_name"] or server_hostname or self._httptrust_host


_contexts = {}


def _context(i, host):
    s = _SCOPES[i]
    if s["refuse"]:
        raise RefusedError("httptrust: %s: %s" % (host, s["refuse"]))
    ctx = _Context(ssl.PROTOCOL_TLS_CLIENT)
    ctx._httptrust_scope = i
    ctx._httptrust_name = s["server_name"]
    ctx.minimum_version = _TLS[s["min_tls"]]
    # The cipher suites and key exchange groups Go's client offers: Go
    # refuses RSA key exchange (no forward secrecy), DHE, CBC with SHA-256,
    # and the X448 and finite-field groups, which OpenSSL offers.
    ctx.set_ciphers(_CIPHERS)
    ctx.set_ecdh_curve(_GROUP)
    if s["exact_only"]:
        # The certificate is compared byte for byte, then its validity
        # and names are checked, by _check: the chain means nothing here.
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    # Go (and so httptrust) never matches a name in the subject's common
    # name; OpenSSL does when the certificate has no DNS names.
    ctx.hostname_checks_common_name = False
    if s["system"]:
        ctx.load_default_certs()
    if s["cadata"]:
        ctx.load_verify_locations(cadata=s["cadata"])
    return ctx


def context_for(host, port=443):
    """An ssl.SSLContext that trusts what the policy trusts for host:port,
    and checks its pins and exact certificates after each handshake. Use it
    for that host only: the context knows which rule and host it is for."""
    i = scope_for(host, port)
    h = _norm(host)[0]
    key = (i, h)
    ctx = _contexts.get(key)
    if ctx is None:
        ctx = _context(i, host)
        ctx._httptrust_host = h
        ctx._httptrust_name = _SCOPES[i]["server_name"] or h
        _contexts[key] = ctx
    return ctx


try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib.parse import urlparse
    from urllib3.poolmanager import PoolManager
except ImportError:  # requests is optional
    requests = None
else:
    class Adapter(HTTPAdapter):
        """A requests adapter for https:// that gives each host the trust of
        its rule. It never adds requests' own CA bundle, and refuses
        verify=False and proxies (a proxy's pool would mix hosts)."""

        def __init__(self, *args, **kwargs):
            self._httptrust_pools = {}
            super().__init__(*args, **kwargs)

        def get_connection(self, url, proxies=None):
            u = urlparse(url)
            if u.scheme.lower() != "https":
                return super().get_connection(url, proxies)
            if proxies and requests.utils.select_proxy(url, proxies):
                raise RefusedError("httptrust: this adapter does not go through proxies")
            port = u.port or 443
            ctx = context_for(u.hostname, port)
            pm = self._httptrust_pools.get(id(ctx))
            if pm is None:
                pm = PoolManager(num_pools=self._pool_connections, maxsize=self._pool_maxsize,
                                 block=self._pool_block, ssl_context=ctx)
                self._httptrust_pools[id(ctx)] = pm
            return pm.connection_from_url(url)

        def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
            # requests 2.32 and later build the pool here, with their own
            # bundle: route it through get_connection instead.
            if request.url.lower().startswith("https") and verify is False:
                raise RefusedError("httptrust: verify=False would turn verification off; the policy decides")
            return self.get_connection(request.url, proxies)

        def cert_verify(self, conn, url, verify, cert):
            if not url.lower().startswith("https"):
                return
            if verify is False:
                raise RefusedError("httptrust: verify=False would turn verification off; the policy decides")
            if cert:
                raise RefusedError("httptrust: client certificates are not part of this export")
            ctx = conn.conn_kw.get("ssl_context")
            conn.cert_reqs = "CERT_NONE" if ctx is not None and ctx.verify_mode == ssl.CERT_NONE else "CERT_REQUIRED"
            # requests would add its own bundle (certifi) to the context.
            conn.ca_certs = None
            conn.ca_cert_dir = None

        def close(self):
            for pm in self._httptrust_pools.values():
                pm.clear()
            super().close()

    class _Session(requests.Session):
        # A redirect from https to another scheme is refused (the Adapter
        # alone never sees where a request came from). requests calls
        # rebuild_auth for every redirect it builds, followed or not.
        def rebuild_auth(self, prepared_request, response):
            if (urlparse(response.url).scheme.lower() == "https"
                    and urlparse(prepared_request.url).scheme.lower() != "https"):
                prepared_request._httptrust_left_https = True
            return super().rebuild_auth(prepared_request, response)

        def send(self, request, **kwargs):
            if getattr(request, "_httptrust_left_https", False):
                raise RefusedError("httptrust: a redirect from https to %s is refused: it would leave TLS"
                                   % urlparse(request.url).scheme)
            return super().send(request, **kwargs)

    def session():
        """A requests.Session whose https:// requests are judged by the
        policy. Redirects to another host are judged by that host's rule; a
        redirect from https to http is refused."""
        s = _Session()
        s.mount("https://", Adapter())
        return s

try:
    import httpx
except ImportError:  # httpx is optional
    httpx = None
else:
    def _host(url):
        # The name httpx connects to and sends as SNI: url.host decodes
        # xn-- labels, which would be mapped again.
        return url.raw_host.decode("ascii")

    # httpx builds a redirect's request with the extensions of the request
    # it answers: an https response whose Location leaves https marks them,
    # and the transport refuses a request so marked that is not https. Use
    # the transports for every scheme (transport=, not mounts=).
    _LEFT_HTTPS = "httptrust_left_https"

    def _mark_left_https(request, response):
        if request.url.scheme == "https" and response.status_code in (301, 302, 303, 307, 308):
            location = response.headers.get("location")
            if location is not None:
                try:
                    left = request.url.join(location).scheme != "https"
                except Exception:
                    left = True
                if left:
                    request.extensions[_LEFT_HTTPS] = True
        return response

    def _refuse_left_https(request):
        if request.url.scheme != "https" and request.extensions.get(_LEFT_HTTPS):
            raise RefusedError("httptrust: a redirect from https to %s is refused: it would leave TLS"
                               % request.url.scheme)

    class Transport(httpx.BaseTransport):
        """An httpx transport that gives each https host the trust of its
        rule; keyword arguments go to each httpx.HTTPTransport, except
        those that would change its trust or add a proxy (verify, cert,
        proxy, proxies, trust_env=True), which are refused. Give it to the client
        as transport= (every scheme), with trust_env=False and no mounts or
        proxies: a client sends a request that a proxy or mount matches to
        that transport instead."""

        def __init__(self, **kwargs):
            _refuse_args("Transport", kwargs, _TRANSPORT_REFUSED)
            self._kwargs = kwargs
            self._transports = {}

        def _for(self, url):
            if url.scheme != "https":
                key = None
            else:
                key = id(context_for(_host(url), url.port or 443))
            t = self._transports.get(key)
            if t is None:
                verify = True if key is None else context_for(_host(url), url.port or 443)
                t = httpx.HTTPTransport(verify=verify, **self._kwargs)
                self._transports[key] = t
            return t

        def handle_request(self, request):
            _refuse_left_https(request)
            return _mark_left_https(request, self._for(request.url).handle_request(request))

        def close(self):
            for t in self._transports.values():
                t.close()

    class AsyncTransport(httpx.AsyncBaseTransport):
        """The asynchronous twin of Transport."""

        def __init__(self, **kwargs):
            _refuse_args("AsyncTransport", kwargs, _TRANSPORT_REFUSED)
            self._kwargs = kwargs
            self._transports = {}

        def _for(self, url):
            key = None if url.scheme != "https" else id(context_for(_host(url), url.port or 443))
            t = self._transports.get(key)
            if t is None:
                verify = True if key is None else context_for(_host(url), url.port or 443)
                t = httpx.AsyncHTTPTransport(verify=verify, **self._kwargs)
                self._transports[key] = t
            return t

        async def handle_async_request(self, request):
            _refuse_left_https(request)
            return _mark_left_https(request, await self._for(request.url).handle_async_request(request))

        async def aclose(self):
            for t in self._transports.values():
                await t.aclose()

    # What would let a request bypass the policy's transport or its trust:
    # another transport or mount, a proxy (its own transport, or a tunnel
    # with one context for every host), verify / cert of httpx's own, an
    # app instead of the network. trust_env=True would read proxies from
    # the environment.
    _CLIENT_REFUSED = ("transport", "mounts", "proxies", "proxy", "app", "verify", "cert")
    _TRANSPORT_REFUSED = ("verify", "cert", "proxy", "proxies")
    # Passed to the policy's transports, as httpx passes them to its own.
    _TRANSPORT_ARGS = ("http1", "http2", "limits")

    def _refuse_args(what, kwargs, names):
        for name in names:
            if name in kwargs:
                raise TypeError("httptrust: %s(%s=...) would bypass the policy's trust; leave it out" % (what, name))
        if kwargs.get("trust_env", False):
            raise TypeError("httptrust: %s(trust_env=True) would read proxies from the environment, "
                            "which bypass the policy's transport" % what)

    def client(**kwargs):
        """An httpx.Client whose requests are judged by the policy. It
        refuses arguments that would bypass the policy's transport
        (transport, mounts, proxies, proxy, app, verify, cert,
        trust_env=True) and does not read proxy settings from the
        environment; http1, http2 and limits go to the policy's transport."""
        _refuse_args("client", kwargs, _CLIENT_REFUSED)
        kwargs.pop("trust_env", None)
        targs = {k: kwargs.pop(k) for k in _TRANSPORT_ARGS if k in kwargs}
        return httpx.Client(transport=Transport(**targs), trust_env=False, **kwargs)
`

// pemB64 is the base64 of DER, as one string.
func pemB64(der []byte) string { return base64.StdEncoding.EncodeToString(der) }
