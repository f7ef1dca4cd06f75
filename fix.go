package httptrust

import (
	"fmt"
	"strings"
	"time"
)

// fixFor returns the command or rule change that resolves e safely. After a
// pin mismatch or a changed certificate it asks for a fingerprint obtained
// out of band: it is never taken from the connection that failed.
func fixFor(e *VerifyError) string {
	url, host := e.URL(), e.Host
	ruleAt := "the rule"
	if e.Rule != nil && e.Rule.Rule != nil {
		ruleAt = "the rule at " + e.Rule.Rule.Where()
	}
	switch e.Reason {
	case ReasonSelfSigned:
		return fmt.Sprintf("if this is the server you expect, compare its SHA-256 fingerprint with the one it shows (its console, label or operator), then trust this certificate for %s only: httptrust fetch%s %s",
			host, relaxFlags(e), url)
	case ReasonUnknownAuthority:
		if e.Rule != nil && len(e.Rule.Anchors) == 0 && len(e.Rule.Certificates) == 0 && !e.Rule.SystemRoots {
			return fmt.Sprintf("%s trusts nothing for %s: add anchors or certificates to it", ruleAt, host)
		}
		return fmt.Sprintf("if you trust the authority that issued it, trust its CA certificate for %s only: httptrust trust add CA.pem --host %s (or see the chain and choose: httptrust fetch %s)", host, host, url)
	case ReasonIncompleteChain:
		return fmt.Sprintf("the server should send its intermediate certificates (fix its configuration); meanwhile fetch the missing one: httptrust get --fetch-intermediates %s, or save it to the store: httptrust fetch --fetch-intermediates %s", url, url)
	case ReasonNameMismatch:
		if name := concreteName(e.Names); name != "" {
			return fmt.Sprintf("use a name the certificate covers in the URL, or verify it as one of them: httptrust get --server-name %s %s (in a rule: server_name = %q on the exact rule for %s)", name, url, name, host)
		}
		if len(e.Names) > 0 && !strings.HasPrefix(e.Names[0], "CN=") {
			return fmt.Sprintf("use a host name the certificate covers (%s) in the URL: a wildcard covers exactly one label", joinNames(e.Names))
		}
		return fmt.Sprintf("the certificate names no host in its SAN; for a device you trust: httptrust fetch --allow-name-mismatch %s", url)
	case ReasonExpired:
		return fmt.Sprintf("renew the certificate on the server; if the local clock (%s) is wrong, fix the clock; for a device that cannot renew its own certificate: httptrust fetch --allow-expired %s",
			e.Now.UTC().Format(time.RFC3339), url)
	case ReasonNotYetValid:
		return fmt.Sprintf("check the clocks: the local clock says %s; the server's certificate starts later", e.Now.UTC().Format(time.RFC3339))
	case ReasonPinMismatch:
		return fmt.Sprintf("if the server's key was rotated on purpose, get its new pin from its operator (out of band, not from this connection) and add it to pins in %s; until then, do not trust this connection", ruleAt)
	case ReasonCertificateChanged:
		return fmt.Sprintf("if the change is expected, get the new certificate's SHA-256 fingerprint out of band (from the device or its operator, not from this connection) and run: httptrust fetch --fingerprint <SHA-256 obtained out of band> %s", url)
	case ReasonClientCertRequired:
		return fmt.Sprintf("give a client certificate the server accepts: httptrust get --cert me.p12 --password-env VAR %s (in a rule: client_certificate for %s)", url, host)
	case ReasonInvalidChain:
		return "the server's certificate chain breaks a rule of X.509 that no trust setting lifts: its operator must replace the certificate (or chain) with a valid one"
	case ReasonProtocolMismatch:
		if e.cipher {
			return "the server offers only cipher suites that httptrust refuses (3DES, RC4, static RSA, DHE, NULL): its operator must enable an ECDHE suite with AES-GCM or ChaCha20; no rule lifts this"
		}
		return fmt.Sprintf("the server and httptrust share no TLS version or cipher suite; for a legacy device, allow it in its own rule: hosts = [%q], min_tls = \"1.0\"", host)
	case ReasonNotTLS:
		return fmt.Sprintf("the server does not speak TLS on this port: use http:// if plain HTTP is intended, or check the port")
	case ReasonBadConfig:
		return fmt.Sprintf("fix or replace the file named by %s (httptrust inspect FILE says what a file is)", ruleAt)
	case ReasonClientCertUnusable:
		return fmt.Sprintf("fix the client certificate, key or password named by %s (httptrust inspect FILE says what a file is)", ruleAt)
	case ReasonDowngrade:
		return "allow it only if plain HTTP is acceptable: httptrust get --allow-downgrade (library: Transport.AllowDowngrade)"
	}
	return ""
}

// relaxFlags adds the flags a self-signed device may also need.
func relaxFlags(e *VerifyError) string {
	if len(e.Chain) == 0 || e.Chain[0].Certificate == nil {
		return ""
	}
	leaf := e.Chain[0].Certificate
	var f string
	if leaf.VerifyHostname(e.Host) != nil {
		f += " --allow-name-mismatch"
	}
	if e.Now.After(leaf.NotAfter) || e.Now.Before(leaf.NotBefore) {
		f += " --allow-expired"
	}
	return f
}

// concreteName returns the first name of names that is a host a URL or
// server_name can use: no wildcard, no common-name note, no "more" marker.
func concreteName(names []string) string {
	for _, n := range names {
		if !strings.HasPrefix(n, "*") && !strings.HasPrefix(n, "CN=") && !strings.HasPrefix(n, "... ") {
			return n
		}
	}
	return ""
}
