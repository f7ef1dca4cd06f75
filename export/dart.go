package export

import (
	"crypto/x509"
	"fmt"
	"sort"
	"strings"
)

// DartLibrary is the file the dart format writes; its certificates go to
// certificates/ (PEM), to be bundled as assets.
const DartLibrary = "httptrust_policy.dart"

func genDart(m *model) error {
	scopes, rt := m.codeModel(true)
	assets := map[string][]byte{}
	asset := func(der []byte, pemData []byte) string {
		name := "certificates/" + rawNameDER(der) + ".pem"
		assets[name] = pemData
		return name
	}
	var b strings.Builder
	b.WriteString("const List<_Scope> _scopes = [\n")
	for _, s := range scopes {
		var anchors, exact []string
		for _, c := range s.anchors {
			anchors = append(anchors, dartQuote(asset(c.Raw, pemBlock(c))))
		}
		for _, x := range s.exact {
			exact = append(exact, fmt.Sprintf("_Exact(%s, %d, %d, %s, %s)", dartQuote(asset(x.cert.Raw, pemBlock(x.cert))),
				x.notBefore, x.notAfter, dartList(x.dns), dartList(x.ips)))
		}
		fmt.Fprintf(&b, "  // %d: %s\n  _Scope(%s, %s, %t, [%s], %t, [%s], %s, %s, %t, %t, %t, %s, %s),\n",
			s.id, commentSafe(s.label), dartQuote(s.label), dartNullable(s.refuse), s.system, strings.Join(anchors, ", "),
			s.exactOnly, strings.Join(exact, ", "), dartList(s.pins), dartNullable(s.pinsEnd), s.enforce, s.allowExpired,
			s.allowNameMismatch, dartNullable(s.serverName), dartQuote(s.minTLS))
	}
	b.WriteString("];\n\n")
	for _, t := range []struct {
		name string
		m    map[string]int
	}{{"_exactRoutes", rt.exact}, {"_oneRoutes", rt.one}, {"_anyRoutes", rt.any}, {"_apexRoutes", rt.apex}} {
		keys := make([]string, 0, len(t.m))
		for k := range t.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s: %d", dartQuote(k), t.m[k]))
		}
		fmt.Fprintf(&b, "const Map<String, int> %s = {%s};\n", t.name, strings.Join(parts, ", "))
	}
	var cidr []string
	for _, c := range rt.cidr {
		cidr = append(cidr, fmt.Sprintf("_Cidr(%s, %d, %d)", dartQuote(c.network), c.bits, c.id))
	}
	fmt.Fprintf(&b, "const List<_Cidr> _cidrRoutes = [%s];\n", strings.Join(cidr, ", "))
	if rt.def < 0 {
		b.WriteString("\n/// An export of some hosts only: every other host is refused.\nconst int _defaultScope = -1;\n")
	} else {
		fmt.Fprintf(&b, "const int _defaultScope = %d;\n", rt.def)
	}
	data := b.String()
	for name, p := range assets {
		p := p
		m.file(name, 0o644, func() []byte { return append([]byte(m.comment("# ")), p...) })
	}
	m.file(DartLibrary, 0o644, func() []byte {
		return []byte(m.comment("// ") + dartHead + data + dartSignatures() + dartBody)
	})
	return nil
}

// dartSignatures are the signature algorithms Go verifies, as the DER
// (hex) the library compares.
func dartSignatures() string {
	set := func(hexes []string) string {
		q := make([]string, len(hexes))
		for i, h := range hexes {
			q[i] = dartQuote(h)
		}
		return "{\n  " + strings.Join(q, ",\n  ") + ",\n}"
	}
	return "\n/// The signature algorithms Go verifies (DER OID values, hex): RSA PKCS#1\n" +
		"/// SHA-256/384/512, ECDSA SHA-256/384/512, Ed25519 (no SHA-1, MD5 or DSA);\n" +
		"/// RSA-PSS only with these parameters (DER, hex): SHA-256/384/512 for the\n" +
		"/// hash and MGF1, a salt as long as the hash.\n" +
		"const Set<String> _signatures = " + set(goSignatureOIDs) + ";\n" +
		"const String _rsaPss = " + dartQuote(oidRSAPSS) + ";\n" +
		"const Set<String> _pssParams = " + set(goPSSParams()) + ";\n"
}

