package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/storewatch"
	"github.com/httptrust/httptrust/store"
)

// env is what a command may touch of the outside world. Tests build one
// with an injected terminal check and environment.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// terminal reports whether f (stdin, stdout or stderr) is a terminal.
	terminal func(f any) bool
	now      func() time.Time

	// Global flags.
	storeDir string
	json     bool
	verbose  bool

	// aia, if set, fetches missing intermediates for --fetch-intermediates
	// (tests allow loopback with it); nil means the library's defaults.
	aia *httptrust.AIAFetcher

	// args are the run's arguments as given, for a usage error that
	// stops parsing before the command has seen them all.
	args []string

	// hintCtx adjusts the fixes printed for this run.
	hintCtx hintContext
}

// run is the whole CLI: main is os.Exit(run(...)).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, terminal: isTerminal, now: time.Now}
	return e.run(args)
}

// isTerminal reports whether f is an *os.File open on a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

func (e *env) run(args []string) int {
	if len(args) > 0 && args[0] == storewatch.Command {
		// A watcher of a large store, started by a load (see
		// startWatcher); not a command of its own.
		return storewatch.Main(args[1:], httptrust.ManagedDir)
	}
	e.args = args
	root := e.rootCmd()
	root.SetArgs(args)
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	return e.report(err)
}

func (e *env) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "httptrust",
		Short: "HTTPS to servers your system does not trust yet, without turning verification off",
		Long: `httptrust makes HTTPS requests to servers your system does not trust yet —
a self-signed device, a private CA, a pinned API — without ever turning
verification off. Every certificate it trusts is trusted for the hosts you
name, and no other.

  httptrust demo                         a two-minute tour, fully offline
  httptrust get https://device.local/    curl's job, with curl's flags
  httptrust fetch https://device.local/  see a server's chain; trust it for that host
  httptrust inspect cert.pem             what a file or a server's chain holds
  httptrust diagnose https://dev.local/  every check in order, and the fix
  httptrust check                        what in the store expires soon (exit 1 if anything)`,
		Version:       buildInfo().line(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q; run httptrust help", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	// Subcommands inherit it: every flag error is a usage error (exit 2).
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if jerr := e.curlJSONFlag(c, err); jerr != nil {
			return jerr
		}
		return usageErr(err)
	})
	pf := root.PersistentFlags()
	pf.StringVar(&e.storeDir, "store", "", "trust store folder `DIR` (env "+store.EnvStore+"; default <user config dir>/httptrust)")
	pf.BoolVar(&e.json, "json", false, "print data as JSON: one object on stdout, {\"error\": ...} for a failure (not curl's --json DATA)")
	pf.BoolVarP(&e.verbose, "verbose", "v", false, "say more on stderr")
	root.AddCommand(e.getCmd(), e.fetchCmd(), e.inspectCmd(), e.pinCmd(), e.trustCmd(), e.mintCmd(), e.demoCmd(),
		e.diagnoseCmd(), e.checkCmd(), e.exportCmd(), e.scanCmd(), e.exporterCmd(), e.versionCmd())
	e.completionNoJSON(root)
	return root
}

// store returns the store chosen by --store, $HTTPTRUST_STORE or the default.
func (e *env) store() (*store.Store, error) {
	dir := e.storeDir
	if dir == "" {
		dir = e.getenv(store.EnvStore)
	}
	if dir == "" {
		d, err := store.DefaultDir()
		if err != nil {
			return nil, &exitError{code: exitUsage, err: err, hints: []string{"give a store folder: --store DIR or " + store.EnvStore + "=DIR"}}
		}
		dir = d
	}
	return store.Open(dir), nil
}

// loadPolicy loads the store's policy. A store that cannot be loaded is an
// error (exit 77), never wider trust. Rules with tofu = true record first
// use in the store's known_hosts (see dryTOFU for commands that only look).
func (e *env) loadPolicy(opts *httptrust.Options) (*store.Store, *httptrust.Policy, error) {
	st, err := e.store()
	if err != nil {
		return nil, nil, err
	}
	if opts == nil {
		opts = &httptrust.Options{}
	}
	if opts.TOFU == nil {
		opts.TOFU = st.KnownHosts()
	}
	if opts.CacheDir == "" {
		opts.CacheDir = e.cacheDir()
	}
	switch {
	case e.getenv(envWatch) == "off":
		opts.IgnoreWatcher = true
	case opts.StartWatcher == nil:
		opts.StartWatcher = startWatcher
	}
	p, err := st.Load(opts)
	if err != nil {
		return nil, nil, &exitError{code: exitCAFile, err: err, reason: reasonStoreNotLoaded,
			hints: []string{"fix or remove the file named above; the store is " + st.Dir + " (httptrust never loads part of a store)"}}
	}
	return st, p, nil
}

// envWatch names the environment variable that, "off", neither starts
// nor asks a watcher of a large store.
const envWatch = "HTTPTRUST_WATCH"

// startWatcher starts this binary as the watcher of the store folder dir
// (httptrust __watch-store DIR): a process that tells later runs whether
// any of its many rule files changed, so that they need not stat each
// one. It ends after ten minutes without a run, or when the store is
// removed.
func startWatcher(dir string) {
	exe, err := os.Executable()
	if err != nil {
		return
	}
	storewatch.Start(exe, os.Args[0], dir)
}

// envCache names the environment variable for the folder of store indexes
// ("off" for none).
const envCache = "HTTPTRUST_CACHE_DIR"

// cacheDir is where the index of a large store is kept (see
// httptrust.Options.CacheDir): $HTTPTRUST_CACHE_DIR, or <user cache
// dir>/httptrust; "" (no index) when there is none or it is "off".
func (e *env) cacheDir() string {
	switch d := e.getenv(envCache); d {
	case "off":
		return ""
	case "":
		home := e.getenv("XDG_CACHE_HOME")
		if home == "" {
			if h := e.getenv("HOME"); h != "" {
				home = filepath.Join(h, ".cache")
			}
		}
		if home == "" || !filepath.IsAbs(home) {
			return ""
		}
		return filepath.Join(home, "httptrust")
	default:
		return d
	}
}

// exitError is an error with the exit code it causes and the hints to
// print after it.
type exitError struct {
	code  int
	err   error
	hints []string
	// reason is the failure's code in --json (one of cliReasons); ""
	// means from its type or exit code (see cliReason).
	reason string
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usagef is a usage error (exit 2).
func usagef(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func usageErr(err error) error {
	return &exitError{code: exitUsage, err: err, hints: []string{"run httptrust help for the commands, httptrust COMMAND --help for their flags"}}
}

// failf is a refusal (exit 1) with hints.
func failf(hints []string, format string, args ...any) error {
	return &exitError{code: exitFail, err: fmt.Errorf(format, args...), hints: hints}
}

// report prints err as "httptrust: error:" and "httptrust: hint:" lines
// (with --json, first as {"error": ...} on stdout, from the same view) and
// returns the exit code.
func (e *env) report(err error) int {
	var q *quietExit
	if errors.As(err, &q) {
		return q.code
	}
	v := e.errorOf(err)
	if e.json {
		writeJSON(e.stdout, struct {
			Error errorView `json:"error"`
		}{v})
	}
	if errors.As(err, new(*httptrust.VerifyError)) {
		e.printVerify(v)
	} else {
		e.errorLine(v.Message)
	}
	for _, h := range v.Hints {
		e.hint(h)
	}
	return v.ExitCode
}
