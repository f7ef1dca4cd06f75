package main

import (
	"strings"

	"github.com/httptrust/httptrust"
)

// hintContext is what a printed command repeats of this run so that it
// works as typed: --resolve for the commands that connect, --store when it
// was given.
type hintContext struct {
	resolve []string
	store   string
}

// connects lists the commands that take --resolve.
var connects = map[string]bool{"get": true, "fetch": true, "diagnose": true, "inspect": true, "pin": true}

// commandLine renders c for this run, shell-quoted: the run's own flags
// follow the command's name, then its arguments.
func (e *env) commandLine(c httptrust.Command) string {
	parts := []string{"httptrust", c.Name}
	if connects[c.Name] {
		for _, r := range e.hintCtx.resolve {
			parts = append(parts, "--resolve", httptrust.ShellQuote(r))
		}
	}
	if e.hintCtx.store != "" {
		parts = append(parts, "--store", httptrust.ShellQuote(e.hintCtx.store))
	}
	for _, a := range c.Args {
		parts = append(parts, httptrust.ShellQuote(a))
	}
	return strings.Join(parts, " ")
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
	for _, c := range r.Commands {
		v.Commands = append(v.Commands, e.commandLine(c))
	}
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
