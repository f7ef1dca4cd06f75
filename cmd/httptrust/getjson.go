package main

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

// maxJSONBody is the largest body get --json holds in memory; a larger
// one is an error (exit 63, as curl's --max-filesize), and -o FILE takes it.
const maxJSONBody = 16 << 20

// responseView is a response as get --json prints it: one object, the
// body in it (text, or base64 when it is not UTF-8 text) unless -o FILE
// took it.
type responseView struct {
	URL     string              `json:"url"` // the last hop's, its password hidden
	Status  int                 `json:"status"`
	Proto   string              `json:"proto"`
	Headers map[string][]string `json:"headers"` // canonical names
	// Body is the body as text: valid UTF-8 without a NUL byte.
	Body *string `json:"body,omitempty"`
	// BodyBase64 is any other body, in standard base64.
	BodyBase64 *string `json:"body_base64,omitempty"`
	BodyBytes  int64   `json:"body_bytes"`
	// Output is -o FILE, which holds the body instead.
	Output string `json:"output,omitempty"`
	// TLS is the last hop's connection; absent for plain http://.
	TLS *tlsView `json:"tls,omitempty"`
	// Redirects are the hops -L followed, in order.
	Redirects       []redirectView `json:"redirects"`
	DurationSeconds float64        `json:"duration_seconds"`
}

// tlsView is a verified connection: its version and cipher suite, the
// chain the server presented (leaf first) and the rule that trusted it.
type tlsView struct {
	Version string       `json:"version"`
	Cipher  string       `json:"cipher"`
	ALPN    string       `json:"alpn,omitempty"`
	Chain   []certs.Info `json:"chain"`
	Rule    string       `json:"rule"`
}

// redirectView is one redirect followed: the URL that answered, its
// status, and where it sent the request.
type redirectView struct {
	URL      string `json:"url"`
	Status   int    `json:"status"`
	Location string `json:"location"`
}

// writeJSONResponse reads the body and prints the response as one JSON
// object; with -o FILE the body goes to the file instead.
func (r *getRun) writeJSONResponse(resp *http.Response) error {
	e, g := r.e, r.g
	v := responseView{URL: resp.Request.URL.Redacted(), Status: resp.StatusCode, Proto: resp.Proto,
		Headers: map[string][]string(resp.Header), Redirects: redirectsOf(resp)}
	if v.Headers == nil {
		v.Headers = map[string][]string{}
	}
	if resp.TLS != nil {
		v.TLS = r.viewTLS(resp)
	}
	var bar *progress
	if !g.silent && e.terminal(e.stderr) {
		bar = newProgress(e.stderr, resp.ContentLength, e.now, e.getenv("TERM") != "dumb")
		defer bar.finish()
	}
	var err error
	if g.output != "" && g.output != "-" {
		v.Output = g.output
		v.BodyBytes, err = r.bodyToFile(resp, bar)
	} else {
		err = r.bodyInto(&v, resp, bar)
	}
	if err != nil {
		return err
	}
	if start := r.tracer.transfer().start; !start.IsZero() {
		v.DurationSeconds = time.Since(start).Seconds()
	}
	return writeJSON(e.stdout, v)
}

// bodyInto reads the body into v, up to maxJSONBody.
func (r *getRun) bodyInto(v *responseView, resp *http.Response, bar *progress) error {
	var buf bytes.Buffer
	var dst io.Writer = &buf
	if bar != nil {
		dst = io.MultiWriter(&buf, bar)
	}
	n, err := io.Copy(dst, io.LimitReader(r.body, maxJSONBody+1))
	if err != nil {
		return r.bodyError(resp, err)
	}
	if n > maxJSONBody {
		return &exitError{code: exitTooLarge, err: fmt.Errorf("%s: the body is larger than %d MiB, the most --json holds", resp.Request.URL.Redacted(), maxJSONBody>>20),
			hints: []string{"write the body to a file with -o FILE; the JSON then names the file instead of holding the body"}}
	}
	v.BodyBytes = n
	if b := buf.Bytes(); utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		s := string(b)
		v.Body = &s
	} else {
		s := base64.StdEncoding.EncodeToString(b)
		v.BodyBase64 = &s
	}
	return nil
}

