package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
)

// -w/--write-out, as curl's: after the transfer (also a failed one), the
// format is printed with its %{variables} replaced. Literal text, \n, \r,
// \t and %% are as curl reads them; %{json} is every variable as one JSON
// object; %{stderr} and %{stdout} switch where the rest goes;
// %header{NAME} is a response header. An unknown variable prints nothing
// and is warned about, as curl does.

// woKind is the kind of a write-out token.
type woKind int

const (
	woText   woKind = iota // literal text
	woVar                  // %{name}
	woHeader               // %header{name}
)

// woToken is one piece of a parsed format.
type woToken struct {
	kind woKind
	text string // the literal text, or the variable or header name
}

// parseWriteOut splits a --write-out format into tokens.
func parseWriteOut(format string) []woToken {
	var out []woToken
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, woToken{kind: woText, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(format); {
		c := format[i]
		switch {
		case c == '%' && strings.HasPrefix(format[i:], "%%"):
			lit.WriteByte('%')
			i += 2
		case c == '%' && strings.HasPrefix(format[i:], "%{"):
			end := strings.IndexByte(format[i+2:], '}')
			if end < 0 {
				lit.WriteString("%{")
				i += 2
				continue
			}
			flush()
			out = append(out, woToken{kind: woVar, text: format[i+2 : i+2+end]})
			i += 2 + end + 1
		case c == '%' && strings.HasPrefix(format[i:], "%header{"):
			end := strings.IndexByte(format[i+8:], '}')
			if end < 0 {
				lit.WriteString("%header{")
				i += 8
				continue
			}
			flush()
			out = append(out, woToken{kind: woHeader, text: format[i+8 : i+8+end]})
			i += 8 + end + 1
		case c == '\\' && i+1 < len(format):
			switch format[i+1] {
			case 'n':
				lit.WriteByte('\n')
			case 'r':
				lit.WriteByte('\r')
			case 't':
				lit.WriteByte('\t')
			default:
				lit.WriteString(format[i : i+2])
			}
			i += 2
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return out
}

// woValue is a variable's value: a number (printed as is, and unquoted in
// %{json}) or a string.
type woValue struct {
	s    string
	json string // a number's JSON form; "" for a string
}

func woStr(s string) woValue { return woValue{s: s} }
func woInt(n int64) woValue {
	s := strconv.FormatInt(n, 10)
	return woValue{s: s, json: s}
}
func woSecs(d time.Duration) woValue {
	s := fmt.Sprintf("%.6f", d.Seconds())
	return woValue{s: s, json: s}
}

// woCode is %{http_code}: three digits, "000" without an answer.
func woCode(n int) woValue { return woValue{s: fmt.Sprintf("%03d", n), json: strconv.Itoa(n)} }

func (v woValue) MarshalJSON() ([]byte, error) {
	if v.json != "" {
		return []byte(v.json), nil
	}
	return json.Marshal(v.s)
}

// woRender writes tokens with vars to stdout and stderr; unknown lists
// the variables it does not know, in order.
func woRender(tokens []woToken, vars map[string]woValue, header http.Header, stdout, stderr io.Writer) (unknown []string) {
	w := stdout
	for _, t := range tokens {
		switch t.kind {
		case woText:
			io.WriteString(w, t.text)
		case woHeader:
			if header != nil {
				io.WriteString(w, termSafe(strings.Join(header.Values(t.text), ", ")))
			}
		case woVar:
			switch t.text {
			case "stdout":
				w = stdout
			case "stderr":
				w = stderr
			case "json":
				writeWOJSON(w, vars)
			default:
				v, ok := vars[t.text]
				if !ok {
					unknown = append(unknown, t.text)
					continue
				}
				io.WriteString(w, termSafe(v.s))
			}
		}
	}
	return unknown
}

// writeWOJSON writes vars as one JSON object on one line, keys sorted.
func writeWOJSON(w io.Writer, vars map[string]woValue) {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := vars[k].MarshalJSON()
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	w.Write(jsonSafe(b.Bytes()))
}

// writeOut prints -w after the transfer; err is how the transfer ended.
func (r *getRun) writeOut(err error) error {
	format := r.g.writeOut
	if strings.HasPrefix(format, "@") {
		var data []byte
		var rerr error
		if format == "@-" {
			data, rerr = io.ReadAll(r.e.stdin)
		} else {
			data, rerr = os.ReadFile(format[1:])
		}
		if rerr != nil {
			return &exitError{code: exitReadFile, err: fmt.Errorf("-w %s: %w", format, rerr)}
		}
		format = string(data)
	}
	var header http.Header
	if r.resp != nil {
		header = r.resp.Header
	}
	unknown := woRender(parseWriteOut(format), r.woVars(err), header, r.e.stdout, r.e.stderr)
	if !r.g.silent {
		for _, u := range unknown {
			r.e.warn(fmt.Sprintf("unknown --write-out variable: '%s'", u))
		}
	}
	return nil
}

// woVars are curl's variables that make sense here, for this run.
func (r *getRun) woVars(err error) map[string]woValue {
	var tr transfer
	if r.tracer != nil {
		tr = r.tracer.transfer()
	}
	total := time.Duration(0)
	if !tr.start.IsZero() {
		total = time.Since(tr.start)
	}
	v := woTimes(tr, total)
	for k, x := range map[string]woValue{
		"http_code": woCode(0), "response_code": woCode(0), "http_version": woStr("0"),
		"num_redirects": woInt(int64(max(tr.hops-1, 0))),
		"exitcode":      woInt(0), "errormsg": woStr(""),
		"url": woStr(""), "url_effective": woStr(""), "content_type": woStr(""),
		"remote_ip": woStr(""), "remote_port": woStr(""), "local_ip": woStr(""), "local_port": woStr(""),
		"ssl_verify_result": woInt(0), "size_download": woInt(0), "speed_download": woInt(0),
		"redirect_url": woStr(""), "filename_effective": woStr(""), "method": woStr(""), "scheme": woStr(""),
		"httptrust_version": woStr(version()),
	} {
		v[k] = x
	}
	if r.u != nil {
		v["url"], v["url_effective"] = woStr(r.u.Redacted()), woStr(r.u.Redacted())
		v["scheme"] = woStr(r.u.Scheme)
	}
	if r.g.output != "" && r.g.output != "-" {
		v["filename_effective"] = woStr(r.g.output)
	}
	woAddr(v, "remote_ip", "remote_port", tr.remote)
	woAddr(v, "local_ip", "local_port", tr.local)
	if resp := r.resp; resp != nil {
		v["http_code"], v["response_code"] = woCode(resp.StatusCode), woCode(resp.StatusCode)
		v["http_version"] = woStr(httpVersion(resp))
		v["content_type"] = woStr(resp.Header.Get("Content-Type"))
		v["url_effective"] = woStr(resp.Request.URL.Redacted())
		v["method"], v["scheme"] = woStr(resp.Request.Method), woStr(resp.Request.URL.Scheme)
		if loc, lerr := resp.Location(); lerr == nil && resp.StatusCode >= 300 && resp.StatusCode < 400 {
			v["redirect_url"] = woStr(loc.Redacted())
		}
	}
	if r.body != nil {
		v["size_download"] = woInt(r.body.n)
		if total > 0 {
			v["speed_download"] = woInt(int64(float64(r.body.n) / total.Seconds()))
		}
	}
	if err != nil {
		v["exitcode"] = woInt(int64(exitCode(err, false)))
		v["errormsg"] = woStr(errorMessage(err))
		if isRefusal(err) {
			v["ssl_verify_result"] = woInt(1)
		}
	}
	return v
}

// woTimes are the time_ variables: seconds from the start of the first
// request to each step of the last hop (0 for a step it did not take).
func woTimes(tr transfer, total time.Duration) map[string]woValue {
	rel := func(t time.Time) time.Duration {
		if t.IsZero() || tr.start.IsZero() {
			return 0
		}
		return t.Sub(tr.start)
	}
	lookup := rel(tr.dns)
	if tr.dns.IsZero() && !tr.connect.IsZero() {
		lookup = rel(tr.hopStart) // an IP address, or --resolve: no lookup
	}
	var redirect time.Duration
	if tr.hops > 1 {
		redirect = rel(tr.hopStart)
	}
	return map[string]woValue{
		"time_namelookup": woSecs(lookup), "time_connect": woSecs(rel(tr.connect)),
		"time_appconnect": woSecs(rel(tr.tls)), "time_pretransfer": woSecs(rel(tr.got)),
		"time_starttransfer": woSecs(rel(tr.firstByte)), "time_total": woSecs(total),
		"time_redirect": woSecs(redirect),
	}
}

// woAddr sets the IP and port variables from a.
func woAddr(v map[string]woValue, ip, port string, a net.Addr) {
	if a == nil {
		return
	}
	if h, p, err := net.SplitHostPort(a.String()); err == nil {
		v[ip], v[port] = woStr(h), woStr(p)
	}
}

// httpVersion is curl's %{http_version}: "1.1", "2".
func httpVersion(resp *http.Response) string {
	if resp.ProtoMajor >= 2 {
		return strconv.Itoa(resp.ProtoMajor)
	}
	return fmt.Sprintf("%d.%d", resp.ProtoMajor, resp.ProtoMinor)
}

// isRefusal reports whether err is a server certificate that did not
// verify (curl's ssl_verify_result is then not 0).
func isRefusal(err error) bool {
	switch exitCode(err, false) {
	case exitVerify, exitPin:
		return true
	}
	var ve *httptrust.VerifyError
	return errors.As(err, &ve) && ve.Reason == httptrust.ReasonFirstUseRefused
}

// errorMessage is err as its error line says it, without the prefix.
func errorMessage(err error) string {
	var ve *httptrust.VerifyError
	if errors.As(err, &ve) && ve.Port != "" {
		msg := ve.URL() + ": " + ve.Reason.String()
		if ve.Detail != "" {
			msg += ": " + ve.Detail
		}
		return msg
	}
	return strings.TrimPrefix(err.Error(), "httptrust: ")
}
