package store

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/safefs"
)

// Finding is one thing in the store that needs attention.
type Finding struct {
	Kind     string    `json:"kind"` // expired, expiring, pins_expired, pins_expiring, no_backup_pin, missing_file, bad_file, tofu_expiring, overlap, all_hosts, bad_store
	Hosts    []string  `json:"hosts,omitempty"`
	RuleFile string    `json:"rule_file,omitempty"`
	Line     int       `json:"line,omitempty"`
	File     string    `json:"file,omitempty"`
	Subject  string    `json:"subject,omitempty"`
	NotAfter time.Time `json:"not_after,omitzero"`
	Message  string    `json:"message"`
}

// CertStatus is one certificate the store trusts, for monitoring.
type CertStatus struct {
	Hosts    []string  `json:"hosts"`
	Kind     string    `json:"kind"` // anchor, certificate, tofu
	File     string    `json:"file"`
	SHA256   string    `json:"sha256"`
	Subject  string    `json:"subject"`
	NotAfter time.Time `json:"not_after"`
}

// Report is the result of Check.
type Report struct {
	Now          time.Time    `json:"now"`
	Within       string       `json:"within"`
	Findings     []Finding    `json:"findings"`
	Certificates []CertStatus `json:"certificates"`
}

// Check reports what in the store expires before now+within or is wrong:
// anchors, exact certificates, pin sets and first-use records that expire;
// pins without a backup; files that are missing or unreadable; rules that
// lift a wider rule's restriction or overlap surprisingly; an all_hosts
// rule. A store that does not load is itself a finding.
func (s *Store) Check(now time.Time, within time.Duration) (*Report, error) {
	rep := &Report{Now: now, Within: within.String(), Findings: []Finding{}, Certificates: []CertStatus{}}
	files, err := s.readRules()
	if err != nil {
		rep.Findings = append(rep.Findings, Finding{Kind: "bad_store", Message: err.Error()})
		return rep, nil
	}
	for _, f := range files {
		for i := range f.rules {
			s.checkRule(rep, &f.rules[i], now, within)
		}
	}
	if p, err := s.Load(&httptrust.Options{Clock: func() time.Time { return now }}); err != nil {
		rep.Findings = append(rep.Findings, Finding{Kind: "bad_store", Message: err.Error()})
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

func (s *Store) checkRule(rep *Report, r *httptrust.Rule, now time.Time, within time.Duration) {
	at := Finding{Hosts: r.Hosts, RuleFile: r.File, Line: r.Line}
	add := func(kind, msg string) {
		f := at
		f.Kind, f.Message = kind, msg
		rep.Findings = append(rep.Findings, f)
	}
	if r.AllHosts {
		at.Hosts = []string{"(all hosts)"}
		add("all_hosts", "a rule trusts its anchors for ALL hosts (all_hosts = true)")
	}
	for _, ref := range []struct {
		kind  string
		names []string
	}{{"anchor", r.Anchors}, {"certificate", r.Certificates}, {"intermediate", r.Intermediates}} {
		for _, name := range ref.names {
			s.checkCertFile(rep, at, ref.kind, path.Join(path.Dir(r.File), name), now, within)
		}
	}
	if r.ClientCertificate != "" {
		file := path.Join(path.Dir(r.File), r.ClientCertificate)
		if _, err := os.Stat(s.filePath(file)); err != nil {
			f := at
			f.Kind, f.File, f.Message = "missing_file", file, "client certificate: "+err.Error()
			rep.Findings = append(rep.Findings, f)
		}
	}
}

// checkPinSets reports pin sets without a backup pin and pin sets that
// expire, with the library's one date rule (PinSet.State).
func checkPinSets(rep *Report, p *httptrust.Policy, now time.Time, within time.Duration) {
	for _, ps := range p.PinSets() {
		r := ps.Rule
		at := Finding{Hosts: r.Hosts, RuleFile: r.File, Line: r.Line}
		add := func(kind, msg string) {
			f := at
			f.Kind, f.Message = kind, msg
			rep.Findings = append(rep.Findings, f)
		}
		if ps.Single() {
			add("no_backup_pin", "a single pin and no backup: a key rotation locks these hosts out")
		}
		switch ps.State(now, within) {
		case httptrust.PinsExpired:
			add("pins_expired", fmt.Sprintf("pins expired on %s and are not enforced", ps.Expire.Format(time.DateOnly)))
		case httptrust.PinsExpiringSoon:
			add("pins_expiring", fmt.Sprintf("pins expire on %s", ps.Expire.Format(time.DateOnly)))
		case httptrust.PinsReportOnly:
			if !ps.Active(now.Add(within)) {
				add("pins_expiring", fmt.Sprintf("pins expire on %s (report-only)", ps.Expire.Format(time.DateOnly)))
			}
		}
	}
}

func (s *Store) filePath(name string) string { return s.Dir + string(os.PathSeparator) + name }

func (s *Store) checkCertFile(rep *Report, at Finding, kind, file string, now time.Time, within time.Duration) {
	at.File = file
	cs, err := certs.ReadCertificates(safefs.Dir(s.Dir), file, nil)
	if err != nil {
		at.Kind, at.Message = "bad_file", err.Error()
		if _, serr := os.Stat(s.filePath(file)); os.IsNotExist(serr) {
			at.Kind = "missing_file"
		}
		rep.Findings = append(rep.Findings, at)
		return
	}
	for _, c := range cs {
		rep.Certificates = append(rep.Certificates, CertStatus{Hosts: at.Hosts, Kind: kind, File: file,
			SHA256: certs.CertFingerprint(c).String(), Subject: c.Subject.String(), NotAfter: c.NotAfter})
		f := at
		f.Subject, f.NotAfter = c.Subject.String(), c.NotAfter
		switch {
		case now.After(c.NotAfter):
			f.Kind, f.Message = "expired", fmt.Sprintf("%s %q expired on %s", kind, c.Subject, c.NotAfter.UTC().Format(time.DateOnly))
		case now.Add(within).After(c.NotAfter):
			f.Kind, f.Message = "expiring", fmt.Sprintf("%s %q expires on %s", kind, c.Subject, c.NotAfter.UTC().Format(time.DateOnly))
		default:
			continue
		}
		rep.Findings = append(rep.Findings, f)
	}
}

func (s *Store) checkTOFU(rep *Report, now time.Time, within time.Duration) {
	recs, err := s.KnownHosts().List()
	if err != nil {
		rep.Findings = append(rep.Findings, Finding{Kind: "bad_file", File: KnownHostsFile, Message: err.Error()})
		return
	}
	for _, r := range recs {
		rep.Certificates = append(rep.Certificates, CertStatus{Hosts: []string{r.HostPort}, Kind: "tofu",
			File: KnownHostsFile, SHA256: r.CertSHA.String(), NotAfter: r.NotAfter})
		if !r.NotAfter.IsZero() && now.Add(within).After(r.NotAfter) {
			rep.Findings = append(rep.Findings, Finding{Kind: "tofu_expiring", Hosts: []string{r.HostPort}, File: KnownHostsFile,
				NotAfter: r.NotAfter, Message: fmt.Sprintf("the certificate recorded on first use expires on %s; its renewal keeps the key or needs httptrust trust forget %s", r.NotAfter.UTC().Format(time.DateOnly), r.HostPort)})
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
						pat[2:], pat, r.Where(), pat[2:], "*"+pat, other.Where())})
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
				Message: fmt.Sprintf("system_roots = true lifts the restriction of the rule at %s: public CAs may vouch for %s besides its anchors", eff.Sources["anchors"], pat)})
		}
		if r.Pins != nil && len(r.Pins) == 0 {
			rep.Findings = append(rep.Findings, Finding{Kind: "overlap", Hosts: []string{pat}, RuleFile: r.File, Line: r.Line,
				Message: fmt.Sprintf("pins = [] lifts every pin a wider rule sets for %s", pat)})
		}
	}
}
