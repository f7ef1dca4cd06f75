package httptrust

import "testing"

// Looking up the rule of a normalised host allocates nothing.
func TestLookupAllocs(t *testing.T) {
	p := mustPolicy(t, []Rule{{Hosts: []string{"**.corp.test"}, MinTLS: "1.3"}, {Hosts: []string{"10.0.0.0/8"}, MinTLS: "1.3"}}, nil)
	p.Lookup("a.b.corp.test")
	p.Lookup("10.1.2.3")
	for _, h := range []string{"a.b.corp.test", "other.test", "10.1.2.3", "fd00::1"} {
		if n := testing.AllocsPerRun(100, func() { p.Lookup(h) }); n != 0 {
			t.Errorf("Lookup(%q): %v allocations", h, n)
		}
	}
}
