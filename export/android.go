package export

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

// AndroidConfig is the path of the Network Security Config the android
// format writes; certificates go to res/raw.
const AndroidConfig = "res/xml/network_security_config.xml"

// nscTrust is what one Network Security Config entry says.
type nscTrust struct {
	anchors    []*x509.Certificate
	system     bool
	pins       []string // base64
	expiration string   // yyyy-MM-dd, the day pins stop (pins_expire + 1)
}

// nsc computes the entry for a scope, without reporting anything.
func (m *model) nsc(sc *scope) nscTrust {
	var t nscTrust
	if sc.noTrust {
		return t
	}
	t.system = sc.system
	t.anchors = sortCerts(append(append([]*x509.Certificate{}, sc.anchors...), sc.exact...))
	switch {
	case sc.pinSet != nil && sc.pinSet.Enforce:
		for _, p := range sc.pins {
			t.pins = append(t.pins, base64.StdEncoding.EncodeToString(p.pin[:]))
		}
		if !sc.pinSet.Expire.IsZero() {
			t.expiration = sc.pinSet.Expire.AddDate(0, 0, 1).Format(time.DateOnly)
		}
	case sc.pinSet == nil && sc.exactOnly():
		// Exact certificates are anchors here: their own keys as pins
		// keep any other certificate out.
		for _, c := range sc.exact {
			p := certs.SPKIPin(c)
			t.pins = append(t.pins, base64.StdEncoding.EncodeToString(p[:]))
		}
	}
	sort.Strings(t.pins)
	return t
}

// atLeastAsStrict reports whether a trusts nothing that b does not.
func atLeastAsStrict(a, b nscTrust) bool {
	if a.system && !b.system {
		return false
	}
	in := map[string]bool{}
	for _, c := range b.anchors {
		in[string(c.Raw)] = true
	}
	for _, c := range a.anchors {
		if !in[string(c.Raw)] {
			return false
		}
	}
	if len(b.pins) == 0 {
		return true
	}
	if len(a.pins) == 0 {
		return false
	}
	bp := map[string]bool{}
	for _, p := range b.pins {
		bp[p] = true
	}
	for _, p := range a.pins {
		if !bp[p] {
			return false
		}
	}
	// Pins that stop earlier than b's are weaker after they stop.
	return a.expiration == "" || (b.expiration != "" && a.expiration >= b.expiration)
}

func sameTrust(a, b nscTrust) bool { return atLeastAsStrict(a, b) && atLeastAsStrict(b, a) }

// lookupScope is a scope for one host of the policy (for comparisons).
func (m *model) lookupScope(host string) *scope {
	eff, err := m.p.Lookup(host)
	if err != nil {
		return &scope{noTrust: true, eff: &httptrust.Effective{}}
	}
	sc := &scope{label: host, eff: eff, rule: eff.Rule}
	if m.load(sc) != nil {
		return &scope{noTrust: true, eff: eff}
	}
	m.classifyPins(sc)
	return sc
}

// suffixEntry checks that a "*.s" rule may be written as s and every name
// below it (all that Android, TrustKit and ATS can say): only where it is
// at least as strict as what s itself and the deeper names get.
func (m *model) suffixEntry(sc *scope, trust func(*scope) nscTrust, what string, deeper bool) bool {
	own := trust(sc)
	checks := []struct {
		host, name string
	}{{sc.host, sc.host + " itself"}}
	if deeper {
		checks = append(checks, struct{ host, name string }{"httptrust-probe.httptrust-probe." + sc.host, "names two or more labels below " + sc.host})
	}
	for _, c := range checks {
		if !atLeastAsStrict(own, trust(m.lookupScope(c.host))) {
			m.refuse(sc, "hosts: *.suffix", fmt.Sprintf("%s can only write %s as %s; %s would get this rule, which trusts what their own rule does not", m.o.Format, sc.pattern, what, c.name))
			return false
		}
	}
	m.warn(sc, "%s is written as %s: %s itself%s get it too (stricter than the policy)", sc.pattern, what, sc.host, map[bool]string{true: " and deeper names", false: ""}[deeper])
	return true
}

type nscDomain struct {
	sc         *scope
	name       string
	subdomains bool
	trust      nscTrust
}

