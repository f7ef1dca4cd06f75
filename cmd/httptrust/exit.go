package main

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"syscall"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

// Exit codes: curl's where curl has one.
const (
	exitOK               = 0
	exitFail             = 1  // refused or declined: a downgrade, no consent, nothing to remove
	exitUsage            = 2  // bad flags or arguments
	exitResolve          = 6  // could not resolve the host
	exitConnect          = 7  // could not connect
	exitHTTP             = 22 // HTTP status >= 400 with --fail
	exitWrite            = 23 // the output file could not be written
	exitReadFile         = 26 // a file to send (-d @FILE) could not be read
	exitTimeout          = 28 // --max-time or a dial, handshake or header timeout
	exitHandshake        = 35 // TLS handshake failed: not TLS, client certificate required, no common protocol
	exitClientCert       = 58 // the client certificate or key cannot be used
	exitVerify           = 60 // the server certificate could not be verified
	exitCAFile           = 77 // a CA or certificate file (or the store) cannot be used
	exitTooManyRedirects = 47 // -L followed more than 50 redirects
	exitRecv             = 56 // the connection failed while receiving the body
	exitTooLarge         = 63 // a body too large for get --json (curl: maximum file size exceeded)
	exitPin              = 90 // pinned public key mismatch
)

// reasonExit maps a verification reason to its exit code.
func reasonExit(ve *httptrust.VerifyError) int {
	switch ve.Reason {
	case httptrust.ReasonPinMismatch:
		return exitPin
	case httptrust.ReasonClientCertRequired, httptrust.ReasonProtocolMismatch, httptrust.ReasonNotTLS:
		return exitHandshake
	case httptrust.ReasonDowngrade, httptrust.ReasonFirstUseRefused:
		return exitFail
	case httptrust.ReasonClientCertUnusable:
		return exitClientCert
	case httptrust.ReasonBadConfig:
		if clientProblem(ve) {
			return exitClientCert
		}
		return exitCAFile
	}
	return exitVerify
}

// clientProblem reports whether a bad configuration is the client
// identity's: a key or password problem, or a file the identity names.
func clientProblem(ve *httptrust.VerifyError) bool {
	for _, s := range []error{certs.ErrPasswordRequired, certs.ErrWrongPassword, certs.ErrKeyMismatch, certs.ErrNotPrivateKey} {
		if errors.Is(ve, s) {
			return true
		}
	}
	var fe *certs.FileError
	if ve.Rule != nil && ve.Rule.Client != nil && errors.As(ve, &fe) {
		return fe.File == ve.Rule.Client.Cert || fe.File == ve.Rule.Client.Key
	}
	return false
}

// exitCode maps an error to curl's exit code, from its types, never its
// text. handshake says the error happened during a TLS handshake.
func exitCode(err error, handshake bool) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ve *httptrust.VerifyError
	if errors.As(err, &ve) {
		return reasonExit(ve)
	}
	if isTimeout(err) {
		return exitTimeout
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return exitResolve
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return exitConnect
	}
	for _, errno := range []syscall.Errno{syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ENETUNREACH} {
		if errors.Is(err, errno) {
			return exitConnect
		}
	}
	var rh tls.RecordHeaderError
	var alert tls.AlertError
	var cv *tls.CertificateVerificationError
	switch {
	case errors.As(err, &cv):
		return exitVerify
	case errors.As(err, &rh), errors.As(err, &alert), handshake:
		return exitHandshake
	case errors.As(err, &op) && op.Op == "remote error":
		return exitHandshake
	}
	return exitFail
}

// isTimeout reports whether err is a timeout or a deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
