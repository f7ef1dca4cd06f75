package export

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// OkHttpClass is the class the okhttp format writes.
const OkHttpClass = "HttptrustPolicy"

var javaPackageRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z_][a-zA-Z0-9_]*)*$`)

func genOkHttp(m *model) error {
	pkg := m.o.Package
	if pkg == "" {
		pkg = "httptrust.export"
	}
	if !javaPackageRE.MatchString(pkg) {
		return fmt.Errorf("export: okhttp: %q is not a Java package name", pkg)
	}
	scopes, rt := m.codeModel(false)
	name := strings.ReplaceAll(pkg, ".", "/") + "/" + OkHttpClass + ".java"
	m.file(name, 0o644, func() []byte {
		var b strings.Builder
		b.WriteString(m.comment("// "))
		fmt.Fprintf(&b, "package %s;\n", pkg)
		b.WriteString(okhttpHead)
		b.WriteString("    private static final Scope[] SCOPES = {\n")
		for _, s := range scopes {
			b.WriteString(javaScope(s))
		}
		b.WriteString("    };\n\n")
		b.WriteString("    static {\n")
		for _, t := range []struct {
			name string
			m    map[string]int
		}{{"EXACT", rt.exact}, {"ONE", rt.one}, {"ANY", rt.any}, {"APEX", rt.apex}} {
			keys := make([]string, 0, len(t.m))
			for k := range t.m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(&b, "        %s.put(%s, %d);\n", t.name, javaQuote(k), t.m[k])
			}
		}
		for _, c := range rt.cidr {
			fmt.Fprintf(&b, "        CIDR.add(new Cidr(%s, %d, %d));\n", javaQuote(c.network), c.bits, c.id)
		}
		b.WriteString("    }\n\n")
		if rt.def < 0 {
			b.WriteString("    /** An export of some hosts only: every other host is refused. */\n    private static final int DEFAULT = -1;\n")
		} else {
			fmt.Fprintf(&b, "    private static final int DEFAULT = %d;\n", rt.def)
		}
		b.WriteString(javaSignatures())
		b.WriteString(okhttpBody)
		return []byte(b.String())
	})
	return nil
}

// javaSignatures are the signature algorithms Go verifies, as the DER (hex)
// the code compares.
func javaSignatures() string {
	list := func(hexes []string) string {
		return "Arrays.asList(\n        " + strings.Join(quoteAll(hexes), ",\n        ") + ")"
	}
	return "\n    /**\n" +
		"     * The signature algorithms Go verifies (DER OID values, hex): RSA PKCS#1\n" +
		"     * SHA-256/384/512, ECDSA SHA-256/384/512, Ed25519 (no SHA-1, MD5 or DSA);\n" +
		"     * RSA-PSS only with these parameters (DER, hex): SHA-256/384/512 for the\n" +
		"     * hash and MGF1, a salt as long as the hash.\n     */\n" +
		"    private static final List<String> SIGNATURES = " + list(goSignatureOIDs) + ";\n" +
		"    private static final String RSA_PSS = " + javaQuote(oidRSAPSS) + ";\n" +
		"    private static final List<String> PSS_PARAMS = " + list(goPSSParams()) + ";\n" +
		"\n    /**\n" +
		"     * The server keys Go's TLS uses (DER OID values, hex): RSA (rsaEncryption)\n" +
		"     * and Ed25519; EC keys on these curves only: P-256, P-384, P-521.\n     */\n" +
		"    private static final List<String> KEYS = " + list(goLeafKeyOIDs) + ";\n" +
		"    private static final String EC_KEY = " + javaQuote(oidECKey) + ";\n" +
		"    private static final List<String> EC_CURVES = " + list(goLeafCurveOIDs) + ";\n" +
		"\n    /**\n" +
		"     * The cipher suites Go's TLS offers (httptrust's), in its order: TLS 1.3's,\n" +
		"     * then ECDHE with AES-GCM or ChaCha20, then ECDHE with AES-CBC and SHA-1.\n     */\n" +
		"    private static final List<String> SUITES = " + list(javaSuites()) + ";\n"
}

func javaStrings(items []string) string {
	var q []string
	for _, s := range items {
		q = append(q, javaQuote(s))
	}
	return "new String[] {" + strings.Join(q, ", ") + "}"
}

func javaNullable(s string) string {
	if s == "" {
		return "null"
	}
	return javaQuote(s)
}

func javaScope(s *codeScope) string {
	var anchors, exact []string
	for _, c := range s.anchors {
		anchors = append(anchors, base64.StdEncoding.EncodeToString(c.Raw))
	}
	for _, x := range s.exact {
		exact = append(exact, base64.StdEncoding.EncodeToString(x.cert.Raw))
	}
	return fmt.Sprintf("        // %d: %s\n        new Scope(%s, %s, %t, %s, %t, %s, %s, %s, %t, %t, %t, %s, %s),\n",
		s.id, commentSafe(s.label), javaQuote(s.label), javaNullable(s.refuse), s.system, javaStrings(anchors), s.exactOnly,
		javaStrings(exact), javaStrings(s.pins), javaNullable(s.pinsEnd), s.enforce, s.allowExpired, s.allowNameMismatch,
		javaNullable(s.serverName), javaQuote(s.minTLS))
}

// javaQuote is a Java string literal. Non-ASCII runes are \u escapes;
// line breaks, quotes and backslashes have their own escapes (a \u escape
// of them would end the literal, as Java reads \u escapes first).
func javaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\%03o`, r)
		case r < 0x80:
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		}
	}
	b.WriteByte('"')
	return b.String()
}

