package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/spf13/pflag"
)

// defaultConnectTimeout bounds connecting, for every command that
// connects (get, fetch, inspect, pin, diagnose): the name lookup, the TCP
// connection and the TLS handshake together, unless --connect-timeout or
// --max-time says otherwise. As with curl, nothing else is bounded by
// default: once connected, get waits for the server as long as it takes
// unless --max-time is given.
const defaultConnectTimeout = 10 * time.Second

// timeouts are --max-time and --connect-timeout, in seconds (0: not
// given), with one meaning for every command.
type timeouts struct {
	maxTime, connectTimeout float64
}

// connectHelp is the help of --connect-timeout, the same for every command.
const connectHelp = "give up connecting (name lookup, TCP and the TLS handshake) after `SECONDS` (default 10, or --max-time when given; exit 28)"

// register adds --max-time (whole says what it bounds) and
// --connect-timeout.
func (t *timeouts) register(fs *pflag.FlagSet, whole string) {
	fs.Float64Var(&t.maxTime, "max-time", 0, whole)
	fs.Float64Var(&t.connectTimeout, "connect-timeout", 0, connectHelp)
}

// check refuses negative or absurd values (exit 2).
func (t timeouts) check() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"--max-time", t.maxTime}, {"--connect-timeout", t.connectTimeout}} {
		if f.v < 0 || f.v > 1e6 {
			return usagef("%s %g: want a number of seconds, e.g. %s 30", f.name, f.v, f.name)
		}
	}
	return nil
}

// connectLimit bounds one connection: --connect-timeout, else --max-time,
// else defaultConnectTimeout.
func (t timeouts) connectLimit() time.Duration {
	switch {
	case t.connectTimeout > 0:
		return seconds(t.connectTimeout)
	case t.maxTime > 0:
		return seconds(t.maxTime)
	}
	return defaultConnectTimeout
}

// limitFlag names the flag that raises the limit that was hit.
func (t timeouts) limitFlag() string {
	if t.connectTimeout == 0 && t.maxTime > 0 {
		return "--max-time"
	}
	return "--connect-timeout"
}

// probeContext bounds a connection that is all a command does (a probe):
// by the connect limit, and by --max-time when it is shorter.
func (t timeouts) probeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	limit := t.connectLimit()
	if t.maxTime > 0 {
		limit = min(limit, seconds(t.maxTime))
	}
	return context.WithTimeout(ctx, limit)
}

// connectDialer dials with one deadline for the whole connect phase: the
// dial (name lookup and TCP) and, through the connection's deadline, the
// TLS handshake and a proxy's CONNECT that follow. The deadline is lifted
// once the connection is handed to a request (clearConnectDeadline, from
// the tracer's GotConn).
func connectDialer(m resolveMap, limit time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		deadline := time.Now().Add(limit)
		dctx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		c, err := d.DialContext(dctx, network, m.lookup(addr))
		if err != nil {
			return nil, err
		}
		c.SetDeadline(deadline)
		return c, nil
	}
}

// clearConnectDeadline lifts the connect deadline from the connection
// under c (through the TLS layers of a target and an HTTPS proxy).
func clearConnectDeadline(c net.Conn) {
	for {
		tc, ok := c.(*tls.Conn)
		if !ok {
			break
		}
		c = tc.NetConn()
	}
	if c != nil {
		c.SetDeadline(time.Time{})
	}
}

// timeoutMessage says, as curl does, what timed out and after how long;
// phase is how far the request got.
func timeoutMessage(where string, p phase, elapsed time.Duration, got, total int64) string {
	ms := elapsed.Milliseconds()
	switch p {
	case phaseNone:
		return fmt.Sprintf("%s: could not connect within %d milliseconds", where, ms)
	case phaseConnected:
		return fmt.Sprintf("%s: the TCP connection was made, but the TLS handshake did not finish within %d milliseconds", where, ms)
	case phaseSent:
		return fmt.Sprintf("%s: operation timed out after %d milliseconds waiting for the server's answer", where, ms)
	}
	if total >= 0 {
		return fmt.Sprintf("%s: operation timed out after %d milliseconds with %d out of %d bytes received", where, ms, got, total)
	}
	return fmt.Sprintf("%s: operation timed out after %d milliseconds with %d bytes received", where, ms, got)
}

// timeoutHint says which flag allows longer for the phase that timed out;
// byMaxTime says --max-time ran out (not the connect limit).
func timeoutHint(t timeouts, p phase, byMaxTime bool) string {
	switch p {
	case phaseNone, phaseConnected:
		what := "the server accepted the connection but did not finish the TLS handshake in time (a slow device, or a port that waits for something else than TLS)"
		if p == phaseNone {
			what = "nothing answered in time: check the host and port"
		}
		flag, limit := t.limitFlag(), t.connectLimit()
		if byMaxTime {
			flag, limit = "--max-time", seconds(t.maxTime)
		}
		return fmt.Sprintf("%s; allow longer with %s SECONDS (now %s)", what, flag, secondsText(limit))
	case phaseBody:
		return fmt.Sprintf("the server was still sending; allow longer with --max-time SECONDS (now %s)", secondsText(seconds(t.maxTime)))
	}
	return fmt.Sprintf("the server did not answer in time; allow longer with --max-time SECONDS (now %s)", secondsText(seconds(t.maxTime)))
}

// secondsText prints a limit as "10 s" or "0.5 s".
func secondsText(d time.Duration) string {
	return fmt.Sprintf("%g s", d.Seconds())
}
