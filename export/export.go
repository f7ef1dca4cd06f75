// Package export writes one httptrust policy as the trust configuration of
// other platforms: Android's Network Security Config, iOS App Transport
// Security pins, TrustKit, OkHttp, Dart (dart:io), curl, Python (ssl,
// requests, httpx), Java truststores and PEM bundles.
//
// The store stays the one source. Every pattern is first flattened to its
// effective rule (httptrust.Policy.PatternRules: the library's own
// inheritance), and each platform gets exactly what it can express:
//
//   - Nothing is ever widened. What a platform could only express as wider
//     trust (a "*.x" anchor as the domain and all its subdomains, an exact
//     certificate as a CA, a truststore that stops checking expiry) is
//     refused, naming the rule, the field and the format.
//   - What a platform would drop (report-only pins, pins_expire, pins of CA
//     keys where only the leaf can be checked, first-use trust, ...) is an
//     error unless Options.AllowLossy; then it is dropped and listed in a
//     comment of the output and in Result.Dropped.
//   - What the platform would only reject when the app runs (TrustKit's
//     two pins) fails the export.
//
// The output is deterministic: the same store gives the same bytes. Every
// file that can hold a comment says which httptrust version and which store
// (with a SHA-256 over its rule and certificate files) it came from.
//
// The table of what each format does with each field is Support; the
// documentation (docs/export.md) is tested against it.
package export

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
)

// Formats are the formats Build writes, in the order of the documentation.
var Formats = []string{"android", "ios-ats", "trustkit", "okhttp", "dart", "curl", "python", "java", "pem"}

var generators = map[string]func(*model) error{
	"android":  genAndroid,
	"ios-ats":  genATS,
	"trustkit": genTrustKit,
	"okhttp":   genOkHttp,
	"dart":     genDart,
	"curl":     genCurl,
	"python":   genPython,
	"java":     genJava,
	"pem":      genPEM,
}

// Options say what to export and how.
type Options struct {
	// Format is one of Formats.
	Format string
	// Hosts selects patterns of the store (as rule files write them); the
	// patterns they cover (a "**.x" covers "a.x" and "*.b.x") come along,
	// so that no narrower rule is lost under a wider one, and so, until
	// nothing changes, does every pattern that decides first a host an
	// exported one would take: each host the output routes gets the rule
	// Policy.Lookup gives it. Empty means every pattern and the defaults.
	Hosts []string
	// AllowLossy drops what the format cannot express but does not widen
	// trust, listing it, instead of failing.
	AllowLossy bool
	// Version is the httptrust version written in the header; "" means
	// Version().
	Version string
	// Store is the store's path as the user gave it, for the header.
	Store string
	// StoreFS is the store's folder, read for the header's digest over its
	// rule and certificate files; nil leaves the digest out.
	StoreFS fs.FS
	// OutDir is the absolute path of the folder the files will be written
	// to: curl's flag files name their certificate files by it.
	OutDir string
	// Package is the Java package of the okhttp format ("" means
	// "httptrust.export").
	Package string
	// Command is the command line that regenerates the output, for the
	// header; "" means one built from the options.
	Command string
	// Time returns the current time, against which anchors are checked
	// where the platform does not check them itself; nil means time.Now.
	Time func() time.Time
}

// A File is one file of an export, with its path inside the output folder
// (slash-separated).
type File struct {
	Name string
	Data []byte
	Mode fs.FileMode
}

// Result is what Build produced.
type Result struct {
	Files []File
	// Dropped lists what AllowLossy dropped, as the header lists it.
	Dropped []Issue
	// Warnings are notes that need no flag (a single pin, trust that is
	// stricter than the policy's on this platform).
	Warnings []string
	// Exported lists the patterns exported, sorted ("" for the defaults).
	Exported []string
}

// IssueKind says whether an Issue refuses the export or is lossy.
type IssueKind int

const (
	// Lossy: the format would drop or tighten something; allowed with
	// AllowLossy.
	Lossy IssueKind = iota
	// Refused: the format would widen trust, or reject the configuration
	// when the app runs; never allowed.
	Refused
)

// An Issue is one field of one rule that the format cannot express as the
// policy means it.
type Issue struct {
	Kind   IssueKind
	Format string
	// Scope names the hosts: the pattern, or "hosts without a rule".
	Scope string
	// Where is the rule that set the field ("corp.toml:3").
	Where string
	// Field is the rule field (or pattern kind, "hosts: CIDR network").
	Field   string
	Message string
	Hint    string
}

func (i Issue) String() string {
	return fmt.Sprintf("%s (%s): %s: %s", i.Scope, i.Where, i.Field, i.Message)
}

// Error reports every issue that stopped an export. Issues are sorted by
// scope, then field.
type Error struct {
	Format string
	Issues []Issue
}

func (e *Error) Error() string {
	var b strings.Builder
	n := len(e.Issues)
	word := "problems"
	if n == 1 {
		word = "problem"
	}
	fmt.Fprintf(&b, "export: %s: %d %s", e.Format, n, word)
	for _, i := range e.Issues {
		kind := "cannot be expressed without widening trust"
		if i.Kind == Lossy {
			kind = "would be lost"
		}
		fmt.Fprintf(&b, "\n  %s (%s): %s %s: %s", i.Scope, i.Where, i.Field, kind, i.Message)
		if i.Hint != "" {
			fmt.Fprintf(&b, "; %s", i.Hint)
		}
	}
	return b.String()
}

// Refused reports whether any issue is a refusal (no flag allows it).
func (e *Error) Refused() bool {
	for _, i := range e.Issues {
		if i.Kind == Refused {
			return true
		}
	}
	return false
}

// ErrUnknownFormat is wrapped by Build for a format not in Formats.
var ErrUnknownFormat = errors.New("export: unknown format")

// Build exports p as o.Format. A refusal, or a lossy field without
// AllowLossy, is an *Error listing every such issue; nothing is produced
// then.
func Build(p *httptrust.Policy, o Options) (*Result, error) {
	gen, ok := generators[o.Format]
	if !ok {
		return nil, fmt.Errorf("%w %q; formats: %s", ErrUnknownFormat, o.Format, strings.Join(Formats, ", "))
	}
	if p == nil || p.Rules() == nil && p.Defaults() == nil {
		return nil, errors.New("export: no policy")
	}
	if o.Version == "" {
		o.Version = Version()
	}
	m, err := newModel(p, o)
	if err != nil {
		return nil, err
	}
	m.checkUnknownFields()
	m.checkFileNames()
	for _, sc := range m.scopes {
		m.checkTable(sc)
		m.checkKeys(sc)
	}
	if err := gen(m); err != nil {
		return nil, err
	}
	if err := m.err(); err != nil {
		return nil, err
	}
	m.render()
	res := &Result{Dropped: m.dropped, Warnings: m.warnings}
	for _, sc := range m.scopes {
		res.Exported = append(res.Exported, sc.pattern)
	}
	sort.Strings(res.Exported)
	res.Files = m.files
	if err := checkUniqueFiles(res.Files); err != nil {
		return nil, err
	}
	sort.Slice(res.Files, func(i, j int) bool { return res.Files[i].Name < res.Files[j].Name })
	return res, nil
}

// Version returns the httptrust version this program was built from: the
// main module's version, or "(devel)".
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
