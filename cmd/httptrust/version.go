package main

import (
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// buildView is what a build of httptrust says of itself (version --json).
type buildView struct {
	Module   string `json:"module"`
	Version  string `json:"version"` // "(devel)" for go run and a plain go build without VCS data
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// version returns the module version the binary was built from, for the
// User-Agent and -w %{httptrust_version}: "devel" when it has none.
func version() string {
	if v := buildInfo().Version; v != "(devel)" {
		return v
	}
	return "devel"
}

// buildInfo reads the build's module version and VCS stamp.
func buildInfo() buildView {
	bi, _ := debug.ReadBuildInfo()
	return viewBuild(bi)
}

func viewBuild(bi *debug.BuildInfo) buildView {
	v := buildView{Module: "github.com/httptrust/httptrust", Version: "(devel)", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		return v
	}
	if bi.Main.Path != "" {
		v.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// line is the build on one line, for --version and bug reports:
// "httptrust v1.2.0 (commit 95e947b1c2d3, 2026-11-30T10:00:00Z, modified) go1.26.0 linux/amd64".
func (v buildView) line() string {
	var vcs []string
	if v.Revision != "" {
		vcs = append(vcs, "commit "+shortRevision(v.Revision))
	}
	if v.Time != "" {
		vcs = append(vcs, v.Time)
	}
	if v.Modified {
		vcs = append(vcs, "modified")
	}
	s := "httptrust " + v.Version
	if len(vcs) > 0 {
		s += " (" + strings.Join(vcs, ", ") + ")"
	}
	return s + " " + v.Go + " " + v.Platform
}

// shortRevision is a commit hash as git shows it short (12 digits).
func shortRevision(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}

func (e *env) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "The version, commit and Go version of this build (as --version)",
		Long: `Print the module version, the commit it was built from (with its date, and
"modified" for a build of a changed working tree) and the Go version: what
a bug report needs. go install MODULE@VERSION stamps the version; a go build
in a git checkout, the commit; go run stamps neither, "(devel)".`,
		Example: "  httptrust version\n  httptrust version --json",
		Args:    exactArgs(0, "version takes no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := buildInfo()
			if e.json {
				return writeJSON(e.stdout, v)
			}
			printf(e.stdout, "%s\n", v.line())
			return nil
		},
	}
}