func genAndroid(m *model) error {
	var base *nscTrust
	var domains []nscDomain
	claimed := map[string]*scope{}
	claim := func(sc *scope, name string) bool {
		if other := claimed[name]; other != nil {
			m.refuse(sc, "hosts", fmt.Sprintf("Android has one entry for %s, and %s needs it too with other trust", name, other.label))
			return false
		}
		claimed[name] = sc
		return true
	}
	anySame := func(sc *scope) bool {
		for _, o := range m.scopes {
			if o.kind == kAny && o.host == sc.host {
				return sameTrust(m.nsc(o), m.nsc(sc))
			}
		}
		return false
	}
	for _, sc := range m.scopes {
		m.androidChecks(sc)
		t := m.nsc(sc)
		switch sc.kind {
		case kDefaults:
			base = &t
		case kExact:
			if claim(sc, sc.host) {
				domains = append(domains, nscDomain{sc, sc.host, false, t})
			}
		case kIP:
			if sc.pat.Addr.Is6() {
				m.refuse(sc, "hosts: IP address", "Android compares the host as text, and how it writes an IPv6 host is not known: the rule might not apply")
			} else if claim(sc, sc.host) {
				domains = append(domains, nscDomain{sc, sc.host, false, t})
			}
		case kAny:
			if claim(sc, sc.host) {
				domains = append(domains, nscDomain{sc, sc.host, true, t})
			}
		case kApex:
			if !anySame(sc) {
				m.refuse(sc, "hosts: **.suffix", "Android's entry for "+sc.host+" and every name below it cannot give "+sc.host+" itself other trust (a \"*.\" rule one label above gives it its own)")
			}
		case kOne:
			if m.suffixEntry(sc, m.nsc, sc.host+" and every name below it", true) && claim(sc, sc.host) {
				domains = append(domains, nscDomain{sc, sc.host, true, t})
			}
		}
	}
	if m.filtered {
		// Hosts outside the export would fall to Android's own default
		// (the system CAs, and the user's at targetSdk 23 and lower):
		// they trust nothing here, as the code formats refuse them.
		base = &nscTrust{}
		m.warnings = append(m.warnings, "android: hosts that are not part of this --host export trust no certificate (an empty base-config), as the code formats refuse them; export without --host to give them the policy's defaults")
	}
	raw := map[string]*x509.Certificate{}
	for _, d := range domains {
		for _, c := range d.trust.anchors {
			raw[rawName(c)] = c
		}
	}
	if base != nil {
		for _, c := range base.anchors {
			raw[rawName(c)] = c
		}
	}
	for name, c := range raw {
		c := c
		m.file("res/raw/"+name+".der", 0o644, func() []byte { return c.Raw })
	}
	m.file(AndroidConfig, 0o644, func() []byte { return m.androidXML(base, domains) })
	return nil
}

// androidChecks are the conditional fields of the android format.
func (m *model) androidChecks(sc *scope) {
	m.refuseExpiredAnchors(sc)
	m.anchorLimits(sc)
	if len(sc.anchors) > 0 {
		m.warn(sc, "Android, like Java, is not known to check an anchor's own validity: it would keep trusting what the anchor signed after it expires (the export checks it on the day it runs: %s); export again before then. The platform also decides itself the extended key usage of intermediates, SHA-1 signatures and negative serial numbers (docs/export.md)", firstExpiry(sc.anchors))
	}
	if len(sc.exact) == 0 {
		return
	}
	for _, c := range sc.exact {
		m.requireLeaf(sc, c)
	}
	if !sc.eff.AllowExpired {
		m.refuse(sc, "certificates", "Android can only hold an exact certificate as an anchor, and whether it then checks that certificate's validity is not known (Java does not); set allow_expired = true if that is what you mean, or use anchors")
	}
}

func rawName(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return "httptrust_" + hex.EncodeToString(sum[:8])
}

func (m *model) androidXML(base *nscTrust, domains []nscDomain) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	b.WriteString(m.xmlComment())
	b.WriteString("<network-security-config>\n")
	if base != nil {
		if m.filtered {
			b.WriteString("    <!-- hosts that are not part of this export (Hosts exported, above): no certificate is trusted -->\n    <base-config>\n")
		} else {
			b.WriteString("    <!-- hosts without a rule -->\n    <base-config>\n")
		}
		writeAnchors(&b, *base, "        ")
		b.WriteString("    </base-config>\n")
	}
	sort.Slice(domains, func(i, j int) bool { return domains[i].name < domains[j].name })
	for _, d := range domains {
		fmt.Fprintf(&b, "    <!-- %s (%s) -->\n    <domain-config>\n", xmlCommentSafe(commentSafe(d.sc.label)), xmlCommentSafe(commentSafe(d.sc.where("hosts"))))
		fmt.Fprintf(&b, "        <domain includeSubdomains=\"%t\">%s</domain>\n", d.subdomains, d.name)
		writeAnchors(&b, d.trust, "        ")
		if len(d.trust.pins) > 0 {
			if d.trust.expiration != "" {
				fmt.Fprintf(&b, "        <!-- pins_expire %s: Android stops at the start of expiration, in the device's time zone -->\n", d.sc.pinSet.Expire.Format(time.DateOnly))
				fmt.Fprintf(&b, "        <pin-set expiration=\"%s\">\n", d.trust.expiration)
			} else {
				b.WriteString("        <pin-set>\n")
			}
			for _, p := range d.trust.pins {
				fmt.Fprintf(&b, "            <pin digest=\"SHA-256\">%s</pin>\n", p)
			}
			b.WriteString("        </pin-set>\n")
		}
		b.WriteString("    </domain-config>\n")
	}
	b.WriteString("</network-security-config>\n")
	return []byte(b.String())
}

func writeAnchors(b *strings.Builder, t nscTrust, indent string) {
	if len(t.anchors) == 0 && !t.system {
		b.WriteString(indent + "<!-- the rule trusts no certificate here -->\n" + indent + "<trust-anchors />\n")
		return
	}
	b.WriteString(indent + "<trust-anchors>\n")
	for _, c := range t.anchors {
		fmt.Fprintf(b, "%s    <!-- %s -->\n%s    <certificates src=\"@raw/%s\" overridePins=\"false\" />\n", indent, xmlCommentSafe(commentSafe(certName(c))), indent, rawName(c))
	}
	if t.system {
		fmt.Fprintf(b, "%s    <certificates src=\"system\" overridePins=\"false\" />\n", indent)
	}
	b.WriteString(indent + "</trust-anchors>\n")
}
