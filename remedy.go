package httptrust

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/httptrust/httptrust/certs"
)

// Action is the kind of thing a Remedy asks for.
type Action int

const (
	// ActionNone: nothing to do here (the refusal was a program's choice).
	ActionNone Action = iota
	// ActionTrustCertificate: trust the server's own certificate exactly,
	// for this host only (a self-signed device), after comparing its
	// fingerprint.
	ActionTrustCertificate
	// ActionTrustAuthority: trust the CA that issued the server's
	// certificate, for this host only.
	ActionTrustAuthority
	// ActionAddTrust: the rule trusts nothing; give it anchors or
	// certificates.
	ActionAddTrust
	// ActionReplaceCertificate: the host is trusted through something the
	// server no longer presents; replace it only with a fingerprint
	// obtained out of band.
	ActionReplaceCertificate
	// ActionForgetFirstUse: the key recorded on first use changed; forget
	// it and accept the new key only with a fingerprint obtained out of
	// band.
	ActionForgetFirstUse
	// ActionUpdatePins: no pin matches; add the new pin, obtained from the
	// server's operator.
	ActionUpdatePins
	// ActionFetchIntermediates: the server does not send its intermediate;
	// its configuration must be fixed, or the intermediate fetched.
	ActionFetchIntermediates
	// ActionUseName: the certificate is not for this host; use the name it
	// should present (from its operator), in the URL or as server_name.
	ActionUseName
	// ActionAllowNameMismatch: an exactly trusted certificate does not name
	// the host (a device that says CN=localhost).
	ActionAllowNameMismatch
	// ActionRenew: the certificate expired; its operator must renew it
	// (or the clock is wrong).
	ActionRenew
	// ActionAllowExpired: an exactly trusted certificate expired (a device
	// that cannot renew its own).
	ActionAllowExpired
	// ActionCheckClock: a certificate is not valid yet.
	ActionCheckClock
	// ActionClientCertificate: give the server a client certificate it
	// accepts.
	ActionClientCertificate
	// ActionAllowLegacyTLS: the server speaks only TLS versions below the
	// rule's minimum; a legacy device may be allowed by its own rule.
	ActionAllowLegacyTLS
	// ActionFixServer: the server must change; no trust setting lifts this.
	ActionFixServer
	// ActionFixConfiguration: a file or setting of the policy cannot be
	// used.
	ActionFixConfiguration
	// ActionAllowDowngrade: a redirect leads to plain HTTP.
	ActionAllowDowngrade
	// ActionCheckServer: the server cannot be reached as named (name
	// resolution, connection, plain HTTP): nothing about trust.
	ActionCheckServer
)

var actionCodes = map[Action]string{
	ActionNone: "none", ActionTrustCertificate: "trust_certificate", ActionTrustAuthority: "trust_authority",
	ActionAddTrust: "add_trust", ActionReplaceCertificate: "replace_certificate",
	ActionForgetFirstUse: "forget_first_use", ActionUpdatePins: "update_pins",
	ActionFetchIntermediates: "fetch_intermediates", ActionUseName: "use_name",
	ActionAllowNameMismatch: "allow_name_mismatch", ActionRenew: "renew_certificate",
	ActionAllowExpired: "allow_expired", ActionCheckClock: "check_clock",
	ActionClientCertificate: "client_certificate", ActionAllowLegacyTLS: "allow_legacy_tls",
	ActionFixServer: "fix_server", ActionFixConfiguration: "fix_configuration",
	ActionAllowDowngrade: "allow_downgrade", ActionCheckServer: "check_server",
}

// String returns the action's stable snake_case code.
func (a Action) String() string { return codeOf(actionCodes, a, "Action") }

// MarshalText implements encoding.TextMarshaler with the action's code.
func (a Action) MarshalText() ([]byte, error) { return marshalCode(actionCodes, a, "action") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Action) UnmarshalText(b []byte) (err error) {
	*a, err = unmarshalCode(actionCodes, b, "action")
	return err
}

