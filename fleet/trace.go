package fleet

import (
	"context"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"
)

// segment is the timeline of one round trip (one hop of a redirect), or
// of the tls module's one connection.
type segment struct {
	dnsStart, dnsDone   time.Time
	dialStart, dialDone time.Time
	gotConn, firstByte  time.Time
	end                 time.Time
	remote              net.Addr
}

// tracer keeps the segments of one probe.
type tracer struct {
	mu   sync.Mutex
	segs []*segment
	next http.RoundTripper
}

// begin starts a new segment.
func (t *tracer) begin() {
	t.mu.Lock()
	t.segs = append(t.segs, &segment{})
	t.mu.Unlock()
}

// mark changes the current segment; a nil tracer times nothing.
func (t *tracer) mark(f func(*segment)) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.segs) > 0 {
		f(t.segs[len(t.segs)-1])
	}
}

// RoundTrip starts a segment for each hop.
func (t *tracer) RoundTrip(req *http.Request) (*http.Response, error) {
	t.begin()
	return t.next.RoundTrip(req)
}

// withTrace adds the hooks that time DNS, connections and answers.
func withTrace(ctx context.Context, t *tracer) context.Context {
	now := func(f func(*segment, time.Time)) func() {
		return func() { t.mark(func(s *segment) { f(s, time.Now()) }) }
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { now(func(s *segment, at time.Time) { s.dnsStart = at })() },
		DNSDone:  func(httptrace.DNSDoneInfo) { now(func(s *segment, at time.Time) { s.dnsDone = at })() },
		GotConn: func(httptrace.GotConnInfo) {
			now(func(s *segment, at time.Time) {
				if s.gotConn.IsZero() {
					s.gotConn = at
				}
			})()
		},
		GotFirstResponseByte: now(func(s *segment, at time.Time) { s.firstByte = at }),
	})
}

// phases sums the segments as blackbox_exporter's http prober does:
// resolve, connect (the TCP dial), tls (from the dial to the connection
// being ready), processing (to the first byte of the answer) and transfer
// (to the end of the body).
func (t *tracer) phases() Phases {
	t.mu.Lock()
	defer t.mu.Unlock()
	var p Phases
	for _, s := range t.segs {
		var dns time.Duration
		if !s.dnsStart.IsZero() && !s.dnsDone.IsZero() {
			dns = s.dnsDone.Sub(s.dnsStart)
			p.Resolve += dns
		}
		if s.dialStart.IsZero() || s.dialDone.IsZero() {
			continue
		}
		p.Connect += max(s.dialDone.Sub(s.dialStart)-dns, 0)
		if s.gotConn.IsZero() {
			continue
		}
		p.TLS += s.gotConn.Sub(s.dialDone)
		if s.firstByte.IsZero() {
			continue
		}
		p.Processing += s.firstByte.Sub(s.gotConn)
		if !s.end.IsZero() {
			p.Transfer += s.end.Sub(s.firstByte)
		}
	}
	return p
}

// connected reports whether a TCP connection was made, and the IP
// protocol (4 or 6) of the last one.
func (t *tracer) connected() (bool, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.segs) - 1; i >= 0; i-- {
		if a, ok := t.segs[i].remote.(*net.TCPAddr); ok {
			if a.IP.To4() != nil {
				return true, 4
			}
			return true, 6
		}
		if t.segs[i].remote != nil {
			return true, 0
		}
	}
	return false, 0
}
