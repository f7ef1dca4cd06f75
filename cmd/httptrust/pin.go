package main

import (
	"github.com/httptrust/httptrust/certs"
	"github.com/spf13/cobra"
)

const pinExamples = `  httptrust pin api.pem
  httptrust pin https://api.example.com/
  httptrust get --pin "$(httptrust pin api.pem | head -1 | cut -d' ' -f1)" https://api.example.com/`

// pinLine is one certificate's pin; --json prints a list of them.
type pinLine struct {
	Pin     string `json:"pin"`
	Subject string `json:"subject"`
	SHA256  string `json:"sha256"`
}

func (e *env) pinCmd() *cobra.Command {
	var pf probeFlags
	var pw passwordFlags
	cmd := &cobra.Command{
		Use:   "pin [flags] FILE|URL",
		Short: "Print the SPKI pin of every certificate of a file or a server's chain",
		Long: `Print one line per certificate: its SPKI pin (sha256/<base64>, the form
OkHttp prints and every httptrust command accepts) and its subject. Use a pin
with httptrust get --pin or in a rule's pins; pin a backup key too.

For a URL, the pins come from the chain the server presents: compare them
with a source you trust before relying on them.`,
		Example: pinExamples,
		Args:    exactArgs(1, "pin needs one FILE or URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			chain, _, err := e.source(cmd.Context(), args[0], &pf, &pw, false)
			if err != nil {
				return err
			}
			lines := make([]pinLine, 0, len(chain))
			for _, c := range chain {
				lines = append(lines, pinLine{Pin: certs.SPKIPin(c).String(), Subject: c.Subject.String(), SHA256: certs.CertFingerprint(c).String()})
			}
			if e.json {
				return writeJSON(e.stdout, lines)
			}
			for _, l := range lines {
				printf(e.stdout, "%s %s\n", l.Pin, l.Subject)
			}
			return nil
		},
	}
	pf.register(cmd.Flags())
	pw.register(cmd.Flags())
	return cmd
}
