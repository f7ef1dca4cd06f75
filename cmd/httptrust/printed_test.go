package main

// Every command line the CLI prints for the user to run works as printed.
//
// The scripts run with HTTPTRUST_TEST_COMMAND_LOG set (cmdlog.go): every
// line rendered by commandLine (hints, "now:" lines, fixes, remedies, in
// text and in JSON) is appended to a log. TestScripts runs a copy of each
// script in which every exec that runs httptrust is hintexec (line for
// line, so that a failure's line number is the script's own): it runs the
// command as exec does, then
//
//   - fails if the output shows, on a line of its own, an httptrust
//     command that commandLine did not render (printed another way: not
//     quoted, without this run's flags, and never replayed);
//   - replays each command logged, in the script's state at that point,
//     and fails if one does not parse as printed (the words the shell
//     reads are not the arguments commandLine meant: quoting), exits 2
//     (a flag or argument it does not take), fails for a reason mayFail
//     does not name, or prints the very same command again (a loop).
//
// A replay runs in a copy of the script's folder (store, CA folder, files)
// with the environment of the run that printed it, against the script's
// own servers, whose request counters it leaves as they were, as the
// program that printed it (httptrust or httptrust-aialoopback; see
// program). Placeholders are filled in as a user following the hint
// would: the fingerprint or CA the operator gives out of band is that of
// the script's server (the registry of presented chains), a client
// certificate one that server accepts, a password variable one that is
// set. Its stdin is a pseudo-terminal that answers y to a y/N question
// and "secret" to a password prompt: hints are for a person at a
// terminal. A command printed after others of the same remedy ("do this;
// then that") that fails alone is tried again after them. Identical
// lines in the same state are replayed once; replays of one step run in
// parallel. go test -short runs the scripts as they are, without replays.
//
// mayFail and mayNotRun are the whole list of exceptions.

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/mint"
	"github.com/httptrust/httptrust/store"
)

// envRanLog names the file the test binary's httptrust appends its own
// arguments to (TestMain): a replay checks that the shell split the
// printed line into the arguments commandLine meant.
const envRanLog = "HTTPTRUST_TEST_RAN_LOG"

// logRun appends args to $HTTPTRUST_TEST_RAN_LOG, when set.
func logRun(args []string) {
	name := os.Getenv(envRanLog)
	if name == "" {
		return
	}
	data, _ := json.Marshal(args)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	f.Write(append(data, '\n'))
}

// mayFail says why a printed command may fail when replayed, or "". Each
// entry is a command whose failure is its purpose or beyond what the
// hint can know; everything else that fails is a broken hint.
func mayFail(rec printedCommand, argv []string, code int) string {
	name := strings.Join(argv[1:min(3, len(argv))], " ")
	switch {
	case code == exitResolve && subcommand(rec.Run) == "check":
		// check reads the store only: its fix for a store rule names
		// the rule's host as the rule does (https://HOST/), a device of
		// the user's whose name no script's resolver knows.
		return "check names a store rule's host, which only --resolve reaches here"
	case strings.HasPrefix(name, "diagnose") && code != exitUsage:
		// diagnose exits with the code of the failure it explains: it is
		// printed to see why, not to make the failure go away.
		return "diagnose explains a failure"
	}
	return ""
}

func init() {
	scriptCmds["hintexec"] = cmdHintExec
	scriptCmds["replay"] = cmdReplay
	scriptCmds["fakeprinted"] = cmdFakePrinted
}

// mayNotRun says why a printed command cannot be replayed in the scripts
// at all, or "".
func mayNotRun(rec printedCommand, err error) string {
	if errors.Is(err, errNoServer) && subcommand(rec.Run) == "check" {
		// check's fix for a store rule names the rule's host at its
		// default port (https://HOST/): a device of the user's, which
		// no script runs there.
		return "check names a store rule's host, on its default port"
	}
	return ""
}

// subcommand is the command of a run's arguments.
func subcommand(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--store":
			i++
		case !strings.HasPrefix(a, "-"):
			return a
		}
	}
	return ""
}

// errNoServer is a command naming a server the script does not run.
var errNoServer = errors.New("no script server there")

// replayState is a script's position in its command log.
type replayState struct {
	offset int64
	seen   map[string]bool // line and state already replayed
}

