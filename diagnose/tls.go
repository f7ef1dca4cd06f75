package diagnose

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/probe"
)

var versions = []struct {
	v    uint16
	name string
}{{tls.VersionTLS13, "TLS 1.3"}, {tls.VersionTLS12, "TLS 1.2"}, {tls.VersionTLS11, "TLS 1.1"}, {tls.VersionTLS10, "TLS 1.0"}}

// tlsVersions offers each TLS version alone and returns the capture of the
// highest one the server accepts.
func (r *run) tlsVersions() (*probe.Result, bool) {
	var best *probe.Result
	var accepted, refused []string
	var firstErr error
	for _, v := range versions {
		t := r.target()
		// Every suite is offered, so that versions are judged apart from
		// suites (the next step judges those).
		t.MinVersion, t.MaxVersion, t.CipherSuites = v.v, v.v, allSuites()
		res, err := r.probe(t)
		if err != nil {
			var rh tls.RecordHeaderError
			if errors.As(err, &rh) {
				what := "something that is not TLS"
				if string(rh.RecordHeader[:]) == "HTTP/" {
					what = "plain HTTP"
				}
				r.add("tls_versions", Fail, "the server answers in "+what+": it does not speak TLS on this port")
				r.fix(r.remedy(httptrust.ReasonNotTLS, false))
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
		r.fix(r.remedy(httptrust.ReasonProtocolMismatch, false))
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

// cipherSuites offers each TLS 1.2 suite alone (TLS 1.3 suites are not
// negotiable in Go and all are sound).
func (r *run) cipherSuites(best *probe.Result) {
	if best.State.Version == tls.VersionTLS13 {
		defer func() {
			r.rep.Steps[len(r.rep.Steps)-1].Details = append(r.rep.Steps[len(r.rep.Steps)-1].Details,
				"TLS 1.3 negotiates "+tls.CipherSuiteName(best.State.CipherSuite))
		}()
	}
	var secure, insecure []string
	for _, list := range []struct {
		suites []*tls.CipherSuite
		bad    bool
	}{{tls.CipherSuites(), false}, {tls.InsecureCipherSuites(), true}} {
		for _, cs := range list.suites {
			if !supportsTLS12(cs) {
				continue
			}
			t := r.target()
			t.MinVersion, t.MaxVersion, t.CipherSuites = tls.VersionTLS10, tls.VersionTLS12, []uint16{cs.ID}
			if _, err := r.probe(t); err != nil {
				continue
			}
			if list.bad {
				insecure = append(insecure, cs.Name)
			} else {
				secure = append(secure, cs.Name)
			}
		}
	}
	switch {
	case len(secure) == 0 && len(insecure) > 0:
		r.add("cipher_suites", Fail, "below TLS 1.3 the server offers only insecure suites, which httptrust refuses", "insecure: "+strings.Join(insecure, ", "))
		r.fix(r.remedy(httptrust.ReasonProtocolMismatch, true))
	case len(insecure) > 0:
		r.add("cipher_suites", Warn, fmt.Sprintf("%d sound suites; the server also accepts insecure ones", len(secure)), "sound: "+strings.Join(secure, ", "), "insecure: "+strings.Join(insecure, ", "))
	case len(secure) > 0:
		r.add("cipher_suites", OK, fmt.Sprintf("%d sound suites below TLS 1.3", len(secure)), "sound: "+strings.Join(secure, ", "))
	default:
		r.add("cipher_suites", OK, "no suite below TLS 1.3 (TLS 1.3 only)")
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
