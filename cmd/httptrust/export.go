package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/export"
	"github.com/httptrust/httptrust/internal/safefs"
)

const exportLong = `Write the store's policy as another platform's own trust configuration,
so that an Android app, an iOS app, a Flutter app, a Java service, a Python
script and curl all trust exactly what the store says, each in its own format:

  android    res/xml/network_security_config.xml and res/raw/ certificates
  ios-ats    the NSAppTransportSecurity NSPinnedDomains fragment of Info.plist
  trustkit   TrustKit's configuration (TSKConfiguration) as a plist
  okhttp     Java source for OkHttp 3.13+ (HandshakeCertificates, CertificatePinner)
  dart       a Dart library for dart:io and package:http, certificates in certificates/
  curl       a flag file per host for curl -q -K FILE, with its CA file
  python     a module with an ssl.SSLContext per host, a requests adapter, httpx transports
  java       a PKCS#12 truststore per host set (password changeit)
  pem        a CA bundle per host set

Every pattern is first flattened to its effective rule (what -v shows). What
a platform could only express as wider trust is refused, naming the rule and
the field; what it would drop or tighten (report-only pins, pins_expire, pins
of CA keys where only the leaf is seen, first-use trust) is an error unless
--allow-lossy, which drops it and lists it on stderr and in the output. The
same store gives the same bytes; each file says which httptrust version and
store it came from. docs/export.md has the table of every field and format.

The files go to -o DIR (default ./httptrust-FORMAT), written atomically. A
file there that no export wrote is never replaced without --force; files of
an earlier export that this one no longer writes are removed.`

const exportExamples = `  httptrust export android -o app/src/main          res/xml and res/raw inside the app
  httptrust export python --host '**.corp.example'   only these hosts (and the rules under them)
  httptrust export trustkit --allow-lossy            drop what TrustKit cannot say, listed on stderr
  httptrust export curl -o ~/.httptrust-curl && curl -q -K ~/.httptrust-curl/device.local.curl https://device.local/`

type exportFlags struct {
	hosts      []string
	out        string
	allowLossy bool
	force      bool
	pkg        string
}

func (e *env) exportCmd() *cobra.Command {
	f := &exportFlags{}
	cmd := &cobra.Command{
		Use:     "export FORMAT [--host PATTERN...] [-o DIR]",
		Short:   "Write the policy as Android, iOS, TrustKit, OkHttp, Dart, curl, Python, Java or PEM trust configuration",
		Long:    exportLong,
		Example: exportExamples,
		Args:    exactArgs(1, "export takes one format: "+strings.Join(export.Formats, ", ")),
		RunE:    func(cmd *cobra.Command, args []string) error { return e.export(args[0], f) },
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.hosts, "host", nil, "export only the rule with this `PATTERN` (and the rules under it); repeatable")
	fl.StringVarP(&f.out, "output", "o", "", "write the files into `DIR` (default ./httptrust-FORMAT)")
	fl.BoolVar(&f.allowLossy, "allow-lossy", false, "drop what the format cannot express without widening trust, and list it")
	fl.BoolVar(&f.force, "force", false, "replace files in DIR that no export wrote")
	fl.StringVar(&f.pkg, "package", "", "the Java `PACKAGE` of the okhttp format (default httptrust.export)")
	return cmd
}

// exportView is what --json prints.
type exportView struct {
	Format   string   `json:"format"`
	Dir      string   `json:"dir"`
	Files    []string `json:"files"`
	Exported []string `json:"exported"`
	Dropped  []string `json:"dropped"`
	Warnings []string `json:"warnings"`
}

func (e *env) export(format string, f *exportFlags) error {
	known := false
	for _, name := range export.Formats {
		known = known || name == format
	}
	if !known {
		return usagef("export: unknown format %q; formats: %s", format, strings.Join(export.Formats, ", "))
	}
	st, p, err := e.loadPolicy(&httptrust.Options{Validate: true})
	if err != nil {
		return err
	}
	out := f.out
	if out == "" {
		out = "httptrust-" + format
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return usagef("-o %s: %v", out, err)
	}
	res, err := export.Build(p, export.Options{
		Format: format, Hosts: f.hosts, AllowLossy: f.allowLossy, Version: version(),
		Store: st.Dir, StoreFS: safefs.Dir(st.Dir), OutDir: abs, Package: f.pkg, Time: e.now,
	})
	if err != nil {
		return e.exportFailed(err)
	}
	for _, d := range res.Dropped {
		e.warn("dropped (--allow-lossy): " + d.String())
	}
	for _, w := range res.Warnings {
		e.warn(w)
	}
	if err := export.WriteDir(abs, res, f.force); err != nil {
		code := exitWrite
		if errors.Is(err, export.ErrNotOurs) {
			code = exitFail
		}
		return &exitError{code: code, err: err}
	}
	view := exportView{Format: format, Dir: abs, Files: []string{}, Exported: res.Exported, Dropped: []string{}, Warnings: append([]string{}, res.Warnings...)}
	for _, file := range res.Files {
		view.Files = append(view.Files, file.Name)
	}
	for _, d := range res.Dropped {
		view.Dropped = append(view.Dropped, d.String())
	}
	if e.json {
		return writeJSON(e.stdout, view)
	}
	for _, name := range view.Files {
		printf(e.stdout, "%s\n", filepath.Join(abs, filepath.FromSlash(name)))
	}
	e.note(fmt.Sprintf("exported %s: %s in %s", format, plural(len(view.Files), "file"), abs))
	return nil
}

// exportFailed prints every issue of a refused export, one error line each,
// and the hint that fits: exit 1.
func (e *env) exportFailed(err error) error {
	var xe *export.Error
	if !errors.As(err, &xe) {
		if errors.Is(err, export.ErrUnknownFormat) || strings.Contains(err.Error(), "--host") {
			return &exitError{code: exitUsage, err: err}
		}
		return &exitError{code: exitFail, err: err}
	}
	if e.json {
		var issues []string
		for _, i := range xe.Issues {
			issues = append(issues, i.String())
		}
		writeJSON(e.stdout, struct {
			Error  errorView `json:"error"`
			Issues []string  `json:"issues"`
		}{errorView{Message: fmt.Sprintf("export %s: %s", xe.Format, plural(len(xe.Issues), "problem")), ExitCode: exitFail}, issues})
	}
	e.errorLine(fmt.Sprintf("export %s: %s; nothing was written", xe.Format, plural(len(xe.Issues), "problem")))
	lossy := false
	for _, i := range xe.Issues {
		kind := "refused (it would widen trust, or the platform would reject it)"
		if i.Kind == export.Lossy {
			kind, lossy = "would be lost", true
		}
		e.errorLine(fmt.Sprintf("%s (%s): %s %s: %s", i.Scope, i.Where, i.Field, kind, i.Message))
	}
	var hints []string
	if lossy {
		hints = append(hints, "add --allow-lossy to drop what would be lost (it is listed in the output), or leave those hosts out with --host")
	}
	if xe.Refused() {
		hints = append(hints, "change the rules named above, or leave their hosts out with --host; docs/export.md says what each format can express")
	}
	for _, h := range hints {
		e.hint(h)
	}
	return &quietExit{code: exitFail}
}