// replayScripts returns a folder holding a copy of testdata/script in
// which every exec of httptrust is hintexec, line for line.
func replayScripts(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "script")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("testdata/script/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), rewriteScript(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// execOfHTTPTrust matches a script line that runs httptrust in the
// foreground: conditions, "!", exec, and httptrust somewhere after it
// (exec sh -c '... httptrust ...' included).
var execOfHTTPTrust = regexp.MustCompile(`^(\s*(?:\[[^\]]*\]\s*)*(?:!\s+)?)exec(\s.*\bhttptrust\b.*)$`)

var backgroundSuffix = regexp.MustCompile(`\s&([a-zA-Z_0-9]+&)?\s*$`)

// rewriteScript replaces, in the script part of a txtar archive, exec by
// hintexec on every line that runs httptrust in the foreground.
func rewriteScript(data []byte) []byte {
	lines := strings.SplitAfter(string(data), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "-- ") && strings.HasSuffix(strings.TrimSpace(l), " --") {
			break // the files of the archive
		}
		body := strings.TrimRight(l, "\n")
		if m := execOfHTTPTrust.FindStringSubmatch(body); m != nil && !backgroundSuffix.MatchString(body) {
			lines[i] = m[1] + "hintexec" + m[2] + l[len(body):]
		}
	}
	return []byte(strings.Join(lines, ""))
}

// cmdHintExec is exec, then the replay of what the command printed.
func cmdHintExec(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: hintexec program [args...]")
	}
	err := ts.Exec(args[0], args[1:]...)
	if err != nil {
		ts.Logf("[%v]", err)
	}
	switch {
	case err == nil && neg:
		ts.Fatalf("unexpected command success")
	case err != nil && !neg:
		ts.Fatalf("unexpected command failure")
	}
	if err := replayPrinted(ts, !helpOrDemo(args)); err != nil {
		ts.Fatalf("%v", err)
	}
}

// cmdReplay replays what was logged since the last replay, and checks
// that it fails with an error matching REGEXP, with !: the self-test of
// the replay (testdata/script/printed.txtar, with fakeprinted).
//
//	[!] replay [REGEXP]
func cmdReplay(ts *testscript.TestScript, neg bool, args []string) {
	err := replayPrinted(ts, false)
	switch {
	case !neg && err != nil:
		ts.Fatalf("%v", err)
	case neg && err == nil:
		ts.Fatalf("the replay found nothing wrong")
	case neg && len(args) > 0 && !regexp.MustCompile(args[0]).MatchString(err.Error()):
		ts.Fatalf("the replay failed otherwise than %q:\n%v", args[0], err)
	}
}

