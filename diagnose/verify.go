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
	var details []string
	if g := r.gap; g != nil && g.rootUntrusted && !g.issuerIsRoot {
		details = append(details, "two problems: "+g.rootProblem(r.rep.Host)+", and the server omits its intermediate")
	}
	r.add("verify_store", Fail, fmt.Sprintf("refused: %s: %s", ve.Reason, ve.Detail), details...)
	rem := ve.Remedy
	if r.gap != nil {
		rem = r.gapRemedy(ve)
	}
	r.fixCause(ve.Reason, rem)
	return false
}

// placeholderBundle stands for a file with the root and the intermediate.
const placeholderBundle = "<root and intermediate PEM file>"

// checkBundle ends the manual route: a downloaded intermediate becomes a
// trust anchor of --cacert, so it is checked against the root first.
const checkBundle = "check that it chains to the root you trust (openssl verify -CAfile ROOT.pem INTERMEDIATE.pem), and give both in one file"

// gapRemedy is the remedy of a chain that stops below its root: the
// library's for the refusal, with both problems named when the root is
// not trusted either, and the manual route when the issuer could not be
// fetched. Under a host that already trusts something the library's
// remedy stands as it is (nothing from the connection goes into it), and
// only the manual route, which takes nothing from the connection, is added.
func (r *run) gapRemedy(ve *httptrust.VerifyError) httptrust.Remedy {
	g, rem := r.gap, ve.Remedy
	url := ve.URL()
	manual := httptrust.Command{Name: "get", Args: []string{"--cacert", placeholderBundle, url}}
	manualText := "download the intermediate from the issuer URL named above (or get it from the server's operator), " + checkBundle
	fetchFailed := r.o.FetchIntermediates && g.fetchErr != nil && r.rep.IssuerURL != ""
	// Under a host that trusts something the library's remedy stands; only
	// what takes nothing from the connection is added below.
	switch {
	case !rem.OutOfBand && g.rootUntrusted && g.issuerIsRoot:
		rem = r.remedy(httptrust.ReasonUnknownAuthority, false)
		if rem.OutOfBand {
			return rem
		}
		rem.Text = fmt.Sprintf("%s, the root that issued the server's certificate: if you trust it, get its certificate from its operator (out of band) and trust it for %s only", g.rootProblem(r.rep.Host), r.rep.Host)
		rem.Commands = []httptrust.Command{{Name: "trust add", Args: []string{httptrust.PlaceholderCA, "--host", r.rep.Host}}}
		return rem
	case !rem.OutOfBand && g.rootUntrusted:
		rem = r.remedy(httptrust.ReasonUnknownAuthority, false)
		if rem.OutOfBand {
			return rem
		}
		rem.Text = fmt.Sprintf("two problems: %s, and the server omits its intermediate certificate: if you trust that CA, get its root certificate from its operator (out of band) and trust it for %s only (httptrust fetch would trust only the server's own certificate, until its renewal); then the intermediate is still needed: its operator should fix the server, meanwhile fetch it (it must chain to that root)",
			g.rootProblem(r.rep.Host), r.rep.Host)
		rem.Commands = []httptrust.Command{{Name: "trust add", Args: []string{httptrust.PlaceholderCA, "--host", r.rep.Host}}}
		switch {
		case fetchFailed:
			rem.Text += "; fetching it failed here, so " + manualText
			rem.Commands = append(rem.Commands, manual)
		case r.rep.IssuerURL != "":
			rem.Commands = append(rem.Commands, httptrust.Command{Name: "get", Args: []string{"--fetch-intermediates", url}})
			if !r.o.FetchIntermediates {
				rem.Text += "; to see the intermediate and the name of its root first, diagnose with --fetch-intermediates"
				rem.Commands = append(rem.Commands, httptrust.Command{Name: "diagnose", Args: []string{"--fetch-intermediates", r.rep.URL}})
			}
		default:
			rem.Text += "; its certificate names no issuer URL, so get the intermediate from the server's operator, " + checkBundle
			rem.Commands = append(rem.Commands, manual)
		}
		return rem
	}
	switch {
	case fetchFailed:
		rem.Text += "; fetching it failed here, so " + manualText
		rem.Commands, rem.Change = []httptrust.Command{manual}, nil
	case r.rep.IssuerURL != "" && !r.o.FetchIntermediates:
		// The issuer URL comes from the certificate: fetched only when asked.
		rem.Text += "; to fetch the missing issuer from the URL its certificate names and see it first, diagnose with --fetch-intermediates"
		rem.Commands = append(rem.Commands, httptrust.Command{Name: "diagnose", Args: []string{"--fetch-intermediates", r.rep.URL}})
	}
	return rem
}

// verifySystem judges the chain against the system roots alone. When the
// store trusts the server, the system roots' refusal is as it should be
// (a private CA, a device), not a warning.
func (r *run) verifySystem(res *probe.Result, storeTrusts bool) {
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
	switch {
	case err == nil:
		r.add("verify_system", OK, "the system roots trust it too (a plain client would accept it; consider pinning: httptrust pin "+r.rep.URL+")")
	case storeTrusts:
		r.add("verify_system", OK, "the system roots alone do not trust it, as expected: the store's rule does ("+err.Error()+")")
	default:
		r.add("verify_system", Warn, "the system roots do not trust it: "+err.Error())
	}
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
			details = append(details, fmt.Sprintf("%s: expired %s (%s ago)", c.Subject, c.NotAfter.UTC().Format(time.DateOnly), plural(int(-left.Hours()/24), "day", "days")))
		case left < 30*24*time.Hour:
			if status == OK {
				status = Warn
			}
			details = append(details, fmt.Sprintf("%s: expires %s (in %s)", c.Subject, c.NotAfter.UTC().Format(time.DateOnly), plural(int(left.Hours()/24), "day", "days")))
		default:
			details = append(details, fmt.Sprintf("%s: expires %s (in %s)", c.Subject, c.NotAfter.UTC().Format(time.DateOnly), plural(int(left.Hours()/24), "day", "days")))
		}
	}
	summary := "the first certificate to expire does so in " + plural(int(soonest.Hours()/24), "day", "days")
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
	if ps.Single() {
		pins = append(pins, "one pin and no backup: a key rotation will lock this host out")
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
}

func netJoin(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}