// A Remedy is what resolves a refusal safely, as data: a program acts on
// it, the CLI prints it. It is computed in one place, from the refusal and
// the rule that applied, never edited afterwards.
//
// When the refusal may be an attack (see MayBeAttack) a remedy carries
// nothing taken from the connection that failed — no name, key, pin or
// fingerprint — and never consent by "yes": OutOfBand is set, and what it
// needs appears as a placeholder to be filled from the device or its
// operator.
type Remedy struct {
	Action Action `json:"action"`
	// Host and Port are the server the remedy is for.
	Host string `json:"host,omitempty"`
	Port string `json:"port,omitempty"`
	// OutOfBand says the remedy needs something the user must get out of
	// band (a fingerprint, a pin, a name): from the device or its operator,
	// never from this connection.
	OutOfBand bool `json:"out_of_band"`
	// Text is the advice in words, on one line.
	Text string `json:"text"`
	// Change is the change in the policy's own source, when a rule change
	// resolves it.
	Change *Change `json:"change,omitempty"`
	// Commands are the httptrust command lines that apply it, in order.
	Commands []Command `json:"commands,omitempty"`
	// Store is the store folder the policy was loaded from (LoadDir);
	// Lines adds --store for it. "" for other policies.
	Store string `json:"store,omitempty"`
}

// A Command is one httptrust command line.
type Command struct {
	// Name is the command, as typed after "httptrust": "fetch", "get",
	// "trust forget".
	Name string `json:"name"`
	// Args are its flags and arguments. A placeholder for something to
	// obtain out of band is written between angle brackets: "<SHA-256
	// obtained out of band>".
	Args []string `json:"args"`
}

// Placeholders used in remedy commands and changes.
const (
	PlaceholderFingerprint = "<SHA-256 obtained out of band>"
	PlaceholderPin         = "<new pin from the operator>"
	PlaceholderName        = "<name from the operator>"
	PlaceholderCA          = "<CA certificate file from the operator>"
	PlaceholderCAFile      = "<CA certificate file>"
	PlaceholderClientCert  = "<client certificate file>"
	PlaceholderPasswordEnv = "<password variable>"
)

// IsPlaceholder reports whether a command argument is a placeholder.
func IsPlaceholder(arg string) bool {
	return strings.HasPrefix(arg, "<") && strings.HasSuffix(arg, ">")
}

// Line returns the command line, shell-quoted, with --store for store
// when it is not "".
func (c Command) Line(store string) string {
	var b strings.Builder
	b.WriteString("httptrust " + c.Name)
	if store != "" {
		b.WriteString(" --store " + ShellQuote(store))
	}
	for _, a := range c.Args {
		b.WriteString(" " + ShellQuote(a))
	}
	return b.String()
}

// ShellQuote quotes s for a POSIX shell when it holds anything but
// letters, digits and @%+=:,./_- .
func ShellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if s[0] == '=' {
		// zsh expands a word =cmd to the path of cmd.
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("@%+=:,./_-", c)) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}

// Lines returns the remedy's commands as command lines.
func (r Remedy) Lines() []string {
	out := make([]string, 0, len(r.Commands))
	for _, c := range r.Commands {
		out = append(out, c.Line(r.Store))
	}
	return out
}

// String returns the remedy on one line: the text, the change and the
// commands.
func (r Remedy) String() string {
	if r.Action == ActionNone {
		return ""
	}
	s := r.Text
	if r.Change != nil {
		s += "; in the policy: " + r.Change.String()
	}
	if lines := r.Lines(); len(lines) > 0 {
		s += ": " + strings.Join(lines, "; then ")
	}
	return s
}

// A Change is an edit to one rule of the policy, in its own source: a rule
// file's field at its line, or a field of Rule for rules built in code.
type Change struct {
	// Rule is the rule to edit; nil means a new rule for Hosts.
	Rule *Rule
	// Hosts are the patterns of a new rule.
	Hosts []string
	// Field is the field as rule files name it ("pins"); the Rule struct's
	// field is GoField ("Pins").
	Field, GoField string
	// Value is what to set, or to add to a list when Add is true, in rule
	// file syntax; it may hold a placeholder.
	Value string
	Add   bool
	// InCode says the policy was built in code (New): a new rule is a Rule
	// value, not a rule file.
	InCode bool
}