// cmdFakePrinted logs LINE as if httptrust had printed it, for ARGS (the
// arguments it stands for; by default, LINE split on spaces), in the
// script's folder and environment:
//
//	fakeprinted LINE [ARG...]
func cmdFakePrinted(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: fakeprinted LINE [ARG...]")
	}
	argv := strings.Fields(args[0])
	if len(args) > 1 {
		argv = args[1:]
	}
	rec := printedCommand{printedLine: printedLine{Line: args[0], Argv: argv, Placeholders: placeholders(argv)},
		Program: "httptrust", Run: []string{"get"}, Dir: ts.MkAbs(".")}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "HTTPTRUST_STORE", envCARoot, "SSL_CERT_FILE", "SSL_CERT_DIR", "NO_COLOR"} {
		rec.Env = append(rec.Env, k+"="+ts.Getenv(k))
	}
	data, err := json.Marshal(rec)
	ts.Check(err)
	f, err := os.OpenFile(ts.Getenv(envCommandLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	ts.Check(err)
	_, err = f.Write(append(data, '\n'))
	ts.Check(err)
	ts.Check(f.Close())
}

// helpOrDemo reports a command whose output holds commands that are not
// hints: help (usage and examples) and the demo (what its steps ran).
func helpOrDemo(args []string) bool {
	for _, a := range args {
		for _, w := range strings.Fields(a) {
			if w == "--help" || w == "-h" || w == "help" || w == "demo" {
				return true
			}
		}
	}
	return false
}

// commandMention finds "httptrust COMMAND" in a line of output.
var commandMention = regexp.MustCompile(`\bhttptrust (get|fetch|inspect|pin|trust|mint|diagnose|check|demo|completion|help)\b`)

// printedLinePrefix is what may come before a command printed on a line
// of its own: a message's label, a fix's, indentation, environment
// assignments.
var printedLinePrefix = regexp.MustCompile(`^\s*(?:httptrust: (?:hint|now|note):\s*|fix:\s*)?(?:[A-Z_][A-Z0-9_]*=\S+ )*`)

// unprinted returns the lines of out that show a command to run, on a
// line of its own, that is not a command line rendered by commandLine
// (lines): one printed another way, which nothing checks.
func unprinted(out string, lines []string) []string {
	var bad []string
	for _, l := range strings.Split(out, "\n") {
		at := printedLinePrefix.FindStringIndex(l)
		if at == nil || !commandMention.MatchString(l[at[1]:]) || commandMention.FindStringIndex(l[at[1]:])[0] != 0 {
			continue
		}
		ok := false
		for _, p := range lines {
			ok = ok || strings.Contains(l, p)
		}
		if !ok {
			bad = append(bad, l)
		}
	}
	return bad
}

// replayPrinted replays the commands logged since the last replay; with
// all, it also checks that every command the output shows on a line of
// its own was logged.
func replayPrinted(ts *testscript.TestScript, all bool) error {
	st := ts.Value("replay").(*replayState)
	recs := st.next(ts, ts.Getenv(envCommandLog))
	if all {
		var lines []string
		for _, r := range recs {
			lines = append(lines, r.Line)
		}
		if bad := unprinted(ts.ReadFile("stdout")+"\n"+ts.ReadFile("stderr"), lines); len(bad) > 0 {
			return fmt.Errorf("commands printed without commandLine (so neither quoted nor given this run's flags, and not replayed):\n%s", strings.Join(bad, "\n"))
		}
	}
	if len(recs) == 0 {
		return nil
	}
	p := pkiOf(ts)
	work := ts.Getenv("WORK")
	rc := &replayContext{work: work, pki: p, chains: p.presentedNow()}
	state := rc.stateHash()
	var todo []printedCommand
	for _, r := range recs {
		key := r.Line + "\x00" + r.Dir + "\x00" + state
		if !st.seen[key] {
			st.seen[key] = true
			todo = append(todo, r)
		}
	}
	restore := p.snapshotCounters()
	defer restore()
	failures := make([]string, len(todo))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, r := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var log strings.Builder
			if err := rc.replay(r, &log); err != nil {
				failures[i] = fmt.Sprintf("printed command %s\n  %v\n%s", r.Line, err, indentLines(log.String()))
			}
		}()
	}
	wg.Wait()
	var bad []string
	for _, f := range failures {
		if f != "" {
			bad = append(bad, f)
		}
	}
	ts.Logf("[replayed %d printed command(s)]", len(todo))
	if len(bad) > 0 {
		return fmt.Errorf("%d printed command(s) do not work as printed:\n%s", len(bad), strings.Join(bad, "\n"))
	}
	return nil
}

// next returns the complete records appended to the log since the last
// call.
func (st *replayState) next(ts *testscript.TestScript, name string) []printedCommand {
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	ts.Check(err)
	data = data[st.offset:]
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		return nil
	}
	st.offset += int64(end + 1)
	var out []printedCommand
	for _, line := range bytes.Split(data[:end], []byte("\n")) {
		var r printedCommand
		if err := json.Unmarshal(line, &r); err != nil {
			ts.Fatalf("command log: %v: %s", err, line)
		}
		out = append(out, r)
	}
	return out
}

