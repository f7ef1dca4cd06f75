package store

import (
	"crypto/x509"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/safefs"
)

// Finding is one thing in the store, or on a server, that needs attention.
type Finding struct {
	Kind     string    `json:"kind"` // see FindingKinds
	Hosts    []string  `json:"hosts,omitempty"`
	URL      string    `json:"url,omitempty"` // the server checked (CheckServer)
	RuleFile string    `json:"rule_file,omitempty"`
	Line     int       `json:"line,omitempty"`
	File     string    `json:"file,omitempty"`
	Subject  string    `json:"subject,omitempty"`
	NotAfter time.Time `json:"not_after,omitzero"`
	Message  string    `json:"message"`
	// Fix says what resolves the finding, in words; Commands are the
	// httptrust commands that apply it, when there are some (a
	// placeholder, between angle brackets, stands for what to obtain out
	// of band).
	Fix      string              `json:"fix,omitempty"`
	Commands []httptrust.Command `json:"commands,omitempty"`
}

// FindingKinds are the kinds of Finding, in order.
var FindingKinds = []string{"all_hosts", "bad_file", "bad_store", "expired", "expiring", "missing_file",
	"no_backup_pin", "overlap", "pins_expired", "pins_expiring", "refused", "tofu_expiring", "unreachable"}

// CertStatus is one certificate the store trusts, or a server presents,
// for monitoring.
type CertStatus struct {
	Hosts    []string  `json:"hosts"`
	Kind     string    `json:"kind"` // anchor, certificate, tofu; presented (by a server, CheckServer)
	File     string    `json:"file,omitempty"`
	URL      string    `json:"url,omitempty"`
	SHA256   string    `json:"sha256"`
	Subject  string    `json:"subject"`
	NotAfter time.Time `json:"not_after"`
}

// Report is the result of Check.
type Report struct {
	// Now is when the check ran, to the second.
	Now time.Time `json:"now"`
	// WithinDays is how far ahead an expiry is reported, in days.
	WithinDays int `json:"within_days"`
	// Findings need attention; Notes were acknowledged in the store (an
	// expired certificate a rule allows with allow_expired) and need none.
	Findings     []Finding    `json:"findings"`
	Notes        []Finding    `json:"notes"`
	Certificates []CertStatus `json:"certificates"`
	within       time.Duration
}

// NewReport returns an empty report of a check at now for what expires
// within.
func NewReport(now time.Time, within time.Duration) *Report {
	return &Report{Now: now.UTC().Truncate(time.Second), WithinDays: int(within / (24 * time.Hour)), within: within,
		Findings: []Finding{}, Notes: []Finding{}, Certificates: []CertStatus{}}
}