const okhttpHead = `
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.security.AlgorithmConstraints;
import java.security.AlgorithmParameters;
import java.security.CryptoPrimitive;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;
import javax.net.ssl.HostnameVerifier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;
import okhttp3.CertificatePinner;
import okhttp3.OkHttpClient;
import okhttp3.internal.tls.CertificateChainCleaner;
import okhttp3.internal.tls.OkHostnameVerifier;
import okhttp3.tls.HandshakeCertificates;

/**
 * Trust for each host, as the httptrust policy says, for OkHttp 3.13 and
 * later: {@code HttptrustPolicy.client(base)} returns a client in which
 * every host gets the trust of its rule and no other. Each rule's
 * certificates are a {@link HandshakeCertificates} of their own, its pins a
 * {@link CertificatePinner} checked against the chain that trust verified,
 * and one trust manager routes each connection to its host's rule (after a
 * redirect too), by httptrust's precedence.
 */
public final class HttptrustPolicy {
    private HttptrustPolicy() {}

    private static final Logger LOG = Logger.getLogger(HttptrustPolicy.class.getName());
    private static final Map<String, Integer> EXACT = new HashMap<>();
    private static final Map<String, Integer> ONE = new HashMap<>();
    private static final Map<String, Integer> ANY = new HashMap<>();
    private static final Map<String, Integer> APEX = new HashMap<>();
    private static final List<Cidr> CIDR = new ArrayList<>();

`