func indentLines(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// replayContext is what every replay of one step shares.
type replayContext struct {
	work   string
	pki    *scriptPKI
	chains map[string][]*x509.Certificate // by port: what the server presents now
}

// stateHash sums what a replay depends on: the script's files and the
// chains its servers present.
func (rc *replayContext) stateHash() string {
	h := sha256.New()
	filepath.WalkDir(rc.work, func(path string, d fs.DirEntry, err error) error {
		if err != nil || skipInCopy(rc.work, path) {
			if d != nil && d.IsDir() && path != rc.work {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		fmt.Fprintf(h, "%s %v\n", path, info.Mode())
		if info.Mode().IsRegular() {
			if data, err := os.ReadFile(path); err == nil {
				h.Write(data)
			}
		}
		return nil
	})
	ports := make([]string, 0, len(rc.chains))
	for p := range rc.chains {
		ports = append(ports, p)
	}
	sort.Strings(ports)
	for _, p := range ports {
		fmt.Fprintf(h, "%s %x\n", p, rc.chains[p][0].Raw)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// skipInCopy reports the files of the test machinery: the command logs.
func skipInCopy(work, path string) bool {
	base := filepath.Base(path)
	return strings.HasPrefix(base, ".printed-commands") || strings.HasPrefix(base, ".replay-")
}

// replayRun is one attempt at replaying a command.
type replayRun struct {
	rc   *replayContext
	rec  printedCommand
	copy string   // the copy of the script's folder it runs in
	env  []string // added to its environment
	// fingerprints are the candidates for the fingerprint placeholder,
	// best first (fill takes the first, replay tries the others).
	fingerprints []string
	// stop closes what the fillers started.
	stop []func()
}

// errFailed is a replayed command that exits non-zero for a reason
// mayFail does not name. A sequence (the commands printed before it in
// its remedy, run first) may still make it work.
var errFailed = errors.New("the command printed for the user fails")

// replay runs r as printed, in a copy of the script's folder, and checks
// it: alone, and, if that fails and r came after other commands in its
// remedy ("do this; then that"), after them.
func (rc *replayContext) replay(r printedCommand, log io.Writer) error {
	err := rc.attempt(r, nil, log)
	if !errors.Is(err, errFailed) || len(r.After) == 0 {
		return err
	}
	fmt.Fprintf(log, "after the commands printed before it:\n")
	if err2 := rc.attempt(r, r.After, log); err2 != nil {
		return fmt.Errorf("%w; after the commands printed before it: %w", err, err2)
	}
	return nil
}

// attempt runs the commands before (their results are not checked), then
// r, in a new copy of the script's folder.
func (rc *replayContext) attempt(r printedCommand, before []printedLine, log io.Writer) error {
	dir, err := os.MkdirTemp("", "httptrust-replay-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := copyTree(rc.work, dir); err != nil {
		return fmt.Errorf("copying the script's folder: %w", err)
	}
	run := &replayRun{rc: rc, rec: r, copy: dir}
	defer func() {
		for _, f := range run.stop {
			f()
		}
	}()
	for _, b := range before {
		line, _, err := run.prepare(b)
		if err != nil {
			return err
		}
		code, out, err := run.exec(line, b.Argv)
		fmt.Fprintf(log, "$ %s\n%s(exit %d)\n", line, out, code)
		if err != nil {
			return err
		}
	}
	line, argv, err := run.prepare(r.printedLine)
	if why := mayNotRun(r, err); why != "" {
		fmt.Fprintf(log, "not replayed: %s\n", why)
		return nil
	} else if err != nil {
		return err
	}
	ranLog := filepath.Join(dir, ".replay-ran.jsonl")
	for try := 0; ; try++ {
		os.Remove(ranLog)
		code, out, err := run.exec(line, argv)
		fmt.Fprintf(log, "$ %s\n%s(exit %d)\n", line, out, code)
		if err != nil {
			return err
		}
		if code == exitVerify && strings.Contains(out, "is not that of the certificate to trust") && try+1 < len(run.fingerprints) {
			// The operator's list holds the fingerprint of every
			// certificate of the chain: give the next one.
			prev, next := run.fingerprints[try], run.fingerprints[try+1]
			line, argv = strings.ReplaceAll(line, prev, next), replaceAll(argv, prev, next)
			continue
		}
		return run.check(line, argv, code)
	}
}

// prepare fills l's placeholders and moves its paths into the copy.
func (run *replayRun) prepare(l printedLine) (string, []string, error) {
	moved := func(s string) string { return strings.ReplaceAll(s, run.rc.work, run.copy) }
	line, argv := l.Line, slices.Clone(l.Argv)
	cwd := moved(run.rec.Dir)
	for _, ph := range uniq(l.Placeholders) {
		v, err := run.fill(ph, argv, cwd)
		if err != nil {
			return "", nil, fmt.Errorf("placeholder %s: %w", ph, err)
		}
		line = strings.ReplaceAll(line, httptrust.ShellQuote(ph), httptrust.ShellQuote(v))
		argv = replaceAll(argv, ph, v)
	}
	for i := range argv {
		argv[i] = moved(argv[i])
	}
	return moved(line), argv, nil
}

func replaceAll(argv []string, old, new string) []string {
	out := slices.Clone(argv)
	for i := range out {
		if out[i] == old {
			out[i] = new
		}
	}
	return out
}

// exec runs line in the copy, as the program that printed it.
func (run *replayRun) exec(line string, argv []string) (int, string, error) {
	rc, dir := run.rc, run.copy
	moved := func(s string) string { return strings.ReplaceAll(s, rc.work, dir) }
	var env []string
	path := ""
	for _, kv := range run.rec.Env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case envCommandLog, envRanLog, "PWD":
			continue
		case "PATH":
			path = v
			continue
		}
		env = append(env, moved(kv))
	}
	if prog := run.program(argv); prog != "httptrust" {
		// Run as the program that printed the line (the same CLI, with
		// other options for the tests), under the name printed.
		full, err := lookPath(prog, path)
		if err != nil {
			return 0, "", err
		}
		bin := filepath.Join(dir, ".replay-bin")
		os.Mkdir(bin, 0o755)
		// A script, not a link: the test binary runs the command its
		// own name says.
		script := "#!/bin/sh\nexec " + httptrust.ShellQuote(full) + ` "$@"` + "\n"
		if err := os.WriteFile(filepath.Join(bin, "httptrust"), []byte(script), 0o755); err != nil {
			return 0, "", err
		}
		path = bin + string(os.PathListSeparator) + path
	}
	cwd := moved(run.rec.Dir)
	env = append(env, "PATH="+path, "PWD="+cwd,
		envCommandLog+"="+filepath.Join(dir, ".replay-printed.jsonl"), envRanLog+"="+filepath.Join(dir, ".replay-ran.jsonl"))
	env = append(env, run.env...)
	return runOnPTY(cwd, env, line)
}

// program is the program to replay argv with: the one that printed it,
// except that the scripts' issuer URLs (AIA) are on loopback, where only
// httptrust-aialoopback fetches from: a command that adds
// --fetch-intermediates, printed by a run that did not try the fetch,
// cannot know that, and is run where the issuer URL is reachable, as a
// real CA's is. A run that tried and was refused printed its command
// knowing it: that one runs as printed.
func (run *replayRun) program(argv []string) string {
	if run.rec.Program == "httptrust" && slices.Contains(argv, "--fetch-intermediates") && !slices.Contains(run.rec.Run, "--fetch-intermediates") {
		return "httptrust-aialoopback"
	}
	return run.rec.Program
}

func lookPath(prog, path string) (string, error) {
	for _, d := range filepath.SplitList(path) {
		if f := filepath.Join(d, prog); fileExists(f) {
			return f, nil
		}
	}
	return "", fmt.Errorf("%s is not in PATH", prog)
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// check judges the replay of line (argv) that exited with code.
func (run *replayRun) check(line string, argv []string, code int) error {
	dir := run.copy
	ran, err := readJSONLines[[]string](filepath.Join(dir, ".replay-ran.jsonl"))
	if err != nil {
		return err
	}
	if len(ran) != 1 || !slices.Equal(ran[0], argv[1:]) {
		return fmt.Errorf("the shell reads the line as %q, not %q: quoting", ran, argv[1:])
	}
	if code == exitUsage {
		return fmt.Errorf("exit 2: httptrust does not take the command as printed")
	}
	if code != exitOK && mayFail(run.rec, argv, code) == "" {
		return fmt.Errorf("exit %d: %w", code, errFailed)
	}
	again, err := readJSONLines[printedCommand](filepath.Join(dir, ".replay-printed.jsonl"))
	if err != nil {
		return err
	}
	for _, a := range again {
		if strings.ReplaceAll(a.Line, dir, run.rc.work) == run.rec.Line {
			return fmt.Errorf("it prints itself again: a loop")
		}
	}
	return nil
}

func uniq(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func readJSONLines[T any](name string) ([]T, error) {
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []T
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(line, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// replayTimeout bounds one replayed command.
const replayTimeout = 60 * time.Second

// runOnPTY runs line with sh in dir, stdin a pseudo-terminal that answers
// prompts as a person following a hint would: y to a y/N question, the
// password "secret" when asked for one. It returns the exit code and what
// the command printed (stdout, then stderr).
func runOnPTY(dir string, env []string, line string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), replayTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Dir, cmd.Env = dir, env
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	errR, errW, err := os.Pipe()
	if err != nil {
		return 0, "", err
	}
	cmd.Stderr = errW
	ptmx, tty, err := pty.Open()
	if err != nil {
		cmd.Stdin = strings.NewReader("")
	} else {
		defer ptmx.Close()
		defer tty.Close()
		cmd.Stdin = tty
		go io.Copy(io.Discard, ptmx) // the echo
	}
	var stderr bytes.Buffer
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		answerPrompts(errR, &stderr, ptmx)
	}()
	err = cmd.Start()
	errW.Close()
	if err != nil {
		errR.Close()
		return 0, "", err
	}
	werr := cmd.Wait()
	<-answered
	errR.Close()
	out := stdout.String() + stderr.String()
	if ctx.Err() != nil {
		return 0, out, fmt.Errorf("still running after %v", replayTimeout)
	}
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		return ee.ExitCode(), out, nil
	}
	return 0, out, werr
}

// answerPrompts copies r to w and answers, on the terminal, the prompts
// it sees: a line that ends, without a newline, in "[y/N] " or in
// "password...: ".
func answerPrompts(r io.Reader, w *bytes.Buffer, term *os.File) {
	br := bufio.NewReader(r)
	var line []byte
	for {
		b, err := br.ReadByte()
		if err != nil {
			return
		}
		w.WriteByte(b)
		if b == '\n' {
			line = line[:0]
			continue
		}
		line = append(line, b)
		if term == nil || br.Buffered() > 0 {
			continue
		}
		s := string(line)
		switch {
		case strings.HasSuffix(s, "[y/N] "):
			term.Write([]byte("y\n"))
			line = line[:0]
		case strings.HasSuffix(s, ": ") && strings.Contains(strings.ToLower(s), "password"):
			term.Write([]byte("secret\n"))
			line = line[:0]
		}
	}
}

// copyTree copies the folder src into dst (which exists): files with
// their modes, symbolic links as links (into src, moved into dst).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skipInCopy(src, path) {
			return nil
		}
		rel, err := filepath.Rel(src, path)
		if err != nil || rel == "." {
			return err
		}
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.Mkdir(to, info.Mode().Perm())
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(strings.ReplaceAll(target, src, dst), to)
		case info.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(to, data, info.Mode().Perm())
		}
		return nil // sockets and the like
	})
}

