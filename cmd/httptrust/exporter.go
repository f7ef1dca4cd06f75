package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/fleet"
)

const exporterLong = `Serve blackbox_exporter's probe protocol for Prometheus, judged by the
store's policy: every target by the rule for its own host.

  GET /probe?target=T&module=M   one probe; its metrics in the Prometheus text format
                                 (&debug=true: the probe's log instead)
  GET /metrics                   the exporter's own metrics (go_*, process_*, store reloads)
  GET /                          the recent probes: result, reason, deciding rule, chain, remedy

Modules: https (a GET of the URL through the policy's transport, 2xx
wanted; the default for an https:// target) and tls (a handshake only; the
default for host:port and tls://host:port). Each probe is a fresh
connection and a full handshake. The probe's timeout is Prometheus's
scrape timeout less --timeout-offset, or --timeout when a request says
none.

blackbox_exporter's metric names are kept where they mean the same
(probe_success, probe_ssl_earliest_cert_expiry, probe_ssl_last_chain_info,
probe_http_status_code, ...), and a refused certificate still reports its
chain; httptrust_probe_refused{reason} says why, with a fixed code.

The store is reloaded when its files change; a store that then fails to
load keeps the last good policy (httptrust_exporter_store_last_reload_successful 0).
First contacts under tofu rules are not recorded unless --record-first-use.

Anyone who reaches the exporter can make it connect anywhere it can reach:
listen on loopback or a network only Prometheus reaches.`

const exporterExamples = `  httptrust exporter --listen 127.0.0.1:9220
  curl 'http://127.0.0.1:9220/probe?target=https://nas.local:5001/&module=https'
  curl 'http://127.0.0.1:9220/probe?target=db.internal:5432&module=tls&debug=true'`

type exporterFlags struct {
	listen        string
	timeout       float64
	timeoutOffset float64
	history       int
	record        bool
	resolve       []string
}

func (e *env) exporterCmd() *cobra.Command {
	f := &exporterFlags{}
	cmd := &cobra.Command{
		Use:     "exporter --listen ADDR [flags]",
		Short:   "Serve blackbox_exporter's /probe protocol for Prometheus, judged by the trust policy",
		Long:    exporterLong,
		Example: exporterExamples,
		Args:    exactArgs(0, "exporter takes no arguments"),
		RunE:    func(cmd *cobra.Command, args []string) error { return e.exporter(cmd.Context(), f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "", "listen on `ADDR` (host:port; port 0 picks one)")
	fl.Float64Var(&f.timeout, "timeout", fleet.DefaultTimeout.Seconds(), "bound a probe to `SECONDS` when the request gives no scrape timeout")
	fl.Float64Var(&f.timeoutOffset, "timeout-offset", fleet.DefaultTimeoutOffset.Seconds(), "take `SECONDS` off Prometheus's scrape timeout")
	fl.IntVar(&f.history, "history", fleet.DefaultHistory, "keep the last `N` probes for the page")
	fl.BoolVar(&f.record, "record-first-use", false, "record the key of a first contact with a host under a tofu rule (otherwise nothing is written)")
	fl.StringArrayVar(&f.resolve, "resolve", nil, "connect to `HOST:PORT:ADDR` for HOST:PORT; every decision is still about HOST")
	return cmd
}

func (e *env) exporter(ctx context.Context, f *exporterFlags) error {
	switch {
	case f.listen == "":
		return &exitError{code: exitUsage, err: errors.New("--listen is required"), hints: []string{"httptrust exporter --listen 127.0.0.1:9220"}}
	case f.timeout <= 0 || f.timeoutOffset < 0 || f.history < 1:
		return usagef("--timeout wants seconds above 0, --timeout-offset 0 or more, --history 1 or more")
	}
	rm, err := parseResolve(f.resolve)
	if err != nil {
		return err
	}
	st, err := e.store()
	if err != nil {
		return err
	}
	if fi, err := os.Stat(st.Dir); err != nil || !fi.IsDir() {
		return &exitError{code: exitCAFile, err: fmt.Errorf("the store %s is not a folder: the exporter watches it for changes", st.Dir),
			hints: []string{"create it (mkdir -p " + st.Dir + ") or give another with --store DIR"}}
	}
	pr := &fleet.Prober{Dial: rm.dialFunc(&net.Dialer{}), Timeout: 10 * time.Minute, UserAgent: "httptrust-exporter/" + version()}
	if f.record {
		pr.Record = st.KnownHosts()
	}
	// The page and the probe log print a remedy's commands as every
	// command prints them: with this exporter's --resolve and --store, so
	// that they reach the server that was probed. hintCtx is set once,
	// before any probe, and only read afterwards.
	e.hintCtx = hintContext{resolve: f.resolve, store: e.storeDir}
	pr.CommandLines = e.commandSequence
	exp := fleet.NewExporter(pr, f.history, version())
	exp.Timeout, exp.TimeoutOffset = seconds(f.timeout), seconds(f.timeoutOffset)
	ro := &httptrust.ReloadOptions{
		OnReload: func(*httptrust.Policy) {
			exp.Loaded(nil, time.Now())
			e.note("reloaded the store " + st.Dir)
		},
		OnError: func(err error) {
			exp.Loaded(err, time.Now())
			e.warn(fmt.Sprintf("the store did not reload; the last good policy stays in effect: %v", err))
		},
	}
	rl, err := httptrust.WatchDir(st.Dir, fleet.PolicyOptions(httptrust.Options{}, st.KnownHosts(), f.record), ro)
	if err != nil {
		return &exitError{code: exitCAFile, err: err,
			hints: []string{"fix or remove the file named above; the store is " + st.Dir + " (httptrust never loads part of a store)"}}
	}
	defer rl.Close()
	exp.Loaded(nil, time.Now())
	pr.Policy, exp.Reload = rl.Policy, rl.Reload
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("--listen %s: %w", f.listen, err)}
	}
	srv := &http.Server{Handler: exp, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	e.note(fmt.Sprintf("exporter listening on http://%s/ (store %s)", ln.Addr(), st.Dir))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		return nil
	}
}