const okhttpBody = `
    /** Returns a client like base whose TLS is judged by the policy. */
    public static OkHttpClient client(OkHttpClient base) {
        return configure(base.newBuilder()).build();
    }

    /**
     * Sets the builder's TLS trust and host name verification to the
     * policy's, and turns off following redirects between http and https.
     */
    public static OkHttpClient.Builder configure(OkHttpClient.Builder builder) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {ROUTER}, null);
            // A redirect from https to http is refused (returned, not
            // followed); one to another https host is judged by its rule.
            return builder.sslSocketFactory(new Factory(ctx.getSocketFactory()), ROUTER).hostnameVerifier(VERIFIER)
                .followSslRedirects(false);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("httptrust: " + e, e);
        }
    }

    /** Returns the index of the scope that decides host:port, as httptrust's precedence says. */
    static int scopeFor(String host, int port) throws CertificateException {
        String h = normalize(host);
        Integer i = EXACT.get(h.indexOf(':') >= 0 ? "[" + h + "]:" + port : h + ":" + port);
        if (i == null) i = EXACT.get(h);
        if (i != null) return i;
        byte[] ip = literal(h);
        if (ip != null) {
            for (Cidr c : CIDR) if (c.contains(ip)) return c.id;
        } else {
            if ((i = APEX.get(h)) != null) return i;
            String[] labels = h.split("\\.");
            for (int n = 1; n < labels.length; n++) {
                String parent = String.join(".", Arrays.copyOfRange(labels, n, labels.length));
                if (n == 1 && (i = ONE.get(parent)) != null) return i;
                if ((i = ANY.get(parent)) != null) return i;
            }
        }
        if (DEFAULT < 0) throw new CertificateException("httptrust: " + host + " is not a host of this export");
        return DEFAULT;
    }

    private static String normalize(String host) throws CertificateException {
        String h = host.trim();
        if (h.startsWith("[") && h.endsWith("]")) h = h.substring(1, h.length() - 1);
        if (h.endsWith(".")) h = h.substring(0, h.length() - 1);
        if (literal(h) != null) {
            try {
                String a = InetAddress.getByAddress(literal(h)).getHostAddress();
                return h.indexOf(':') >= 0 ? compressV6(literal(h)) : a;
            } catch (UnknownHostException e) {
                return h;
            }
        }
        // OkHttp hands over ASCII names. java.net.IDN is IDNA 2003, which
        // maps some names to others than httptrust's UTS-46 does: a name
        // that is not ASCII is refused, not mapped.
        for (int k = 0; k < h.length(); k++) {
            if (h.charAt(k) > 0x7e || h.charAt(k) < 0x21) {
                throw new CertificateException("httptrust: " + host + ": write an international name in its ASCII (xn--) form");
            }
        }
        return h.toLowerCase(Locale.ROOT);
    }

    /** The bytes of an IP literal, or null for a name (no DNS is asked). */
    private static byte[] literal(String h) {
        boolean v4 = h.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}");
        boolean v6 = h.indexOf(':') >= 0 && h.matches("[0-9a-fA-F:.]+");
        if (!v4 && !v6) return null;
        try {
            byte[] b = InetAddress.getByName(h).getAddress();
            if (b.length == 16 && isMapped(b)) return Arrays.copyOfRange(b, 12, 16);
            return b;
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private static boolean isMapped(byte[] b) {
        for (int i = 0; i < 10; i++) if (b[i] != 0) return false;
        return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
    }

    /** An IPv6 address in the canonical form of RFC 5952, as httptrust writes it. */
    private static String compressV6(byte[] b) {
        if (b.length == 4) {
            return (b[0] & 0xff) + "." + (b[1] & 0xff) + "." + (b[2] & 0xff) + "." + (b[3] & 0xff);
        }
        int[] w = new int[8];
        for (int i = 0; i < 8; i++) w[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        int bestAt = -1, bestLen = 1;
        for (int i = 0; i < 8; ) {
            int j = i;
            while (j < 8 && w[j] == 0) j++;
            if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
            i = j == i ? i + 1 : j;
        }
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestAt) { s.append(i == 0 ? "::" : ":"); i += bestLen - 1; continue; }
            s.append(Integer.toHexString(w[i]));
            if (i < 7) s.append(':');
        }
        return s.toString();
    }

    private static X509Certificate decode(String b64) {
        try {
            return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(Base64.getDecoder().decode(b64)));
        } catch (CertificateException e) {
            throw new IllegalStateException("httptrust: " + e, e);
        }
    }

    private static final class Cidr {
        final byte[] net;
        final int bits;
        final int id;

        Cidr(String net, int bits, int id) {
            this.net = literal(net);
            this.bits = bits;
            this.id = id;
        }

        boolean contains(byte[] ip) {
            if (ip.length != net.length) return false;
            for (int i = 0; i < bits; i++) {
                int mask = 0x80 >> (i % 8);
                if ((ip[i / 8] & mask) != (net[i / 8] & mask)) return false;
            }
            return true;
        }
    }

    private static final class Scope {
        final String label, refuse, pinsEnd, serverName, minTls;
        final boolean system, exactOnly, enforce, allowExpired, allowNameMismatch;
        final String[] anchors, exact, pins;
        private X509TrustManager trust;
        private List<X509Certificate> exactCerts;

        Scope(String label, String refuse, boolean system, String[] anchors, boolean exactOnly, String[] exact,
                String[] pins, String pinsEnd, boolean enforce, boolean allowExpired, boolean allowNameMismatch,
                String serverName, String minTls) {
            this.label = label;
            this.refuse = refuse;
            this.system = system;
            this.anchors = anchors;
            this.exactOnly = exactOnly;
            this.exact = exact;
            this.pins = pins;
            this.pinsEnd = pinsEnd;
            this.enforce = enforce;
            this.allowExpired = allowExpired;
            this.allowNameMismatch = allowNameMismatch;
            this.serverName = serverName;
            this.minTls = minTls;
        }

        /** The scope's own trust, or null when it trusts no chain. */
        synchronized X509TrustManager trust() {
            if (trust == null && !exactOnly && (anchors.length > 0 || system)) {
                HandshakeCertificates.Builder b = new HandshakeCertificates.Builder();
                for (String a : anchors) b.addTrustedCertificate(decode(a));
                if (system) b.addPlatformTrustedCertificates();
                trust = b.build().trustManager();
            }
            return trust;
        }

        synchronized boolean isExact(Certificate c) {
            if (exactCerts == null) {
                exactCerts = new ArrayList<>();
                for (String e : exact) exactCerts.add(decode(e));
            }
            return exactCerts.contains(c);
        }
    }

    private static void check(X509Certificate[] chain, String authType, String host, int port) throws CertificateException {
        Scope s = SCOPES[scopeFor(host, port)];
        if (s.refuse != null) throw new CertificateException("httptrust: " + host + ": " + s.refuse);
        if (chain == null || chain.length == 0) throw new CertificateException("httptrust: " + host + ": no certificate");
        X509Certificate leaf = chain[0];
        checkSerials(host, chain);
        if (!leafKeyOk(leaf)) {
            throw new CertificateException("httptrust: " + host + ": the server's certificate has a key httptrust cannot use ("
                + leaf.getPublicKey().getAlgorithm() + "): only RSA, ECDSA on P-256, P-384 or P-521, and Ed25519");
        }
        List<Certificate> verified;
        if (s.exactOnly) {
            if (!s.isExact(leaf)) {
                throw new CertificateException("httptrust: " + host + ": not the certificate the rule trusts (" + s.label + ")");
            }
            verified = new ArrayList<>(Arrays.asList((Certificate) leaf));
        } else {
            X509TrustManager tm = s.trust();
            if (tm == null) throw new CertificateException("httptrust: " + host + ": the rule trusts no certificate (" + s.label + ")");
            tm.checkServerTrusted(chain, authType);
            try {
                verified = CertificateChainCleaner.get(tm).clean(new ArrayList<>(Arrays.asList((Certificate[]) chain)), host);
            } catch (SSLPeerUnverifiedException e) {
                throw new CertificateException("httptrust: " + host + ": " + e.getMessage(), e);
            }
            verified = verifyPath(tm, verified, authType);
            // Java does not check the validity of the anchor itself (the
            // root): httptrust does, for every certificate of the chain.
            for (Certificate c : verified) {
                if (!(s.allowExpired && s.isExact(c))) ((X509Certificate) c).checkValidity();
            }
            checkNameConstraints(host, verified);
            checkKeyUsage(host, verified);
            checkSignatures(host, verified);
            Certificate root = verified.get(verified.size() - 1);
            if (s.exact.length > 0 && s.isExact(root) && !root.equals(leaf)) {
                throw new CertificateException("httptrust: " + host + ": a certificate signed by an exact certificate's key is not that certificate");
            }
        }
        if (s.isExact(leaf) && !s.allowExpired) leaf.checkValidity();
        checkPins(s, host, verified);
    }

    /**
     * Returns the cleaner's path up to its first trusted certificate, once
     * Java has verified that very path. Java verified the chain as the
     * server sent it, and for a list out of order it builds a path of its
     * own, which may differ from the cleaner's (a certificate with the
     * subject and key of an intermediate, sent before it): the checks that
     * follow must run on a path Java verified. Given in order, Java
     * verifies the path it is given.
     */
    private static List<Certificate> verifyPath(X509TrustManager tm, List<Certificate> cleaned, String authType)
            throws CertificateException {
        List<X509Certificate> trusted = Arrays.asList(tm.getAcceptedIssuers());
        int end = cleaned.size();
        for (int i = 1; i < cleaned.size(); i++) {
            if (trusted.contains(cleaned.get(i))) {
                end = i + 1;
                break;
            }
        }
        List<Certificate> path = new ArrayList<>(cleaned.subList(0, end));
        List<Certificate> sent = path.size() > 1 ? path.subList(0, path.size() - 1) : path;
        tm.checkServerTrusted(sent.toArray(new X509Certificate[0]), authType);
        return path;
    }

    /**
     * Applies the name constraints of every CA certificate of the verified
     * chain, the anchor's too (Java's PKIX does not apply a truststore
     * anchor's own), to the DNS and IP names of every certificate below it,
     * as Go does: a DNS name Go cannot match against constraints (a
     * trailing dot, an empty label, a character outside ASCII's printable
     * ones), which OkHostnameVerifier may still match to a host, is refused,
     * and a wildcard is excluded where a name it would match is. Constraints
     * of other kinds (email, URI, directory names) are refused.
     */
    private static void checkNameConstraints(String host, List<Certificate> verified) throws CertificateException {
        for (int c = 1; c < verified.size(); c++) {
            X509Certificate ca = (X509Certificate) verified.get(c);
            byte[] ext = ca.getExtensionValue("2.5.29.30");
            if (ext == null) continue;
            String issuer = ca.getSubjectX500Principal().getName();
            List<Subtrees> subtrees;
            try {
                subtrees = Subtrees.parse(ext);
            } catch (CertificateException e) {
                throw new CertificateException("httptrust: " + host + ": " + issuer + ": " + e.getMessage(), e);
            } catch (RuntimeException e) {
                throw new CertificateException("httptrust: " + host + ": unreadable name constraints in " + issuer, e);
            }
            for (int k = 0; k < c; k++) {
                checkNames(host, (X509Certificate) verified.get(k), subtrees, issuer);
            }
        }
    }

    private static void checkNames(String host, X509Certificate cert, List<Subtrees> subtrees, String issuer)
            throws CertificateException {
        List<String> dns = new ArrayList<>();
        List<byte[]> ips = new ArrayList<>();
        if (cert.getSubjectAlternativeNames() != null) {
            for (List<?> san : cert.getSubjectAlternativeNames()) {
                Object v = san.get(1);
                if (!(v instanceof String)) continue;
                if ((Integer) san.get(0) == 2) dns.add((String) v);
                if ((Integer) san.get(0) == 7) ips.add(literalOrNull((String) v));
            }
        }
        for (String d : dns) {
            if (!nameValid(d, false)) {
                throw new CertificateException("httptrust: " + host + ": the DNS name " + d
                    + " cannot be matched against the name constraints of " + issuer);
            }
        }
        for (Subtrees st : subtrees) {
            for (String d : dns) {
                boolean any = false;
                for (String cd : st.dns) any |= domainIn(d, cd) || (!st.permitted && wildcardExcluded(d, cd));
                if (st.permitted ? !st.dns.isEmpty() && !any : any) {
                    throw new CertificateException("httptrust: " + host + ": " + d + " is outside the name constraints of " + issuer);
                }
            }
            for (byte[] ip : ips) {
                boolean any = false;
                for (byte[] cip : st.ips) any |= ipIn(ip, cip);
                if (st.permitted ? !st.ips.isEmpty() && !any : any) {
                    throw new CertificateException("httptrust: " + host + ": an IP name is outside the name constraints of " + issuer);
                }
            }
        }
    }

    /** The permitted or excluded subtrees of a name constraints extension: DNS names and IP ranges. */
    private static final class Subtrees {
        final boolean permitted;
        final List<String> dns = new ArrayList<>();
        final List<byte[]> ips = new ArrayList<>();

        Subtrees(boolean permitted) {
            this.permitted = permitted;
        }

        static List<Subtrees> parse(byte[] ext) throws CertificateException {
            List<Subtrees> out = new ArrayList<>();
            int[] os = Der.read(ext, 0, 0x04);
            int[] seq = Der.read(ext, os[1], 0x30);
            for (int i = seq[1]; i < seq[2]; ) {
                int[] subtrees = Der.read(ext, i, -1);
                if (subtrees[0] != 0xa0 && subtrees[0] != 0xa1) throw new CertificateException("bad name constraints");
                Subtrees st = new Subtrees(subtrees[0] == 0xa0);
                for (int j = subtrees[1]; j < subtrees[2]; ) {
                    int[] sub = Der.read(ext, j, 0x30);
                    int[] base = Der.read(ext, sub[1], -1);
                    if (base[2] != sub[2]) throw new CertificateException("a name constraint with a minimum or maximum");
                    byte[] v = Arrays.copyOfRange(ext, base[1], base[2]);
                    if (base[0] == 0x82) {
                        String d = new String(v, java.nio.charset.StandardCharsets.ISO_8859_1);
                        if (!nameValid(d, true)) throw new CertificateException("a DNS name constraint Go cannot parse: " + d);
                        st.dns.add(d);
                    } else if (base[0] == 0x87 && (v.length == 8 || v.length == 32)) {
                        st.ips.add(v);
                    } else {
                        throw new CertificateException("a name constraint of a kind other than DNS or IP");
                    }
                    j = sub[2];
                }
                out.add(st);
                i = subtrees[2];
            }
            return out;
        }
    }

    /**
     * Whether Go can match s, a DNS name (or a DNS name constraint), against
     * name constraints: no trailing dot, no empty label (but a constraint's
     * leading dot), characters 33 to 126 only.
     */
    private static boolean nameValid(String s, boolean constraint) {
        if (s.isEmpty()) return true;
        if (s.endsWith(".")) return false;
        if (constraint && s.startsWith(".")) s = s.substring(1);
        for (String label : s.split("\\.", -1)) {
            if (label.isEmpty()) return false;
            for (int i = 0; i < label.length(); i++) {
                if (label.charAt(i) < 33 || label.charAt(i) > 126) return false;
            }
        }
        return true;
    }

    /**
     * Whether a wildcard name falls under an excluded constraint as Go
     * decides: "*.x.test" is excluded by "bad.x.test", a name it matches.
     */
    private static boolean wildcardExcluded(String name, String constraint) {
        if (!name.startsWith("*")) return false;
        String c = constraint.toLowerCase(Locale.ROOT);
        String n = name.toLowerCase(Locale.ROOT);
        int i = c.indexOf('.');
        int j = n.indexOf('.');
        return i >= 0 && j >= 0 && n.substring(j).equals(c.substring(i));
    }

    /**
     * Refuses a verified chain in which a certificate with an extended key
     * usage extension has neither serverAuth nor anyExtendedKeyUsage, as Go
     * does (Java checks the leaf's only).
     */
    private static void checkKeyUsage(String host, List<Certificate> verified) throws CertificateException {
        for (Certificate c : verified) {
            List<String> eku = ((X509Certificate) c).getExtendedKeyUsage();
            if (eku != null && !eku.contains("1.3.6.1.5.5.7.3.1") && !eku.contains("2.5.29.37.0")) {
                throw new CertificateException("httptrust: " + host + ": the extended key usage of "
                    + ((X509Certificate) c).getSubjectX500Principal().getName() + " does not include serverAuth");
            }
        }
    }

    /**
     * Refuses a verified chain with a signature Go would not verify (SHA-1,
     * MD5, ...): every signature but the anchor's own, which nothing checks.
     */
    private static void checkSignatures(String host, List<Certificate> verified) throws CertificateException {
        for (int i = 0; i < verified.size() - 1; i++) {
            X509Certificate c = (X509Certificate) verified.get(i);
            if (!signatureOk(c)) {
                throw new CertificateException("httptrust: " + host + ": " + c.getSubjectX500Principal().getName()
                    + " is signed with " + c.getSigAlgName() + ", which httptrust does not accept");
            }
        }
    }

    /**
     * Whether Go verifies c's signature algorithm, read from c's DER: RSA-PSS
     * only with the parameters of SHA-256/384/512 (PSS_PARAMS), the others
     * by their OID.
     */
    private static boolean signatureOk(X509Certificate c) throws CertificateException {
        byte[] d = c.getEncoded();
        try {
            int[] cert = Der.read(d, 0, 0x30);
            int[] tbs = Der.read(d, cert[1], 0x30);
            int[] alg = Der.read(d, tbs[2], 0x30);
            int[] oid = Der.read(d, alg[1], 0x06);
            String o = hex(d, oid[1], oid[2]);
            return o.equals(RSA_PSS) ? PSS_PARAMS.contains(hex(d, oid[2], alg[2])) : SIGNATURES.contains(o);
        } catch (CertificateException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Whether Go's TLS can use c's key, read from c's DER: RSA
     * (rsaEncryption, NULL parameters, 1024 bits or more), EC on P-256,
     * P-384 or P-521, or Ed25519. Java also takes Ed448, RSASSA-PSS and
     * DSA keys, which Go refuses.
     */
    private static boolean leafKeyOk(X509Certificate c) {
        try {
            byte[] d = c.getEncoded();
            int[] cert = Der.read(d, 0, 0x30);
            int[] tbs = Der.read(d, cert[1], 0x30);
            int i = tbs[1];
            if ((d[i] & 0xff) == 0xa0) i = Der.read(d, i, 0xa0)[2]; // version
            for (int k = 0; k < 5; k++) i = Der.read(d, i, -1)[2]; // serial, signature, issuer, validity, subject
            int[] spki = Der.read(d, i, 0x30);
            int[] alg = Der.read(d, spki[1], 0x30);
            int[] oid = Der.read(d, alg[1], 0x06);
            String o = hex(d, oid[1], oid[2]);
            if (o.equals(EC_KEY)) {
                int[] curve = Der.read(d, oid[2], 0x06);
                return curve[2] == alg[2] && EC_CURVES.contains(hex(d, curve[1], curve[2]));
            }
            if (!KEYS.contains(o)) return false;
            if (o.equals(KEYS.get(0))) {
                // rsaEncryption: NULL parameters, as Go requires, and 1024 bits or more.
                return hex(d, oid[2], alg[2]).equals("0500")
                    && ((java.security.interfaces.RSAPublicKey) c.getPublicKey()).getModulus().bitLength() >= 1024;
            }
            return oid[2] == alg[2]; // Ed25519: no parameters
        } catch (CertificateException | RuntimeException e) {
            return false;
        }
    }

    private static String hex(byte[] d, int from, int to) {
        StringBuilder s = new StringBuilder();
        for (int i = from; i < to; i++) s.append(String.format("%02x", d[i] & 0xff));
        return s.toString();
    }

    /** Refuses a certificate with a negative serial number, which Go cannot parse. */
    private static void checkSerials(String host, X509Certificate[] chain) throws CertificateException {
        for (X509Certificate c : chain) {
            if (c.getSerialNumber().signum() < 0) {
                throw new CertificateException("httptrust: " + host + ": " + c.getSubjectX500Principal().getName()
                    + " has a negative serial number, which httptrust cannot parse");
            }
        }
    }

    /** Whether name is within a DNS name constraint, as Go's matchDomainConstraint says. */
    private static boolean domainIn(String name, String constraint) {
        if (constraint.isEmpty()) return true;
        boolean below = constraint.startsWith(".");
        String[] n = name.toLowerCase(Locale.ROOT).split("\\.", -1);
        String[] c = (below ? constraint.substring(1) : constraint).toLowerCase(Locale.ROOT).split("\\.", -1);
        if (n.length < c.length || (below && n.length == c.length)) return false;
        for (int i = 1; i <= c.length; i++) {
            if (!n[n.length - i].equals(c[c.length - i])) return false;
        }
        return true;
    }

    /** Whether ip is within an IP name constraint (address and mask). */
    private static boolean ipIn(byte[] ip, byte[] constraint) {
        if (ip == null) return false;
        int n = constraint.length / 2;
        if (ip.length != n) return false;
        for (int i = 0; i < n; i++) {
            if ((ip[i] & constraint[n + i]) != (constraint[i] & constraint[n + i])) return false;
        }
        return true;
    }

    private static byte[] literalOrNull(String ip) {
        try {
            return InetAddress.getByName(ip).getAddress();
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /** A minimal DER reader for the extensions Java does not parse. */
    private static final class Der {
        /** Reads the element at i: {tag, start of value, end}; want is its tag, or -1 for any. */
        static int[] read(byte[] d, int i, int want) throws CertificateException {
            int tag = d[i] & 0xff;
            if (want >= 0 && tag != want) throw new CertificateException("unexpected DER tag " + tag);
            int n = d[i + 1] & 0xff;
            int at = i + 2;
            if ((n & 0x80) != 0) {
                int k = n & 0x7f;
                if (k < 1 || k > 3) throw new CertificateException("bad DER length");
                n = 0;
                for (int j = 0; j < k; j++) n = (n << 8) | (d[at + j] & 0xff);
                at += k;
            }
            if (at + n > d.length) throw new CertificateException("truncated DER");
            return new int[] {tag, at, at + n};
        }
    }

    private static void checkPins(Scope s, String host, List<Certificate> verified) throws CertificateException {
        if (s.pins.length == 0) return;
        if (s.pinsEnd != null && !LocalDate.now().isBefore(LocalDate.parse(s.pinsEnd))) {
            LOG.warning("httptrust: pins for " + host + " have expired and are not enforced (" + s.label + ")");
            return;
        }
        CertificatePinner.Builder b = new CertificatePinner.Builder();
        String pattern = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        for (String p : s.pins) b.add(pattern, "sha256/" + p);
        try {
            b.build().check(host, verified);
        } catch (SSLPeerUnverifiedException e) {
            if (s.enforce) throw new CertificateException("httptrust: " + host + ": " + e.getMessage(), e);
            LOG.warning("httptrust: pin mismatch for " + host + " allowed: report-only pins (" + s.label + ")");
        }
    }

    private static final X509ExtendedTrustManager ROUTER = new X509ExtendedTrustManager() {
        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            SSLSession session = ((SSLSocket) socket).getHandshakeSession();
            check(chain, authType, session.getPeerHost(), session.getPeerPort());
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            check(chain, authType, engine.getPeerHost(), engine.getPeerPort());
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("httptrust: no host to judge the certificate by");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            throw new CertificateException("httptrust: a client trust manager only");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            throw new CertificateException("httptrust: a client trust manager only");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("httptrust: a client trust manager only");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    };

    private static final HostnameVerifier VERIFIER = new HostnameVerifier() {
        @Override
        public boolean verify(String host, SSLSession session) {
            try {
                Scope s = SCOPES[scopeFor(host, session.getPeerPort())];
                if (s.refuse != null) return false;
                Certificate leaf = session.getPeerCertificates()[0];
                if (s.allowNameMismatch && s.isExact(leaf)) return true;
                String name = s.serverName != null ? s.serverName : host;
                String h = normalize(name);
                if (literal(h) == null && !goNameMatch(h, (X509Certificate) leaf)) return false;
                return OkHostnameVerifier.INSTANCE.verify(name, session);
            } catch (CertificateException | SSLPeerUnverifiedException e) {
                return false;
            }
        }
    };

    /**
     * Whether one of leaf's DNS names matches host (a name, normalized) as
     * Go's VerifyHostname matches it. OkHostnameVerifier also takes a name
     * written with a trailing dot ("a.test.") for a.test; Go does not: a
     * name that is not a valid host name pattern (a trailing dot, an empty
     * label, a wildcard that is not a whole left-most label) matches only
     * the very same text.
     */
    private static boolean goNameMatch(String host, X509Certificate leaf) throws CertificateException {
        java.util.Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
        if (sans == null) return false;
        boolean valid = goValidName(host, false);
        String[] hostParts = host.split("\\.", -1);
        for (List<?> san : sans) {
            Object v = san.get(1);
            if ((Integer) san.get(0) != 2 || !(v instanceof String)) continue;
            String m = asciiLower((String) v);
            if (valid && goValidName(m, true)) {
                String[] p = m.split("\\.", -1);
                if (p.length != hostParts.length) continue;
                boolean ok = true;
                for (int i = 0; i < p.length && ok; i++) ok = (i == 0 && p[i].equals("*")) || p[i].equals(hostParts[i]);
                if (ok) return true;
            } else if (!m.isEmpty() && !m.equals(".") && m.equals(host)) {
                return true;
            }
        }
        return false;
    }

    /** s with A-Z lowered and nothing else changed, as Go's toLowerCaseASCII. */
    private static String asciiLower(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(c >= 'A' && c <= 'Z' ? (char) (c + 32) : c);
        }
        return b.toString();
    }

    /** Go's validHostname: labels of letters, digits, '-' (not first) and '_'; a pattern may start with "*.". */
    private static boolean goValidName(String s, boolean pattern) {
        if (!pattern && s.endsWith(".")) s = s.substring(0, s.length() - 1);
        if (s.isEmpty() || s.equals("*")) return false;
        String[] labels = s.split("\\.", -1);
        for (int i = 0; i < labels.length; i++) {
            String l = labels[i];
            if (l.isEmpty()) return false;
            if (pattern && i == 0 && l.equals("*")) continue;
            for (int j = 0; j < l.length(); j++) {
                char c = l.charAt(j);
                boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c == '-' && j != 0) || c == '_';
                if (!ok) return false;
            }
        }
        return true;
    }

    private static final String[] PROTOCOLS = {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"};

    /**
     * Go's key exchange groups only: the JVM's others (X448, the ffdhe
     * groups) are not offered. The JVM's own constraints still apply too.
     */
    private static final AlgorithmConstraints GROUPS = new AlgorithmConstraints() {
        private boolean ok(String alg) {
            String a = alg == null ? "" : alg.toLowerCase(Locale.ROOT);
            return !a.equals("x448") && !a.startsWith("ffdhe");
        }

        @Override
        public boolean permits(Set<CryptoPrimitive> primitives, String algorithm, AlgorithmParameters parameters) {
            return ok(algorithm);
        }

        @Override
        public boolean permits(Set<CryptoPrimitive> primitives, Key key) {
            return true;
        }

        @Override
        public boolean permits(Set<CryptoPrimitive> primitives, String algorithm, Key key, AlgorithmParameters parameters) {
            return ok(algorithm);
        }
    };

    /**
     * Limits each socket to its rule's TLS versions, to Go's cipher suites
     * and to Go's key exchange groups (GROUPS).
     */
    private static final class Factory extends SSLSocketFactory {
        private final SSLSocketFactory d;

        Factory(SSLSocketFactory d) {
            this.d = d;
        }

        private Socket limit(Socket sock, String host, int port) {
            if (!(sock instanceof SSLSocket)) return sock;
            List<String> supported = Arrays.asList(((SSLSocket) sock).getSupportedCipherSuites());
            List<String> suites = new ArrayList<>();
            for (String c : SUITES) if (supported.contains(c)) suites.add(c);
            // Secure renegotiation is signalled as Java does by default.
            if (supported.contains("TLS_EMPTY_RENEGOTIATION_INFO_SCSV")) suites.add("TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
            ((SSLSocket) sock).setEnabledCipherSuites(suites.toArray(new String[0]));
            SSLParameters params = ((SSLSocket) sock).getSSLParameters();
            params.setAlgorithmConstraints(GROUPS);
            ((SSLSocket) sock).setSSLParameters(params);
            if (host == null) return sock;
            try {
                Scope s = SCOPES[scopeFor(host, port)];
                int min = Arrays.asList("1.0", "1.1", "1.2", "1.3").indexOf(s.minTls);
                List<String> allowed = Arrays.asList(PROTOCOLS).subList(Math.max(min, 0), PROTOCOLS.length);
                List<String> on = new ArrayList<>();
                for (String p : ((SSLSocket) sock).getSupportedProtocols()) if (allowed.contains(p)) on.add(p);
                ((SSLSocket) sock).setEnabledProtocols(on.toArray(new String[0]));
            } catch (CertificateException e) {
                // Not a host of this export: the trust manager refuses it.
            }
            return sock;
        }

        @Override public String[] getDefaultCipherSuites() { return d.getDefaultCipherSuites(); }
        @Override public String[] getSupportedCipherSuites() { return d.getSupportedCipherSuites(); }
        @Override public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
            return limit(d.createSocket(s, host, port, autoClose), host, port);
        }
        @Override public Socket createSocket(String host, int port) throws IOException {
            return limit(d.createSocket(host, port), host, port);
        }
        @Override public Socket createSocket(String host, int port, InetAddress local, int localPort) throws IOException {
            return limit(d.createSocket(host, port, local, localPort), host, port);
        }
        @Override public Socket createSocket(InetAddress host, int port) throws IOException {
            return limit(d.createSocket(host, port), host.getHostAddress(), port);
        }
        @Override public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort) throws IOException {
            return limit(d.createSocket(host, port, local, localPort), host.getHostAddress(), port);
        }
    }
}
`