// Placeholders of the CLI's own (the library's are httptrust.Placeholder*).
const (
	placeholderChainFile  = "<root and intermediate PEM file>"
	placeholderServerURL  = "<server URL>"
	placeholderServerCert = "<server certificate>"
	placeholderHost       = "<host>"
)

// replayPassword is the variable a filled --password-env names.
const replayPassword = "REPLAY_PASSWORD"

// fill returns what a user following the hint puts in place of ph in
// argv, run in cwd.
func (run *replayRun) fill(ph string, argv []string, cwd string) (string, error) {
	p := run.rc.pki
	switch ph {
	case httptrust.PlaceholderFingerprint:
		// The operator reads out the fingerprints of the server's chain;
		// the user gives the one fetch asks for: that of the
		// certificate fetch plans to write, from the chain as sent,
		// then the others (replay tries them in turn).
		chain, name, err := run.server(argv)
		if err != nil {
			return "", err
		}
		first := chain[0]
		if !slices.Contains(argv, "--tofu") {
			first = planTrust(chain, name, time.Now(), p.public.Pool()).Cert
		}
		run.fingerprints = []string{certs.CertFingerprint(first).String()}
		for _, c := range p.fullChain(chain) {
			if fp := certs.CertFingerprint(c).String(); !slices.Contains(run.fingerprints, fp) {
				run.fingerprints = append(run.fingerprints, fp)
			}
		}
		return run.fingerprints[0], nil
	case httptrust.PlaceholderCA, httptrust.PlaceholderCAFile:
		chain, _, err := run.server(argv)
		if err != nil {
			return "", err
		}
		full := p.fullChain(chain)
		return "operator-ca.pem", os.WriteFile(filepath.Join(cwd, "operator-ca.pem"), certs.EncodeCertificatesPEM(full[len(full)-1:]), 0o644)
	case placeholderChainFile:
		chain, _, err := run.server(argv)
		if err != nil {
			return "", err
		}
		full := p.fullChain(chain)
		return "operator-chain.pem", os.WriteFile(filepath.Join(cwd, "operator-chain.pem"), certs.EncodeCertificatesPEM(full[1:]), 0o644)
	case httptrust.PlaceholderName:
		chain, _, err := run.server(argv)
		if err != nil {
			return "", err
		}
		leaf := chain[0]
		if len(leaf.DNSNames) > 0 {
			return leaf.DNSNames[0], nil
		}
		if len(leaf.IPAddresses) > 0 {
			return leaf.IPAddresses[0].String(), nil
		}
		return "", errors.New("the server's certificate names nothing")
	case httptrust.PlaceholderClientCert:
		issuer := p.clientIssuer
		if _, port, err := run.serverAddr(argv); err == nil && p.clientCAs[port] != nil {
			issuer = p.clientCAs[port]
		}
		c, err := mint.New(mint.Template{Names: []string{"replay-client.test"}, Client: true}, issuer)
		if err != nil {
			return "", err
		}
		if slices.Contains(argv, httptrust.PlaceholderPasswordEnv) || slices.Contains(argv, "--password-env") {
			return "operator-client.p12", c.WritePKCS12(filepath.Join(cwd, "operator-client.p12"), "secret")
		}
		key, err := c.KeyPEM()
		if err != nil {
			return "", err
		}
		return "operator-client.pem", os.WriteFile(filepath.Join(cwd, "operator-client.pem"), append(c.CertPEM(), key...), 0o600)
	case httptrust.PlaceholderPasswordEnv:
		run.env = append(run.env, replayPassword+"=secret")
		return replayPassword, nil
	case store.PlaceholderBackupPin:
		// The pin of a backup key pair the user made offline (mint
		// --key-only prints it).
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", err
		}
		pin, err := certs.PublicKeyPin(k.Public())
		return pin.String(), err
	case placeholderHost:
		return "replay.test", nil
	case placeholderServerCert:
		c, err := mint.New(mint.Template{Names: []string{"replay.test"}}, nil)
		if err != nil {
			return "", err
		}
		return "replay-server.pem", os.WriteFile(filepath.Join(cwd, "replay-server.pem"), c.CertPEM(), 0o644)
	case placeholderServerURL:
		return run.clientCertServer()
	}
	return "", errors.New("no filler for it: add one to fill in printed_test.go")
}

