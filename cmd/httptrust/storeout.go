package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/store"
)

// writtenView is what a command did to one managed rule; --json prints it.
type writtenView struct {
	Pattern  string       `json:"pattern"`
	RuleFile string       `json:"rule_file"`
	Certs    []string     `json:"certificate_files"`
	New      bool         `json:"new"`
	Replaced bool         `json:"replaced"`
	Changed  bool         `json:"changed"`
	Added    []store.Item `json:"added"`
	Removed  []store.Item `json:"removed,omitempty"`
	Had      []store.Item `json:"had,omitempty"`
	Renamed  string       `json:"renamed_from,omitempty"`
}

func viewAdded(a *store.Added) writtenView {
	v := writtenView{Pattern: a.Pattern, RuleFile: a.RuleFile, Certs: a.Certs, New: a.New, Replaced: a.Replaced,
		Changed: !a.Unchanged, Added: a.Added, Removed: a.Removed, Had: a.Had, Renamed: a.Renamed}
	if v.Added == nil {
		v.Added = []store.Item{}
	}
	return v
}

// joinItems says items in a few words each.
func joinItems(items []store.Item) string {
	var s []string
	for _, it := range items {
		s = append(s, it.String())
	}
	return strings.Join(s, ", ")
}

// trustedWord is "trusted" when items hold a certificate or a pin, "set"
// for fields only.
func trustedWord(items []store.Item) string {
	for _, it := range items {
		switch it.Field {
		case "anchors", "certificates", "intermediates", "pins":
			return "trusted"
		}
	}
	return "set"
}

// addedLines says what an add did to one rule: what it added, and what the
// rule trusted before when it kept it or lost it.
func addedLines(a *store.Added) []string {
	var lines []string
	switch {
	case a.Unchanged:
		lines = append(lines, fmt.Sprintf("nothing added for %s: its rule already has %s: %s", a.Pattern, joinItems(a.Had), a.RuleFile))
	case a.Replaced:
		now := kept(a)
		now = append(now, a.Added...)
		lines = append(lines, fmt.Sprintf("replaced the rule for %s (it %s %s): it now has %s: %s",
			a.Pattern, trustedWord(a.Removed), joinItems(a.Removed), orNothing(joinItems(now)), a.RuleFile))
	case a.New:
		lines = append(lines, fmt.Sprintf("added %s for %s (a new rule): %s", joinItems(a.Added), a.Pattern, a.RuleFile))
	default:
		lines = append(lines, fmt.Sprintf("added %s for %s: %s", joinItems(a.Added), a.Pattern, a.RuleFile),
			fmt.Sprintf("  the rule already had %s, and keeps it", joinItems(a.Had)))
	}
	if a.Renamed != "" {
		lines = append(lines, fmt.Sprintf("  (moved from %s, the name an older httptrust gave it)", a.Renamed))
	}
	return lines
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// kept is what the rule had and still has.
func kept(a *store.Added) []store.Item {
	var out []store.Item
	for _, h := range a.Had {
		gone := false
		for _, r := range a.Removed {
			gone = gone || (r.Field == h.Field && r.Value == h.Value)
		}
		if !gone {
			out = append(out, h)
		}
	}
	return out
}

// printAdded prints addedLines on w.
func (e *env) printAdded(w io.Writer, a *store.Added) {
	for _, l := range addedLines(a) {
		printf(w, "%s\n", l)
	}
}

// storeError explains a store write that was refused: a person's rule in
// the way (with the lines to set in it by hand), a store loading would
// refuse (exit 77), a rule the library would not load (exit 2).
func (e *env) storeError(st *store.Store, err error) error {
	var ce *store.ConflictError
	switch {
	case errors.As(err, &ce):
		return &exitError{code: exitFail, err: err, hints: e.conflictHints(st, ce)}
	case errors.Is(err, httptrust.ErrWritableByOthers), errors.Is(err, httptrust.ErrOwnedByOther):
		return &exitError{code: exitCAFile, reason: reasonStoreNotLoaded, err: err, hints: []string{"the store is " + st.Dir + "; httptrust loads no store another user could change, so it writes none"}}
	case errors.Is(err, store.ErrInvalidRule):
		return &exitError{code: exitUsage, err: err, hints: []string{"docs/rule-file.md says which rules may hold which fields; nothing was written"}}
	case errors.As(err, new(*httptrust.RuleError)):
		return &exitError{code: exitCAFile, reason: reasonStoreNotLoaded, err: err,
			hints: []string{"fix or remove the file named above; the store is " + st.Dir + " (httptrust never loads part of a store)"}}
	case errors.Is(err, store.ErrNotFound):
		return &exitError{code: exitFail, err: err, hints: []string{e.commandLine(httptrust.Command{Name: "trust list"}) + " shows the rules of the store"}}
	}
	return &exitError{code: exitFail, err: err}
}

// conflictHints say how to change a person's rule by hand: never a
// command, which would end in the same refusal.
func (e *env) conflictHints(st *store.Store, ce *store.ConflictError) []string {
	at := fmt.Sprintf("%s:%d", filepath.Join(st.Dir, filepath.FromSlash(ce.File)), ce.Line)
	if ce.Op == "remove" {
		return []string{"edit " + at + " yourself: delete that [[rule]] table, or the lines of what it should no longer trust"}
	}
	var hints []string
	for _, s := range ce.Saved {
		hints = append(hints, fmt.Sprintf("saved %s for it (a certificate file trusts nothing until a rule names it)", filepath.Join(st.Dir, filepath.FromSlash(s))))
	}
	if len(ce.Lines) == 0 {
		return append(hints, "the rule at "+at+" already says all that; edit it yourself to change it")
	}
	hints = append(hints, "edit "+at+" yourself and set, in that [[rule]] (a line replaces the rule's own line for its key):")
	for _, l := range ce.Lines {
		hints = append(hints, "  "+l)
	}
	return hints
}
