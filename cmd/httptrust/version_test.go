package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildLine(t *testing.T) {
	plat := runtime.GOOS + "/" + runtime.GOARCH
	vcs := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "httptrust (devel) " + runtime.Version() + " " + plat},
		{"go run", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/httptrust/httptrust", Version: "(devel)"}},
			"httptrust (devel) go1.26.0 " + plat},
		{"go install module@version", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.0"}},
			"httptrust v1.2.0 go1.26.0 " + plat},
		{"go build in a checkout", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261130100000-95e947b10e98"},
			Settings: vcs("vcs", "git", "vcs.revision", "95e947b10e9889eefa6cea691477effe369443e9", "vcs.time", "2026-11-30T10:00:00Z", "vcs.modified", "false")},
			"httptrust v0.0.0-20261130100000-95e947b10e98 (commit 95e947b10e98, 2026-11-30T10:00:00Z) go1.26.0 " + plat},
		{"a changed working tree", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261130100000-95e947b10e98+dirty"},
			Settings: vcs("vcs.revision", "95e947b10e9889eefa6cea691477effe369443e9", "vcs.time", "2026-11-30T10:00:00Z", "vcs.modified", "true")},
			"httptrust v0.0.0-20261130100000-95e947b10e98+dirty (commit 95e947b10e98, 2026-11-30T10:00:00Z, modified) go1.26.0 " + plat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := viewBuild(tt.bi).line(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestVersionOfBuild builds httptrust with go build in a git repository
// (a copy of the packages it needs, committed, so that the build has VCS
// data wherever the test runs: a git worktree or -buildvcs=false in
// GOFLAGS would give it none) and checks what --version and version say:
// the commit and its date, "modified" once a file changes; and go run,
// which stamps no VCS data, "(devel)".
func TestVersionOfBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds httptrust three times")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	repo := t.TempDir()
	copyModule(t, gobin, repo)
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "a build of httptrust")
	head := git("rev-parse", "HEAD")
	bin := filepath.Join(t.TempDir(), "httptrust")
	build := func() {
		t.Helper()
		cmd := exec.Command(gobin, "build", "-buildvcs=true", "-o", bin, "./cmd/httptrust")
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	line := regexp.MustCompile(`^httptrust (\S+) \(commit ([0-9a-f]{12}), (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)(, modified)?\) go1\.\S+ \S+/\S+$`)

	build()
	for _, args := range [][]string{{"--version"}, {"version"}} {
		got := run(bin, args...)
		t.Logf("%s: %s", args[0], got)
		m := line.FindStringSubmatch(got)
		if m == nil || m[2] != head[:12] || m[4] != "" || !strings.Contains(m[1], head[:12]) {
			t.Errorf("%s: %q, want the version, commit %s and its date, not modified", args[0], got, head[:12])
		}
	}

	// A changed working tree: modified, and the version says +dirty.
	f := filepath.Join(repo, "cmd", "httptrust", "version.go")
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, append(data, "\n// changed\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	build()
	got := run(bin, "--version")
	t.Logf("changed: %s", got)
	if m := line.FindStringSubmatch(got); m == nil || m[4] == "" || !strings.HasSuffix(m[1], "+dirty") {
		t.Errorf("a changed tree: %q, want modified and +dirty", got)
	}

	if got := run(gobin, "run", "./cmd/httptrust", "--version"); !regexp.MustCompile(`^httptrust \(devel\) go1\.\S+ \S+/\S+$`).MatchString(got) {
		t.Errorf("go run: %q, want (devel) and no commit", got)
	}
}

// copyModule copies into dir go.mod, go.sum and the Go files of the
// module's packages that httptrust is built from.
func copyModule(t *testing.T, gobin, dir string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gobin, "list", "-deps", "-f", `{{if .Module}}{{if .Module.Main}}{{.Dir}}|{{join .GoFiles "|"}}{{end}}{{end}}`, ".")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	files := []string{filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum")}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.Split(l, "|")
		for _, f := range parts[1:] {
			files = append(files, filepath.Join(parts[0], f))
		}
	}
	for _, f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
