// Command httptrust makes HTTPS requests to servers the system does not
// trust yet — a self-signed device, a private CA, a pinned API — without
// ever turning verification off. It does curl's job (`httptrust get`, with
// curl's flags and exit codes) and obtains, checks and trusts certificates
// for one host at a time (`httptrust fetch`, `httptrust trust`).
//
// Run `httptrust demo` for a tour, and `httptrust help COMMAND` for each
// command's usage and examples.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// A reader that goes away (httptrust demo | head) makes writes to
	// stdout fail with EPIPE instead of killing the process, so that each
	// command decides: get exits 23 as curl does, the demo ends quietly.
	signal.Ignore(syscall.SIGPIPE)
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
