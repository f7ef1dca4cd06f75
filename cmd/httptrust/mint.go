package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/mint"
)

const mintExamples = `  httptrust mint localhost 127.0.0.1 ::1          a dev CA (made once, reused) and a server certificate
  httptrust mint --out certs --client alice         a client certificate for mutual TLS
  httptrust mint --ca-only --out ca                  just the CA
  httptrust mint --ca-cert ca.pem --ca-key ca-key.pem api.internal`

type mintFlags struct {
	out, caCert, caKey, keyType string
	caOnly, client              bool
	days                        int
	pw                          passwordFlags
}

var keyTypes = map[string]mint.KeyType{
	"ecdsa-p256": mint.ECDSAP256, "ecdsa-p384": mint.ECDSAP384, "ed25519": mint.Ed25519,
	"rsa-2048": mint.RSA2048, "rsa-3072": mint.RSA3072, "rsa-4096": mint.RSA4096,
}

func (e *env) mintCmd() *cobra.Command {
	f := &mintFlags{}
	cmd := &cobra.Command{
		Use:   "mint [flags] NAME...",
		Short: "Make a development CA and certificates for names and IPs (keys written 0600)",
		Long: `Make a certificate authority and a server (or client) certificate for the
given DNS names and IP addresses, as mkcert does for development servers.
Without --ca-cert, the CA is DIR/httptrust-ca.pem (made on first use, then
reused). Keys are written with mode 0600 and never printed. Trust the CA
for your dev hosts only: httptrust trust add DIR/httptrust-ca.pem --host NAME.`,
		Example: mintExamples,
		RunE:    func(cmd *cobra.Command, args []string) error { return e.mint(f, args) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", ".", "write the files into `DIR`")
	fl.StringVar(&f.caCert, "ca-cert", "", "sign with the CA certificate in `FILE`")
	fl.StringVar(&f.caKey, "ca-key", "", "the CA's private key `FILE` (with --ca-cert)")
	fl.BoolVar(&f.caOnly, "ca-only", false, "make only the CA")
	fl.BoolVar(&f.client, "client", false, "make a client certificate (for mutual TLS)")
	fl.StringVar(&f.keyType, "key-type", "ecdsa-p256", "`TYPE`: ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072, rsa-4096")
	fl.IntVar(&f.days, "days", 0, "validity in `DAYS` (default 825 for a certificate, 10 years for a CA)")
	f.pw.register(fl)
	return cmd
}

// mintedFile is one certificate mint wrote; --json prints a list of them.
type mintedFile struct {
	Role    string   `json:"role"` // "ca" or "certificate"
	Cert    string   `json:"cert"`
	Key     string   `json:"key"`
	Subject string   `json:"subject"`
	Names   []string `json:"names,omitempty"`
	SHA256  string   `json:"sha256"`
	Pin     string   `json:"pin"`
	Reused  bool     `json:"reused,omitempty"`
}

func (e *env) mint(f *mintFlags, names []string) error {
	kt, ok := keyTypes[strings.ToLower(f.keyType)]
	if !ok {
		return usagef("--key-type %q: use ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072 or rsa-4096", f.keyType)
	}
	if f.caOnly != (len(names) == 0) {
		return usagef("mint needs the names (and IPs) of the certificate, or --ca-only")
	}
	if (f.caCert == "") != (f.caKey == "") {
		return usagef("--ca-cert and --ca-key go together")
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	ca, caFile, err := e.mintCA(f, kt)
	if err != nil {
		return err
	}
	files := []mintedFile{caFile}
	if !f.caOnly {
		leaf, err := f.mintLeaf(names, kt, ca)
		if err != nil {
			return err
		}
		files = append(files, leaf)
	}
	if e.json {
		return writeJSON(e.stdout, files)
	}
	for _, m := range files {
		verb := "wrote"
		if m.Reused {
			verb = "reused"
		}
		fmt.Fprintf(e.stdout, "%s %s %s (%s), key %s\n  sha256 %s\n  %s\n", verb, m.Role, m.Cert, m.Subject, m.Key, m.SHA256, m.Pin)
	}
	host := "NAME"
	if len(names) > 0 {
		host = names[0]
	}
	e.hint(fmt.Sprintf("trust the CA for your dev hosts only: httptrust trust add %s --host %s", caFile.Cert, host))
	return nil
}

// mintCA loads --ca-cert/--ca-key, or reuses or makes DIR/httptrust-ca.pem.
func (e *env) mintCA(f *mintFlags, kt mint.KeyType) (*mint.Cert, mintedFile, error) {
	certFile, keyFile := f.caCert, f.caKey
	if certFile == "" {
		certFile, keyFile = filepath.Join(f.out, "httptrust-ca.pem"), filepath.Join(f.out, "httptrust-ca-key.pem")
	}
	if _, err := os.Stat(certFile); err == nil || f.caCert != "" {
		ca, err := e.loadCA(f, certFile, keyFile)
		if err != nil {
			return nil, mintedFile{}, err
		}
		return ca, describeMinted("ca", certFile, keyFile, ca, true), nil
	}
	host, _ := os.Hostname()
	t := mint.Template{CommonName: "httptrust development CA (" + host + ")", IsCA: true, MaxPathLen: 0, KeyType: kt}
	if f.days > 0 {
		t.NotAfter = time.Now().AddDate(0, 0, f.days)
	}
	ca, err := mint.New(t, nil)
	if err != nil {
		return nil, mintedFile{}, err
	}
	c, k, err := ca.WriteFiles(f.out, "httptrust-ca")
	if err != nil {
		return nil, mintedFile{}, err
	}
	return ca, describeMinted("ca", c, k, ca, false), nil
}

// loadCA reads a CA certificate and its key.
func (e *env) loadCA(f *mintFlags, certFile, keyFile string) (*mint.Cert, error) {
	opts, err := f.pw.options(e)
	if err != nil {
		return nil, err
	}
	cs, _, err := readCertFile(certFile, opts)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, &exitError{code: exitFail, err: err}
	}
	key, err := certs.ParsePrivateKey(keyFile, data, opts)
	if err != nil {
		return nil, &exitError{code: exitFail, err: err, hints: hintsFor(err)}
	}
	if !cs[0].IsCA {
		return nil, failf(nil, "%s: %s is not a CA certificate", certFile, cs[0].Subject)
	}
	return &mint.Cert{Cert: cs[0], Key: key, DER: cs[0].Raw}, nil
}

// mintLeaf makes and writes the certificate for names.
func (f *mintFlags) mintLeaf(names []string, kt mint.KeyType, ca *mint.Cert) (mintedFile, error) {
	t := mint.Template{Names: names, KeyType: kt, Client: f.client}
	if f.days > 0 {
		t.NotAfter = time.Now().AddDate(0, 0, f.days)
	}
	leaf, err := mint.New(t, ca)
	if err != nil {
		if errors.Is(err, mint.ErrInvalidTemplate) {
			return mintedFile{}, usagef("%v", err)
		}
		return mintedFile{}, err
	}
	base := strings.NewReplacer("*", "_wildcard", ":", "_", "/", "_").Replace(names[0])
	c, k, err := leaf.WriteFiles(f.out, base)
	if err != nil {
		return mintedFile{}, err
	}
	m := describeMinted("certificate", c, k, leaf, false)
	m.Names = names
	return m, nil
}

func describeMinted(role, certFile, keyFile string, c *mint.Cert, reused bool) mintedFile {
	return mintedFile{Role: role, Cert: certFile, Key: keyFile, Subject: c.Cert.Subject.String(),
		SHA256: certs.CertFingerprint(c.Cert).String(), Pin: certs.SPKIPin(c.Cert).String(), Reused: reused}
}
