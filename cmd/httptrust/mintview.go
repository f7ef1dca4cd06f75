package main

import (
	"math"
	"net"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/mint"
)

// mintView is what mint made; --json prints it as it is.
type mintView struct {
	Certificate *mintLeafView `json:"certificate,omitempty"`
	CA          *mintCAView   `json:"ca,omitempty"`
	Key         *mintKeyView  `json:"key,omitempty"`
}

// mintLeafView is the certificate mint made and the files it wrote.
type mintLeafView struct {
	Cert        string     `json:"cert,omitempty"`
	Key         string     `json:"key,omitempty"`
	PKCS12      string     `json:"pkcs12,omitempty"`
	Password    string     `json:"pkcs12_password,omitempty"`      // only the default, "changeit"
	PasswordEnv string     `json:"pkcs12_password_from,omitempty"` // "$NAME" or the --password-file
	Subject     string     `json:"subject"`
	Names       []mintName `json:"names"`
	Client      bool       `json:"client"`
	NotAfter    time.Time  `json:"not_after"`
	Days        int        `json:"days"` // from now to NotAfter
	SHA256      string     `json:"sha256"`
	Pin         string     `json:"pin"`
}

// mintName is one name of the certificate and its kind, "dns" or "ip".
type mintName struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// mintCAView is the CA that signed, or that --caroot shows.
type mintCAView struct {
	Dir      string     `json:"dir,omitempty"` // the CA's folder; empty for --ca-cert
	Cert     string     `json:"cert,omitempty"`
	Key      string     `json:"key,omitempty"`
	Subject  string     `json:"subject,omitempty"`
	NotAfter *time.Time `json:"not_after,omitempty"`
	SHA256   string     `json:"sha256,omitempty"`
	Pin      string     `json:"pin,omitempty"`
	Created  bool       `json:"created"`
}

func describeCA(ca *mint.Cert, dir, certPath, keyPath string, created bool) *mintCAView {
	na := ca.Cert.NotAfter
	return &mintCAView{Dir: dir, Cert: certPath, Key: keyPath, Subject: ca.Cert.Subject.String(), NotAfter: &na,
		SHA256: certs.CertFingerprint(ca.Cert).Colon(), Pin: certs.SPKIPin(ca.Cert).String(), Created: created}
}

func describeLeaf(leaf *mint.Cert, names []string, client bool, now time.Time) *mintLeafView {
	v := &mintLeafView{Subject: leaf.Cert.Subject.String(), Client: client, NotAfter: leaf.Cert.NotAfter,
		Days:   int(math.Round(leaf.Cert.NotAfter.Sub(now).Hours() / 24)),
		SHA256: certs.CertFingerprint(leaf.Cert).Colon(), Pin: certs.SPKIPin(leaf.Cert).String()}
	for _, n := range names {
		kind := "dns"
		if net.ParseIP(n) != nil {
			kind = "ip"
		}
		v.Names = append(v.Names, mintName{Name: n, Type: kind})
	}
	return v
}

// printMinted prints the summary on stdout: the files, the names, the
// expiry, and the CA with its folder and fingerprint.
func (e *env) printMinted(v mintView) {
	w := e.stdout
	if l := v.Certificate; l != nil {
		if l.PKCS12 != "" {
			printf(w, "pkcs12:      %s (mode 0600: the certificate, its key and the CA)\n", l.PKCS12)
			if l.Password != "" {
				printf(w, "password:    %s (mkcert's default; choose one with --password-env NAME)\n", l.Password)
			} else {
				printf(w, "password:    from %s\n", l.PasswordEnv)
			}
		} else {
			printf(w, "certificate: %s\n", l.Cert)
			printf(w, "key:         %s (mode 0600)\n", l.Key)
		}
		names := make([]string, 0, len(l.Names))
		for _, n := range l.Names {
			names = append(names, n.Name+" ("+strings.ToUpper(n.Type)+")")
		}
		printf(w, "names:       %s\n", strings.Join(names, ", "))
		usage := "server authentication"
		if l.Client {
			usage = "client authentication (and server)"
		}
		printf(w, "for:         %s\n", usage)
		printf(w, "expires:     %s (in %d days)\n", l.NotAfter.UTC().Format(time.DateOnly), l.Days)
		printf(w, "sha256:      %s\n", l.SHA256)
	}
	if c := v.CA; c != nil {
		state := "reused"
		if c.Created {
			state = "made now"
		}
		if c.Dir == "" {
			state = "from --ca-cert"
		}
		printf(w, "CA:          %s\n", c.Subject)
		if c.Dir != "" {
			printf(w, "CA folder:   %s (%s)\n", c.Dir, ours(state))
			printf(w, "CA cert:     %s\n", c.Cert)
		} else {
			printf(w, "CA cert:     %s (%s)\n", c.Cert, ours(state))
		}
		if v.Certificate == nil {
			printf(w, "CA key:      %s (mode 0600; it never leaves this folder)\n", c.Key)
		}
		printf(w, "CA sha256:   %s\n", c.SHA256)
		printf(w, "CA expires:  %s\n", c.NotAfter.UTC().Format(time.DateOnly))
	}
}

