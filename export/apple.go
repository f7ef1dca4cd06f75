package export

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"
)

// ATSFile and TrustKitFile are the plists the ios-ats and trustkit formats
// write.
const (
	ATSFile      = "NSAppTransportSecurity.plist"
	TrustKitFile = "TrustKit.plist"
)

// appleTrust checks what iOS can say of a scope's trust: only the system's
// trust store decides there, and pins narrow it. It reports whether the
// scope can be written at all.
func (m *model) appleTrust(sc *scope) bool {
	own := len(sc.anchors)+len(sc.exact) > 0
	switch {
	case sc.noTrust:
		return false // reported by the table (tofu)
	case !sc.system:
		m.refuse(sc, "system_roots", "on iOS the system's CAs decide trust and "+m.o.Format+" can only narrow it with pins: the rule trusts its own certificates and not the system's, so the system CAs would vouch for these hosts")
		return false
	case own:
		m.lossy(sc, pick(len(sc.anchors) > 0, "anchors", "certificates"), "iOS would not trust the rule's own certificates (only the system's CAs): connections they vouch for would fail")
	}
	return true
}

func pick(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

// appleEntry is one pinned domain of a plist.
type appleEntry struct {
	sc         *scope
	name       string
	subdomains bool
	leaf, ca   []string // base64 pins (ATS splits them; TrustKit uses leaf for all)
	expire     string
	enforce    bool
	exclude    bool // TrustKit: an exception under a parent's pins
}

func pinStrings(ps []pinInfo, keep func(pinInfo) bool) []string {
	var out []string
	for _, p := range ps {
		if keep(p) {
			out = append(out, base64.StdEncoding.EncodeToString(p.pin[:]))
		}
	}
	sort.Strings(out)
	return out
}

// pinsOnly is the part of a scope an Apple plist can say, for strictness
// comparisons.
func (m *model) pinsOnly(sc *scope) nscTrust {
	t := nscTrust{system: true}
	if sc.noTrust || !sc.system {
		t.system = false
	}
	if sc.pinSet != nil && sc.pinSet.Enforce {
		t.pins = pinStrings(sc.pins, func(pinInfo) bool { return true })
		if !sc.pinSet.Expire.IsZero() {
			t.expiration = sc.pinSet.Expire.Format(time.DateOnly)
		}
	}
	return t
}

// appleDomains picks the pinned domains of a plist. anyDepth says the
// platform's subdomain flag covers every depth (TrustKit) rather than one
// label (ATS).
func (m *model) appleDomains(anyDepth bool) []*appleEntry {
	var out []*appleEntry
	claimed := map[string]*scope{}
	for _, sc := range m.scopes {
		if !m.appleTrust(sc) || sc.kind == kDefaults {
			continue
		}
		e := &appleEntry{sc: sc, name: sc.host, enforce: true}
		switch sc.kind {
		case kAny:
			e.subdomains = true
			if !anyDepth && sc.pinSet != nil {
				m.lossy(sc, "hosts: **.suffix", "ATS pins "+sc.host+" and the names one label below it only: deeper names would not be pinned")
			}
		case kOne:
			what := sc.host + " and the names one label below it"
			if anyDepth {
				what = sc.host + " and every name below it"
			}
			if !m.suffixEntry(sc, m.pinsOnly, what, anyDepth) {
				continue
			}
			e.subdomains = true
		case kApex:
			// Written by the "**." entry when the trust is the same.
			for _, o := range m.scopes {
				if o.kind == kAny && o.host == sc.host && !sameTrust(m.pinsOnly(o), m.pinsOnly(sc)) {
					m.refuse(sc, "hosts: **.suffix", "the plist's entry for "+sc.host+" and the names below it cannot give "+sc.host+" itself other pins")
				}
			}
			continue
		}
		if sc.pinSet == nil || !sc.pinSet.Enforce && !anyDepth {
			if m.underPinned(sc, anyDepth) {
				if anyDepth {
					e.exclude = true
				} else {
					m.lossy(sc, "pins", "ATS cannot lift the pins of a wider domain for these hosts: they would be pinned")
					continue
				}
			} else {
				continue
			}
		} else {
			e.enforce = sc.pinSet.Enforce
			e.leaf = pinStrings(sc.pins, func(p pinInfo) bool { return true })
			if !sc.pinSet.Expire.IsZero() {
				e.expire = sc.pinSet.Expire.AddDate(0, 0, 2).Format(time.DateOnly)
			}
		}
		if other := claimed[e.name]; other != nil {
			m.refuse(sc, "hosts", fmt.Sprintf("the plist has one entry for %s, and %s needs it too with other pins", e.name, other.label))
			continue
		}
		claimed[e.name] = sc
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// underPinned reports whether a wider pinned scope's entry would cover
// sc's hosts on the platform.
func (m *model) underPinned(sc *scope, anyDepth bool) bool {
	for _, o := range m.scopes {
		if o == sc || o.pinSet == nil || (o.kind != kAny && o.kind != kOne) {
			continue
		}
		if sc.host == o.host {
			return true
		}
		if under(sc.host, o.host) && (anyDepth || !strings.Contains(strings.TrimSuffix(sc.host, "."+o.host), ".")) {
			return true
		}
	}
	return false
}

func genATS(m *model) error {
	entries := m.appleDomains(false)
	for _, e := range entries {
		if e.exclude || len(e.leaf) == 0 {
			continue
		}
		var leaf, ca, unknown []string
		for _, p := range e.sc.pins {
			s := base64.StdEncoding.EncodeToString(p.pin[:])
			switch p.level {
			case pinLeaf:
				leaf = append(leaf, s)
			case pinCA:
				ca = append(ca, s)
			default:
				unknown = append(unknown, s)
			}
		}
		switch {
		case len(unknown) > 0:
			m.lossy(e.sc, "pins", "no certificate of the store has the key of "+strings.Join(unknown, ", ")+", so whether it is a leaf's or a CA's cannot be told, and ATS needs to know; they are written as leaf keys (a CA's key there never matches)")
			e.leaf, e.ca = append(leaf, append(unknown, ca...)...), nil
		case len(leaf) > 0 && len(ca) > 0:
			m.lossy(e.sc, "pins", "the pins name leaf and CA keys, and ATS requires a match in each list when both are given (the policy needs one); all are written as leaf keys")
			e.leaf, e.ca = append(leaf, ca...), nil
		case len(ca) > 0:
			e.leaf, e.ca = nil, ca
		default:
			e.leaf = leaf
		}
		sort.Strings(e.leaf)
		sort.Strings(e.ca)
	}
	for _, sc := range m.scopes {
		if sc.eff.Source("min_tls") != nil && sc.eff.MinTLS != 0x0303 {
			m.lossy(sc, "min_tls", "min_tls "+tlsName(sc.eff.MinTLS)+": NSPinnedDomains has no TLS version (ATS requires 1.2)")
		}
	}
	m.file(ATSFile, 0o644, func() []byte {
		var b strings.Builder
		b.WriteString(plistHead)
		b.WriteString(m.xmlComment())
		b.WriteString("<plist version=\"1.0\">\n<dict>\n\t<key>NSAppTransportSecurity</key>\n\t<dict>\n\t\t<key>NSPinnedDomains</key>\n\t\t<dict>\n")
		for _, e := range entries {
			if len(e.leaf)+len(e.ca) == 0 {
				continue
			}
			fmt.Fprintf(&b, "\t\t\t<!-- %s (%s) -->\n\t\t\t<key>%s</key>\n\t\t\t<dict>\n", xmlCommentSafe(commentSafe(e.sc.label)), xmlCommentSafe(commentSafe(e.sc.where("pins"))), e.name)
			fmt.Fprintf(&b, "\t\t\t\t<key>NSIncludesSubdomains</key>\n\t\t\t\t<%t/>\n", e.subdomains)
			for _, l := range []struct {
				key  string
				pins []string
			}{{"NSPinnedCAIdentities", e.ca}, {"NSPinnedLeafIdentities", e.leaf}} {
				if len(l.pins) == 0 {
					continue
				}
				fmt.Fprintf(&b, "\t\t\t\t<key>%s</key>\n\t\t\t\t<array>\n", l.key)
				for _, p := range l.pins {
					fmt.Fprintf(&b, "\t\t\t\t\t<dict>\n\t\t\t\t\t\t<key>SPKI-SHA256-BASE64</key>\n\t\t\t\t\t\t<string>%s</string>\n\t\t\t\t\t</dict>\n", p)
				}
				b.WriteString("\t\t\t\t</array>\n")
			}
			b.WriteString("\t\t\t</dict>\n")
		}
		b.WriteString("\t\t</dict>\n\t</dict>\n</dict>\n</plist>\n")
		return []byte(b.String())
	})
	return nil
}

const plistHead = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
`

func genTrustKit(m *model) error {
	entries := m.appleDomains(true)
	for _, e := range entries {
		if !registrable(e.name) {
			m.refuse(e.sc, "hosts", "TrustKit refuses a domain without a registrable part under a known top-level domain ("+e.name+"; IP addresses, single labels, .local, .test, .internal): it throws at start-up")
			continue
		}
		if e.exclude {
			continue
		}
		if min := map[bool]int{true: 2, false: 1}[e.enforce]; len(e.leaf) < min {
			m.refuse(e.sc, "pins", fmt.Sprintf("TrustKit needs at least %d pins for an enforced domain (a backup pin) and throws at start-up with fewer; add a backup pin", min))
		}
	}
	m.file(TrustKitFile, 0o644, func() []byte {
		var b strings.Builder
		b.WriteString(plistHead)
		b.WriteString(m.xmlComment())
		b.WriteString("<plist version=\"1.0\">\n<dict>\n\t<key>TSKConfiguration</key>\n\t<dict>\n")
		b.WriteString("\t\t<key>TSKSwizzleNetworkDelegates</key>\n\t\t<false/>\n\t\t<key>TSKPinnedDomains</key>\n\t\t<dict>\n")
		for _, e := range entries {
			fmt.Fprintf(&b, "\t\t\t<!-- %s (%s) -->\n\t\t\t<key>%s</key>\n\t\t\t<dict>\n", xmlCommentSafe(commentSafe(e.sc.label)), xmlCommentSafe(commentSafe(e.sc.where("pins"))), e.name)
			if e.exclude {
				// The key's value has this spelling in TrustKit (sic).
				b.WriteString("\t\t\t\t<key>kSKExcludeSubdomainFromParentPolicy</key>\n\t\t\t\t<true/>\n\t\t\t</dict>\n")
				continue
			}
			fmt.Fprintf(&b, "\t\t\t\t<key>TSKIncludeSubdomains</key>\n\t\t\t\t<%t/>\n", e.subdomains)
			fmt.Fprintf(&b, "\t\t\t\t<key>TSKEnforcePinning</key>\n\t\t\t\t<%t/>\n", e.enforce)
			b.WriteString("\t\t\t\t<key>TSKDisableDefaultReportUri</key>\n\t\t\t\t<true/>\n")
			if e.expire != "" {
				fmt.Fprintf(&b, "\t\t\t\t<!-- pins_expire %s: TrustKit stops at 00:00 UTC of this date; two days later, so that no time zone stops early -->\n", e.sc.pinSet.Expire.Format(time.DateOnly))
				fmt.Fprintf(&b, "\t\t\t\t<key>TSKExpirationDate</key>\n\t\t\t\t<string>%s</string>\n", e.expire)
			}
			b.WriteString("\t\t\t\t<key>TSKPublicKeyHashes</key>\n\t\t\t\t<array>\n")
			for _, p := range e.leaf {
				fmt.Fprintf(&b, "\t\t\t\t\t<string>%s</string>\n", p)
			}
			b.WriteString("\t\t\t\t</array>\n\t\t\t</dict>\n")
		}
		b.WriteString("\t\t</dict>\n\t</dict>\n</dict>\n</plist>\n")
		return []byte(b.String())
	})
	return nil
}

// registrable reports whether name has a registrable part under a suffix
// of the public suffix list, as TrustKit requires of a pinned domain.
func registrable(name string) bool {
	if _, err := publicsuffix.EffectiveTLDPlusOne(name); err != nil {
		return false
	}
	ps, icann := publicsuffix.PublicSuffix(name)
	return icann || strings.Contains(ps, ".")
}
