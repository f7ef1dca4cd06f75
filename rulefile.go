package httptrust

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/pelletier/go-toml/v2/unstable"
)

// ParseRuleFile parses a TOML rule file: a list of [[rule]] tables. name is
// the file's path inside the store; files the rules name are resolved
// against its folder. Unknown keys, wrong types, repeated keys and anything
// outside a [[rule]] table are errors (*RuleError with file, line and
// field): a rule that cannot be read must never widen trust by being
// skipped. The rules are returned unvalidated; New validates them.
func ParseRuleFile(name string, data []byte) ([]Rule, error) {
	lp := &lineParser{name: name, data: data, p: parsers.Get().(*unstable.Parser)}
	defer parsers.Put(lp.p)
	lp.p.Reset(data)
	var rules []Rule
	var cur *Rule
	var seen map[string]bool
	for lp.p.NextExpression() {
		expr := lp.p.Expression()
		switch expr.Kind {
		case unstable.ArrayTable:
			key := keyString(expr.Key())
			if key != "rule" {
				return nil, lp.err(expr, "", fmt.Errorf("unknown table [[%s]]; rule files hold [[rule]] tables", key))
			}
			rules = append(rules, Rule{File: name, Line: lp.line(expr)})
			cur, seen = &rules[len(rules)-1], map[string]bool{}
		case unstable.Table:
			return nil, lp.err(expr, "", fmt.Errorf("[%s] is a table; rules are written as [[rule]]", keyString(expr.Key())))
		case unstable.KeyValue:
			key := keyString(expr.Key())
			if cur == nil {
				return nil, lp.err(expr, key, errors.New("a key outside a [[rule]] table"))
			}
			if seen[key] {
				return nil, lp.err(expr, key, errors.New("set twice in the same rule"))
			}
			seen[key] = true
			cur.lines = append(cur.lines, fieldLine{key, lp.line(expr)})
			if err := setField(cur, key, expr.Value()); err != nil {
				return nil, lp.err(expr, key, err)
			}
		}
	}
	if err := lp.p.Error(); err != nil {
		return nil, lp.syntaxErr(err)
	}
	return rules, nil
}

// parsers keeps TOML parsers (and their node arenas) for reuse: values are
// copied out of a parse, nothing refers to a parser after it.
var parsers = sync.Pool{New: func() any { return new(unstable.Parser) }}

type lineParser struct {
	name string
	data []byte
	p    *unstable.Parser
	// off and ln cache the last line computed: expressions come in order.
	off, ln int
}

// line returns the 1-based line where node starts.
func (lp *lineParser) line(n *unstable.Node) int {
	off := int(firstOffset(n))
	return lp.lineAt(off)
}

func (lp *lineParser) lineAt(off int) int {
	if off < lp.off {
		lp.off, lp.ln = 0, 0
	}
	if off > len(lp.data) {
		off = len(lp.data)
	}
	lp.ln += bytes.Count(lp.data[lp.off:off], []byte{'\n'})
	lp.off = off
	return lp.ln + 1
}

// firstOffset finds the offset of a node, looking at its key for a
// key-value or table (whose own range may be empty).
func firstOffset(n *unstable.Node) uint32 {
	if n.Kind == unstable.KeyValue || n.Kind == unstable.Table || n.Kind == unstable.ArrayTable {
		it := n.Key()
		if it.Next() {
			return it.Node().Raw.Offset
		}
	}
	return n.Raw.Offset
}

func (lp *lineParser) err(n *unstable.Node, field string, err error) error {
	return &RuleError{File: lp.name, Line: lp.line(n), Field: field, Err: err}
}

func (lp *lineParser) syntaxErr(err error) error {
	var perr *unstable.ParserError
	line := 0
	if errors.As(err, &perr) && len(perr.Highlight) > 0 {
		// Highlight is a subslice of data: its offset follows from capacity.
		if off := cap(lp.data) - cap(perr.Highlight); off >= 0 && off <= len(lp.data) {
			lp.off, lp.ln = 0, 0
			line = lp.lineAt(off)
		}
	}
	return &RuleError{File: lp.name, Line: line, Err: fmt.Errorf("TOML syntax: %v", err)}
}

func keyString(it unstable.Iterator) string {
	var b []byte
	for it.Next() {
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, it.Node().Data...)
	}
	return string(b)
}

// setField assigns one key of a [[rule]] table.
func setField(r *Rule, key string, v *unstable.Node) error {
	for _, f := range ruleFields {
		if f.name == key {
			return f.set(r, v)
		}
	}
	if key == "client_password" {
		return errors.New("passwords are never stored in a rule; use client_password_env or client_password_file")
	}
	return fmt.Errorf("unknown field (known: %s)", strings.Join(ruleFieldNames(), ", "))
}

// ruleField is one key of a [[rule]] table and how it is read.
type ruleField struct {
	name string
	set  func(*Rule, *unstable.Node) error
}

