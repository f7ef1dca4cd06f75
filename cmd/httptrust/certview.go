package main

import (
	"crypto/x509"
	"io"
	"strings"
	"time"

	"github.com/httptrust/httptrust/certs"
)

// viewChain describes a chain, leaf first, as every command shows it.
func viewChain(chain []*x509.Certificate, now time.Time) []certs.Info {
	return certs.InspectChain(chain, now)
}

// printCert writes v as indented lines; prefix starts every line. Every
// value is the certificate's own and is escaped for the terminal.
func printCert(w io.Writer, prefix string, i int, v certs.Info) {
	printf(w, "%s%d  subject:   %s\n", ours(prefix), i, v.Subject)
	p := ours(prefix + "   ")
	printf(w, "%sissuer:    %s\n", p, v.Issuer)
	if len(v.Names) > 0 {
		names := strings.Join(v.Names, ", ")
		if v.MoreNames > 0 {
			printf(w, "%snames:     %s and %d more\n", p, names, v.MoreNames)
		} else {
			printf(w, "%snames:     %s\n", p, names)
		}
	}
	printf(w, "%svalid:     %s to %s\n", p, v.NotBefore.Format(time.RFC3339), v.NotAfter.Format(time.RFC3339))
	printf(w, "%skey:       %s, signed with %s\n", p, v.Key, v.SignatureAlgorithm)
	var flags []string
	if v.IsCA {
		flags = append(flags, "CA:TRUE")
	}
	if v.SelfSigned {
		flags = append(flags, "self-signed")
	}
	if len(flags) > 0 {
		printf(w, "%s           %s\n", p, strings.Join(flags, ", "))
	}
	printf(w, "%ssha256:    %s\n", p, v.SHA256)
	printf(w, "%spin:       %s\n", p, v.Pin)
	for _, warn := range v.Warnings {
		printf(w, "%swarning:   %s\n", p, warn)
	}
}

// printChain writes every certificate of views.
func printChain(w io.Writer, prefix string, views []certs.Info) {
	for i, v := range views {
		printCert(w, prefix, i, v)
	}
}
