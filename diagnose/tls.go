package diagnose

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/probe"
)

var versions = []struct {
	v    uint16
	name string
}{{tls.VersionTLS13, "TLS 1.3"}, {tls.VersionTLS12, "TLS 1.2"}, {tls.VersionTLS11, "TLS 1.1"}, {tls.VersionTLS10, "TLS 1.0"}}

// tlsVersions offers each TLS version alone and returns the capture of the
// highest one the server accepts. A version that gets no answer in time
// ends the step: before any version was accepted the server is hung and
// the diagnosis stops (as a request would time out); after, the lower
// versions are not tried.
func (r *run) tlsVersions() (*probe.Result, bool) {
	r.begin("tls_versions")
	var best *probe.Result
	var accepted, refused []string
	var firstErr error
	for i, v := range versions {
		t := r.target()
		// Every suite is offered, so that versions are judged apart from
		// suites (the next step judges those).
		t.MinVersion, t.MaxVersion, t.CipherSuites = v.v, v.v, allSuites()
		res, err := r.probe(t)
		if err != nil && isTimeout(err) && (best == nil || r.ctx.Err() != nil) {
			r.timedOut("tls_versions", err, "an answer to a "+v.name+" hello after the TCP connection was accepted (a hung service, or one that waits for the client to speak another protocol)")
			return nil, false
		}
		if err != nil && isTimeout(err) {
			var rest []string
			for _, w := range versions[i+1:] {
				rest = append(rest, w.name)
			}
			refused = append(refused, fmt.Sprintf("%s (no answer within %s; not tried: %s)", v.name, bound(r.o.Timeout), orNone(rest)))
			break
		}
		if err != nil {
			var rh tls.RecordHeaderError
			if errors.As(err, &rh) {
				what := "something that is not TLS"
				if string(rh.RecordHeader[:]) == "HTTP/" {
					what = "plain HTTP"
				}
				r.add("tls_versions", Fail, "the server answers in "+what+": it does not speak TLS on this port")
				r.refusal(httptrust.ReasonNotTLS, false)
				return nil, false
			}
			if firstErr == nil {
				firstErr = err
			}
			refused = append(refused, v.name)
			continue
		}
		accepted = append(accepted, v.name)
		if best == nil {
			best = res
		}
	}
	if best == nil {
		r.add("tls_versions", Fail, fmt.Sprintf("the server completed no TLS handshake: %v", firstErr))
		r.fix(r.check("check that the server speaks TLS on port " + r.rep.Port + " and has a certificate configured"))
		return nil, false
	}
	status, summary := OK, "accepts "+strings.Join(accepted, ", ")
	if best.State.Version < tls.VersionTLS12 {
		status = Warn
		summary += fmt.Sprintf("; nothing newer, so httptrust refuses it unless the host's own rule says min_tls = %q", strings.TrimPrefix(tls.VersionName(best.State.Version), "TLS "))
		r.refusal(httptrust.ReasonProtocolMismatch, false)
	}
	r.add("tls_versions", status, summary, "refused: "+orNone(refused))
	return best, true
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// cipherSuites offers each TLS 1.0–1.2 suite Go implements alone (TLS 1.3
// suites are not negotiable in Go and all are sound), and sorts those the
// server accepts into the ones Go offers by default, which httptrust
// uses, and the ones it does not offer (Go's list of insecure suites, and
// those its defaults leave out, such as RSA key exchange).
func (r *run) cipherSuites(best *probe.Result) {
	r.begin("cipher_suites")
	offered := goOffers()
	var used, unused []string
	var stopped string
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if !supportsTLS12(cs) {
			continue
		}
		t := r.target()
		t.MinVersion, t.MaxVersion, t.CipherSuites = tls.VersionTLS10, tls.VersionTLS12, []uint16{cs.ID}
		_, err := r.probe(t)
		if err != nil && isTimeout(err) {
			if r.ctx.Err() != nil {
				r.timedOut("cipher_suites", err, "an answer to a hello offering "+cs.Name)
				return
			}
			stopped = fmt.Sprintf("the server stopped answering (no answer within %s to a hello offering %s): the suites after it were not tried", bound(r.o.Timeout), cs.Name)
			break
		}
		if err != nil {
			continue
		}
		if offered[cs.ID] {
			used = append(used, cs.Name)
		} else {
			unused = append(unused, cs.Name)
		}
	}
	var details []string
	if len(used) > 0 {
		details = append(details, "offered by Go (httptrust uses these): "+strings.Join(used, ", "))
	}
	if len(unused) > 0 {
		details = append(details, "Go does not offer it (so httptrust never uses it): "+strings.Join(unused, ", "))
	}
	if stopped != "" {
		details = append(details, stopped)
	}
	tls13 := best.State.Version == tls.VersionTLS13
	if tls13 {
		details = append(details, "TLS 1.3 negotiates "+tls.CipherSuiteName(best.State.CipherSuite))
	}
	switch {
	case len(used) == 0 && len(unused) > 0 && tls13:
		r.add("cipher_suites", Warn, "below TLS 1.3 the server accepts only suites Go does not offer: httptrust speaks TLS 1.3 with it, clients without TLS 1.3 cannot connect", details...)
	case len(used) == 0 && len(unused) > 0:
		r.add("cipher_suites", Fail, "the server accepts only suites Go does not offer, so httptrust shares none with it", details...)
		r.refusal(httptrust.ReasonProtocolMismatch, true)
	case len(used) > 0:
		summary := plural(len(used), "suite", "suites") + " below TLS 1.3 that Go offers"
		if len(unused) > 0 {
			summary += "; the server also accepts " + plural(len(unused), "suite", "suites") + " Go does not offer"
		}
		r.add("cipher_suites", OK, summary, details...)
	default:
		r.add("cipher_suites", OK, "no suite below TLS 1.3 (TLS 1.3 only)", details...)
	}
}

func supportsTLS12(cs *tls.CipherSuite) bool {
	for _, v := range cs.SupportedVersions {
		if v <= tls.VersionTLS12 {
			return true
		}
	}
	return false
}

func allSuites() []uint16 {
	var ids []uint16
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		ids = append(ids, cs.ID)
	}
	return ids
}

// goOffers returns the TLS 1.0–1.2 suites a tls.Config with no
// CipherSuites offers, as this process's Go and GODEBUG settings make it:
// what httptrust offers. It is read once from a ClientHello sent over an
// in-memory pipe.
var goOffers = sync.OnceValue(func() map[uint16]bool {
	offered := map[uint16]bool{}
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	errHello := errors.New("hello read")
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv := tls.Server(s, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			for _, id := range h.CipherSuites {
				if !slices.ContainsFunc(tls.CipherSuites(), func(cs *tls.CipherSuite) bool { return cs.ID == id && !supportsTLS12(cs) }) {
					offered[id] = true
				}
			}
			return nil, errHello
		}})
		srv.HandshakeContext(context.Background())
		s.Close()
	}()
	tls.Client(c, &tls.Config{ServerName: "suites.invalid", MaxVersion: tls.VersionTLS12}).HandshakeContext(context.Background())
	<-done
	return offered
})
