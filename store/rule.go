package store

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

// ruleBody is what one rule says, as its file says it: file names are
// relative to the rule file's folder. The store edits its own rules in this
// form, and computes from it the lines a person would add to theirs.
type ruleBody struct {
	pattern                                string
	anchors, certificates, intermediates   []string
	pins                                   []string // nil: not set
	pinsExpire                             time.Time
	enforce, systemRoots, tofu, fetchInter *bool
	allowNameMismatch, allowExpired        bool
	serverName, minTLS                     string
	clientCert, clientKey                  string
	clientPasswordEnv, clientPasswordFile  string
}

// bodyOf returns what r says, for pattern.
func bodyOf(pattern string, r *httptrust.Rule) ruleBody {
	return ruleBody{
		pattern: pattern,
		anchors: slices.Clone(r.Anchors), certificates: slices.Clone(r.Certificates), intermediates: slices.Clone(r.Intermediates),
		pins: slices.Clone(r.Pins), pinsExpire: r.PinsExpire,
		enforce: r.Enforce, systemRoots: r.SystemRoots, tofu: r.TOFU, fetchInter: r.FetchIntermediates,
		allowNameMismatch: r.AllowNameMismatch, allowExpired: r.AllowExpired,
		serverName: r.ServerName, minTLS: r.MinTLS,
		clientCert: r.ClientCertificate, clientKey: r.ClientKey,
		clientPasswordEnv: r.ClientPasswordEnv, clientPasswordFile: r.ClientPasswordFile,
	}
}

