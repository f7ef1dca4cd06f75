package httptrust

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"crypto/x509"

	"github.com/httptrust/httptrust/internal/testpki"
	"github.com/httptrust/httptrust/mint"
)

func TestTOFU(t *testing.T) {
	l := newLab(t)
	first := l.pki.SelfSigned(t, "dev.test")
	// A renewed certificate with the same key, and one with another key.
	renewed, err := mint.New(mint.Template{Names: []string{"dev.test"}, Key: first.Key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	swapped := l.pki.SelfSigned(t, "dev.test")
	s1 := l.serve(testpki.Chain(first), "dev.test")
	s2 := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(renewed), nil)
	s3 := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(swapped), nil)

	records := &MemoryTOFU{}
	var asked int
	o := l.opts()
	o.TOFU = records
	o.OnFirstUse = func(rec TOFURecord, chain []*x509.Certificate) error { asked++; return nil }
	p := mustPolicy(t, []Rule{{Hosts: []string{"dev.test"}, TOFU: boolp(true)}}, o)
	c := l.client(p)

	wantOK(t, c, at(s1, "dev.test"))
	if asked != 1 {
		t.Fatalf("first use asked %d times", asked)
	}
	rec, ok, _ := records.Lookup("dev.test:" + s1.Port)
	if !ok || rec.Pin.String() == "" {
		t.Fatal("no record after first use")
	}
	wantOK(t, c, at(s1, "dev.test"))
	// Records are per host:port: the renewed server on another port is a
	// first contact of its own.
	wantOK(t, c, at(s2, "dev.test"))
	if asked != 2 {
		t.Errorf("asked %d times, want 2 (one per host:port)", asked)
	}

	// The same port, now serving another key: certificate changed.
	recs := &MemoryTOFU{}
	recs.Record(TOFURecord{HostPort: "dev.test:" + s3.Port, Pin: rec.Pin, CertSHA: rec.CertSHA, FirstSeen: time.Unix(1700000000, 0), LastSeen: time.Unix(1700000000, 0)})
	o.TOFU = recs
	e := wantReason(t, l.client(mustPolicy(t, []Rule{{Hosts: []string{"dev.test"}, TOFU: boolp(true)}}, o)), at(s3, "dev.test"), ReasonCertificateChanged)
	mustContain(t, "detail", e.Detail, "first seen 2023-11-14", rec.Pin.String())
	mustContain(t, "fix", fixOf(e), "replaces the record", "httptrust fetch --fingerprint '<SHA-256 obtained out of band>' https://dev.test:"+s3.Port+"/")
	notContain(t, "fix", fixOf(e), "--yes", e.Chain[0].SHA256)

	// Same key, renewed certificate on a recorded port: accepted, recorded.
	recs2 := &MemoryTOFU{}
	recs2.Record(TOFURecord{HostPort: "dev.test:" + s2.Port, Pin: rec.Pin, CertSHA: rec.CertSHA})
	o.TOFU = recs2
	wantOK(t, l.client(mustPolicy(t, []Rule{{Hosts: []string{"dev.test"}, TOFU: boolp(true)}}, o)), at(s2, "dev.test"))
	if r, _, _ := recs2.Lookup("dev.test:" + s2.Port); r.CertSHA == rec.CertSHA {
		t.Error("the renewed certificate was not recorded")
	}
}

func TestTOFURefusedAndUnconfigured(t *testing.T) {
	l := newLab(t)
	s := l.serve(testpki.Chain(l.pki.SelfSigned(t, "dev.test")), "dev.test")
	o := l.opts()
	o.TOFU = &MemoryTOFU{}
	o.OnFirstUse = func(TOFURecord, []*x509.Certificate) error { return errors.New("no consent") }
	c := l.client(mustPolicy(t, []Rule{{Hosts: []string{"dev.test"}, TOFU: boolp(true)}}, o))
	_, err := get(c, at(s, "dev.test"))
	if !errors.Is(err, ErrFirstUseRefused) {
		t.Fatalf("refused first use: %v", err)
	}
	if _, ok, _ := o.TOFU.Lookup("dev.test:" + s.Port); ok {
		t.Error("a refused first use was recorded")
	}
	o2 := l.opts()
	wantReason(t, &http.Client{Transport: mustPolicy(t, []Rule{{Hosts: []string{"dev.test"}, TOFU: boolp(true)}}, o2).Transport(l.base())}, at(s, "dev.test"), ReasonBadConfig)
}

type brokenTOFU struct{}

func (brokenTOFU) Lookup(string) (TOFURecord, bool, error) {
	return TOFURecord{}, false, errors.New("damaged")
}
func (brokenTOFU) Record(TOFURecord) (TOFURecord, error) { return TOFURecord{}, errors.New("damaged") }

// Records that cannot be read fail closed, never as "no record".
func TestTOFUDamagedRecordsFailClosed(t *testing.T) {
	l := newLab(t)
	s := l.serve(testpki.Chain(l.pki.SelfSigned(t, "dev.test")), "dev.test")
	o := l.opts()
	o.TOFU = brokenTOFU{}
	wantReason(t, l.client(mustPolicy(t, []Rule{{Hosts: []string{"dev.test"}, TOFU: boolp(true)}}, o)), at(s, "dev.test"), ReasonBadConfig)
}

// An inherited tofu never replaces a more specific rule's exact certificate
// or anchors: it is checked on top of them, so it only narrows.
func TestTOFUNeverWidensAnchorsOrCertificates(t *testing.T) {
	l := newLab(t)
	nas := l.pki.SelfSigned(t, "nas.lab.test")
	attacker := l.pki.SelfSigned(t, "nas.lab.test")
	good := l.serve(testpki.Chain(nas), "nas.lab.test")
	evil := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(attacker), nil)
	anchored := l.serve(l.pki.FullChain(l.pki.Leaf(t, "ca.lab.test")), "ca.lab.test")
	o := l.opts()
	o.TOFU = &MemoryTOFU{}
	c := l.client(mustPolicy(t, []Rule{
		{Hosts: []string{"**.lab.test"}, TOFU: boolp(true)},
		{Hosts: []string{"nas.lab.test"}, CertificateCerts: certsOf(nas)},
		{Hosts: []string{"ca.lab.test"}, AnchorCerts: certsOf(l.pki.Root)},
	}, o))
	wantReason(t, c, at(evil, "nas.lab.test"), ReasonCertificateChanged)
	wantOK(t, c, at(good, "nas.lab.test"))
	wantOK(t, c, at(anchored, "ca.lab.test"))
	// The anchored host's key is recorded too: a different key from the
	// same CA is a changed certificate.
	if _, ok, _ := o.TOFU.Lookup("ca.lab.test:" + anchored.Port); !ok {
		t.Error("tofu on top of anchors recorded nothing")
	}
	rekeyed := testpki.StartTLS(t, "127.0.0.1", l.pki.FullChain(l.pki.Leaf(t, "ca.lab.test")), nil)
	recs := o.TOFU.(*MemoryTOFU)
	rec, _, _ := recs.Lookup("ca.lab.test:" + anchored.Port)
	rec.HostPort = "ca.lab.test:" + rekeyed.Port
	recs.Record(rec)
	wantReason(t, c, at(rekeyed, "ca.lab.test"), ReasonCertificateChanged)
}
