package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/youmark/pkcs8"

	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

func init() {
	scriptCmds["servetls"] = cmdServeTLS
	scriptCmds["keyfiles"] = cmdKeyFiles
}

// cmdServeTLS starts a fake server of a protocol that starts in plain text
// and upgrades to TLS (testpki.StartPlain), with a self-signed certificate
// for NAME.test and 127.0.0.1:
//
//	servetls NAME smtp|imap|ldap|postgres [-nostarttls] [-refuse] [-inject] [-silent]
//
// It writes NAME.pem and sets NAME_PORT, NAME_ADDR, NAME_SHA256, NAME_PIN.
func cmdServeTLS(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: servetls NAME smtp|imap|ldap|postgres [-nostarttls] [-refuse] [-inject] [-silent]")
	}
	name, proto := args[0], args[1]
	fs := flag.NewFlagSet("servetls", flag.ContinueOnError)
	var o testpki.PlainOptions
	fs.BoolVar(&o.NoStartTLS, "nostarttls", false, "offer no STARTTLS")
	fs.BoolVar(&o.Refuse, "refuse", false, "refuse STARTTLS when asked")
	fs.BoolVar(&o.Inject, "inject", false, "send a line after agreeing to STARTTLS")
	fs.BoolVar(&o.Silent, "silent", false, "never say a word")
	ts.Check(fs.Parse(args[2:]))
	c, err := mint.New(mint.Template{Names: []string{name + ".test", "127.0.0.1"}}, nil)
	ts.Check(err)
	srv, err := testpki.ListenPlain("127.0.0.1", proto, c.TLSCertificate(), o)
	ts.Check(err)
	ts.Defer(srv.Close)
	tc := c.TLSCertificate()
	pkiOf(ts).present(srv.Port, func() []*x509.Certificate { return presentedTLS(&tc) })
	up := strings.ToUpper(name)
	pkiOf(ts).export(ts, up, c, nil)
	ts.Setenv(up+"_PORT", srv.Port)
	ts.Setenv(up+"_ADDR", srv.Addr)
}

// cmdKeyFiles writes keys, public keys and certificate requests of every
// format, made now, and sets their pins:
//
//	backup.key (EC P-256, PKCS#8) BACKUP_PIN; backup.pub, backup.pub.der
//	(its public key); backup.csr, backup.csr.der (a request for
//	printer.test with its key); backup-enc.key (the same key, encrypted
//	PKCS#8, password "secret"); rsa.key (PKCS#1) RSA_PIN; ed.key (Ed25519)
//	ED_PIN; chain.p7b (the script CA's root and intermediate, PEM PKCS#7)
func cmdKeyFiles(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: keyfiles")
	}
	dir := pkiOf(ts).dir
	write := func(name string, data []byte) {
		ts.Check(os.WriteFile(filepath.Join(dir, name), data, 0o600))
	}
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	pin := func(k crypto.Signer) string {
		p, err := certs.PublicKeyPin(k.Public())
		ts.Check(err)
		return p.String()
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ts.Check(err)
	der, err := x509.MarshalPKCS8PrivateKey(ec)
	ts.Check(err)
	write("backup.key", pemOf("PRIVATE KEY", der))
	enc, err := pkcs8.MarshalPrivateKey(ec, []byte("secret"), nil)
	ts.Check(err)
	write("backup-enc.key", pemOf("ENCRYPTED PRIVATE KEY", enc))
	spki, err := x509.MarshalPKIXPublicKey(ec.Public())
	ts.Check(err)
	write("backup.pub", pemOf("PUBLIC KEY", spki))
	write("backup.pub.der", spki)
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "printer.test"}, DNSNames: []string{"printer.test"}, IPAddresses: []net.IP{net.IPv4(10, 0, 0, 5)},
	}, ec)
	ts.Check(err)
	write("backup.csr", pemOf("CERTIFICATE REQUEST", csr))
	write("backup.csr.der", csr)
	ts.Setenv("BACKUP_PIN", pin(ec))
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	ts.Check(err)
	write("rsa.key", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk)))
	ts.Setenv("RSA_PIN", pin(rk))
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	ts.Check(err)
	der, err = x509.MarshalPKCS8PrivateKey(ed)
	ts.Check(err)
	write("ed.key", pemOf("PRIVATE KEY", der))
	ts.Setenv("ED_PIN", pin(ed))
	p := pkiOf(ts)
	write("chain.p7b", pemOf("PKCS7", certs.EncodePKCS7([]*x509.Certificate{p.inter.Cert, p.ca.Cert})))
}