// MarshalText implements encoding.TextMarshaler: JSON carries the change
// as its description.
func (c Change) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// String describes the change in the rule's own source.
func (c Change) String() string {
	verb := "set"
	if c.Add {
		verb = "add"
	}
	switch {
	case c.Rule == nil && c.InCode:
		return fmt.Sprintf("a Rule{Hosts: []string{%s}, %s: %s}", quoteList(c.Hosts), c.GoField, c.Value)
	case c.Rule == nil:
		return fmt.Sprintf("a rule with hosts = [%s] and %s = %s", quoteList(c.Hosts), c.Field, c.Value)
	case c.Rule.File == "":
		return fmt.Sprintf("Rule.%s of the rule for %s (built in code): %s %s", c.GoField, strings.Join(c.Rule.Hosts, ", "), verb, c.Value)
	}
	return fmt.Sprintf("%s: %s %s = %s", c.Rule.fieldWhere(c.Field), verb, c.Field, c.Value)
}

func quoteList(hosts []string) string {
	q := make([]string, len(hosts))
	for i, h := range hosts {
		q[i] = fmt.Sprintf("%q", h)
	}
	return strings.Join(q, ", ")
}

// fieldWhere returns "file:line" of field in r, or of the rule when the
// field is not written in it.
func (r *Rule) fieldWhere(field string) string {
	for _, fl := range r.lines {
		if fl.field == field {
			return fmt.Sprintf("%s:%d", r.File, fl.line)
		}
	}
	return r.Where()
}

// Remedy returns the remedy of e, a refusal (or a finding of the same
// kind, such as a diagnosis makes) for a host under p. It is what
// VerifyError.Remedy holds for the refusals p makes: the one place advice
// is written.
func (p *Policy) Remedy(e *VerifyError) Remedy { return remedyFor(e, p) }

// remedyFor computes the remedy of e, a refusal under p.
func remedyFor(e *VerifyError, p *Policy) Remedy {
	r := remedy(e, p)
	if c := r.Change; c != nil && c.Rule != nil && c.Rule.override {
		// A per-run override has no source to change.
		r.Change = nil
	}
	r.finish(p)
	return r
}

// fileArg is the command argument for a file a rule names (a path in the
// store): the path from where the command runs, never read as a flag. A
// store read from an fs.FS has no such path.
func fileArg(name string, p *Policy) (string, bool) {
	if p != nil && p.fromFS {
		return "", false
	}
	if p != nil && p.storeDir != "" && !filepath.IsAbs(name) {
		name = filepath.Join(p.storeDir, filepath.FromSlash(name))
	}
	if strings.HasPrefix(name, "-") {
		name = "." + string(filepath.Separator) + name
	}
	return name, true
}

