package export

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"io/fs"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

// scopeKind says which hosts a scope is for.
type scopeKind int

const (
	kExact    scopeKind = iota // one name, maybe with a port
	kIP                        // one IP literal, maybe with a port
	kCIDR                      // the IPs of a network
	kOne                       // "*.s"
	kAny                       // "**.s": the names below s
	kApex                      // "**.s": the name s itself
	kDefaults                  // hosts no pattern matches
)

// pinLevel says which certificate of a chain a pin is known to name.
type pinLevel int

const (
	pinUnknown pinLevel = iota // no certificate of the store has that key
	pinLeaf                    // an exact certificate's key
	pinCA                      // an anchor's key
)

type pinInfo struct {
	pin   certs.Pin
	level pinLevel
}

// A scope is a set of hosts with one effective rule, and what it trusts.
type scope struct {
	pattern string // the pattern; "" for the defaults
	label   string // for messages
	kind    scopeKind
	pat     httptrust.Pattern
	host    string // exact, IP and apex: the host; one and any: the suffix
	port    string
	eff     *httptrust.Effective
	rule    *httptrust.Rule // the rule that wrote the pattern

	anchors []*x509.Certificate // sorted by DER, no duplicates
	exact   []*x509.Certificate
	system  bool
	pinSet  *httptrust.PinSet
	pins    []pinInfo // sorted
	// noTrust: the scope is emitted as trusting nothing (first-use trust
	// alone, which no platform has).
	noTrust bool
}

// trustsByChain reports whether the scope verifies chains: anchors or the
// system roots.
func (s *scope) trustsByChain() bool { return !s.noTrust && (len(s.anchors) > 0 || s.system) }

// exactOnly reports whether exact certificates are the scope's only trust.
func (s *scope) exactOnly() bool { return !s.noTrust && len(s.exact) > 0 && !s.trustsByChain() }

// where returns the rule that set field for this scope.
func (s *scope) where(field string) string {
	if r := s.eff.Source(field); r != nil {
		return r.Where()
	}
	if s.rule != nil {
		return s.rule.Where()
	}
	if src := s.eff.Sources[field]; src != "" {
		return src
	}
	return "defaults"
}

type pendingFile struct {
	name   string
	mode   fs.FileMode
	render func() []byte
}

type model struct {
	p        *httptrust.Policy
	o        Options
	scopes   []*scope // sorted by pattern, the defaults first
	all      []*scope // every scope of the store, selected or not
	filtered bool
	issues   []Issue
	dropped  []Issue
	warnings []string
	pending  []pendingFile
	files    []File
	leafKeys map[certs.Pin]bool
	caKeys   map[certs.Pin]bool
	digest   string
}

func newModel(p *httptrust.Policy, o Options) (*model, error) {
	m := &model{p: p, o: o, leafKeys: map[certs.Pin]bool{}, caKeys: map[certs.Pin]bool{}}
	var all []*scope
	if d := p.Defaults(); d != nil {
		all = append(all, &scope{label: "hosts without a rule", kind: kDefaults, eff: d, rule: d.Rule})
	}
	for _, pr := range p.PatternRules() {
		sc := &scope{pattern: pr.Pattern.String(), label: pr.Pattern.String(), pat: pr.Pattern, host: pr.Pattern.Host,
			port: pr.Pattern.Port, eff: pr.Effective, rule: pr.Rule}
		switch pr.Pattern.Kind {
		case httptrust.PatternExact:
			sc.kind = kExact
		case httptrust.PatternIP:
			sc.kind = kIP
		case httptrust.PatternCIDR:
			sc.kind = kCIDR
		case httptrust.PatternOneLabel:
			sc.kind = kOne
		case httptrust.PatternAnyDepth:
			sc.kind = kAny
		}
		all = append(all, sc)
		if pr.Apex != nil {
			all = append(all, &scope{pattern: "apex:" + pr.Pattern.Host, label: pr.Pattern.Host + " (the name itself, under " + sc.pattern + ")",
				pat: pr.Pattern, host: pr.Pattern.Host, kind: kApex, eff: pr.Apex, rule: pr.Rule})
		}
	}
	for _, sc := range all {
		if err := m.load(sc); err != nil {
			return nil, err
		}
	}
	for _, sc := range all {
		m.classifyPins(sc)
	}
	sel, err := selectScopes(all, o.Hosts, o.Format)
	if err != nil {
		return nil, err
	}
	m.all, m.scopes, m.filtered = all, sel, len(o.Hosts) > 0
	m.digest = storeDigest(p, o.StoreFS)
	return m, nil
}

