package main

// The one shape of --json. A command that did its job prints one JSON
// object on stdout (its own keys, see README.md "JSON output"); a command
// that failed prints {"error": errorView}, built for every failure by
// errorOf, the same envelope whatever the command and whatever went wrong.
// The text output of a failure is printed from the same view, so that the
// hints and a remedy's commands are the very ones --json carries.

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/store"
)

// errorView is a failure as --json prints it, under "error". Message,
// reason, hints and exit_code are always there; the rest where known.
type errorView struct {
	// Message is the error line, without "httptrust: error: ".
	Message string `json:"message"`
	// Reason is a stable code: the library's reason of a refused
	// connection (self_signed_certificate, pin_mismatch, ...), else one
	// of cliReasons.
	Reason string `json:"reason"`
	// Detail says more of a refused connection, on one line.
	Detail string `json:"detail,omitempty"`
	// Remedy is the library's remedy of a refused connection, its
	// commands rendered for this run as the hints print them.
	Remedy *remedyView `json:"remedy,omitempty"`
	// Hints are the "httptrust: hint:" lines, in order.
	Hints    []string `json:"hints"`
	ExitCode int      `json:"exit_code"`
	// Host and Port are the server the failure is about.
	Host string `json:"host,omitempty"`
	Port string `json:"port,omitempty"`
	// Rule is the rule that applied and RuleFile its file.
	Rule     string `json:"rule,omitempty"`
	RuleFile string `json:"rule_file,omitempty"`
	// Chain is what the server presented, leaf first (the certificate
	// view every command prints).
	Chain []certs.Info `json:"chain,omitempty"`
	// Names are the names the leaf covers (a name mismatch).
	Names []string `json:"names,omitempty"`
	// ExpectedPins and SeenPins are those of a pin mismatch.
	ExpectedPins []string `json:"expected_pins,omitempty"`
	SeenPins     []string `json:"seen_pins,omitempty"`
	// FirstUse is the first-use record a changed key contradicts.
	FirstUse *firstUseView `json:"first_use,omitempty"`
}

// errorKeys are the keys an error object may have: the envelope is
// closed (TestJSONShapes checks every command's failures against it).
var errorKeys = []string{"message", "reason", "detail", "remedy", "hints", "exit_code", "host", "port",
	"rule", "rule_file", "chain", "names", "expected_pins", "seen_pins", "first_use"}

// The reasons of failures that are not refused connections: a closed set
// of stable codes (a refused connection carries the library's Reason code
// instead). README.md lists them with their exit codes.
const (
	reasonUsage               = "usage"                       // 2: flags, arguments, a rule the write would make invalid
	reasonFailed              = "failed"                      // 1: anything not listed here
	reasonRefused             = "refused"                     // 1: httptrust will not do it: a changed key or certificate without --fingerprint, an allowance the scope cannot take
	reasonNoConsent           = "no_consent"                  // 1: no --yes, no --fingerprint and no terminal to ask, or the answer was no
	reasonNotFound            = "not_found"                   // 1: nothing to remove or forget
	reasonPersonRule          = "person_rule"                 // 1: a rule a person wrote owns the pattern
	reasonCannotResolve       = "cannot_resolve"              // 6
	reasonCannotConnect       = "cannot_connect"              // 7
	reasonHTTPError           = "http_error"                  // 22: an HTTP status >= 400 with --fail
	reasonCannotWrite         = "cannot_write"                // 23: -o FILE, a key or certificate file, binary data for a terminal
	reasonCannotRead          = "cannot_read"                 // 26: a file to send or read (-d @FILE, --urls)
	reasonTimeout             = "timeout"                     // 28
	reasonHandshakeFailed     = "handshake_failed"            // 35: a TLS failure the library did not classify
	reasonTooManyRedirects    = "too_many_redirects"          // 47
	reasonReceiveFailed       = "receive_failed"              // 56
	reasonClientCert          = "unusable_client_certificate" // 58: as the library's code of the same name
	reasonFingerprintMismatch = "fingerprint_mismatch"        // 60: --fingerprint is not that of the certificate
	reasonNotVerified         = "not_verified"                // 60: a server that did not prove it holds its certificate's key
	reasonBodyTooLarge        = "body_too_large"              // 63: a body too large for get --json (use -o FILE)
	reasonStoreNotLoaded      = "store_not_loaded"            // 77: the store cannot be loaded, or written safely
	reasonUnusableFile        = "unusable_file"               // 77: a certificate, CA or key file given cannot be used
)

