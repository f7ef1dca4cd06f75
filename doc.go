// Package httptrust makes HTTPS work with servers your system does not trust
// yet — a self-signed device, a private or corporate CA, a dev server, an API
// you pin — without ever turning verification off.
//
// # Trust policies
//
// A [Policy] is a set of rules. Each [Rule] names host patterns (see
// [ParsePattern]) and how those hosts are trusted: CA certificates that may
// issue for them (anchors), exact certificates (a self-signed device),
// whether the system roots may also vouch for them, SPKI pins, trust on
// first use, a client identity for mutual TLS, a minimum TLS version. A
// certificate is trusted only for the hosts of its rule: it vouches for no
// other host, not after a redirect, not through a proxy, not on a resumed
// session. Hosts with no rule are verified against the system roots,
// exactly as a plain Go client does.
//
// Build a policy in code with [New], or load a store — a folder of TOML
// rule files and the certificate files they name — with [LoadDir], or with
// [LoadFS] from an fs.FS such as an embed.FS (the Go form of an app's
// bundled certificates folder):
//
//	//go:embed certificates
//	var bundled embed.FS
//
//	policy, err := httptrust.LoadFS(bundled, &httptrust.Options{StoreDir: "certificates"})
//	if err != nil {
//		log.Fatal(err) // a store that does not load is an error, never wider trust
//	}
//	client := policy.Client() // create it once, or call Client again: one transport is shared
//	resp, err := client.Get("https://192.168.1.20/status")
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
// less specific matching rule, down to the defaults. pins, pins_expire and
// enforce are one [PinSet], inherited together. [Policy.Lookup] shows the
// [Effective] rule for a host and where each field came from.
// [Policy.Override] and [Policy.Isolate] derive a policy with one host's
// rule changed for a while (the CLI's --pin, --cacert), with the same
// inheritance.
//
// A store built into the program is validated when it loads; on disk,
// certificates are read on first use (a bad one fails its hosts closed)
// unless [Options] says Validate. A certificate file no rule names trusts
// nothing, and [Policy.Warnings] says so with the rule that would trust it.
//
// # Verification
//
// [Policy.Client] and [Policy.Transport] verify every connection — fresh or
// resumed, HTTP/1.1 or HTTP/2, direct or through an HTTP, HTTPS or SOCKS5
// proxy, first hop or after a redirect — for the host of that hop's URL.
// The transport does TLS itself, with one config per host bound to it; a
// caller's base *http.Transport keeps its settings (its TLS settings too,
// but for what decides trust and identity), and its pool limits apply per
// host.
//
// [Policy.TLSConfigFor] gives a bare *tls.Config bound to one host, for gRPC
// (credentials.NewTLS), database drivers and custom dialers. Wrap its
// VerifyConnection, never replace it. [Policy.DialTLSContext] dials and
// completes the handshake for clients that take a dialer, and
// [Policy.Explain] classifies a bare config's handshake errors.
//
// # Errors
//
// A refused connection is a *tls.CertificateVerificationError (what
// net/http and retry libraries recognise) whose Err is a *[VerifyError],
// reachable with errors.As through *url.Error: the host, the rule that
// applied, the chain as presented, one [Reason] from a fixed list (with a
// stable code), and a [Remedy] — what resolves it safely, as data: the
// [Action], the [Change] in the policy's own source (a rule file's line, or
// the Rule field for a policy built in code), the httptrust commands. When
// the refusal may be an attack ([MayBeAttack]: a pin mismatch, a changed
// certificate, or any refusal under a rule that already trusts something)
// the remedy takes nothing from the connection that failed: it asks for a
// fingerprint, pin or name obtained out of band, never a yes. Refusals also
// reach [Options].Observer as [EventRefused].
//
// # Trust on first use
//
// A rule with tofu = true trusts a host's key the first time it is seen,
// as ssh's known_hosts does, and refuses a different key later. Records are
// kept by a [TOFUStore] ([MemoryTOFU], or the store package's known_hosts)
// per host:port, and written only once a handshake has completed, so that a
// server must prove it holds the key. A bare TLSConfigFor config cannot see
// its handshake complete: it refuses a first contact, and needs the port.
//
// # Reloading
//
// [WatchDir] keeps a store folder's policy current (a Kubernetes ConfigMap
// swap included): a store that then fails to load keeps the last good
// policy, and connections made under an old policy are retired.
//
// # Non-HTTP clients
//
// A bare config is bound to one host and port: build one per host.
//   - gRPC: grpc.WithTransportCredentials(credentials.NewTLS(cfg)) with cfg
//     from TLSConfigFor("host:port"); the refusal is flattened to text by
//     gRPC, so read EventRefused from the Observer for its reason and remedy.
//   - PostgreSQL with pgx: sslmode=verify-full (or require), never prefer or
//     allow, which fall back to plaintext when the certificate is refused; set
//     the config on every entry of Config.Fallbacks too, and drop fallbacks
//     without TLS.
//   - Redis with go-redis: Options.TLSConfig, or a Dialer that calls
//     DialTLSContext (go-redis does no TLS of its own when given a Dialer);
//     a cluster client shares one config across nodes, which verifies every
//     node as the first host: give each node its own client. go-redis
//     retries every failed dial, a refusal included (DialerRetries, 5 by
//     default): set it to 1. A Dialer wrapping DialTLSContext returns a nil
//     net.Conn on error, never a nil *tls.Conn inside one.
//   - Trust on first use: give the port ("host:port"); records are per
//     host:port.
//
// # Concurrency
//
// A Policy, a Transport and a Reloader are safe for concurrent use.
// Options.Observer, Options.OnFirstUse, Options.Getenv, Options.Clock and a
// TOFUStore's methods are called from handshakes, several at once: they must
// be safe for concurrent use and quick. ReloadOptions.OnReload and OnError
// are called from the reloader's own goroutine, one at a time.
//
// httptrust changes no global state: not http.DefaultTransport, not the
// system root pool, not the environment.
package httptrust
