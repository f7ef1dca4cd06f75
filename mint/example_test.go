package mint_test

import (
	"crypto/x509"
	"fmt"
	"log"
	"os"

	"github.com/httptrust/httptrust/mint"
)

// A development root, an intermediate and a server certificate, verified the
// way a client that trusts the root would.
func Example() {
	root, err := mint.New(mint.Template{CommonName: "Dev Root", IsCA: true, MaxPathLen: -1}, nil)
	if err != nil {
		log.Fatal(err)
	}
	inter, err := mint.New(mint.Template{CommonName: "Dev Intermediate", IsCA: true}, root)
	if err != nil {
		log.Fatal(err)
	}
	leaf, err := mint.New(mint.Template{Names: []string{"localhost", "127.0.0.1"}}, inter)
	if err != nil {
		log.Fatal(err)
	}
	inters := x509.NewCertPool()
	inters.AddCert(inter.Cert)
	chains, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: root.Pool(), Intermediates: inters, DNSName: "127.0.0.1"})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range chains[0] {
		fmt.Println(c.Subject.CommonName)
	}
	// Output:
	// localhost
	// Dev Intermediate
	// Dev Root
}

// A development CA kept in one folder: made by the first call, reused by
// every later one.
func ExampleOpenCA() {
	dir, err := os.MkdirTemp("", "dev-ca")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	t := mint.Template{CommonName: "My Dev CA", IsCA: true}
	ca, created, err := mint.OpenCA(dir, t)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ca.Cert.Subject.CommonName, created)
	again, created, err := mint.OpenCA(dir, t)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(again.Cert.Equal(ca.Cert), created)
	// Output:
	// My Dev CA true
	// true false
}
