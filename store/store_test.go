package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/httptrust/httptrust/internal/testpki"
)

func TestAddWritesManagedRuleThatLoads(t *testing.T) {
	pki := testpki.New(t)
	dev := pki.SelfSigned(t, "printer.test")
	s := Open(filepath.Join(t.TempDir(), "store"))
	added, err := s.Add(context.Background(), Trust{Pattern: "Printer.Test.", Certs: certsOf(dev.Cert), AllowNameMismatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if added.Pattern != "printer.test" || added.RuleFile != "managed/printer.test.toml" || added.Replaced {
		t.Errorf("added %+v", added)
	}
	p, err := s.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	eff, _ := p.Lookup("printer.test")
	if len(eff.Certificates) != 1 || !eff.AllowNameMismatch || eff.Sources["certificates"] != "managed/printer.test.toml:3" {
		t.Errorf("effective %+v", eff)
	}
	// Adding what the rule trusts already changes nothing.
	added, err = s.Add(context.Background(), Trust{Pattern: "printer.test", Certs: certsOf(dev.Cert)})
	if err != nil || !added.Unchanged || added.Replaced || added.New {
		t.Fatalf("second add: %+v, %v", added, err)
	}
	// Replace writes the rule afresh: the allowance goes, and says so.
	added, err = s.Add(context.Background(), Trust{Pattern: "printer.test", Certs: certsOf(dev.Cert), Replace: true})
	if err != nil || !added.Replaced || len(added.Removed) != 2 || added.Removed[1].String() != "allow_name_mismatch = true" || len(added.Added) != 1 {
		t.Fatalf("replace: %+v, %v", added, err)
	}
}

func TestPersonsFileIsNeverRewritten(t *testing.T) {
	pki := testpki.New(t)
	dir := t.TempDir()
	person := "# mine\n[[rule]]\nhosts = [\"**.corp.test\"]\nanchors = [\"root.pem\"]\n"
	write(t, filepath.Join(dir, "corp.toml"), person)
	write(t, filepath.Join(dir, "root.pem"), string(pki.Root.CertPEM()))
	s := Open(dir)
	_, err := s.Add(context.Background(), Trust{Pattern: "**.CORP.test", Kind: Anchor, Certs: certsOf(pki.Root.Cert)})
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.File != "corp.toml" || ce.Line != 2 {
		t.Fatalf("add over a person's rule: %v", err)
	}
	if _, err := s.Remove(context.Background(), "**.corp.test"); !errors.As(err, &ce) {
		t.Fatalf("remove of a person's rule: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "corp.toml")); string(got) != person {
		t.Errorf("the person's file changed: %q", got)
	}
	// Another host is fine, and inherits nothing it should not.
	if _, err := s.Add(context.Background(), Trust{Pattern: "api.corp.test", Pins: []string{"sha256/" + strings.Repeat("A", 43) + "="}}); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveAndList(t *testing.T) {
	pki := testpki.New(t)
	a, b := pki.SelfSigned(t, "a.test"), pki.SelfSigned(t, "b.test")
	s := Open(t.TempDir())
	ctx := context.Background()
	for _, tr := range []Trust{{Pattern: "a.test", Certs: certsOf(a.Cert)}, {Pattern: "b.test", Certs: certsOf(b.Cert)}, {Pattern: "*.corp.test", Kind: Anchor, Certs: certsOf(pki.Root.Cert)}} {
		if _, err := s.Add(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.List()
	if err != nil || len(list) != 3 {
		t.Fatalf("list %+v, %v", list, err)
	}
	if e := list[2]; e.Hosts[0] != "*.corp.test" || e.Kind != "anchor" || !e.Managed || e.SHA256 == "" || e.RuleFile != "managed/one+corp.test.toml" {
		t.Errorf("entry %+v", e)
	}
	if _, err := s.Remove(ctx, "a.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(ctx, "a.test"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove: %v", err)
	}
	left, _ := os.ReadDir(filepath.Join(s.Dir, "managed", "certs"))
	if len(left) != 2 {
		t.Errorf("%d managed certificates left, want 2 (b.test's and the anchor)", len(left))
	}
}

func TestConcurrentAddsLoseNothing(t *testing.T) {
	pki := testpki.New(t)
	s := Open(t.TempDir())
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				host := fmt.Sprintf("h%d-%d.test", w, i)
				if _, err := s.Add(context.Background(), Trust{Pattern: host, Certs: certsOf(pki.SelfSigned(t, host).Cert)}); err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	p, err := s.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Rules()); n != 40 {
		t.Errorf("%d rules, want 40", n)
	}
}

func TestMissingStoreIsEmpty(t *testing.T) {
	p, err := Open(filepath.Join(t.TempDir(), "none")).Load(nil)
	if err != nil || len(p.Rules()) != 0 {
		t.Fatalf("%v %v", p, err)
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
