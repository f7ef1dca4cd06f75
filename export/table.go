package export

import (
	"crypto/tls"
	"fmt"
	"reflect"
	"strings"

	"github.com/httptrust/httptrust"
)

// Level is what a format does with a rule field.
type Level byte

const (
	// Exact: the format expresses the field as the policy means it.
	Exact Level = 'E'
	// LossyLevel: the format cannot express it without dropping or
	// tightening something; an error unless AllowLossy, then listed.
	LossyLevel Level = 'L'
	// RefusedLevel: the format could only express it as wider trust, or
	// not at all where dropping it would widen trust; always an error.
	RefusedLevel Level = 'R'
	// Conditional: it depends on the rule; the documentation says how.
	Conditional Level = 'C'
)

// A Feature is a rule field, or a kind of host pattern, as the table names
// it.
type Feature struct {
	Name string
	// Levels holds one Level per format, in the order of Formats.
	Levels string
}

// Support is the table of what each format does with each field. Fields a
// rule sets that are not in it (fields added to httptrust later) are
// refused.
var Support = []Feature{
	{"hosts: exact name", "EEEEEEEEE"},
	{"hosts: IP address", "CRREEEEEE"},
	{"hosts: CIDR network", "RRREEEEEE"},
	{"hosts: host:port", "RRREEEEEE"},
	{"hosts: *.suffix", "CCCEEEEEE"},
	{"hosts: **.suffix", "ECEEEEEEE"},
	{"anchors", "ECCEELELL"},
	{"certificates", "CCCCCCCCC"},
	{"intermediates", "LLLLLLLLL"},
	{"system_roots", "ECCEECECC"},
	{"pins", "ECEEEEELL"},
	{"pins (CA key)", "ECEELLELL"},
	{"pins_expire", "ELCEELELL"},
	{"enforce = false", "LLEEELELL"},
	{"tofu", "LLLLLLLLL"},
	{"fetch_intermediates", "LLLLLLLLL"},
	{"allow_name_mismatch", "LLLCCLCLL"},
	{"allow_expired", "ELLCCLCEL"},
	{"server_name", "LLLEELELL"},
	{"min_tls", "LCLECEELL"},
	{"client_certificate", "LLLLLLLLL"},
}

// level returns the table's level of feature for format.
func level(feature, format string) Level {
	for i, f := range Formats {
		if f != format {
			continue
		}
		for _, row := range Support {
			if row.Name == feature {
				return Level(row.Levels[i])
			}
		}
	}
	return RefusedLevel
}

// lossyText says what dropping a feature means, for messages.
var lossyText = map[string]string{
	"hosts: **.suffix":    "only the domain and one label below it are covered: deeper names would lose the rule",
	"pins":                "the format has no pins: they would not be checked",
	"pins (CA key)":       "only the leaf's key can be checked here: pins of CA keys would be dropped",
	"pins_expire":         "the format has no pin expiry: the pins would be enforced after that date too",
	"enforce = false":     "the format has no report-only pins: they would be dropped",
	"tofu":                "no platform has first-use trust: it would be dropped",
	"fetch_intermediates": "missing intermediates would not be fetched",
	"intermediates":       "the rule's extra intermediates would not be offered to path building (never as anchors, which would widen trust): a server that does not send its intermediate would be refused",
	"allow_name_mismatch": "the name would still be checked",
	"allow_expired":       "the validity would still be checked",
	"server_name":         "the certificate would be checked against the URL's host, not server_name",
	"min_tls":             "the format cannot set the lowest TLS version: the platform's own would apply",
	"client_certificate":  "no client certificate would be offered: configure it in the app (export never copies keys)",
}

var refusedText = map[string]string{
	"hosts: IP address":   "the format cannot scope trust to an IP address",
	"hosts: CIDR network": "the format cannot scope trust to a network",
	"hosts: host:port":    "the format cannot scope trust to one port: the rule would apply to every port of the host",
}

// features lists the table features a scope uses.
func (sc *scope) features() []string {
	var f []string
	switch sc.kind {
	case kExact, kApex:
		f = append(f, "hosts: exact name")
	case kIP:
		f = append(f, "hosts: IP address")
	case kCIDR:
		f = append(f, "hosts: CIDR network")
	case kOne:
		f = append(f, "hosts: *.suffix")
	case kAny:
		f = append(f, "hosts: **.suffix")
	}
	if sc.port != "" {
		f = append(f, "hosts: host:port")
	}
	e := sc.eff
	add := func(name string, on bool) {
		if on {
			f = append(f, name)
		}
	}
	add("anchors", len(sc.anchors) > 0)
	add("certificates", len(sc.exact) > 0)
	add("intermediates", fieldLen(e, "Intermediates") > 0)
	add("system_roots", true)
	leafPins, caPins := false, false
	for _, p := range sc.pins {
		if p.level == pinCA {
			caPins = true
		} else {
			leafPins = true
		}
	}
	add("pins", leafPins)
	add("pins (CA key)", caPins)
	add("pins_expire", sc.pinSet != nil && !sc.pinSet.Expire.IsZero())
	add("enforce = false", sc.pinSet != nil && !sc.pinSet.Enforce)
	add("tofu", e.TOFU)
	add("fetch_intermediates", e.FetchIntermediates)
	add("allow_name_mismatch", e.AllowNameMismatch)
	add("allow_expired", e.AllowExpired)
	add("server_name", e.ServerName != "")
	add("min_tls", e.Source("min_tls") != nil)
	add("client_certificate", e.Client != nil)
	return f
}

// checkTable records the lossy and refused features of sc; conditional
// ones are the generator's.
func (m *model) checkTable(sc *scope) {
	for _, f := range sc.features() {
		switch level(f, m.o.Format) {
		case LossyLevel:
			if f == "anchors" {
				continue // bundleCerts and the format say why, anchor by anchor
			}
			msg := lossyText[f]
			if f == "pins_expire" {
				msg += " (" + sc.pinSet.Expire.Format("2006-01-02") + ")"
			}
			if f == "tofu" && sc.noTrust {
				msg = "first-use trust is the only trust here and no platform has it: these hosts would trust nothing"
			}
			if f == "min_tls" {
				msg = fmt.Sprintf("min_tls %s: %s", tlsName(sc.eff.MinTLS), msg)
			}
			m.lossy(sc, f, msg)
		case RefusedLevel:
			msg := refusedText[f]
			if msg == "" {
				msg = "the format cannot express it"
			}
			m.refuse(sc, f, msg)
		}
	}
}

// tlsName returns "1.2" for tls.VersionTLS12.
func tlsName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "1.0"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS13:
		return "1.3"
	}
	return "1.2"
}

// featureRow returns the table row for name, for the documentation test.
func featureRow(name string) (Feature, bool) {
	for _, f := range Support {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Feature{}, false
}

// fieldLen is the length of a slice field of the effective rule, 0 when
// this httptrust has no such field (Intermediates came later).
func fieldLen(e *httptrust.Effective, name string) int {
	f := reflect.ValueOf(e).Elem().FieldByName(name)
	if !f.IsValid() || f.Kind() != reflect.Slice {
		return 0
	}
	return f.Len()
}