// server returns the chain the script's server a command names presents
// now, and the name the command verifies it as: the URL or HOST:PORT in
// argv, through its --resolve; the host of --host when there is no URL
// (trust add), at the port of the run that printed the command.
func (run *replayRun) server(argv []string) ([]*x509.Certificate, string, error) {
	host, port, err := run.serverAddr(argv)
	if err != nil {
		return nil, "", err
	}
	chain := run.rc.chains[port]
	if chain == nil {
		return nil, "", fmt.Errorf("%w: %s:%s, named by %q", errNoServer, host, port, argv)
	}
	for i, a := range argv {
		if i > 0 && argv[i-1] == "--server-name" {
			host = a
		}
	}
	return chain, host, nil
}

// serverAddr returns the host a command names and the port of the script
// server it reaches there (through --resolve, or a proxy's table).
func (run *replayRun) serverAddr(argv []string) (host, port string, err error) {
	var resolve []string
	for i, a := range argv {
		if i > 0 && (argv[i-1] == "--resolve" || argv[i-1] == "--proxy") {
			if argv[i-1] == "--resolve" {
				resolve = append(resolve, a)
			}
			continue
		}
		if h, p, ok := targetHostPort(a); ok {
			host, port = h, p
		}
	}
	if host == "" {
		// trust add FILE --host HOST: the server of the run that printed it.
		for i, a := range run.rec.Run {
			if i > 0 && (run.rec.Run[i-1] == "-x" || run.rec.Run[i-1] == "--proxy") {
				continue
			}
			if h, p, ok := targetHostPort(a); ok {
				host, port = h, p
			}
		}
		for i, a := range run.rec.Run {
			if i > 0 && run.rec.Run[i-1] == "--resolve" {
				resolve = append(resolve, a)
			}
		}
	}
	if host == "" {
		return "", "", fmt.Errorf("no server named in %q nor in the run that printed it (%q)", argv, run.rec.Run)
	}
	for _, r := range resolve {
		parts := strings.SplitN(r, ":", 3)
		if len(parts) == 3 && parts[0] == host && parts[1] == port {
			_, port, _ = net.SplitHostPort(net.JoinHostPort(strings.Trim(parts[2], "[]"), port))
		}
	}
	if to, ok := run.rc.pki.aliases[net.JoinHostPort(host, port)]; ok {
		_, port, _ = net.SplitHostPort(to)
	}
	return host, port, nil
}