// load reads the certificates of a scope's effective rule.
func (m *model) load(sc *scope) error {
	var err error
	if sc.anchors, err = m.p.Certificates(sc.eff.Anchors); err != nil {
		return fmt.Errorf("export: %s (%s): anchors: %w", sc.label, sc.where("anchors"), err)
	}
	if sc.exact, err = m.p.Certificates(sc.eff.Certificates); err != nil {
		return fmt.Errorf("export: %s (%s): certificates: %w", sc.label, sc.where("certificates"), err)
	}
	sc.anchors, sc.exact = sortCerts(sc.anchors), sortCerts(sc.exact)
	sc.system = sc.eff.SystemRoots
	sc.pinSet = sc.eff.Pins
	if sc.eff.TOFU && len(sc.anchors) == 0 && len(sc.exact) == 0 {
		// First use alone is the trust there: no platform has it.
		sc.noTrust = true
	}
	for _, c := range sc.exact {
		m.leafKeys[certs.SPKIPin(c)] = true
	}
	for _, c := range sc.anchors {
		m.caKeys[certs.SPKIPin(c)] = true
	}
	return nil
}

func (m *model) classifyPins(sc *scope) {
	if sc.pinSet == nil {
		return
	}
	for _, p := range sc.pinSet.Pins {
		lv := pinUnknown
		switch {
		case m.leafKeys[p]:
			lv = pinLeaf
		case m.caKeys[p]:
			lv = pinCA
		}
		sc.pins = append(sc.pins, pinInfo{p, lv})
	}
	sort.Slice(sc.pins, func(i, j int) bool { return bytes.Compare(sc.pins[i].pin[:], sc.pins[j].pin[:]) < 0 })
}

func sortCerts(cs []*x509.Certificate) []*x509.Certificate {
	out := make([]*x509.Certificate, 0, len(cs))
	seen := map[string]bool{}
	for _, c := range cs {
		if !seen[string(c.Raw)] {
			seen[string(c.Raw)] = true
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].Raw, out[j].Raw) < 0 })
	return out
}

// issue records a problem with field of sc.
func (m *model) issue(kind IssueKind, sc *scope, field, msg, hint string) {
	where := sc.where(fieldKey(field))
	if hint == "" {
		if kind == Lossy {
			hint = "use --allow-lossy to drop it, or leave these hosts out with --host"
		} else {
			hint = "change the rule, or leave these hosts out with --host"
		}
	}
	is := Issue{Kind: kind, Format: m.o.Format, Scope: sc.label, Where: where, Field: field, Message: msg, Hint: hint}
	for _, old := range append(append([]Issue{}, m.issues...), m.dropped...) {
		if old.Scope == is.Scope && old.Field == is.Field && old.Message == is.Message {
			return
		}
	}
	if kind == Lossy && m.o.AllowLossy {
		m.dropped = append(m.dropped, is)
		return
	}
	m.issues = append(m.issues, is)
}

func (m *model) lossy(sc *scope, field, msg string)  { m.issue(Lossy, sc, field, msg, "") }
func (m *model) refuse(sc *scope, field, msg string) { m.issue(Refused, sc, field, msg, "") }

func (m *model) warn(sc *scope, format string, args ...any) {
	w := fmt.Sprintf("%s: %s (%s): %s", m.o.Format, sc.label, sc.where("hosts"), fmt.Sprintf(format, args...))
	for _, old := range m.warnings {
		if old == w {
			return
		}
	}
	m.warnings = append(m.warnings, w)
}