func remedy(e *VerifyError, p *Policy) Remedy {
	r := Remedy{Host: e.Host, Port: e.Port, OutOfBand: e.MayBeAttack()}
	if p != nil {
		r.Store = p.storeDir
	}
	url := e.URL()
	eff := e.Rule
	ruleAt := "the defaults"
	if eff != nil && eff.Rule != nil {
		ruleAt = "the rule at " + eff.Rule.Where()
	}
	fetch := func(args ...string) Command { return Command{Name: "fetch", Args: append(args, url)} }
	switch e.Reason {
	case ReasonSelfSigned, ReasonUnknownAuthority:
		if r.OutOfBand {
			r.replaceTrust(e, ruleAt, fetch)
			return r
		}
	}
	switch e.Reason {
	case ReasonSelfSigned:
		r.Action = ActionTrustCertificate
		r.Text = fmt.Sprintf("if this is the server you expect, compare its SHA-256 fingerprint with the one it shows (its console, label or operator), then trust this certificate for %s only", e.Host)
		r.Commands = []Command{fetch(relaxFlags(e)...)}
	case ReasonUnknownAuthority:
		if eff != nil && eff.Rule != nil && !eff.hasTrust() && !eff.SystemRoots {
			r.Action = ActionAddTrust
			r.Text = fmt.Sprintf("%s trusts nothing for %s: give it the anchors or certificates to trust", ruleAt, e.Host)
			r.Change = &Change{Rule: eff.Rule, Field: "anchors", GoField: "AnchorCerts", Value: `["` + PlaceholderCA + `"]`}
			return r
		}
		r.Action = ActionTrustAuthority
		r.Text = fmt.Sprintf("if you trust the authority that issued it, trust its CA certificate for %s only (or see the chain and choose)", e.Host)
		r.Commands = []Command{{Name: "trust add", Args: []string{PlaceholderCAFile, "--host", e.Host}}, fetch()}
	case ReasonIncompleteChain:
		r.Action = ActionFetchIntermediates
		r.Text = "the server does not send its intermediate certificate: its operator should fix its configuration; meanwhile fetch the missing intermediate (it must still chain to a trusted anchor), once or to save it"
		r.Change = &Change{Rule: eff.exactRule(e.Host), Hosts: []string{e.Host}, Field: "fetch_intermediates", GoField: "FetchIntermediates", Value: "true"}
		r.Commands = []Command{{Name: "get", Args: []string{"--fetch-intermediates", url}}}
		if !r.OutOfBand {
			// Saving the intermediate as an anchor replaces no trust here.
			r.Commands = append(r.Commands, fetch("--fetch-intermediates"))
		}
	case ReasonInvalidChain:
		r.Action = ActionFixServer
		r.Text = "the server's certificate chain breaks a rule of X.509 that no trust setting lifts: its operator must replace the certificate (or chain) with a valid one"
	case ReasonNameMismatch:
		r.nameMismatch(e, p, fetch)
	case ReasonExpired:
		r.expired(e, p, fetch)
	case ReasonNotYetValid:
		r.Action = ActionCheckClock
		r.Text = fmt.Sprintf("check the clocks: the local clock says %s and the server's certificate starts later", e.Now.UTC().Format(time.RFC3339))
	case ReasonPinMismatch:
		r.Action, r.OutOfBand = ActionUpdatePins, true
		set := eff.pinRule()
		r.Text = fmt.Sprintf("the server's key matches none of the pins of %s; if its key was rotated on purpose, get its new pin from its operator (out of band, not from this connection) and add it; until then, do not trust this connection", set.Where())
		r.Change = &Change{Rule: set, Field: "pins", GoField: "Pins", Value: `"` + PlaceholderPin + `"`, Add: true}
	case ReasonCertificateChanged:
		r.OutOfBand = true
		if e.FirstUse != nil {
			r.Action = ActionForgetFirstUse
			r.Text = fmt.Sprintf("the key of %s is not the one recorded on first use: someone may be intercepting the connection; if the change is expected, get the new certificate's SHA-256 out of band (from the device or its operator, not from this connection): fetch with it replaces the record in one step", e.FirstUse.HostPort)
			r.Commands = []Command{fetch("--fingerprint", PlaceholderFingerprint)}
			return r
		}
		r.Action = ActionReplaceCertificate
		r.Text = "the server does not present the certificate the rule trusts: someone may be intercepting the connection; if the change is expected, get the new certificate's SHA-256 fingerprint out of band (from the device or its operator, not from this connection)"
		r.Commands = []Command{fetch("--fingerprint", PlaceholderFingerprint)}
	case ReasonClientCertRequired:
		r.Action = ActionClientCertificate
		r.Text = fmt.Sprintf("give a client certificate the server accepts, once or in a rule for %s", e.Host)
		r.Change = &Change{Rule: eff.exactRule(e.Host), Hosts: []string{e.Host}, Field: "client_certificate", GoField: "ClientCertificate", Value: `"` + PlaceholderClientCert + `"`}
		r.Commands = []Command{{Name: "get", Args: []string{"--cert", PlaceholderClientCert, "--password-env", PlaceholderPasswordEnv, url}}}
	case ReasonProtocolMismatch:
		if e.CipherMismatch {
			r.Action = ActionFixServer
			r.Text = "the server offers only TLS parameters httptrust refuses (cipher suites such as 3DES, RC4, static RSA, DHE or NULL; key exchange groups Go lacks, such as X448 or ffdhe; or a certificate key Go cannot use, such as Ed448 or an RSA-PSS key): its operator must enable an ECDHE suite with AES-GCM or ChaCha20 and X25519 or P-256, with an RSA, ECDSA or Ed25519 certificate; no rule lifts this"
			return r
		}
		r.Action = ActionAllowLegacyTLS
		if r.OutOfBand {
			// The refusal is unauthenticated bytes: lowering the version
			// for a host that already trusts something could be the
			// downgrade an attacker wants. No ready-made change.
			r.Text = fmt.Sprintf("the server (or something in between) refuses every TLS version allowed for %s, which the store already trusts: only if its operator confirms that the device speaks nothing newer, set min_tls in its own rule to the version the operator names", e.Host)
			return r
		}
		r.Text = fmt.Sprintf("the server and httptrust share no TLS version; for a legacy device, allow it in its own rule for %s only", e.Host)
		r.Change = &Change{Rule: eff.exactRule(e.Host), Hosts: []string{e.Host}, Field: "min_tls", GoField: "MinTLS", Value: `"1.0"`}
	case ReasonNotTLS:
		r.Action = ActionFixServer
		if r.OutOfBand {
			r.Text = fmt.Sprintf("%s answers without TLS where the store trusts it to speak TLS: someone may be intercepting the connection, or the port is wrong; check with its operator, and do not fall back to plain http", e.Host)
			return r
		}
		r.Text = "the server does not speak TLS on this port: use http:// if plain HTTP is intended, or check the port"
	case ReasonBadConfig, ReasonClientCertUnusable:
		r.Action = ActionFixConfiguration
		what := "the file named by " + ruleAt
		if e.Reason == ReasonClientCertUnusable {
			what = "the client certificate, key or password named by " + ruleAt
		}
		r.Text = "fix or replace " + what + " (httptrust inspect FILE says what a file is)"
		var fe *certs.FileError
		if errors.As(e.Err, &fe) && fe.File != "" {
			if file, ok := fileArg(fe.File, p); ok {
				r.Commands = []Command{{Name: "inspect", Args: []string{file}}}
			}
		}
	case ReasonDowngrade:
		r.Action = ActionAllowDowngrade
		r.Text = "allow it only if plain HTTP is acceptable for this server: httptrust get --allow-downgrade, or Transport.AllowDowngrade in a program"
	}
	return r
}