// An Item is one thing a rule trusts or sets: a certificate file it names,
// one pin, or a field and its value as the rule file writes it.
type Item struct {
	Field   string `json:"field"` // the rule file's key: "anchors", "pins", "min_tls", ...
	Value   string `json:"value"` // a file name, a pin, or the TOML value ("1.0" quoted, true)
	Subject string `json:"subject,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
}

// certFields are the fields that name certificate files, with the word
// for one of their certificates.
var certFields = map[string]string{
	"anchors": "anchor", "certificates": "certificate", "intermediates": "intermediate", "client_certificate": "client certificate",
}

// String says the item in a few words: "anchor <sha256> (CN=Root)",
// "pin sha256/...", `min_tls = "1.0"`.
func (i Item) String() string {
	if kind, ok := certFields[i.Field]; ok {
		if i.SHA256 != "" {
			return fmt.Sprintf("%s %s (%s)", kind, i.SHA256, i.Subject)
		}
		return kind + " " + i.Value
	}
	if i.Field == "pins" {
		if i.Value == "[]" {
			return "pins = [] (lifts the pins of wider rules)"
		}
		return "pin " + i.Value
	}
	return i.Field + " = " + i.Value
}

func (i Item) key() string { return i.Field + "\x00" + i.Value }

// describer fills in the subject and SHA-256 of a certificate file, named
// as the rule names it.
type describer func(file string) (subject, sha string)

// items lists what b trusts and sets, in the rule file's order.
func (b *ruleBody) items(describe describer) []Item {
	var out []Item
	for _, f := range b.fields() {
		switch {
		case certFields[f.name] != "" && f.name != "client_certificate":
			for _, name := range f.files {
				it := Item{Field: f.name, Value: name}
				if describe != nil {
					it.Subject, it.SHA256 = describe(name)
				}
				out = append(out, it)
			}
		case f.name == "pins":
			if len(b.pins) == 0 {
				out = append(out, Item{Field: "pins", Value: "[]"})
			}
			for _, p := range b.pins {
				out = append(out, Item{Field: "pins", Value: p})
			}
		case f.name == "client_certificate":
			it := Item{Field: f.name, Value: b.clientCert}
			if describe != nil {
				it.Subject, it.SHA256 = describe(b.clientCert)
			}
			out = append(out, it)
		default:
			out = append(out, Item{Field: f.name, Value: f.value})
		}
	}
	return out
}

// field is one key a rule body sets: its files, or its TOML value.
type field struct {
	name  string
	files []string
	value string
}

// fields lists the keys b sets, in the order the rule file writes them.
func (b *ruleBody) fields() []field {
	var out []field
	files := func(name string, fs []string) {
		if fs != nil {
			out = append(out, field{name: name, files: fs, value: quoteList(fs)})
		}
	}
	str := func(name, v string) {
		if v != "" {
			out = append(out, field{name: name, value: quote(v)})
		}
	}
	boolean := func(name string, v *bool) {
		if v != nil {
			out = append(out, field{name: name, value: strconv.FormatBool(*v)})
		}
	}
	files("anchors", b.anchors)
	files("certificates", b.certificates)
	files("intermediates", b.intermediates)
	boolean("system_roots", b.systemRoots)
	if b.pins != nil {
		out = append(out, field{name: "pins", value: quoteList(b.pins)})
	}
	if !b.pinsExpire.IsZero() {
		out = append(out, field{name: "pins_expire", value: b.pinsExpire.Format(time.DateOnly)})
	}
	boolean("enforce", b.enforce)
	boolean("tofu", b.tofu)
	boolean("fetch_intermediates", b.fetchInter)
	if b.allowNameMismatch {
		out = append(out, field{name: "allow_name_mismatch", value: "true"})
	}
	if b.allowExpired {
		out = append(out, field{name: "allow_expired", value: "true"})
	}
	str("server_name", b.serverName)
	str("min_tls", b.minTLS)
	str("client_certificate", b.clientCert)
	str("client_key", b.clientKey)
	str("client_password_env", b.clientPasswordEnv)
	str("client_password_file", b.clientPasswordFile)
	return out
}

// says reports whether b sets anything besides its hosts.
func (b *ruleBody) says() bool { return len(b.fields()) > 0 }

// encode writes b as a managed rule file; describe names the certificates
// in comments.
func (b *ruleBody) encode(describe describer) []byte {
	var w strings.Builder
	w.WriteString("# Managed by httptrust: this file is rewritten by `httptrust fetch` and\n")
	w.WriteString("# `httptrust trust`. Write your own rules in a file beside the managed folder.\n")
	w.WriteString("[[rule]]\n")
	fmt.Fprintf(&w, "hosts = [%s]\n", quote(b.pattern))
	for _, f := range b.fields() {
		fmt.Fprintf(&w, "%s = %s\n", f.name, f.value)
		for _, name := range f.files {
			if subject, sha := describe(name); sha != "" {
				fmt.Fprintf(&w, "# %s  %s  sha256 %s\n", name, oneLine(subject), sha)
			}
		}
	}
	return []byte(w.String())
}

// placement says where a rule's new files go, relative to its rule file.
type placement struct {
	certDir, clientDir string // "certs/", "client/" in managed; "" beside a person's rule file
}

var managedPlacement = placement{certDir: "certs/", clientDir: "client/"}

func (pl placement) cert(c *x509.Certificate) string {
	return pl.certDir + certs.CertFingerprint(c).String() + ".pem"
}

// newFile is a file an edit adds, relative to the rule file's folder.
type newFile struct {
	name string
	data []byte
	mode uint32
	cert *x509.Certificate // for certificate files
}

// apply merges t into b and returns the files b now names that must be
// written. Lists gain what they lack; fields t sets take its value; with
// t.Replace, b starts empty; with t.ReplaceCerts, t's certificates replace
// the list of their kind.
func (b *ruleBody) apply(t Trust, pl placement) ([]newFile, error) {
	if t.Replace {
		*b = ruleBody{pattern: b.pattern}
	}
	var files []newFile
	names := func(cs []*x509.Certificate) []string {
		var out []string
		for _, c := range cs {
			n := pl.cert(c)
			out = append(out, n)
			files = append(files, newFile{name: n, data: certs.EncodeCertificatesPEM([]*x509.Certificate{c}), mode: 0o644, cert: c})
		}
		return out
	}
	if len(t.Certs) > 0 {
		list := &b.certificates
		if t.Kind == Anchor {
			list = &b.anchors
		}
		if t.ReplaceCerts {
			*list = names(t.Certs)
		} else {
			*list = union(*list, names(t.Certs))
		}
	}
	if len(t.Intermediates) > 0 {
		b.intermediates = union(b.intermediates, names(t.Intermediates))
	}
	if t.LiftPins {
		b.pins, b.pinsExpire, b.enforce = []string{}, time.Time{}, nil
	}
	if err := b.addPins(t.Pins); err != nil {
		return nil, err
	}
	if !t.PinsExpire.IsZero() {
		b.pinsExpire = t.PinsExpire
	}
	for _, f := range []struct {
		dst **bool
		v   *bool
	}{{&b.enforce, t.Enforce}, {&b.systemRoots, t.SystemRoots}, {&b.tofu, t.TOFU}, {&b.fetchInter, t.FetchIntermediates}} {
		if f.v != nil {
			v := *f.v
			*f.dst = &v
		}
	}
	b.allowNameMismatch = b.allowNameMismatch || t.AllowNameMismatch
	b.allowExpired = b.allowExpired || t.AllowExpired
	if t.ServerName != "" {
		b.serverName = t.ServerName
	}
	if t.MinTLS != "" {
		b.minTLS = t.MinTLS
	}
	if c := t.Client; c != nil {
		ext := ".pem"
		if c.PKCS12 {
			ext = ".p12"
		}
		b.clientCert, b.clientKey = pl.clientDir+contentName(c.Cert)+ext, ""
		files = append(files, newFile{name: b.clientCert, data: c.Cert, mode: 0o600})
		if c.Key != nil {
			b.clientKey = pl.clientDir + contentName(c.Key) + "-key.pem"
			files = append(files, newFile{name: b.clientKey, data: c.Key, mode: 0o600})
		}
		b.clientPasswordEnv, b.clientPasswordFile = c.PasswordEnv, c.PasswordFile
	}
	return files, nil
}

// addPins adds pins b lacks, in OkHttp's form.
func (b *ruleBody) addPins(pins []string) error {
	if len(pins) == 0 {
		return nil
	}
	have := map[certs.Pin]bool{}
	for _, s := range b.pins {
		ps, _ := certs.ParsePins(s)
		for _, p := range ps {
			have[p] = true
		}
	}
	if b.pins == nil {
		b.pins = []string{}
	}
	for _, s := range pins {
		ps, err := certs.ParsePins(s)
		if err != nil {
			return fmt.Errorf("store: pin %q: %w", s, err)
		}
		for _, p := range ps {
			if !have[p] {
				have[p] = true
				b.pins = append(b.pins, p.String())
			}
		}
	}
	return nil
}

// dropCerts removes from b's certificate lists the files match says to
// drop, and returns them. A list left empty goes (the rule then inherits
// it, as if it had never set it), and with no anchors or certificates left
// so do the allowances and server_name that need them.
func (b *ruleBody) dropCerts(match func(name string) bool) []string {
	var dropped []string
	for _, list := range []*[]string{&b.anchors, &b.certificates, &b.intermediates} {
		if *list == nil {
			continue
		}
		kept := (*list)[:0:0]
		for _, n := range *list {
			if match(n) {
				dropped = append(dropped, n)
			} else {
				kept = append(kept, n)
			}
		}
		if len(kept) == 0 {
			kept = nil
		}
		*list = kept
	}
	if len(dropped) > 0 {
		if len(b.certificates) == 0 {
			b.allowNameMismatch, b.allowExpired = false, false
		}
		if len(b.certificates) == 0 && len(b.anchors) == 0 {
			b.serverName = ""
		}
	}
	return dropped
}

// contentName names a file by the SHA-256 of its bytes.
func contentName(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func union(have, add []string) []string {
	out := slices.Clone(have)
	for _, a := range add {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// diff returns the items of after that before lacks, and those of before
// that after lacks.
func diff(before, after []Item) (added, removed []Item) {
	in := func(list []Item, it Item) bool {
		return slices.ContainsFunc(list, func(o Item) bool { return o.key() == it.key() })
	}
	for _, it := range after {
		if !in(before, it) {
			added = append(added, it)
		}
	}
	for _, it := range before {
		if !in(after, it) {
			removed = append(removed, it)
		}
	}
	return added, removed
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// quote writes s as a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u` + strconv.FormatInt(int64(0x10000+r), 16)[1:])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// oneLine keeps a subject on its comment line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
