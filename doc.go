// Package httptrust makes HTTPS work with servers your system does not trust
// yet — a self-signed device, a private or corporate CA, a dev server, an API
// you pin — without ever turning verification off.
//
// A Policy is a set of rules. Each rule names host patterns and how those
// hosts are trusted: CA certificates that may issue for them (anchors),
// exact certificates (a self-signed device), whether the system roots may
// also vouch for them, SPKI pins, a client identity for mutual TLS, a
// minimum TLS version. A certificate is trusted only for the hosts of its
// rule: it vouches for no other host, not after a redirect, not through a
// proxy, not on a resumed session. Hosts with no rule are verified against
// the system roots, exactly as a plain Go client does.
//
// Build a policy in code with New, or load a store — a folder of TOML rule
// files and the certificate files they name — with LoadDir, or with LoadFS
// from an fs.FS such as an embed.FS:
//
//	//go:embed certificates
//	var bundled embed.FS
//
//	store, _ := fs.Sub(bundled, "certificates")
//	policy, err := httptrust.LoadFS(store, nil)
//	if err != nil {
//		log.Fatal(err) // a store that does not load is an error, never wider trust
//	}
//	resp, err := policy.Client().Get("https://192.168.1.20/status")
//
// A rule file:
//
//	[[rule]]
//	hosts   = ["**.corp.example"]
//	anchors = ["corp-root.pem"]      # system_roots defaults to false here
//	pins    = ["sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg=",
//	           "sha256/Vjs8r4z+80wjNcr1YKepWQboSIRi63WsWXhIMN+eWys="]
//
//	[[rule]]
//	hosts = ["192.168.1.20"]
//	certificates = ["printer.cer"]   # DER or PEM, sniffed
//	allow_name_mismatch = true       # it says CN=localhost
//
// The most specific matching rule applies (exact host or IP, then the
// longest fixed suffix, "*." before "**." at equal suffix, then the
// narrowest CIDR); every field it does not set is inherited from the next
// less specific matching rule, down to the defaults. Policy.Lookup shows the
// effective rule for a host and where each field came from.
//
// Policy.Client and Policy.Transport verify every connection — fresh or
// resumed, HTTP/1.1 or HTTP/2, direct or through a CONNECT proxy, first hop
// or after a redirect — for the host of that hop's URL. TLSConfigFor gives a
// bare *tls.Config bound to one host, for gRPC and custom dialers.
//
// A refused connection is a *VerifyError, reachable with errors.As through
// *url.Error: the host, the rule that applied, the chain as presented, one
// Reason from a fixed list, and a Remedy — what resolves it safely, as
// data: the action, the change in the policy's own source, the httptrust
// commands. When the refusal may be an attack (a pin mismatch, a changed
// certificate, or any refusal under a rule that already trusts something)
// the remedy takes nothing from the connection that failed: it asks for a
// fingerprint, pin or name obtained out of band, never a yes.
//
// httptrust changes no global state: not http.DefaultTransport, not the
// system root pool, not the environment.
package httptrust