// cliReasons lists the codes above, for tests and the README.
var cliReasons = []string{reasonUsage, reasonFailed, reasonRefused, reasonNoConsent, reasonNotFound, reasonPersonRule,
	reasonCannotResolve, reasonCannotConnect, reasonHTTPError, reasonCannotWrite, reasonCannotRead, reasonTimeout,
	reasonHandshakeFailed, reasonTooManyRedirects, reasonReceiveFailed, reasonClientCert, reasonFingerprintMismatch,
	reasonNotVerified, reasonBodyTooLarge, reasonStoreNotLoaded, reasonUnusableFile}

// reasonByExit is the code of a failure by its exit code, when nothing
// more precise is known.
var reasonByExit = map[int]string{
	exitUsage: reasonUsage, exitResolve: reasonCannotResolve, exitConnect: reasonCannotConnect, exitHTTP: reasonHTTPError,
	exitWrite: reasonCannotWrite, exitReadFile: reasonCannotRead, exitTimeout: reasonTimeout, exitHandshake: reasonHandshakeFailed,
	exitTooManyRedirects: reasonTooManyRedirects, exitRecv: reasonReceiveFailed, exitClientCert: reasonClientCert,
	exitVerify: reasonNotVerified, exitTooLarge: reasonBodyTooLarge, exitCAFile: reasonUnusableFile,
}

// cliReason is the code of a failure that is not a refused connection:
// the one its exitError was given, else from its type, else from its exit
// code. Never text.
func cliReason(err error, code int) string {
	var ee *exitError
	hasExit := errors.As(err, &ee)
	switch {
	case hasExit && ee.reason != "":
		return ee.reason
	case errors.As(err, new(*store.ConflictError)):
		return reasonPersonRule
	case errors.Is(err, store.ErrNotFound):
		return reasonNotFound
	}
	if r, ok := reasonByExit[code]; ok {
		return r
	}
	if code == exitFail && hasExit {
		return reasonRefused
	}
	return reasonFailed
}

// withReason gives err (an *exitError) the reason code r.
func withReason(r string, err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		ee.reason = r
	}
	return err
}

// errAt is a failure with what the command knew of where it happened:
// the server, and the chain it presented. The envelope carries them.
type errAt struct {
	err        error
	host, port string
	chain      []certs.Info
}

func (e *errAt) Error() string { return e.err.Error() }
func (e *errAt) Unwrap() error { return e.err }

// at wraps err, when there is one, with the server it is about.
func at(err error, host, port string, chain []certs.Info) error {
	if err == nil || host == "" {
		return err
	}
	return &errAt{err: err, host: host, port: port, chain: chain}
}

// errorOf builds the envelope of err: from the library's VerifyError for a
// refused connection (its reason, detail, rule, chain and remedy, never
// re-derived here), else from the exitError (message, exit code, hints)
// and the closed set of CLI reasons.
func (e *env) errorOf(err error) errorView {
	var v errorView
	var ve *httptrust.VerifyError
	if errors.As(err, &ve) {
		v = e.viewVerify(ve)
		var more *moreHints
		if errors.As(err, &more) {
			v.Hints = append(v.Hints, more.hints...)
		}
	} else {
		code := exitCode(err, false)
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
			v.Hints = append(v.Hints, ee.hints...)
		}
		v.Message = trimProgram(err.Error())
		v.Reason = cliReason(err, code)
		v.ExitCode = code
	}
	var where *errAt
	if errors.As(err, &where) {
		if v.Host == "" {
			v.Host, v.Port = where.host, where.port
		}
		if v.Chain == nil {
			v.Chain = where.chain
		}
	}
	if v.Hints == nil {
		v.Hints = []string{}
	}
	return v
}

// trimProgram drops the "httptrust: " an error of the library starts with.
func trimProgram(msg string) string {
	const p = "httptrust: "
	if len(msg) > len(p) && msg[:len(p)] == p {
		return msg[len(p):]
	}
	return msg
}

// completionNoJSON makes cobra's completion command refuse --json: it
// prints a shell script, not data.
func (e *env) completionNoJSON(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.PersistentPreRunE = func(*cobra.Command, []string) error {
				if e.json {
					return noJSON("completion", "completion prints a shell script: run it without --json")
				}
				return nil
			}
			withoutStoreAndJSON(c)
		}
	}
}
