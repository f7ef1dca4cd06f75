package main

import (
	"fmt"
	"slices"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/spf13/cobra"
)

const pinExamples = `  httptrust pin api.pem
  httptrust pin https://api.example.com/
  httptrust pin backup.key                     the backup pin: the key of the next certificate
  httptrust pin backup.csr                     or its certificate request (or its public key)
  httptrust pin postgres://db.internal:5432    any TLS service: HOST:PORT, tls://, smtp://, ...
  httptrust get --pin "$(httptrust pin api.pem | head -1 | cut -d' ' -f1)" https://api.example.com/`

// pinView is what pin --json prints: every pin, and what of the file
// could not be read beside the rest.
type pinView struct {
	Pins  []pinLine `json:"pins"`
	Notes []string  `json:"notes,omitempty"`
}

// pinLine is one certificate's or key's pin.
type pinLine struct {
	Pin string `json:"pin"`
	// Kind is "certificate", "private key", "public key" or
	// "certificate request".
	Kind    string `json:"kind"`
	Subject string `json:"subject,omitempty"`
	Key     string `json:"key"`
	SHA256  string `json:"sha256,omitempty"`
}

func (e *env) pinCmd() *cobra.Command {
	var pf probeFlags
	var pw passwordFlags
	cmd := &cobra.Command{
		Use:   "pin [flags] FILE|URL|HOST:PORT",
		Short: "Print the SPKI pin of every certificate and key of a file, or of a server's chain",
		Long: `Print one line per certificate and key: its SPKI pin (sha256/<base64>, the form
OkHttp prints and every httptrust command accepts) and what it is. Use a pin
with httptrust get --pin or in a rule's pins.

Pin a backup key too, so that a key rotation does not lock clients out: the
pin of a key that no certificate has yet is the pin its certificate will
have. pin reads private keys (PKCS#1, PKCS#8, SEC1, Ed25519; encrypted ones
with --password-env, --password-file or a password typed at the terminal),
public keys (PEM or DER) and certificate requests (PEM or DER). It prints
only pins: key material never.

  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out backup.key
  httptrust pin backup.key          (keep backup.key offline)

For a server (https://, HOST:PORT, tls://, smtp://, imap://, ldap://,
postgres://, ...: see httptrust inspect), the chain it presents is judged
by the store first. Trusted: its pins are those of the verified chain.
Refused by a rule of the host's own (another CA, a pin mismatch, a changed
certificate: it may be an attack): no pin is printed (exit 60 or 90), get
it out of band. A host the store has no rule for: the pins are printed
with a warning; compare them with a source you trust before relying on
them.`,
		Example: pinExamples,
		Args:    exactArgs(1, "pin needs one FILE, URL or HOST:PORT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.source(cmd.Context(), "pin", args[0], &pf, &pw, true)
			if err != nil {
				return err
			}
			if err := e.pinServerVerdict(c, &pf); err != nil {
				return err
			}
			lines := make([]pinLine, 0, len(c.chain)+len(c.keys))
			for _, cert := range c.chain {
				lines = append(lines, pinLine{Pin: certs.SPKIPin(cert).String(), Kind: "certificate", Subject: cert.Subject.String(),
					Key: certs.KeyDescription(cert.PublicKey), SHA256: certs.CertFingerprint(cert).String()})
			}
			for _, k := range c.keys {
				l := pinLine{Pin: k.Pin().String(), Kind: k.Source.String(), Key: certs.KeyDescription(k.Key)}
				if k.Request != nil {
					l.Subject = k.Request.Subject.String()
				}
				lines = append(lines, l)
			}
			if !e.json {
				for _, n := range c.view.Notes {
					e.warn(n)
				}
			}
			if e.json {
				return writeJSON(e.stdout, pinView{Pins: lines, Notes: c.view.Notes})
			}
			for _, l := range lines {
				// A subject is cut to the line: one wrapped by the
				// terminal could start a forged pin line.
				room := viewWidth - len(l.Pin) - 1
				switch {
				case l.Kind == "certificate":
					printf(e.stdout, "%s %s\n", l.Pin, fit(l.Subject, room))
				case l.Subject != "":
					printf(e.stdout, "%s %s %s (%s)\n", l.Pin, l.Kind, fit(l.Subject, max(room-len(l.Kind)-len(l.Key)-4, 20)), l.Key)
				default:
					printf(e.stdout, "%s %s (%s)\n", l.Pin, l.Kind, l.Key)
				}
			}
			return nil
		},
	}
	pf.register(cmd.Flags())
	pw.register(cmd.Flags())
	return cmd
}

// diagnoseLine is the diagnose command for source, with the run's
// --resolve and --store.
func (e *env) diagnoseLine(source string, pf *probeFlags) string {
	e.hintCtx = hintContext{resolve: pf.resolve, store: e.storeDir}
	return e.commandLine(httptrust.Command{Name: "diagnose", Args: []string{source}})
}

// pinServerVerdict decides what pin prints for a server, from the store's
// decision on the chain it presented. Trusted: its pins, those of the chain
// the store verified. Refused where the refusal may be an attack (the host's
// rule trusts something else: a pin mismatch, another CA, a changed
// certificate): no pin at all, since one copied from this chain into a rule
// would trust the attacker; the pins are to be had out of band. Refused by
// the defaults only (a host the store knows nothing of): the pins, with the
// warning that nothing vouches for them.
func (e *env) pinServerVerdict(c *content, pf *probeFlags) error {
	v := c.verdict
	if v == nil {
		return nil
	}
	if v.Trusted() && v.FirstUse != nil {
		// Trust on first use with nothing recorded: whoever answers now
		// would be recorded; nothing vouches for it yet.
		c.view.Notes = append(c.view.Notes, fmt.Sprintf("first contact under trust on first use (%s): nothing vouches for this chain yet; these are the pins it presented; compare them with a source you trust before relying on them", v.Effective))
		return nil
	}
	if v.Trusted() && len(v.Chains) > 0 {
		// The pins of the chain the store verified, its anchor included;
		// never a certificate the server sent beside it.
		verified := v.Chains[0]
		extra := 0
		for _, pc := range c.chain {
			if !slices.ContainsFunc(verified, pc.Equal) {
				extra++
			}
		}
		c.chain = verified
		if !e.json {
			e.note(fmt.Sprintf("the chain is trusted by %s: these are the pins of the chain it verified, up to the certificate that vouched for it", v.Effective))
		}
		if extra > 0 {
			c.view.Notes = append(c.view.Notes, fmt.Sprintf("the server also sent %s outside the verified chain: not listed", plural(extra, "certificate")))
		}
		return nil
	}
	if v.Trusted() {
		return nil
	}
	if v.Err != nil && v.Err.MayBeAttack() {
		return &exitError{code: reasonExit(v.Err),
			err: fmt.Errorf("%s: %s refuses the chain the server presented (%s): this may be an attack, so none of its pins is printed", c.view.Source, v.Effective, v.Err.Reason),
			hints: []string{
				"get the pin out of band: from the server's operator, or from a certificate, key or request you have (httptrust pin FILE)",
				"to see why the chain is refused: " + e.diagnoseLine(c.view.Source, pf),
			}}
	}
	why := "not trusted"
	if v.Err != nil {
		why = v.Err.Reason.String()
	}
	c.view.Notes = append(c.view.Notes, fmt.Sprintf("nothing vouches for this chain (%s; %s): these are the pins it presented; compare them with a source you trust before relying on them", why, v.Effective))
	return nil
}
