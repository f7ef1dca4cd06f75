package main

import (
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

// hintContext is what a printed command repeats of this run so that it
// works as typed: --resolve for the commands that connect, --store when it
// was given, and for get the flags that decide how the server is reached
// and verified (see getFlags.hintFlags).
type hintContext struct {
	resolve []string
	store   string
	get     []hintFlag
	// proxy says the run reached the server through a proxy, which only
	// get can use: commands that connect otherwise are not printed.
	proxy bool
}

// hintFlag is a flag of the run repeated in printed get commands, unless
// the command gives that flag (or one of its group) itself.
type hintFlag struct {
	name  string
	value []string // none for a boolean flag
	group string   // "--cert": the client identity, replaced as a whole
}

// connects lists the commands that take --resolve.
var connects = map[string]bool{"get": true, "fetch": true, "diagnose": true, "inspect": true, "pin": true}

// commandLine renders c for this run, shell-quoted: the run's own flags
// follow the command's name, then its arguments.
func (e *env) commandLine(c httptrust.Command) string {
	return e.commandSequence([]httptrust.Command{c})[0]
}

// commandSequence renders the commands of one remedy, each of which may
// rely on those before it.
func (e *env) commandSequence(cs []httptrust.Command) []string {
	var out []string
	var before []printedLine
	for _, c := range cs {
		l := e.renderCommand(nil, c)
		e.logCommand(l, before)
		out = append(out, l.Line)
		before = append(before, l)
	}
	return out
}

// commandLineWith renders c after the environment assignments vars
// ("NAME=value", a value the program made itself).
func (e *env) commandLineWith(vars []string, c httptrust.Command) string {
	l := e.renderCommand(vars, c)
	e.logCommand(l, nil)
	return l.Line
}

func (e *env) renderCommand(vars []string, c httptrust.Command) printedLine {
	argv := append([]string{"httptrust"}, strings.Fields(c.Name)...)
	if connects[c.Name] {
		for _, r := range e.hintCtx.resolve {
			argv = append(argv, "--resolve", r)
		}
	}
	// Every command printed keeps the run's --store (a command printed
	// without it would change the user's default store).
	store := e.hintCtx.store
	if store == "" {
		store = e.storeDir
	}
	if store != "" {
		argv = append(argv, "--store", store)
	}
	if c.Name == "get" {
		argv = append(argv, e.hintCtx.getFlags(c.Args)...)
	}
	argv = append(argv, c.Args...)
	var parts []string
	for _, v := range vars {
		name, value, _ := strings.Cut(v, "=")
		parts = append(parts, name+"="+httptrust.ShellQuote(value))
	}
	for _, a := range argv {
		parts = append(parts, httptrust.ShellQuote(a))
	}
	return printedLine{Line: strings.Join(parts, " "), Argv: argv, Placeholders: placeholders(c.Args)}
}

// getFlags returns the run's flags to repeat in a get command with args.
func (h hintContext) getFlags(args []string) []string {
	var out []string
	for _, f := range h.get {
		if slices.Contains(args, f.name) || (f.group != "" && slices.Contains(args, f.group)) {
			continue
		}
		out = append(append(out, f.name), f.value...)
	}
	return out
}

// hintFlags are the flags of this get that a printed get repeats: how the
// server is reached (proxy, timeouts, TLS versions) and verified (--cacert,
// --capath, pins, --tofu, --fetch-intermediates, --server-name), and the
// client identity. Never a password: --cert FILE:PASSWORD repeats FILE
// only (a terminal asks for the password), and --pass and -u not at all.
// Flags that shape the request or its output are not repeated.
func (g *getFlags) hintFlags() []hintFlag {
	var out []hintFlag
	str := func(name, v, group string) {
		if v != "" {
			out = append(out, hintFlag{name: name, value: []string{v}, group: group})
		}
	}
	num := func(name string, v float64) {
		if v != 0 {
			str(name, strconv.FormatFloat(v, 'g', -1, 64), "")
		}
	}
	on := func(name string, v bool) {
		if v {
			out = append(out, hintFlag{name: name})
		}
	}
	str("--cacert", g.cacert, "")
	str("--capath", g.capath, "")
	for _, p := range g.pins {
		str("--pin", p, "")
	}
	for _, p := range g.pinnedPubKeys {
		str("--pinnedpubkey", p, "")
	}
	str("--server-name", g.serverName, "")
	on("--tofu", g.tofu)
	on("--fetch-intermediates", g.fetchInter)
	str("--proxy", withoutPassword(g.proxy.proxy), "")
	if g.proxy.noproxy != nil {
		out = append(out, hintFlag{name: "--noproxy", value: []string{*g.proxy.noproxy}})
	}
	num("--connect-timeout", g.timeouts.connectTimeout)
	num("--max-time", g.timeouts.maxTime)
	if g.minTLS != "" {
		on("--tlsv"+g.minTLS, true)
	}
	str("--tls-max", g.tlsMax, "")
	if g.cert != "" {
		file := strings.NewReplacer(`\`, `\\`, ":", `\:`).Replace(splitCertArg(g.cert).file)
		str("--cert", file, "--cert")
	}
	str("--cert-type", g.certType, "--cert")
	str("--key", g.key, "--cert")
	str("--key-type", g.keyType, "--cert")
	str("--password-env", g.pw.env, "--cert")
	str("--password-file", g.pw.file, "--cert")
	return out
}

// withoutPassword is a proxy URL without the password it may hold.
func withoutPassword(raw string) string {
	s, bare := raw, !strings.Contains(raw, "://")
	if bare {
		s = "http://" + raw // curl's default scheme
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); !ok {
		return raw
	}
	u.User = url.User(u.User.Username())
	if bare {
		return strings.TrimPrefix(u.String(), "http://")
	}
	return u.String()
}

// viaProxy reports whether proxy sends a request for u to a proxy.
func viaProxy(proxy func(*http.Request) (*url.URL, error), u *url.URL) bool {
	if proxy == nil {
		return false
	}
	p, err := proxy(&http.Request{URL: u})
	return err == nil && p != nil
}

// pinHint says what a pin is and where one comes from.
const pinHint = "a pin is sha256/ and the base64 of the SHA-256 of a public key; the pin command prints them for a certificate, a key, a request or a server (httptrust pin --help)"

// inspectHints points at httptrust inspect for a file that could not be
// used, when inspect can say more than the error did: not for a file that
// does not exist (the path is what to check), nor for one in no format
// inspect knows (the error said what it holds).
func (e *env) inspectHints(name string) []string {
	data, err := os.ReadFile(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return []string{"there is no file " + name + ": check the path (relative paths start in the current folder)"}
	case err != nil, certs.Sniff(data) == certs.FormatUnknown:
		return nil
	}
	return []string{"what the file holds:", "  " + e.commandLine(httptrust.Command{Name: "inspect", Args: []string{name}})}
}

// remedyView is a remedy as --json prints it, with its commands rendered
// for this run.
type remedyView struct {
	Action    httptrust.Action `json:"action"`
	OutOfBand bool             `json:"out_of_band"`
	Text      string           `json:"text"`
	Change    string           `json:"change,omitempty"`
	Commands  []string         `json:"commands,omitempty"`
}

// viewRemedy renders r for this run; nil when there is nothing to do.
func (e *env) viewRemedy(r httptrust.Remedy) *remedyView {
	if r.Action == httptrust.ActionNone {
		return nil
	}
	v := &remedyView{Action: r.Action, OutOfBand: r.OutOfBand, Text: r.Text}
	if r.Change != nil {
		v.Change = r.Change.String()
	}
	cmds := r.Commands
	if e.hintCtx.proxy {
		// fetch, inspect, pin and diagnose connect directly: printed here,
		// they would reach another server, or none.
		cmds = nil
		var direct []string
		for _, c := range r.Commands {
			if connects[c.Name] && c.Name != "get" {
				if !slices.Contains(direct, c.Name) {
					direct = append(direct, c.Name)
				}
				continue
			}
			cmds = append(cmds, c)
		}
		if len(direct) > 0 {
			v.Text += "; httptrust " + strings.Join(direct, " and ") + " cannot go through a proxy: run it where the server is reachable without one"
		}
	}
	v.Commands = e.commandSequence(cmds)
	return v
}

// hints returns the hint lines of v: the advice, each command indented
// on a line of its own, and the change in the policy's source.
func (v *remedyView) hints() []string {
	if v == nil {
		return nil
	}
	out := []string{v.Text}
	if len(v.Commands) > 0 {
		out[0] += ":"
	}
	for _, c := range v.Commands {
		out = append(out, "  "+c)
	}
	if v.Change != "" {
		out = append(out, "in the store instead: "+v.Change)
	}
	return out
}

// line returns v on one line, for a JSON "fix" or a diagnosis.
func (v *remedyView) line() string {
	if v == nil {
		return ""
	}
	s := v.Text
	if len(v.Commands) > 0 {
		s += ": " + strings.Join(v.Commands, "; then ")
	}
	return s
}