// finish marks a change to a policy built in code.
func (r *Remedy) finish(p *Policy) {
	if r.Change != nil && p != nil && p.storeDir == "" && !p.fromFS {
		r.Change.InCode = true
	}
}

// replaceTrust is the remedy of a host that already trusts something and
// now presents a chain that trust does not vouch for: it may be an attack,
// so only a fingerprint or a CA obtained out of band replaces it.
func (r *Remedy) replaceTrust(e *VerifyError, ruleAt string, fetch func(...string) Command) {
	r.Action = ActionReplaceCertificate
	r.Text = fmt.Sprintf("%s is trusted through %s, which does not vouch for what the server presents now: someone may be intercepting the connection; if the server's certificate or CA changed on purpose, get the new certificate's SHA-256 fingerprint (or the new CA certificate) from the device or its operator, out of band, not from this connection", e.Host, ruleAt)
	r.Commands = []Command{fetch("--fingerprint", PlaceholderFingerprint)}
	if e.Reason == ReasonUnknownAuthority {
		r.Commands = append(r.Commands, Command{Name: "trust add", Args: []string{PlaceholderCA, "--host", e.Host}})
	}
}

// nameMismatch: the names the certificate covers are said in words (they
// come from the connection), never put into a command.
func (r *Remedy) nameMismatch(e *VerifyError, p *Policy, fetch func(...string) Command) {
	covers := coveredNames(e.Names, 0)
	if e.exactlyTrusted(p) {
		r.Action, r.OutOfBand = ActionAllowNameMismatch, false
		r.Text = fmt.Sprintf("the certificate trusted for %s %s, not %s; if that is how the device is made, allow it for this certificate and host only", e.Host, covers, e.Host)
		r.Change = exactChange(e, "allow_name_mismatch", "AllowNameMismatch")
		r.Commands = []Command{fetch("--allow-name-mismatch")}
		return
	}
	if len(e.Names) == 0 {
		// No subjectAltName: no name to use helps (Go matches none against
		// the common name); only the exact certificate can be trusted.
		r.Action = ActionAllowNameMismatch
		r.Text = fmt.Sprintf("the certificate names no host (no subjectAltName; Go never matches the common name): its operator should reissue it with the host in a subjectAltName; for a device that cannot, trust this certificate exactly for %s, allowing the name", e.Host)
		if r.OutOfBand {
			r.Text += ", with its SHA-256 fingerprint obtained out of band (the host already trusts something else)"
			r.Commands = []Command{fetch("--allow-name-mismatch", "--fingerprint", PlaceholderFingerprint)}
			return
		}
		r.Commands = []Command{fetch("--allow-name-mismatch")}
		return
	}
	r.Action = ActionUseName
	if !e.Rule.hasTrust() {
		r.Text = fmt.Sprintf("the certificate %s, not %s: if you reached the server by another name or address, use the name its operator gives you in the URL", covers, e.Host)
		return
	}
	r.Text = fmt.Sprintf("the certificate %s, not %s; a certificate for another name is not this server's unless its operator says so: ask the operator which name this server presents (out of band, not from this connection) and use it in the URL, or verify the device as that name", covers, e.Host)
	r.Change = &Change{Rule: e.Rule.exactRule(e.Host), Hosts: []string{e.Host}, Field: "server_name", GoField: "ServerName", Value: `"` + PlaceholderName + `"`}
	r.Commands = []Command{{Name: "get", Args: []string{"--server-name", PlaceholderName, e.URL()}}}
}