// ruleFields are the keys a [[rule]] table may hold, in the order of the
// reference (docs/rule-file.md, which TestRuleFileReference checks
// against this list).
var ruleFields = []ruleField{
	{"hosts", func(r *Rule, v *unstable.Node) error { return setStrings(&r.Hosts, v, false) }},
	{"all_hosts", func(r *Rule, v *unstable.Node) error { return setBool(&r.AllHosts, v) }},
	{"anchors", func(r *Rule, v *unstable.Node) error { return setFiles(&r.Anchors, v) }},
	{"certificates", func(r *Rule, v *unstable.Node) error { return setFiles(&r.Certificates, v) }},
	{"intermediates", func(r *Rule, v *unstable.Node) error { return setFiles(&r.Intermediates, v) }},
	{"system_roots", func(r *Rule, v *unstable.Node) error { return setBoolPtr(&r.SystemRoots, v) }},
	{"pins", func(r *Rule, v *unstable.Node) error { return setStrings(&r.Pins, v, true) }},
	{"pins_expire", func(r *Rule, v *unstable.Node) error { return setDate(&r.PinsExpire, v) }},
	{"enforce", func(r *Rule, v *unstable.Node) error { return setBoolPtr(&r.Enforce, v) }},
	{"tofu", func(r *Rule, v *unstable.Node) error { return setBoolPtr(&r.TOFU, v) }},
	{"fetch_intermediates", func(r *Rule, v *unstable.Node) error { return setBoolPtr(&r.FetchIntermediates, v) }},
	{"allow_name_mismatch", func(r *Rule, v *unstable.Node) error { return setBool(&r.AllowNameMismatch, v) }},
	{"allow_expired", func(r *Rule, v *unstable.Node) error { return setBool(&r.AllowExpired, v) }},
	{"server_name", func(r *Rule, v *unstable.Node) error { return setString(&r.ServerName, v) }},
	{"min_tls", func(r *Rule, v *unstable.Node) error { return setString(&r.MinTLS, v) }},
	{"client_certificate", func(r *Rule, v *unstable.Node) error { return setStoreFile(&r.ClientCertificate, v) }},
	{"client_key", func(r *Rule, v *unstable.Node) error { return setStoreFile(&r.ClientKey, v) }},
	{"client_password_env", func(r *Rule, v *unstable.Node) error { return setString(&r.ClientPasswordEnv, v) }},
	{"client_password_file", func(r *Rule, v *unstable.Node) error { return setString(&r.ClientPasswordFile, v) }},
}

// ruleFieldNames lists the keys of ruleFields.
func ruleFieldNames() []string {
	names := make([]string, len(ruleFields))
	for i, f := range ruleFields {
		names[i] = f.name
	}
	return names
}

// setStoreFile reads one file name of the store.
func setStoreFile(dst *string, v *unstable.Node) error {
	if err := setString(dst, v); err != nil {
		return err
	}
	return checkStorePath(*dst)
}

func kindName(k unstable.Kind) string {
	switch k {
	case unstable.String:
		return "a string"
	case unstable.Bool:
		return "a boolean"
	case unstable.Integer:
		return "an integer"
	case unstable.Float:
		return "a number"
	case unstable.Array:
		return "a list"
	case unstable.InlineTable:
		return "a table"
	}
	return "a date or time"
}

func setString(dst *string, v *unstable.Node) error {
	if v.Kind != unstable.String {
		return fmt.Errorf("expected a string, found %s", kindName(v.Kind))
	}
	*dst = string(v.Data)
	return nil
}

func setBool(dst *bool, v *unstable.Node) error {
	if v.Kind != unstable.Bool {
		return fmt.Errorf("expected true or false, found %s", kindName(v.Kind))
	}
	*dst = string(v.Data) == "true"
	return nil
}

func setBoolPtr(dst **bool, v *unstable.Node) error {
	var b bool
	if err := setBool(&b, v); err != nil {
		return err
	}
	*dst = &b
	return nil
}

// setStrings reads a list of strings. A single string is accepted where
// allowString is set (pins = "sha256//a;sha256//b", curl's form).
func setStrings(dst *[]string, v *unstable.Node, allowString bool) error {
	if v.Kind == unstable.String && allowString {
		*dst = []string{string(v.Data)}
		return nil
	}
	if v.Kind != unstable.Array {
		return fmt.Errorf("expected a list of strings, found %s", kindName(v.Kind))
	}
	out := []string{}
	it := v.Children()
	for i := 1; it.Next(); i++ {
		n := it.Node()
		if n.Kind != unstable.String {
			return fmt.Errorf("item %d: expected a string, found %s", i, kindName(n.Kind))
		}
		out = append(out, string(n.Data))
	}
	*dst = out
	return nil
}

func setFiles(dst *[]string, v *unstable.Node) error {
	if err := setStrings(dst, v, false); err != nil {
		return err
	}
	for _, f := range *dst {
		if err := checkStorePath(f); err != nil {
			return err
		}
	}
	return nil
}

// checkStorePath refuses a file name that leaves the store: a store is a
// self-contained folder that can be copied, kept in git or mounted.
func checkStorePath(name string) error {
	if name == "" {
		return errors.New("empty file name")
	}
	if path.IsAbs(name) || name[0] == '\\' || (len(name) > 1 && name[1] == ':') {
		return fmt.Errorf("%q: files are named relative to the rule file, inside the store; copy the file into the store", name)
	}
	for _, part := range bytes.Split([]byte(name), []byte{'/'}) {
		if string(part) == ".." {
			return fmt.Errorf("%q: a file may not be outside the store (\"..\")", name)
		}
	}
	return nil
}

func setDate(dst *time.Time, v *unstable.Node) error {
	var s string
	switch v.Kind {
	case unstable.LocalDate, unstable.String:
		s = string(v.Data)
	default:
		return fmt.Errorf("expected a date like 2027-06-30, found %s", kindName(v.Kind))
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return fmt.Errorf("expected a date like 2027-06-30, found %q", s)
	}
	*dst = t
	return nil
}
