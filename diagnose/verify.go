package diagnose

import (
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
	eff, err := r.o.Policy.Lookup(netJoin(r.rep.Host, r.rep.Port))
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

// storeVerdict judges the chain as httptrust would for this host, with no
// side effect (nothing is recorded for trust on first use).
func (r *run) storeVerdict(res *probe.Result) error {
	v, err := r.o.Policy.Judge(netJoin(r.rep.Host, r.rep.Port), res.State)
	if err != nil {
		return err
	}
	if v.Err != nil {
		return v.Err
	}
	return nil
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
	r.rep.Err, r.rep.Reason = ve, ve.Reason
	r.add("verify_store", Fail, fmt.Sprintf("refused: %s: %s", ve.Reason, ve.Detail))
	first := r.rep.Remedy == nil
	r.fix(ve.Remedy)
	if first && r.rep.IssuerURL != "" && !r.o.FetchIntermediates {
		// The issuer URL comes from the certificate: fetched only when asked.
		rem := r.rep.Remedy
		rem.Text += "; to fetch the missing issuer from the URL its certificate names and see it first, diagnose with --fetch-intermediates"
		rem.Commands = append(rem.Commands, httptrust.Command{Name: "diagnose", Args: []string{"--fetch-intermediates", r.rep.URL}})
		r.rep.Fix = rem.String()
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

// pins compares the rule's pin set with the chain's keys, in the state
// the library gives it (enforced, report-only, expiring soon, expired).
func (r *run) pins(res *probe.Result, verified bool) {
	eff, err := r.o.Policy.Lookup(netJoin(r.rep.Host, r.rep.Port))
	if err != nil || eff.Pins == nil {
		var keys []string
		for _, c := range res.Chain {
			keys = append(keys, certs.SPKIPin(c).String()+"  "+c.Subject.String())
		}
		r.add("pins", OK, "no pins for this host", keys...)
		return
	}
	ps := eff.Pins
	var matched []string
	for _, c := range res.Chain {
		if ps.Has(certs.SPKIPin(c)) {
			matched = append(matched, c.Subject.String())
		}
	}
	var pins []string
	for _, p := range ps.Pins {
		pins = append(pins, p.String())
	}
	state := r.o.Policy.PinState(ps, r.now)
	switch {
	case state == httptrust.PinsExpired:
		r.add("pins", Warn, fmt.Sprintf("pins expired on %s and are not enforced; update them in %s", ps.Expire.Format(time.DateOnly), ps.Rule.Where()), pins...)
	case len(matched) == 0 && state == httptrust.PinsReportOnly:
		r.add("pins", Warn, fmt.Sprintf("no pin of %s matches a certificate of the chain; they are report-only (enforce = false), so it is allowed and reported", ps.Rule.Where()), pins...)
	case len(matched) == 0:
		r.add("pins", Fail, "no pin of the rule matches a certificate of the chain", pins...)
	case !verified:
		r.add("pins", Warn, "a pin matches "+strings.Join(matched, ", ")+", but pins count only on a verified chain", pins...)
	case state == httptrust.PinsExpiringSoon:
		r.add("pins", Warn, fmt.Sprintf("a pin matches %s; the pins expire on %s: add the next ones and move pins_expire in %s", strings.Join(matched, ", "), ps.Expire.Format(time.DateOnly), ps.Rule.Where()), pins...)
	default:
		r.add("pins", OK, "a pin matches "+strings.Join(matched, ", "), pins...)
	}
	if ps.Single() {
		r.rep.Steps[len(r.rep.Steps)-1].Details = append(r.rep.Steps[len(r.rep.Steps)-1].Details, "one pin and no backup: a key rotation will lock this host out")
	}
}

func netJoin(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}