// mintHints says what to do next: trust the CA for every name minted, or,
// for a client certificate, give the CA to the server and call it.
func (e *env) mintHints(f *mintFlags, v mintView) {
	e.hintCtx = hintContext{store: e.storeDir}
	ca := v.CA.Cert
	l := v.Certificate
	switch {
	case l == nil:
		e.hint("trust the CA for your development hosts only:")
		e.hint("  " + e.commandLine(httptrust.Command{Name: "trust add", Args: []string{ca, "--host", "<host>"}}))
		e.caElsewhere(ca, "<host>")
	case l.Client:
		e.clientHints(ca, l)
	default:
		args := []string{ca}
		for _, n := range l.Names {
			args = append(args, "--host", n.Name)
		}
		e.hint("trust the CA for the names minted, and for no other host:")
		e.hint("  " + e.commandLine(httptrust.Command{Name: "trust add", Args: args}))
		e.caElsewhere(ca, urlHost(l.Names))
	}
}

// caElsewhere says how to use the CA outside httptrust, which changes no
// system or browser store.
func (e *env) caElsewhere(ca, host string) {
	e.hint("httptrust changes no system or browser trust store; to use the CA elsewhere:")
	e.hint("  curl --cacert " + httptrust.ShellQuote(ca) + " " + httptrust.ShellQuote("https://"+host+"/"))
	e.hint("  Go: httptrust's client after the trust add above, or " + ca + " in a tls.Config's RootCAs")
	e.hint("  a browser: import " + ca + " as a certificate authority (the browser then accepts it for every site)")
}

// clientHints says how a server is given the CA, and how to call it with
// the client certificate.
func (e *env) clientHints(ca string, l *mintLeafView) {
	e.hint("have the server check client certificates against the CA:")
	e.hint("  nginx: ssl_client_certificate " + ca + "; ssl_verify_client on;")
	e.hint("  Go: tls.Config{ClientCAs: a pool holding " + ca + ", ClientAuth: tls.RequireAndVerifyClientCert}")
	e.hint("then call it with the certificate:")
	const url = "<server URL>"
	if l.PKCS12 == "" {
		e.hint("  " + e.commandLine(httptrust.Command{Name: "get", Args: []string{"--cert", l.Cert, "--key", l.Key, url}}))
		e.hint("  curl --cert " + httptrust.ShellQuote(l.Cert) + " --key " + httptrust.ShellQuote(l.Key) + " " + httptrust.ShellQuote(url))
		e.hint("  a browser takes a .p12: mint it with --pkcs12")
		return
	}
	switch name, ok := strings.CutPrefix(l.PasswordEnv, "$"); {
	case l.Password != "":
		e.hint("  " + e.commandLineWith([]string{"P12_PASSWORD=" + l.Password},
			httptrust.Command{Name: "get", Args: []string{"--cert", l.PKCS12, "--password-env", "P12_PASSWORD", url}}))
	case ok:
		e.hint("  " + e.commandLine(httptrust.Command{Name: "get", Args: []string{"--cert", l.PKCS12, "--password-env", name, url}}))
	default:
		e.hint("  " + e.commandLine(httptrust.Command{Name: "get", Args: []string{"--cert", l.PKCS12, "--password-file", l.PasswordEnv, url}}))
	}
	e.hint("  a browser: import " + l.PKCS12 + " as your own certificate, with its password")
}

// urlHost returns a name of the certificate as a URL's host, for an
// example: the first that is not a wildcard (brackets around IPv6).
func urlHost(names []mintName) string {
	for _, n := range names {
		switch {
		case strings.HasPrefix(n.Name, "*."):
			continue
		case strings.Contains(n.Name, ":"):
			return "[" + n.Name + "]"
		}
		return n.Name
	}
	return "www" + strings.TrimPrefix(names[0].Name, "*")
}
