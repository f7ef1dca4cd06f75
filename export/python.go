package export

import (
	"crypto/x509"
	"encoding/base64"
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
	scopes, rt := m.codeModel(true)
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

func quoteAll(items []string) []string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return q
}

// wildExcluded are the parents (".x.test") of the names the anchors'
// excluded DNS constraints name ("bad.x.test"): Go holds a wildcard
// "*.x.test", which would match bad.x.test, to be excluded too; OpenSSL
// does not.
func wildExcluded(anchors []*x509.Certificate) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range anchors {
		for _, e := range a.ExcludedDNSDomains {
			e = strings.ToLower(e)
			if i := strings.IndexByte(e, '.'); i >= 0 && !seen[e[i:]] {
				seen[e[i:]] = true
				out = append(out, e[i:])
			}
		}
	}
	sort.Strings(out)
	return out
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
	fmt.Fprintf(&b, "        \"wild_excluded\": %s,\n", pyList(wildExcluded(s.anchors)))
	b.WriteString("    },\n")
	return b.String()
}

const pythonDoc = `"""Trust for each host, as the httptrust policy says: an ssl.SSLContext per
host (context_for), a requests session (session / Adapter) and httpx
transports (Transport, AsyncTransport; client).

Every host gets the trust of its rule and no other: a certificate trusted for
one host never vouches for another. Verification is never turned off, and
nothing global is changed. Python's ssl sees only the server's leaf
certificate, so pins are checked against the leaf's key.

    import httptrust_policy
    s = httptrust_policy.session()                 # requests
    s.get("https://device.local/")
    c = httptrust_policy.client()                  # httpx
    ctx = httptrust_policy.context_for("device.local", 443)   # ssl, urllib3, ...
"""

import datetime
import hashlib
import ipaddress
import ssl
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


def _tlv(b, i):
    """The DER element at i: tag, start of its value, end."""
    tag = b[i]
    n = b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    if i + n > len(b):
        raise ValueError("truncated DER")
    return tag, i, i + n


def _fields(der):
    """The TBSCertificate's serial (DER INTEGER value), its SPKI (DER), and
    the certificate's signature algorithm (DER OID value) and its
    parameters (DER, empty when absent)."""
    _, i, _ = _tlv(der, 0)         # Certificate
    _, t, tbs_end = _tlv(der, i)   # TBSCertificate
    tag, s, e = _tlv(der, t)
    if tag == 0xA0:                # [0] version
        t = e
    _, s, e = _tlv(der, t)         # serial
    serial = der[s:e]
    t = e
    for _ in range(4):             # signature, issuer, validity, subject
        _, s, t = _tlv(der, t)
    _, s, e = _tlv(der, t)
    spki = der[t:e]
    _, a, a_end = _tlv(der, tbs_end)   # signatureAlgorithm
    _, s, e = _tlv(der, a)             # its OID, then its parameters
    return serial, spki, der[s:e], der[e:a_end]


def _spki(der):
    """The DER SubjectPublicKeyInfo of a DER certificate."""
    return _fields(der)[1]


def _signature_ok(alg, params):
    """Whether Go verifies a signature of this algorithm (the OID's DER
    value) and parameters (their DER): RSA-PSS only with the parameters of
    SHA-256/384/512 (_PSS_PARAMS), the others whatever their parameters."""
    if alg == _RSA_PSS:
        return params in _PSS_PARAMS
    return alg in _SIGNATURES


def _check_cert(s, der, name, leaf):
    """Refuses what Go's parser or verifier would: a negative serial, and
    in the leaf a signature algorithm Go does not verify (unless the leaf
    is itself trusted, and so its signature never checked)."""
    try:
        serial, _, alg, params = _fields(der)
    except (IndexError, ValueError):
        raise RefusedError("httptrust: %s: a certificate httptrust cannot parse" % name)
    if serial and serial[0] & 0x80:
        raise RefusedError("httptrust: %s: a certificate with a negative serial number, which httptrust cannot parse" % name)
    if leaf and not s["exact_only"] and not _signature_ok(alg, params):
        if b64encode(der).decode("ascii") not in s["cadata"].replace("\n", ""):
            raise RefusedError("httptrust: %s: the certificate is signed with an algorithm httptrust does not accept (SHA-1, MD5, ...)" % name)


def _name_ok(name, dns, ips):
    """Whether a certificate with these names covers name, as Go's
    x509.Certificate.VerifyHostname decides (no common name)."""
    h, is_ip = _norm(name)
    if is_ip:
        return h in [str(ipaddress.ip_address(x)) for x in ips]
    for d in dns:
        d = d.rstrip(".").lower()
        if d == h:
            return True
        if d.startswith("*.") and "." in h and h.split(".", 1)[1] == d[2:] and h.split(".", 1)[0]:
            return True
    return False


def _check(scope, der, name, chain=(), dns=()):
    s = _SCOPES[scope]
    if der is None:
        raise RefusedError("httptrust: %s: the server presented no certificate" % name)
    _check_cert(s, der, name, True)
    for d in dns:
        # OpenSSL holds "*.x.test" to an excluded "x.test", not to an
        # excluded "bad.x.test", a name the wildcard matches; Go does.
        if d.startswith("*") and "." in d and d[d.index("."):].lower() in s["wild_excluded"]:
            raise RefusedError("httptrust: %s: the wildcard %s matches a name the anchor's name constraints exclude" % (name, d))
    for other in chain[1:]:
        _check_cert(s, other, name, False)
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
        pin = hashlib.sha256(_spki(der)).digest()
        if pin not in [b64decode(p) for p in s["pins"]]:
            msg = "httptrust: %s: no pin of the rule (%s) matches the server's key" % (name, s["label"])
            if s["enforce"]:
                raise RefusedError(msg)
            warnings.warn(msg + " (report-only: allowed)")


class _Checked:
    def _httptrust_check(self):
        ctx = self.context
        # Python 3.13 and later show the chain the server sent.
        chain = getattr(self, "get_unverified_chain", lambda: None)() or ()
        chain = [c for c in chain if isinstance(c, bytes)]
        dns = [v for k, v in (self.getpeercert() or {}).get("subjectAltName", ()) if k == "DNS"]
        _check(ctx._httptrust_scope, self.getpeercert(True), ctx._httptrust_name or self.server_hostname, chain, dns)


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
