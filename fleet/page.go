package fleet

import (
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

// pageCert is one certificate as the page shows it.
type pageCert struct {
	Subject, Issuer, SHA256, NotAfter string
}

// pageRow is one probe as the page shows it. Every string from a
// certificate or a server is made safe (SafeText) and then escaped by
// html/template.
type pageRow struct {
	Time, Module, Target, Result, Reason, Detail string
	Pattern, Rule, Duration, FirstUse, Pins      string
	Chain                                        []pageCert
	Remedy                                       string
	Commands                                     []string
	Debug                                        string
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{"safe": SafeText}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>httptrust exporter</title>
<style>
body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em;vertical-align:top;text-align:left}
.success{color:#060}.refused,.failed{color:#a00}code{font-size:90%}
</style></head><body>
<h1>httptrust exporter</h1>
<p><a href="/metrics">Metrics</a> · probes: <code>/probe?target=https://host/&amp;module=https</code> or <code>module=tls</code>; add <code>&amp;debug=true</code> for the log.</p>
<h2>Recent probes</h2>
{{if not .}}<p>No probe yet.</p>{{else}}
<table><tr><th>time</th><th>module</th><th>target</th><th>result</th><th>deciding rule</th><th>chain</th><th>remedy</th></tr>
{{range .}}<tr>
<td>{{.Time}}<br>{{.Duration}}</td><td>{{.Module}}</td><td>{{safe .Target}}<br><a href="{{.Debug}}">log</a></td>
<td class="{{.Result}}">{{.Result}}{{if .Reason}}<br><b>{{.Reason}}</b>{{end}}{{if .Detail}}<br>{{safe .Detail}}{{end}}{{if .FirstUse}}<br>first use: {{.FirstUse}}{{end}}{{if .Pins}}<br>pins: {{.Pins}}{{end}}</td>
<td>{{if .Rule}}{{safe .Pattern}}<br><code>{{safe .Rule}}</code>{{end}}</td>
<td>{{range $i, $c := .Chain}}{{$i}}: {{safe $c.Subject}}<br>&nbsp;&nbsp;issuer {{safe $c.Issuer}}<br>&nbsp;&nbsp;not after {{$c.NotAfter}}<br>&nbsp;&nbsp;<code>sha256 {{$c.SHA256}}</code><br>{{end}}</td>
<td>{{safe .Remedy}}{{range .Commands}}<br><code>{{safe .}}</code>{{end}}</td>
</tr>{{end}}</table>{{end}}
</body></html>
`))

func (e *Exporter) servePage(w http.ResponseWriter, _ *http.Request) {
	var rows []pageRow
	for _, r := range e.recent() {
		rows = append(rows, newPageRow(r, e.prober.RemedyLines))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	pageTmpl.Execute(w, rows)
}

// newPageRow is r as the page shows it; lines renders its remedy's
// commands (Prober.RemedyLines).
func newPageRow(r *Result, lines func(httptrust.Remedy) []string) pageRow {
	row := pageRow{Time: r.Start.UTC().Format(time.RFC3339), Module: string(r.Module), Target: r.Target.Raw,
		Reason: r.Reason, Pattern: r.RulePattern(), Rule: r.RuleWhere(), Duration: r.Duration.Round(time.Millisecond).String(),
		FirstUse: string(r.FirstUse)}
	switch {
	case r.OK:
		row.Result = "success"
	case r.Refusal != nil:
		row.Result = "refused"
	default:
		row.Result = "failed"
	}
	if r.Err != nil {
		row.Detail = r.Err.Error()
	}
	if r.Pins != nil {
		row.Pins = r.Pins.State.String()
		if r.Pins.Matched != nil && !*r.Pins.Matched {
			row.Pins += ", no pin matched"
		}
	}
	for _, c := range r.Chain {
		row.Chain = append(row.Chain, pageCert{Subject: c.Subject.String(), Issuer: c.Issuer.String(),
			SHA256: certs.CertFingerprint(c).String(), NotAfter: c.NotAfter.UTC().Format(time.RFC3339)})
	}
	rem := r.Remedy()
	row.Remedy, row.Commands = rem.Text, lines(rem)
	if r.FirstUse == FirstUseFirstContact {
		row.Remedy = "compare the server's SHA-256 with the one its operator shows, then record its key (httptrust fetch URL), or let the prober record first contacts (--record-first-use)"
	}
	row.Debug = "/probe?" + url.Values{"target": {r.Target.Raw}, "module": {string(r.Module)}, "debug": {"true"}}.Encode()
	return row
}