func rawNameDER(der []byte) string { return rawName(&x509.Certificate{Raw: der}) }

func dartNullable(s string) string {
	if s == "" {
		return "null"
	}
	return dartQuote(s)
}

func dartList(items []string) string {
	var q []string
	for _, s := range items {
		q = append(q, dartQuote(s))
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// dartQuote is a single-quoted Dart string literal.
func dartQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch {
		case r == '\'' || r == '\\' || r == '$':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f || r > 0x7e:
			fmt.Fprintf(&b, `\u{%x}`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

const dartHead = `
/// Trust for each host, as the httptrust policy says, for dart:io and
/// package:http: every host gets the trust of its rule and no other (never
/// SecurityContext.defaultContext, which would trust a certificate for every
/// host).
///
///     final policy = await HttptrustPolicy.load(
///         (path) async => (await rootBundle.load(path)).buffer.asUint8List()); // Flutter
///     // or: HttptrustPolicy.load((path) => File(path).readAsBytes());        // dart:io
///     final client = policy.httpClient();         // dart:io HttpClient
///     final http = IOClient(policy.httpClient()); // package:http
///
/// The certificates are the PEM files under certificates/ (list that folder
/// under assets: in pubspec.yaml). Each https connection gets its host's own
/// SecurityContext through HttpClient.connectionFactory; pins are checked
/// against the leaf's key (dart:io shows no verified chain); proxies are
/// refused, as a tunnelled connection would get one context for every host.
/// Needs package:crypto (SHA-256).
library httptrust_policy;

import 'dart:async';
import 'dart:io';
import 'dart:typed_data';

import 'package:crypto/crypto.dart' show sha256;

/// Reads an asset (a file under certificates/) as bytes.
typedef AssetLoader = Future<List<int>> Function(String path);

class _Exact {
  final String asset;
  final int notBefore;
  final int notAfter;
  final List<String> dns;
  final List<String> ips;
  const _Exact(this.asset, this.notBefore, this.notAfter, this.dns, this.ips);
}

class _Cidr {
  final String network;
  final int bits;
  final int id;
  const _Cidr(this.network, this.bits, this.id);
}

class _Scope {
  final String label;
  final String? refuse;
  final bool system;
  final List<String> anchors;
  final bool exactOnly;
  final List<_Exact> exact;
  final List<String> pins;
  final String? pinsEnd;
  final bool enforce;
  final bool allowExpired;
  final bool allowNameMismatch;
  final String? serverName;
  final String minTls;
  const _Scope(this.label, this.refuse, this.system, this.anchors, this.exactOnly, this.exact, this.pins,
      this.pinsEnd, this.enforce, this.allowExpired, this.allowNameMismatch, this.serverName, this.minTls);
}

`

const dartBody = `
/// A connection the policy does not trust, or a host it does not cover.
class HttptrustRefused extends HandshakeException {
  HttptrustRefused(String message) : super('httptrust: ' + message);
}

class HttptrustPolicy {
  HttptrustPolicy._(this._assets);

  final Map<String, List<int>> _assets;
  final Map<int, SecurityContext> _contexts = {};

  /// Loads the certificates of the policy through read.
  static Future<HttptrustPolicy> load(AssetLoader read) async {
    final assets = <String, List<int>>{};
    for (final s in _scopes) {
      for (final a in s.anchors) {
        assets[a] = await read(a);
      }
      for (final e in s.exact) {
        assets[e.asset] = await read(e.asset);
      }
    }
    return HttptrustPolicy._(assets);
  }

  /// An HttpClient whose https connections are judged by the policy. It
  /// refuses plain http (so a redirect from https to http too).
  HttpClient httpClient() {
    final client = HttpClient(context: SecurityContext(withTrustedRoots: false));
    client.connectionFactory = _connect;
    client.findProxy = (Uri uri) => 'DIRECT';
    return client;
  }

  /// The index of the rule that decides host:port, by httptrust's precedence.
  static int scopeFor(String host, int port) {
    final h = _normalize(host);
    final withPort = h.contains(':') ? '[' + h + ']:' + port.toString() : h + ':' + port.toString();
    final exact = _exactRoutes[withPort] ?? _exactRoutes[h];
    if (exact != null) {
      return exact;
    }
    final ip = InternetAddress.tryParse(h);
    if (ip != null) {
      for (final c in _cidrRoutes) {
        if (_inNetwork(ip, c)) {
          return c.id;
        }
      }
    } else {
      final apex = _apexRoutes[h];
      if (apex != null) {
        return apex;
      }
      final labels = h.split('.');
      for (var n = 1; n < labels.length; n++) {
        final parent = labels.sublist(n).join('.');
        final one = n == 1 ? _oneRoutes[parent] : null;
        if (one != null) {
          return one;
        }
        final any = _anyRoutes[parent];
        if (any != null) {
          return any;
        }
      }
    }
    if (_defaultScope < 0) {
      throw HttptrustRefused(host + ' is not a host of this export');
    }
    return _defaultScope;
  }

  static String _normalize(String host) {
    var h = host.trim();
    if (h.startsWith('[') && h.endsWith(']')) {
      h = h.substring(1, h.length - 1);
    }
    if (h.endsWith('.')) {
      h = h.substring(0, h.length - 1);
    }
    final ip = InternetAddress.tryParse(h);
    if (ip != null) {
      final raw = ip.rawAddress;
      if (raw.length == 16 && raw.sublist(0, 10).every((b) => b == 0) && raw[10] == 0xff && raw[11] == 0xff) {
        return raw.sublist(12).join('.'); // IPv4-mapped: the IPv4 host, as httptrust compares it
      }
      return ip.address;
    }
    // dart:io has no UTS-46 mapping (httptrust's), and Uri percent-encodes
    // a host that is not ASCII: such a name is refused, never mapped.
    final name = h.toLowerCase();
    if (!RegExp(r'^[a-z0-9_.-]+$').hasMatch(name)) {
      throw HttptrustRefused(host + ': write an international name in its ASCII (xn--) form');
    }
    return name;
  }

  static bool _inNetwork(InternetAddress ip, _Cidr c) {
    final net = InternetAddress.tryParse(c.network);
    if (net == null || net.rawAddress.length != ip.rawAddress.length) {
      return false;
    }
    for (var i = 0; i < c.bits; i++) {
      final mask = 0x80 >> (i % 8);
      if ((ip.rawAddress[i ~/ 8] & mask) != (net.rawAddress[i ~/ 8] & mask)) {
        return false;
      }
    }
    return true;
  }

  SecurityContext _context(int i) {
    final existing = _contexts[i];
    if (existing != null) {
      return existing;
    }
    final s = _scopes[i];
    final ctx = SecurityContext(withTrustedRoots: s.system && !s.exactOnly);
    if (!s.exactOnly) {
      for (final a in s.anchors) {
        ctx.setTrustedCertificatesBytes(_assets[a]!);
      }
    }
    if (s.minTls == '1.3') {
      ctx.minimumTlsProtocolVersion = TlsProtocolVersion.tls1_3;
    }
    _contexts[i] = ctx;
    return ctx;
  }

  Future<ConnectionTask<Socket>> _connect(Uri url, String? proxyHost, int? proxyPort) async {
    if (url.scheme != 'https') {
      // dart:io follows redirects itself and tells this factory nothing of
      // them: a plain connection is refused, so a redirect from https to
      // http never leaves TLS. Use another HttpClient for http://.
      throw HttptrustRefused(url.toString() + ': this client connects to https only (a redirect to http is refused)');
    }
    if (proxyHost != null) {
      throw HttptrustRefused('a proxy would get one context for every host; connect directly');
    }
    final i = scopeFor(url.host, url.port);
    final s = _scopes[i];
    final refuse = s.refuse;
    if (refuse != null) {
      throw HttptrustRefused(url.host + ': ' + refuse);
    }
    final name = s.serverName ?? url.host;
    final task = await Socket.startConnect(url.host, url.port);
    final secured = task.socket.then((raw) async {
      final socket = await SecureSocket.secure(raw,
          host: name,
          context: _context(i),
          onBadCertificate: s.exactOnly ? (X509Certificate c) => _exactOk(s, c, name) : null);
      try {
        _check(s, socket.peerCertificate, name);
      } catch (e) {
        socket.destroy();
        rethrow;
      }
      return socket as Socket;
    });
    return ConnectionTask.fromSocket(secured, task.cancel);
  }

  /// Refuses what Go's parser or verifier would: a negative serial, and a
  /// signature algorithm Go does not verify (SHA-1, MD5, ...) unless the
  /// leaf is itself trusted, and so its signature never checked. dart:io
  /// shows the leaf only.
  void _checkCert(_Scope s, X509Certificate leaf, String name) {
    var serial = <int>[];
    var algorithm = '';
    var params = '';
    try {
      final cert = _derAt(leaf.der, 0);
      final tbs = _derAt(leaf.der, cert[1]);
      var i = tbs[1];
      final version = _derAt(leaf.der, i);
      if (version[0] == 0xa0) {
        i = version[2];
      }
      final sn = _derAt(leaf.der, i);
      serial = leaf.der.sublist(sn[1], sn[2]);
      final alg = _derAt(leaf.der, tbs[2]);
      final oid = _derAt(leaf.der, alg[1]);
      algorithm = _hex(leaf.der.sublist(oid[1], oid[2]));
      params = _hex(leaf.der.sublist(oid[2], alg[2]));
    } on RangeError {
      throw HttptrustRefused(name + ': a certificate httptrust cannot parse');
    }
    if (serial.isNotEmpty && serial[0] & 0x80 != 0) {
      throw HttptrustRefused(name + ': a certificate with a negative serial number, which httptrust cannot parse');
    }
    final signatureOk = algorithm == _rsaPss ? _pssParams.contains(params) : _signatures.contains(algorithm);
    if (!s.exactOnly && !signatureOk && !s.anchors.any((a) => _equal(_der(_assets[a]!), leaf.der))) {
      throw HttptrustRefused(name + ': the certificate is signed with an algorithm httptrust does not accept (SHA-1, MD5, ...)');
    }
  }

  _Exact? _exactFor(_Scope s, X509Certificate c) {
    for (final e in s.exact) {
      if (_equal(_der(_assets[e.asset]!), c.der)) {
        return e;
      }
    }
    return null;
  }

  bool _exactOk(_Scope s, X509Certificate c, String name) {
    final e = _exactFor(s, c);
    if (e == null) {
      return false;
    }
    final now = DateTime.now().millisecondsSinceEpoch ~/ 1000;
    if (!s.allowExpired && (now < e.notBefore || now > e.notAfter)) {
      return false;
    }
    return s.allowNameMismatch || _nameOk(name, e.dns, e.ips);
  }

  void _check(_Scope s, X509Certificate? leaf, String name) {
    if (leaf == null) {
      throw HttptrustRefused(name + ': the server presented no certificate');
    }
    if (s.exactOnly && !_exactOk(s, leaf, name)) {
      throw HttptrustRefused(name + ': not the certificate the rule trusts (' + s.label + ')');
    }
    _checkCert(s, leaf, name);
    if (s.pins.isEmpty) {
      return;
    }
    final end = s.pinsEnd;
    final today = DateTime.now().toIso8601String().substring(0, 10);
    if (end != null && today.compareTo(end) >= 0) {
      print('httptrust: warning: pins for ' + name + ' have expired and are not enforced');
      return;
    }
    final pin = _base64(sha256.convert(_spki(leaf.der)).bytes);
    if (!s.pins.contains(pin)) {
      final msg = name + ': no pin of the rule (' + s.label + ') matches the server\'s key';
      if (s.enforce) {
        throw HttptrustRefused(msg);
      }
      print('httptrust: warning: ' + msg + ' (report-only: allowed)');
    }
  }
}

bool _nameOk(String name, List<String> dns, List<String> ips) {
  final h = HttptrustPolicy._normalize(name);
  final ip = InternetAddress.tryParse(h);
  if (ip != null) {
    return ips.any((x) => InternetAddress.tryParse(x)?.address == ip.address);
  }
  for (final raw in dns) {
    final d = raw.toLowerCase();
    if (d == h) {
      return true;
    }
    final dot = h.indexOf('.');
    if (d.startsWith('*.') && dot > 0 && h.substring(dot + 1) == d.substring(2)) {
      return true;
    }
  }
  return false;
}

String _hex(List<int> b) => b.map((x) => x.toRadixString(16).padLeft(2, '0')).join();

bool _equal(List<int> a, List<int> b) {
  if (a.length != b.length) {
    return false;
  }
  for (var i = 0; i < a.length; i++) {
    if (a[i] != b[i]) {
      return false;
    }
  }
  return true;
}

/// The DER of the first certificate of a PEM file.
Uint8List _der(List<int> pem) {
  final text = String.fromCharCodes(pem);
  const begin = '-----BEGIN CERTIFICATE-----';
  final start = text.indexOf(begin);
  final stop = text.indexOf('-----END CERTIFICATE-----', start);
  final body = text.substring(start + begin.length, stop).replaceAll(RegExp(r'\s'), '');
  return _unbase64(body);
}

const _alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

Uint8List _unbase64(String s) {
  final out = <int>[];
  var acc = 0;
  var bits = 0;
  for (final ch in s.split('')) {
    if (ch == '=') {
      break;
    }
    acc = (acc << 6) | _alphabet.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.add((acc >> bits) & 0xff);
    }
  }
  return Uint8List.fromList(out);
}

String _base64(List<int> b) {
  final out = StringBuffer();
  for (var i = 0; i < b.length; i += 3) {
    final n = (b[i] << 16) | ((i + 1 < b.length ? b[i + 1] : 0) << 8) | (i + 2 < b.length ? b[i + 2] : 0);
    out.write(_alphabet[(n >> 18) & 63]);
    out.write(_alphabet[(n >> 12) & 63]);
    out.write(i + 1 < b.length ? _alphabet[(n >> 6) & 63] : '=');
    out.write(i + 2 < b.length ? _alphabet[n & 63] : '=');
  }
  return out.toString();
}

/// The DER element at i: [tag, start of its value, end].
List<int> _derAt(List<int> der, int i) {
  var n = der[i + 1];
  var at = i + 2;
  if (n & 0x80 != 0) {
    final k = n & 0x7f;
    n = 0;
    for (var j = 0; j < k; j++) {
      n = (n << 8) | der[at + j];
    }
    at += k;
  }
  if (at + n > der.length) {
    throw RangeError('truncated DER');
  }
  return [der[i], at, at + n];
}

/// The DER SubjectPublicKeyInfo of a DER certificate.
List<int> _spki(List<int> der) {
  List<int> tlv(int i) {
    var n = der[i + 1];
    var at = i + 2;
    if (n & 0x80 != 0) {
      final k = n & 0x7f;
      n = 0;
      for (var j = 0; j < k; j++) {
        n = (n << 8) | der[at + j];
      }
      at += k;
    }
    return [der[i], at, at + n];
  }

  var i = tlv(0)[1]; // Certificate
  i = tlv(i)[1]; // TBSCertificate
  final version = tlv(i);
  if (version[0] == 0xa0) {
    i = version[2];
  }
  for (var k = 0; k < 5; k++) {
    i = tlv(i)[2]; // serial, signature, issuer, validity, subject
  }
  return der.sublist(i, tlv(i)[2]);
}
`