// fieldKey maps an issue's field to the rule field whose source names it.
func fieldKey(field string) string {
	switch {
	case strings.HasPrefix(field, "hosts"):
		return "hosts"
	case strings.HasPrefix(field, "pins"):
		return "pins"
	case field == "enforce = false":
		return "enforce"
	}
	return field
}

func (m *model) err() error {
	if len(m.issues) == 0 {
		return nil
	}
	sort.SliceStable(m.issues, func(i, j int) bool {
		a, b := m.issues[i], m.issues[j]
		if a.Scope != b.Scope {
			return a.Scope < b.Scope
		}
		return a.Field < b.Field
	})
	return &Error{Format: m.o.Format, Issues: m.issues}
}

// file adds a file; render runs once every issue is known, so that the
// header lists everything dropped.
func (m *model) file(name string, mode fs.FileMode, render func() []byte) {
	m.pending = append(m.pending, pendingFile{name, mode, render})
}

func (m *model) render() {
	for _, f := range m.pending {
		m.files = append(m.files, File{Name: f.name, Data: f.render(), Mode: f.mode})
	}
}

// knownRuleFields are the fields of httptrust.Rule the exporter knows. A
// rule that sets any other field is refused: the exporter cannot know
// whether dropping it would widen trust.
var knownRuleFields = map[string]bool{
	"Hosts": true, "AllHosts": true, "Anchors": true, "AnchorCerts": true, "Certificates": true,
	"CertificateCerts": true, "SystemRoots": true, "Pins": true, "PinsExpire": true, "Enforce": true,
	"TOFU": true, "FetchIntermediates": true, "AllowNameMismatch": true, "AllowExpired": true,
	"ServerName": true, "MinTLS": true, "ClientCertificate": true, "ClientKey": true,
	"ClientPasswordEnv": true, "ClientPasswordFile": true, "ClientIdentity": true, "File": true, "Line": true,
	// Intermediates are dropped (lossy) in every format: see Support.
	"Intermediates": true, "IntermediateCerts": true,
}

// checkUnknownFields refuses rules that set a field this exporter does not
// know (a field added to httptrust after it was written).
func (m *model) checkUnknownFields() {
	for _, r := range m.p.Rules() {
		v := reflect.ValueOf(r).Elem()
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() || knownRuleFields[f.Name] || v.Field(i).IsZero() {
				continue
			}
			sc := &scope{label: strings.Join(r.Hosts, ", "), rule: r, eff: &httptrust.Effective{}}
			if r.AllHosts {
				sc.label = "all_hosts"
			}
			m.refuse(sc, f.Name, "httptrust export does not know this field yet; exporting without it could widen trust")
		}
	}
}

// checkFileNames refuses rules whose file name holds a control, line or
// paragraph separator or formatting character: the name is written into
// comments of the output, where such a character could end the comment in
// some language, or make it read otherwise than it is. (Comments are made
// safe regardless: see commentSafe.)
func (m *model) checkFileNames() {
	seen := map[string]bool{}
	for _, r := range m.p.Rules() {
		if r.File == "" || seen[r.File] {
			continue
		}
		seen[r.File] = true
		for _, c := range r.File {
			if unicode.IsControl(c) || unicode.In(c, unicode.Zl, unicode.Zp, unicode.Cf) {
				label := strings.Join(r.Hosts, ", ")
				if r.AllHosts {
					label = "all_hosts"
				}
				m.issues = append(m.issues, Issue{Kind: Refused, Format: m.o.Format, Scope: label,
					Where: strconv.QuoteToASCII(r.File), Field: "file name",
					Message: fmt.Sprintf("the rule file's name holds the character %U, which output comments cannot show as it is", c),
					Hint:    "rename the file to a name of printable characters"})
				break
			}
		}
	}
}

// pinsActive reports whether a pin set is in force on the day d (its
// date): through the end of pins_expire.
func pinsActive(ps *httptrust.PinSet, d time.Time) bool {
	return ps.Expire.IsZero() || !d.After(ps.Expire)
}
