package main

import (
	"crypto/x509"
	"fmt"
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
	printCertView(w, prefix, i, v, false)
}

// printCertView is printCert; full adds what inspect shows beyond every
// command's chain: serial, key usages, key identifiers, AIA and CRL URLs,
// the SHA-1 fingerprint.
//
// A value from the certificate is cut to the columns left on its line of
// a terminal viewWidth wide (fit), so that no line the terminal wraps can
// start with it; a warning, which holds the certificate's words within
// the program's own, is wrapped by wrapLine.
func printCertView(w io.Writer, prefix string, i int, v certs.Info, full bool) {
	head := fmt.Sprintf("%s%d  subject:   ", prefix, i)
	printf(w, "%s%s\n", ours(head), fit(v.Subject, viewWidth-columns(head)))
	p := ours(prefix + "   ")
	line := func(label string, value string) {
		if value != "" {
			head := fmt.Sprintf("%s%-11s", p, label)
			printf(w, "%s%s\n", ours(head), fit(value, viewWidth-columns(head)))
		}
	}
	line("issuer:", v.Issuer)
	if len(v.Names) > 0 {
		names := strings.Join(v.Names, ", ")
		if v.MoreNames > 0 {
			names = fmt.Sprintf("%s and %d more", names, v.MoreNames)
		}
		line("names:", names)
	}
	if full {
		line("serial:", v.Serial)
	}
	printf(w, "%svalid:     %s to %s (%s)\n", p, v.NotBefore.Format(time.RFC3339), v.NotAfter.Format(time.RFC3339), daysText(v.DaysLeft))
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
	if full {
		line("usage:", strings.Join(v.KeyUsage, ", "))
		line("ext usage:", strings.Join(v.ExtKeyUsage, ", "))
		line("key id:", v.SubjectKeyID)
		line("ca key id:", v.AuthorityKeyID)
		line("ca issuer:", strings.Join(v.IssuerURLs, ", "))
		line("ocsp:", strings.Join(v.OCSPServers, ", "))
		line("crl:", strings.Join(v.CRLURLs, ", "))
	}
	printf(w, "%ssha256:    %s\n", p, v.SHA256)
	printf(w, "%s           %s\n", p, v.SHA256Colon)
	if full {
		line("sha1:", v.SHA1Colon)
	}
	printf(w, "%spin:       %s\n", p, v.Pin)
	for _, warn := range v.Warnings {
		printf(w, "%s", wrapLine(p+"warning:   ", warn))
	}
}

// daysText says how far the end of a validity is: "364 days left",
// "expired 3 days ago".
func daysText(days int) string {
	switch {
	case days == 1:
		return "1 day left"
	case days >= 0:
		return fmt.Sprintf("%d days left", days)
	case days == -1:
		return "expired 1 day ago"
	}
	return fmt.Sprintf("expired %d days ago", -days)
}

// printChain writes every certificate of views.
func printChain(w io.Writer, prefix string, views []certs.Info) {
	for i, v := range views {
		printCert(w, prefix, i, v)
	}
}