// targetHostPort reads a command's server argument: a URL or HOST:PORT.
func targetHostPort(a string) (host, port string, ok bool) {
	if isURL(a) {
		u, err := url.Parse(a)
		if err != nil || u.Hostname() == "" {
			return "", "", false
		}
		port = u.Port()
		if port == "" {
			port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
		}
		return u.Hostname(), port, true
	}
	if isHostPort(a) {
		h, p, _ := net.SplitHostPort(a)
		return h, p, true
	}
	return "", "", false
}

// clientCertServer starts, for a printed "get --cert FILE URL" of a
// client certificate just minted, the server a user would give it to: it
// requires a client certificate and presents one issued by the stand-in
// public root (trusted as the system's).
func (run *replayRun) clientCertServer() (string, error) {
	p := run.rc.pki
	leaf, err := mint.New(mint.Template{Names: []string{"127.0.0.1"}}, p.public)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello, client") })}
	go srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}, ClientAuth: tls.RequireAnyClientCert}))
	run.stop = append(run.stop, func() { srv.Close() })
	return "https://" + ln.Addr().String() + "/", nil
}

// present registers the chain the server on port presents (f is called
// at each replay: a swap changes it).
func (p *scriptPKI) present(port string, f func() []*x509.Certificate) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.presented == nil {
		p.presented = map[string]func() []*x509.Certificate{}
	}
	p.presented[port] = f
}

// alias records that a proxy tunnels to the script server at to for from.
func (p *scriptPKI) alias(from, to string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.aliases == nil {
		p.aliases = map[string]string{}
	}
	p.aliases[from] = to
}