// Check reports what in the store expires before now+within or is wrong:
// anchors, exact certificates, pin sets and first-use records that expire;
// pins without a backup; files that are missing or unreadable; rules that
// lift a wider rule's restriction or overlap surprisingly; an all_hosts
// rule. A store that does not load is itself a finding (bad_store). Each
// finding says what fixes it.
func (s *Store) Check(now time.Time, within time.Duration) (*Report, error) {
	rep := NewReport(now, within)
	files, err := s.readRules()
	if err != nil {
		rep.Findings = append(rep.Findings, badStore(err))
		return rep, nil
	}
	for _, f := range files {
		for i := range f.rules {
			s.checkRule(rep, &f.rules[i], now, within)
		}
	}
	if p, err := s.Load(&httptrust.Options{Clock: func() time.Time { return now }}); err != nil {
		rep.Findings = append(rep.Findings, badStore(err))
	} else {
		checkPinSets(rep, p, now, within)
		checkOverlaps(rep, p)
	}
	s.checkTOFU(rep, now, within)
	sort.SliceStable(rep.Findings, func(i, j int) bool {
		a, b := rep.Findings[i], rep.Findings[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.RuleFile != b.RuleFile {
			return a.RuleFile < b.RuleFile
		}
		return a.Message < b.Message
	})
	return rep, nil
}

// Unloadable reports whether rep found that the store cannot be loaded at
// all (every command refuses it).
func (rep *Report) Unloadable() bool {
	for _, f := range rep.Findings {
		if f.Kind == "bad_store" {
			return true
		}
	}
	return false
}

func badStore(err error) Finding {
	return Finding{Kind: "bad_store", Message: err.Error(),
		Fix: "fix or remove the file the message names: until then every httptrust command refuses this store (exit 77), and httptrust never loads part of a store"}
}

// managed reports whether r is a rule the CLI wrote (and may rewrite).
func managed(r *httptrust.Rule) bool {
	return strings.HasPrefix(r.File, httptrust.ManagedDir+"/")
}

// exactURLs returns the https URL of each exact host or host:port of r
// (a wildcard or CIDR names no server).
func exactURLs(r *httptrust.Rule) []string {
	var out []string
	for _, h := range r.Hosts {
		p, err := httptrust.ParsePattern(h)
		if err != nil || !p.IsExact() {
			continue
		}
		host := p.Host
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		if p.Port != "" && p.Port != "443" {
			host += ":" + p.Port
		}
		out = append(out, "https://"+host+"/")
	}
	return out
}

func (s *Store) checkRule(rep *Report, r *httptrust.Rule, now time.Time, within time.Duration) {
	at := Finding{Hosts: r.Hosts, RuleFile: r.File, Line: r.Line}
	if r.AllHosts {
		f := at
		f.Hosts = []string{"(all hosts)"}
		f.Kind, f.Message = "all_hosts", "a rule trusts its anchors for ALL hosts (all_hosts = true)"
		f.Fix = fmt.Sprintf("meant only for a TLS-inspecting proxy's root; otherwise name the hosts in %s instead", r.Where())
		rep.Findings = append(rep.Findings, f)
	}
	for _, ref := range []struct {
		kind  string
		names []string
	}{{"anchor", r.Anchors}, {"certificate", r.Certificates}, {"intermediate", r.Intermediates}} {
		for _, name := range ref.names {
			s.checkCertFile(rep, at, r, ref.kind, path.Join(path.Dir(r.File), name), now, within)
		}
	}
	if r.ClientCertificate != "" {
		file := path.Join(path.Dir(r.File), r.ClientCertificate)
		if _, err := os.Stat(s.filePath(file)); err != nil {
			f := at
			f.Kind, f.File, f.Message = "missing_file", file, "client certificate: "+err.Error()
			f.Fix = fmt.Sprintf("restore %s, or name another client certificate in %s", file, r.Where())
			rep.Findings = append(rep.Findings, f)
		}
	}
}

// checkPinSets reports pin sets without a backup pin and pin sets that
// expire, with the library's one date rule (PinSet.State).
func checkPinSets(rep *Report, p *httptrust.Policy, now time.Time, within time.Duration) {
	for _, ps := range p.PinSets() {
		r := ps.Rule
		var cmds []httptrust.Command
		for _, u := range exactURLs(r) {
			cmds = append(cmds, httptrust.Command{Name: "pin", Args: []string{u}})
		}
		at := Finding{Hosts: r.Hosts, RuleFile: r.File, Line: r.Line, Commands: cmds}
		add := func(kind, msg, fix string) {
			f := at
			f.Kind, f.Message, f.Fix = kind, msg, fix
			rep.Findings = append(rep.Findings, f)
		}
		if ps.Single() {
			f := at
			f.Kind, f.Message = "no_backup_pin", "a single pin and no backup: a key rotation locks these hosts out"
			f.Fix, f.Commands = backupPinFix(r, cmds)
			rep.Findings = append(rep.Findings, f)
		}
		next := fmt.Sprintf("add the next pins (from the server's operator) and move pins_expire in %s", r.Where())
		switch ps.State(now, within) {
		case httptrust.PinsExpired:
			add("pins_expired", fmt.Sprintf("pins expired on %s and are not enforced", ps.Expire.Format(time.DateOnly)), next)
		case httptrust.PinsExpiringSoon:
			add("pins_expiring", fmt.Sprintf("pins expire on %s", ps.Expire.Format(time.DateOnly)), next)
		case httptrust.PinsReportOnly:
			if !ps.Active(now.Add(within)) {
				add("pins_expiring", fmt.Sprintf("pins expire on %s (report-only)", ps.Expire.Format(time.DateOnly)), next)
			}
		}
	}
}

// PlaceholderBackupPin stands, in the commands of a no_backup_pin
// finding, for the pin that `httptrust mint --key-only` (or `httptrust pin
// FILE`) prints for the backup key.
const PlaceholderBackupPin = "<pin of the backup key>"

// backupPinFix says how to give the pin set of r a backup: make a key pair
// held in reserve (mint --key-only prints its pin; pin FILE prints that of
// a key, public key or CSR one has) and add its pin to the rule, with
// trust add where the rule is the store's own (it adds to the rule's pins)
// and by hand in a person's file; or pin the issuing CA's key, which pin
// URL (pins, the commands of every pin finding) lists.
func backupPinFix(r *httptrust.Rule, pins []httptrust.Command) (string, []httptrust.Command) {
	cmds := []httptrust.Command{{Name: "mint", Args: []string{"--key-only"}}}
	how := "then add its pin to pins in " + r.Where() + ", beside the current one"
	if managed(r) {
		args := []string{}
		for _, h := range r.Hosts {
			args = append(args, "--host", h)
		}
		cmds = append(cmds, httptrust.Command{Name: "trust add", Args: append(args, "--pin", PlaceholderBackupPin)})
		how = "then add its pin to the rule (trust add adds it beside the current one)"
	}
	fix := "make a backup key pair and keep it offline, not on the server: httptrust mint --key-only writes one and prints its pin (httptrust pin FILE prints the pin of a key, public key or CSR you have); " +
		how + "; when the current key is retired, the new certificate is issued for the backup key. Or pin the issuing CA's key too"
	if len(pins) > 0 {
		fix += " (httptrust pin URL lists every key of the server's chain)"
	}
	return fix, append(cmds, pins...)
}

func (s *Store) filePath(name string) string { return s.Dir + string(os.PathSeparator) + name }

func (s *Store) checkCertFile(rep *Report, at Finding, r *httptrust.Rule, kind, file string, now time.Time, within time.Duration) {
	at.File = file
	cs, err := certs.ReadCertificates(safefs.Dir(s.Dir), file, nil)
	if err != nil {
		at.Kind, at.Message = "bad_file", err.Error()
		at.Fix = fmt.Sprintf("replace %s with the certificate it should hold (httptrust inspect says what it holds now), or remove it from %s", file, r.Where())
		at.Commands = []httptrust.Command{{Name: "inspect", Args: []string{filepath.Join(s.Dir, filepath.FromSlash(file))}}}
		if _, serr := os.Stat(s.filePath(file)); os.IsNotExist(serr) {
			at.Kind, at.Commands = "missing_file", nil
			at.Fix = fmt.Sprintf("restore %s, or remove it from %s", file, r.Where())
			if managed(r) {
				at.Fix += "; a rule httptrust wrote can be removed and written anew"
				for _, h := range r.Hosts {
					at.Commands = append(at.Commands, httptrust.Command{Name: "trust remove", Args: []string{h}})
				}
			}
		}
		rep.Findings = append(rep.Findings, at)
		return
	}
	for _, c := range cs {
		rep.Certificates = append(rep.Certificates, CertStatus{Hosts: at.Hosts, Kind: kind, File: file,
			SHA256: certs.CertFingerprint(c).String(), Subject: c.Subject.String(), NotAfter: c.NotAfter})
		f := at
		f.Subject, f.NotAfter = c.Subject.String(), c.NotAfter
		when := c.NotAfter.UTC().Format(time.DateOnly)
		switch {
		case now.After(c.NotAfter):
			f.Kind, f.Message = "expired", fmt.Sprintf("%s %q expired on %s", kind, c.Subject, when)
		case now.Add(within).After(c.NotAfter):
			f.Kind, f.Message = "expiring", fmt.Sprintf("%s %q expires on %s", kind, c.Subject, when)
		default:
			continue
		}
		if kind == "certificate" && r.AllowExpired {
			// The rule accepts it expired: acknowledged, said once.
			f.Kind = "expired_allowed"
			f.Message += fmt.Sprintf("; accepted anyway: the rule at %s says allow_expired = true", r.Where())
			rep.Notes = append(rep.Notes, f)
			continue
		}
		s.certFix(&f, r, kind)
		rep.Findings = append(rep.Findings, f)
	}
}

// certFix says how to renew an anchor or exact certificate that expires.
func (s *Store) certFix(f *Finding, r *httptrust.Rule, kind string) {
	if kind == "anchor" {
		f.Fix = "get the CA's renewed certificate from its operator and trust it for the same hosts"
		if !managed(r) {
			f.Fix += fmt.Sprintf(": replace %s with it (the rule at %s names it)", f.File, r.Where())
			return
		}
		args := []string{httptrust.PlaceholderCA}
		for _, h := range r.Hosts {
			args = append(args, "--host", h)
		}
		f.Commands = []httptrust.Command{{Name: "trust add", Args: args}}
		return
	}
	f.Fix = "renew the certificate on the device; then trust its new certificate with the SHA-256 fingerprint the device shows (its console, label or operator)"
	if !managed(r) {
		f.Fix += fmt.Sprintf(", in place of %s (the rule at %s names it); for a device that cannot renew, allow_expired = true in that rule accepts it expired", f.File, r.Where())
		return
	}
	f.Fix += "; for a device that cannot renew, fetch --allow-expired accepts it expired"
	for _, u := range exactURLs(r) {
		f.Commands = append(f.Commands, httptrust.Command{Name: "fetch", Args: []string{"--fingerprint", httptrust.PlaceholderFingerprint, u}})
	}
}

func (s *Store) checkTOFU(rep *Report, now time.Time, within time.Duration) {
	recs, err := s.KnownHosts().List()
	if err != nil {
		rep.Findings = append(rep.Findings, Finding{Kind: "bad_file", File: KnownHostsDir, Message: err.Error(),
			Fix: "fix or remove the file named above (removing it forgets the first-use records it holds)"})
		return
	}
	if old, err := s.KnownHosts().legacy(); err == nil && old != nil {
		rep.Findings = append(rep.Findings, Finding{Kind: "legacy_known_hosts", File: LegacyKnownHostsFile,
			Message: "first-use records in the single-file layout of earlier versions: they are read as they are",
			Fix:     "nothing: the next first use or trust forget moves them into " + KnownHostsDir})
	}
	for _, r := range recs {
		rep.Certificates = append(rep.Certificates, CertStatus{Hosts: []string{r.HostPort}, Kind: "tofu",
			File: KnownHostsFileFor(r.HostPort), SHA256: r.CertSHA.String(), NotAfter: r.NotAfter})
		if !r.NotAfter.IsZero() && now.Add(within).After(r.NotAfter) {
			rep.Findings = append(rep.Findings, Finding{Kind: "tofu_expiring", Hosts: []string{r.HostPort}, File: KnownHostsFileFor(r.HostPort),
				NotAfter: r.NotAfter, Message: fmt.Sprintf("the certificate recorded on first use expires on %s; its renewal keeps the key or needs httptrust trust forget %s", r.NotAfter.UTC().Format(time.DateOnly), r.HostPort),
				Fix:      "nothing while the renewed certificate keeps its key; if the device makes a new key, forget the record once you know the change is expected, and the next use records the new key",
				Commands: []httptrust.Command{{Name: "trust forget", Args: []string{r.HostPort}}}})
		}
	}
}

// checkOverlaps reports rules whose interplay surprises: "*.x" beside
// "**.x", and a narrower rule that lifts a wider rule's restriction.
func checkOverlaps(rep *Report, p *httptrust.Policy) {
	byPattern := map[string]*httptrust.Rule{}
	for _, r := range p.Rules() {
		for _, h := range r.Hosts {
			if pat, err := httptrust.ParsePattern(h); err == nil {
				byPattern[pat.String()] = r
			}
		}
	}
	for pat, r := range byPattern {
		if strings.HasPrefix(pat, "*.") {
			if other, ok := byPattern["*"+pat]; ok {
				rep.Findings = append(rep.Findings, Finding{Kind: "overlap", Hosts: []string{pat, "*" + pat}, RuleFile: r.File, Line: r.Line,
					Message: fmt.Sprintf("hosts one label below %s follow %s (%s); deeper ones and %s itself follow %s (%s)",
						pat[2:], pat, r.Where(), pat[2:], "*"+pat, other.Where()),
					Fix: "if that split is not meant, keep one of the two patterns"})
			}
		}
		host := strings.TrimPrefix(strings.TrimPrefix(pat, "**."), "*.")
		if strings.HasPrefix(pat, "*.") {
			host = "probe." + host
		}
		eff, err := p.Lookup(host)
		if err != nil || eff.Rule != r {
			continue
		}
		if r.SystemRoots != nil && *r.SystemRoots && eff.Sources["anchors"] != r.Where() && len(eff.Anchors) > 0 {
			rep.Findings = append(rep.Findings, Finding{Kind: "overlap", Hosts: []string{pat}, RuleFile: r.File, Line: r.Line,
				Message: fmt.Sprintf("system_roots = true lifts the restriction of the rule at %s: public CAs may vouch for %s besides its anchors", eff.Sources["anchors"], pat),
				Fix:     fmt.Sprintf("remove system_roots = true from %s unless public CAs are meant to vouch for %s", r.Where(), pat)})
		}
		if r.Pins != nil && len(r.Pins) == 0 {
			rep.Findings = append(rep.Findings, Finding{Kind: "overlap", Hosts: []string{pat}, RuleFile: r.File, Line: r.Line,
				Message: fmt.Sprintf("pins = [] lifts every pin a wider rule sets for %s", pat),
				Fix:     fmt.Sprintf("remove pins = [] from %s unless %s is meant to be unpinned", r.Where(), pat)})
		}
	}
}

// Served is what a server presented, as CheckServer reports it.
type Served struct {
	// URL is the server as checked; HostPort the host and port judged.
	URL, HostPort string
	// Chain is the chain the server presented, leaf first; nil when it
	// could not be captured, and Err says why.
	Chain []*x509.Certificate
	Err   error
	// Verdict is the policy's verdict on Chain (Policy.Judge: no side
	// effects); nil when the chain was not judged.
	Verdict *httptrust.Verdict
}

// CheckServer adds to rep what a server presented: each certificate of
// its chain (kind "presented"), those that expire within the report's
// window (expired, expiring), a chain the policy refuses for another
// reason (refused, with the library's remedy), and a server whose chain
// could not be captured (unreachable). An exact certificate whose rule
// says allow_expired is a note, not a finding.
func (rep *Report) CheckServer(s Served) {
	hosts := []string{s.HostPort}
	diagnose := []httptrust.Command{{Name: "diagnose", Args: []string{s.URL}}}
	if s.Err != nil || len(s.Chain) == 0 {
		msg := "the server presented no certificate"
		if s.Err != nil {
			msg = "the server could not be checked: " + s.Err.Error()
		}
		rep.Findings = append(rep.Findings, Finding{Kind: "unreachable", Hosts: hosts, URL: s.URL, Message: msg,
			Fix: "check that the server runs and speaks TLS on that port; diagnose says what is wrong", Commands: diagnose})
		return
	}
	var verr *httptrust.VerifyError
	var eff *httptrust.Effective
	exact := false
	if s.Verdict != nil {
		verr, eff, exact = s.Verdict.Err, s.Verdict.Effective, s.Verdict.Exact
	}
	for i, c := range s.Chain {
		rep.Certificates = append(rep.Certificates, CertStatus{Hosts: hosts, Kind: "presented", URL: s.URL,
			SHA256: certs.CertFingerprint(c).String(), Subject: c.Subject.String(), NotAfter: c.NotAfter})
		what := "certificate"
		if i == 0 {
			what = "leaf"
		}
		f := Finding{Hosts: hosts, URL: s.URL, Subject: c.Subject.String(), NotAfter: c.NotAfter}
		when := c.NotAfter.UTC().Format(time.DateOnly)
		switch {
		case rep.Now.After(c.NotAfter):
			f.Kind, f.Message = "expired", fmt.Sprintf("the server presents the %s %q, which expired on %s", what, c.Subject, when)
		case rep.Now.Add(rep.within).After(c.NotAfter):
			f.Kind, f.Message = "expiring", fmt.Sprintf("the server presents the %s %q, which expires on %s", what, c.Subject, when)
		default:
			continue
		}
		if i == 0 && exact && eff != nil && eff.AllowExpired {
			f.Kind = "expired_allowed"
			f.Message += "; accepted anyway: its rule says allow_expired = true"
			rep.Notes = append(rep.Notes, f)
			continue
		}
		f.Fix = "its operator must renew it before then"
		if i == 0 && exact {
			f.Fix = "the store trusts exactly this certificate: once the device has renewed it, trust the new one with the SHA-256 fingerprint the device shows (its console, label or operator)"
			f.Commands = []httptrust.Command{{Name: "fetch", Args: []string{"--fingerprint", httptrust.PlaceholderFingerprint, s.URL}}}
		}
		if verr != nil && verr.Reason == httptrust.ReasonExpired {
			f.Fix, f.Commands = verr.Remedy.Text, verr.Remedy.Commands
			verr = nil // said by this finding
		}
		rep.Findings = append(rep.Findings, f)
	}
	if verr != nil {
		f := Finding{Kind: "refused", Hosts: hosts, URL: s.URL, Subject: s.Chain[0].Subject.String(),
			Message: fmt.Sprintf("the store refuses it: %s: %s", verr.Reason, verr.Detail), Fix: verr.Remedy.Text, Commands: verr.Remedy.Commands}
		if len(f.Commands) == 0 {
			f.Commands = diagnose
		}
		rep.Findings = append(rep.Findings, f)
	}
}