func (r *Remedy) expired(e *VerifyError, p *Policy, fetch func(...string) Command) {
	clock := e.Now.UTC().Format(time.RFC3339)
	if e.exactlyTrusted(p) {
		r.Action, r.OutOfBand = ActionAllowExpired, false
		r.Text = fmt.Sprintf("the certificate trusted for %s is outside its validity window: renew it on the device; if the local clock (%s) is wrong, fix the clock; for a device that cannot renew its own certificate, allow it for this certificate and host only", e.Host, clock)
		r.Change = exactChange(e, "allow_expired", "AllowExpired")
		r.Commands = []Command{fetch("--allow-expired")}
		return
	}
	r.Action = ActionRenew
	r.Text = fmt.Sprintf("a certificate of the server's chain is outside its validity window: its operator must renew it; if the local clock (%s) is wrong, fix the clock", clock)
}

// exactChange is an allowance set on the rule that names the exact
// certificates, when that rule is the host's own exact rule; an allowance
// is a load error on any other pattern, so otherwise there is no one-field
// change (the commands write a rule of the host's own).
func exactChange(e *VerifyError, field, goField string) *Change {
	r := e.Rule.source("certificates")
	if r == nil {
		return nil
	}
	for _, h := range r.Hosts {
		if p, err := ParsePattern(h); err == nil && p.IsExact() && p.Host == e.Host {
			return &Change{Rule: r, Field: field, GoField: goField, Value: "true"}
		}
	}
	return nil
}

// exactlyTrusted reports whether the presented leaf is one of the exact
// certificates the rule trusts (byte for byte).
func (e *VerifyError) exactlyTrusted(p *Policy) bool {
	if e.exactLeaf {
		return true
	}
	if len(e.Chain) == 0 || e.Chain[0].Certificate == nil || e.Rule == nil {
		return false
	}
	return e.Rule.exactlyTrusts(p, e.Chain[0].Certificate)
}

// relaxFlags adds the flags a self-signed device may also need.
func relaxFlags(e *VerifyError) []string {
	if len(e.Chain) == 0 || e.Chain[0].Certificate == nil {
		return nil
	}
	leaf := e.Chain[0].Certificate
	var f []string
	if leaf.VerifyHostname(e.Host) != nil {
		f = append(f, "--allow-name-mismatch")
	}
	if e.Now.After(leaf.NotAfter) || e.Now.Before(leaf.NotBefore) {
		f = append(f, "--allow-expired")
	}
	return f
}

func joinNames(names []string) string {
	if len(names) == 0 {
		return "no names"
	}
	return strings.Join(names, ", ")
}

// coveredNames says, in words, which names a certificate covers. Only
// names that are host names (a leading "*." allowed) or IP addresses are
// shown: a SAN is the server's text, and one that is not a name could
// read as advice ("attacker.test: httptrust get --server-name ...").
func coveredNames(names []string, more int) string {
	var shown []string
	others := 0
	for _, n := range names {
		h := strings.TrimPrefix(n, "*.")
		if _, _, err := normalizeHost(h); err != nil || strings.ContainsAny(n, " \t:/;'\"`$|&<>()[]{}") && net.ParseIP(n) == nil {
			others++
			continue
		}
		shown = append(shown, n)
	}
	var b strings.Builder
	switch {
	case len(shown) > 0:
		b.WriteString("covers " + strings.Join(shown, ", "))
	case others == 0 && more == 0:
		return "names no host (no subjectAltName)"
	default:
		b.WriteString("covers no host name")
	}
	if more > 0 {
		fmt.Fprintf(&b, " and %d more", more)
	}
	if others > 0 {
		fmt.Fprintf(&b, " (and %d subject alternative names that are not host names)", others)
	}
	return b.String()
}

// hostPort joins host and port for records and messages.
func hostPort(host, port string) string {
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(host, port)
}