// clientCA records the issuer of the client certificates the server on
// port accepts, read from the CA file it checks them against and the key
// beside it (mint's httptrust-ca.pem and httptrust-ca-key.pem).
func (p *scriptPKI) clientCA(port, caFile string) {
	keyFile := strings.TrimSuffix(caFile, ".pem") + "-key.pem"
	tc, err := tls.LoadX509KeyPair(caFile, keyFile)
	if err != nil {
		return // no key: a replay cannot mint a certificate it accepts
	}
	signer, ok := tc.PrivateKey.(crypto.Signer)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.clientCAs == nil {
		p.clientCAs = map[string]*mint.Cert{}
	}
	p.clientCAs[port] = &mint.Cert{Cert: tc.Leaf, Key: signer, DER: tc.Certificate[0]}
}

// presentedNow returns the chain every server presents now, by port.
func (p *scriptPKI) presentedNow() map[string][]*x509.Certificate {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string][]*x509.Certificate{}
	for port, f := range p.presented {
		if c := f(); len(c) > 0 {
			out[port] = c
		}
	}
	return out
}

// presentedTLS is the chain of a tls.Certificate.
func presentedTLS(tc *tls.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, der := range tc.Certificate {
		if c, err := x509.ParseCertificate(der); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// fullChain is chain completed with the script's CAs up to its root.
func (p *scriptPKI) fullChain(chain []*x509.Certificate) []*x509.Certificate {
	cas := []*x509.Certificate{p.inter.Cert, p.ca.Cert, p.public.Cert, p.clientIssuer.Cert}
	if data, err := os.ReadFile(filepath.Join(p.dir, "caroot", "httptrust-ca.pem")); err == nil {
		if c, err := certs.ParseCertificates("httptrust-ca.pem", data, nil); err == nil {
			cas = append(cas, c...)
		}
	}
	full := slices.Clone(chain)
	for len(full) < 8 {
		top := full[len(full)-1]
		if certs.IsSelfSigned(top) {
			break
		}
		next := issuerIn(cas, top)
		if next == nil {
			break
		}
		full = append(full, next)
	}
	return full
}

// snapshotCounters returns a function that puts back what the servers
// and proxies have counted, so that a replay's requests are not the
// script's.
func (p *scriptPKI) snapshotCounters() func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	type saved struct {
		s        *scriptServer
		requests int64
		headers  *http.Header
	}
	var ss []saved
	for _, s := range p.servers {
		ss = append(ss, saved{s, s.requests.Load(), s.lastHeaders.Load()})
	}
	connects := map[string]int64{}
	for name, px := range p.proxies {
		connects[name] = px.Connects.Load()
	}
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, v := range ss {
			v.s.requests.Store(v.requests)
			v.s.lastHeaders.Store(v.headers)
		}
		for name, n := range connects {
			p.proxies[name].Connects.Store(n)
		}
	}
}

func TestRewriteScript(t *testing.T) {
	in := `# exec httptrust in a comment stays
exec httptrust get $URL
! exec httptrust fetch $URL
[exec:openssl] exec sh -c 'httptrust pin x | head'
[!short] ! exec httptrust-aialoopback fetch $URL
exec httptrust get $URL &
exec openssl version
stdout 'exec httptrust'
-- a.txt --
exec httptrust get $URL
`
	want := `# exec httptrust in a comment stays
hintexec httptrust get $URL
! hintexec httptrust fetch $URL
[exec:openssl] hintexec sh -c 'httptrust pin x | head'
[!short] ! hintexec httptrust-aialoopback fetch $URL
exec httptrust get $URL &
exec openssl version
stdout 'exec httptrust'
-- a.txt --
exec httptrust get $URL
`
	if got := string(rewriteScript([]byte(in))); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestUnprinted(t *testing.T) {
	logged := []string{"httptrust fetch --yes https://a.test/", "P12_PASSWORD=x httptrust get --cert a.p12 URL"}
	out := `httptrust: hint:   httptrust fetch --yes https://a.test/
httptrust: now: httptrust get https://a.test/
httptrust: hint: the file is encrypted (httptrust get asks for it on a terminal)
fix: httptrust trust add x --host a.test
  P12_PASSWORD=x httptrust get --cert a.p12 URL
      httptrust diagnose https://a.test/
httptrust: hint: usage: httptrust get [flags] URL`
	want := []string{"httptrust: now: httptrust get https://a.test/", "fix: httptrust trust add x --host a.test", "      httptrust diagnose https://a.test/"}
	if got := unprinted(out, logged); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
