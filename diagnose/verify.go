package diagnose

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/probe"
)

// rule names the rule that applies and where each field came from.
func (r *run) rule() {
	eff, err := r.o.Policy.Lookup(r.rep.Host)
	if err != nil {
		r.add("rule", Fail, err.Error())
		return
	}
	if eff.Rule == nil {
		r.add("rule", OK, "no rule for "+r.rep.Host+": the system roots decide, as for a plain Go client")
		return
	}
	var fields []string
	for f, src := range eff.Sources {
		if src != "default" {
			fields = append(fields, f+" from "+src)
		}
	}
	sort.Strings(fields)
	r.add("rule", OK, fmt.Sprintf("%s applies (%s)", eff.Pattern, eff.Rule.Where()), fields...)
}

// storeVerdict judges the chain as httptrust would for this host.
func (r *run) storeVerdict(res *probe.Result) error {
	cfg, err := r.o.Policy.TLSConfigFor(netJoin(r.rep.Host, r.rep.Port))
	if err != nil {
		return err
	}
	return cfg.VerifyConnection(tls.ConnectionState{PeerCertificates: res.Chain, ServerName: res.State.ServerName, Version: res.State.Version})
}

// systemTrusts reports whether the top of the chain as sent is issued by a
// system root (so a chain without its root is complete).
func (r *run) systemTrusts(res *probe.Result) bool {
	roots, err := r.systemRoots()
	if err != nil {
		return false
	}
	top := res.Chain[len(res.Chain)-1]
	_, err = top.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: r.now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err == nil
}

func (r *run) systemRoots() (*x509.CertPool, error) {
	if r.o.SystemRoots != nil {
		return r.o.SystemRoots, nil
	}
	return x509.SystemCertPool()
}

// verifyStore reports the store's verdict.
func (r *run) verifyStore(err error) bool {
	if err == nil {
		r.add("verify_store", OK, "trusted by the store's rule for "+r.rep.Host)
		return true
	}
	var ve *httptrust.VerifyError
	if !errors.As(err, &ve) {
		r.add("verify_store", Fail, err.Error())
		return false
	}
	ve.Port = r.rep.Port
	r.rep.Err, r.rep.Reason = ve, ve.Reason.Code()
	r.add("verify_store", Fail, fmt.Sprintf("refused: %s: %s", ve.Reason, ve.Detail))
	r.fix(ve.Fix)
	if r.rep.IssuerURL != "" && !r.o.FetchIntermediates && ve.Fix != "" && r.rep.Fix == ve.Fix {
		r.rep.Fix += "; to fetch the missing issuer from the URL its certificate names and see it first: httptrust diagnose --fetch-intermediates " + r.rep.URL
	}
	return false
}

// verifySystem judges the chain against the system roots alone.
func (r *run) verifySystem(res *probe.Result) {
	roots, err := r.systemRoots()
	if err != nil {
		r.add("verify_system", Skip, "no system roots: "+err.Error())
		return
	}
	inter := x509.NewCertPool()
	for _, c := range res.Chain[1:] {
		inter.AddCert(c)
	}
	_, err = res.Chain[0].Verify(x509.VerifyOptions{DNSName: r.rep.Host, Roots: roots, Intermediates: inter, CurrentTime: r.now})
	if err == nil {
		r.add("verify_system", OK, "the system roots trust it too (a plain client would accept it; consider pinning: httptrust pin "+r.rep.URL+")")
		return
	}
	r.add("verify_system", Warn, "the system roots do not trust it: "+err.Error())
}

// expiry says how long each certificate has left.
func (r *run) expiry(res *probe.Result) {
	status := OK
	var details []string
	soonest := time.Duration(1<<63 - 1)
	for _, c := range res.Chain {
		left := c.NotAfter.Sub(r.now)
		if left < soonest {
			soonest = left
		}
		switch {
		case r.now.Before(c.NotBefore):
			status = Fail
			details = append(details, fmt.Sprintf("%s: not valid before %s — is the local clock (%s) behind?", c.Subject, c.NotBefore.UTC().Format(time.RFC3339), r.now.UTC().Format(time.RFC3339)))
		case left < 0:
			status = Fail
			details = append(details, fmt.Sprintf("%s: expired %s (%d days ago)", c.Subject, c.NotAfter.UTC().Format(time.DateOnly), int(-left.Hours()/24)))
		case left < 30*24*time.Hour:
			if status == OK {
				status = Warn
			}
			details = append(details, fmt.Sprintf("%s: expires %s (in %d days)", c.Subject, c.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24)))
		default:
			details = append(details, fmt.Sprintf("%s: expires %s (in %d days)", c.Subject, c.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24)))
		}
	}
	summary := fmt.Sprintf("the first certificate to expire does so in %d days", int(soonest.Hours()/24))
	if status == Fail {
		summary = "a certificate is outside its validity window"
	}
	r.add("expiry", status, summary, details...)
}

// pins compares the rule's pins with the chain's keys.
func (r *run) pins(res *probe.Result, verified bool) {
	eff, err := r.o.Policy.Lookup(r.rep.Host)
	if err != nil || len(eff.Pins) == 0 {
		var keys []string
		for _, c := range res.Chain {
			keys = append(keys, certs.SPKIPin(c).String()+"  "+c.Subject.String())
		}
		r.add("pins", OK, "no pins for this host", keys...)
		return
	}
	want := map[certs.Pin]bool{}
	for _, p := range eff.Pins {
		want[p] = true
	}
	var matched []string
	for _, c := range res.Chain {
		if want[certs.SPKIPin(c)] {
			matched = append(matched, c.Subject.String())
		}
	}
	expired := !eff.PinsExpire.IsZero() && r.now.After(eff.PinsExpire.AddDate(0, 0, 1))
	var pins []string
	for _, p := range eff.Pins {
		pins = append(pins, p.String())
	}
	switch {
	case expired:
		r.add("pins", Warn, fmt.Sprintf("pins expired on %s and are not enforced; update them in %s", eff.PinsExpire.Format(time.DateOnly), eff.Sources["pins_expire"]), pins...)
	case len(matched) == 0:
		r.add("pins", Fail, "no pin of the rule matches a certificate of the chain", pins...)
	case !verified:
		r.add("pins", Warn, "a pin matches "+strings.Join(matched, ", ")+", but pins count only on a verified chain", pins...)
	default:
		r.add("pins", OK, "a pin matches "+strings.Join(matched, ", "), pins...)
	}
	if len(eff.Pins) == 1 {
		r.rep.Steps[len(r.rep.Steps)-1].Details = append(r.rep.Steps[len(r.rep.Steps)-1].Details, "one pin and no backup: a key rotation will lock this host out")
	}
}

func netJoin(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}
