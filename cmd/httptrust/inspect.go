package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"

	"github.com/httptrust/httptrust/certs"
	"github.com/spf13/cobra"
)

const inspectExamples = `  httptrust inspect printer.cer                 a certificate in any format: PEM, DER, PKCS#7
  httptrust inspect --password-env P12_PASSWORD me.p12
  httptrust inspect https://192.168.1.20/       the chain a server presents, and who trusts it
  httptrust inspect --json https://device.local:8443/`

// inspectView is what inspect prints; --json prints it as is.
type inspectView struct {
	Source       string       `json:"source"`
	Format       string       `json:"format,omitempty"`
	Certificates []certs.Info `json:"certificates"`
	Trust        *judgement   `json:"trust,omitempty"`
}

func (e *env) inspectCmd() *cobra.Command {
	var pf probeFlags
	var pw passwordFlags
	cmd := &cobra.Command{
		Use:   "inspect [flags] FILE|URL",
		Short: "Show every certificate of a file or of a server's chain, with warnings",
		Long: `Show every certificate in a file (PEM, DER, PKCS#7, PKCS#12) or in the chain a
server presents: subject, issuer, names, validity, key, signature algorithm,
SHA-256 fingerprint and SPKI pin, with warnings (expiring within 30 days,
SHA-1, RSA below 2048 bits, no SAN, CA:TRUE on a server certificate). For a
URL, also whether the store and the system roots trust it. A server is never
sent a request: the handshake is aborted once its chain is seen.

A file that holds no certificate is described block by block (exit 77).`,
		Example: inspectExamples,
		Args:    exactArgs(1, "inspect needs one FILE or URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := e.inspect(cmd.Context(), args[0], &pf, &pw)
			if err != nil {
				return err
			}
			if e.json {
				return writeJSON(e.stdout, v)
			}
			printInspect(e.stdout, v)
			return nil
		},
	}
	pf.register(cmd.Flags())
	pw.register(cmd.Flags())
	return cmd
}

// inspect reads a file or probes a URL.
func (e *env) inspect(ctx context.Context, arg string, pf *probeFlags, pw *passwordFlags) (*inspectView, error) {
	chain, v, err := e.source(ctx, arg, pf, pw, true)
	if err != nil {
		return nil, err
	}
	v.Certificates = viewChain(chain, e.now())
	return v, nil
}

// source returns the certificates of a file or a server, and the view
// with everything but the certificates filled in; judge says to check a
// server's chain against the store and the system roots.
func (e *env) source(ctx context.Context, arg string, pf *probeFlags, pw *passwordFlags, judgeTrust bool) ([]*x509.Certificate, *inspectView, error) {
	v := &inspectView{Source: arg}
	if isURL(arg) {
		v.Source = redactURL(arg)
	}
	if !isURL(arg) {
		opts, err := pw.options(e)
		if err != nil {
			return nil, nil, err
		}
		chain, format, err := readCertFile(arg, opts)
		if err != nil {
			return nil, nil, err
		}
		v.Format = format.String()
		return chain, v, nil
	}
	u, err := parseURL(arg)
	if err != nil {
		return nil, nil, err
	}
	res, err := e.probeURL(ctx, u, pf)
	if err != nil {
		return nil, nil, err
	}
	if !judgeTrust {
		return res.Chain, v, nil
	}
	_, port, _ := urlHostPort(u)
	_, p, err := e.loadPolicy(nil)
	if err != nil {
		return nil, nil, err
	}
	if v.Trust, _, err = judge(p, res, port); err != nil {
		return nil, nil, err
	}
	return res.Chain, v, nil
}

func printInspect(w io.Writer, v *inspectView) {
	what := fmt.Sprintf("%d certificate(s)", len(v.Certificates))
	if v.Format != "" {
		what += ", " + v.Format
	}
	printf(w, "%s: %s\n", v.Source, what)
	printChain(w, "  ", v.Certificates)
	if t := v.Trust; t != nil {
		printf(w, "  connection: %s, %s\n", t.TLSVersion, t.CipherSuite)
		if t.Store {
			printf(w, "  store: trusted (%s)\n", t.StoreRule)
		} else {
			printf(w, "  store: NOT trusted (%s): %s: %s\n", t.StoreRule, t.StoreReason.Code(), t.StoreDetail)
		}
		if t.System {
			printf(w, "  system roots: trusted\n")
		} else {
			printf(w, "  system roots: NOT trusted (%s)\n", t.SystemWhy.Code())
		}
	}
}