// bodyToFile writes the body to -o FILE.
func (r *getRun) bodyToFile(resp *http.Response, bar *progress) (int64, error) {
	f, err := r.e.createOutput(r.g)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var dst io.Writer = f
	if bar != nil {
		dst = io.MultiWriter(f, bar)
	}
	n, err := io.Copy(dst, r.body)
	if err != nil {
		return n, r.bodyError(resp, err)
	}
	if err := f.Close(); err != nil {
		return n, &exitError{code: exitWrite, err: fmt.Errorf("-o: %w", err)}
	}
	return n, nil
}

// bodyError is a failure while reading the body, as writeResponse says it.
func (r *getRun) bodyError(resp *http.Response, err error) error {
	if isTimeout(err) {
		return err
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return &exitError{code: exitRecv, err: fmt.Errorf("%s: reading the body: %w", resp.Request.URL.Redacted(), err)}
}

// viewTLS describes the last hop's verified connection.
func (r *getRun) viewTLS(resp *http.Response) *tlsView {
	cs := resp.TLS
	v := &tlsView{Version: tls.VersionName(cs.Version), Cipher: tls.CipherSuiteName(cs.CipherSuite), ALPN: cs.NegotiatedProtocol,
		Chain: viewChain(cs.PeerCertificates, r.e.now()), Rule: "no rule (defaults: system roots)"}
	if host, port, err := urlHostPort(resp.Request.URL); err == nil && r.tracer.policy != nil {
		if eff, err := r.tracer.policy.Lookup(net.JoinHostPort(host, port)); err == nil {
			v.Rule = eff.String()
		}
	}
	return v
}

// redirectsOf lists the redirects that led to resp, first to last.
func redirectsOf(resp *http.Response) []redirectView {
	out := []redirectView{}
	for req := resp.Request; req != nil && req.Response != nil; req = req.Response.Request {
		prev := req.Response
		out = append(out, redirectView{URL: prev.Request.URL.Redacted(), Status: prev.StatusCode, Location: req.URL.Redacted()})
	}
	slices.Reverse(out)
	return out
}

// getArgs checks get's arguments: one URL. With --json, two arguments of
// which one looks like JSON are curl's --json DATA, which httptrust does
// not take: the usage error says how to send it.
func (e *env) getArgs(cmd *cobra.Command, args []string) error {
	if e.json && len(args) == 2 {
		for i, a := range args {
			if looksLikeJSON(a) && !looksLikeJSON(args[1-i]) {
				return e.curlJSON(cmd, a, args[1-i])
			}
		}
	}
	return exactArgs(1, "get needs one URL")(cmd, args)
}

// looksLikeJSON reports whether arg reads as curl's --json DATA: a JSON
// object, list, string, number, true, false or null, or @FILE or - (stdin).
func looksLikeJSON(arg string) bool {
	s := strings.TrimSpace(arg)
	switch {
	case s == "":
		return false
	case s == "-", s == "true", s == "false", s == "null":
		return true
	case strings.ContainsRune(`{["@`, rune(s[0])):
		return true
	}
	return jsonNumber.MatchString(s)
}

// jsonNumber is a number as JSON writes it (not an address: 127.0.0.1:8443).
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

// curlJSON is the usage error for curl's --json DATA: httptrust's --json
// prints the output as JSON. The command that sends DATA as curl would is
// this one with -d and curl's two headers, the user's flags kept (but no
// password, and no credential header's value).
func (e *env) curlJSON(cmd *cobra.Command, data, rawURL string) error {
	var args []string
	cmd.Flags().Visit(func(f *pflag.Flag) { args = append(args, flagArgs(f)...) })
	if data == "-" {
		data = "@-"
	}
	if !httptrust.IsPlaceholder(rawURL) {
		rawURL = redactURL(rawURL)
	}
	args = append(args, "-d", data, "-H", "Content-Type: application/json", "-H", "Accept: application/json", rawURL)
	e.hintCtx = hintContext{store: e.storeDir}
	return &exitError{code: exitUsage,
		err: fmt.Errorf("get: --json prints httptrust's output as JSON; it does not send %q as curl's --json DATA does", data),
		hints: []string{
			"to send JSON as curl's --json does, give it with -d and curl's two headers:",
			"  " + e.commandLine(httptrust.Command{Name: "get", Args: args}),
			"add --json to that line to have the response printed as JSON",
		}}
}

// curlJSONFlag is the usage error for --json=DATA (httptrust's --json
// takes no value).
func (e *env) curlJSONFlag(cmd *cobra.Command, err error) error {
	var iv *pflag.InvalidValueError
	if cmd.Name() != "get" || !errors.As(err, &iv) || iv.GetFlag().Name != "json" {
		return nil
	}
	// --json=DATA stopped the parse there: the flags and the URL after it
	// were never read. Parse the run's arguments again without it, with a
	// command of its own, so that the printed line carries every flag the
	// user gave and the URL as get reads it.
	if i := slices.Index(e.args, "--json="+iv.GetValue()); i >= 0 {
		rest := slices.Concat(e.args[:i], e.args[i+1:])
		again := &env{stdin: e.stdin, stdout: io.Discard, stderr: io.Discard, getenv: e.getenv, terminal: e.terminal, now: e.now}
		root := again.rootCmd()
		if c, flags, err := root.Find(rest); err == nil && c.Name() == "get" {
			if err := c.ParseFlags(flags); err != nil {
				// Another flag is wrong too: say that one, and print no
				// line that would run without the flags after it.
				return usageErr(err)
			}
			if args := c.Flags().Args(); len(args) == 1 {
				e.storeDir = again.storeDir
				return e.curlJSON(c, iv.GetValue(), args[0])
			}
		}
	}
	u := "<URL>"
	if rest := cmd.Flags().Args(); len(rest) == 1 {
		u = rest[0]
	}
	return e.curlJSON(cmd, iv.GetValue(), u)
}

// credentialHeaders are the headers whose value a printed command never
// repeats.
var credentialHeaders = []string{"authorization", "proxy-authorization", "cookie"}

// flagArgs renders a flag the user set as arguments of a printed
// command: --store (commandLine adds it), --json and --pass are left out,
// a password in -u or --cert is dropped (asked for on a terminal), and
// credential headers keep their name only.
func flagArgs(f *pflag.Flag) []string {
	name := "--" + f.Name
	switch f.Name {
	case "json", "store", "pass":
		return nil
	}
	vals := []string{f.Value.String()}
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		vals = sv.GetSlice()
	}
	if _, ok := f.Value.(setFlag); ok && f.Value.String() != "true" {
		return nil // another --tlsv1.x given after it won
	}
	if f.Value.Type() == "bool" {
		if vals[0] == "true" {
			return []string{name}
		}
		return []string{name + "=" + vals[0]}
	}
	var out []string
	for _, v := range vals {
		switch f.Name {
		case "user":
			v, _, _ = strings.Cut(v, ":")
		case "cert":
			if c := splitCertArg(v); c.password != "" {
				v = strings.NewReplacer(`\`, `\\`, ":", `\:`).Replace(c.file)
			}
		case "header":
			if n, _, ok := strings.Cut(v, ":"); ok && slices.Contains(credentialHeaders, strings.ToLower(strings.TrimSpace(n))) {
				v = strings.TrimSpace(n) + ": <as given>"
			}
		case "proxy":
			v = redactURL(v)
		}
		out = append(out, name, v)
	}
	return out
}
