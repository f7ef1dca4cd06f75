// Package fleet probes many TLS endpoints under one httptrust policy and
// reports what it finds as data and as Prometheus metrics. It is the
// engine of `httptrust scan` and `httptrust exporter`.
//
// # Probes
//
// A Prober probes a Target (an https:// URL, tls://host:port or
// host:port; see ParseTarget) with a Module:
//
//   - ModuleTLS completes a TLS handshake with the host's own
//     configuration (server name, minimum version, client certificate)
//     and judges it with Policy.Judge inside VerifyConnection: a refusal
//     aborts the handshake, and nothing is ever sent.
//   - ModuleHTTPS sends a GET through the policy's Transport, so every hop
//     of a redirect is verified for its own host, and wants a 2xx answer.
//     The TLS facts it reports are the final answer's, as
//     blackbox_exporter reports them.
//
// Every probe is a new TCP connection and a full handshake: no session is
// resumed and no connection kept alive, so each probe sees what a new
// client would. Verification is never turned off: a refused connection
// still reports the chain the server presented (taken from the handshake
// or from the policy's refusal), which is how an expired certificate is
// told apart from a dead host.
//
// A Result holds the outcome: OK, a Reason that is either a
// httptrust.Reason code (the policy refused) or one of the failure codes
// (FailConnect, FailTimeout, ...), the deciding rule, the presented and
// verified chains, the pin set's state and whether a pin matched, and the
// host's standing with its first-use record.
//
// # First use
//
// A probe never records a first use unless asked. Load the policy with
// PolicyOptions: first-use records are read, never written by the policy,
// and a first contact is refused during its handshake (reason
// first_use_refused, FirstUseFirstContact). With Prober.Record set, a
// first contact is recorded once its handshake has completed
// (FirstUseRecorded).
//
// # Many targets, metrics
//
// Prober.Scan runs probes with bounded concurrency. NewCollector and
// NewScanCollector turn results into Prometheus metrics with
// blackbox_exporter's names and label formats where the meaning is the
// same (probe_success, probe_ssl_earliest_cert_expiry,
// probe_ssl_last_chain_info, ...) and httptrust_ names for what only a
// policy knows (httptrust_probe_refused{reason}, the deciding rule, pin
// sets, first use, every certificate's expiry with its position). An
// Exporter serves them over blackbox_exporter's /probe protocol.
package fleet
