package httptrust

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParsePattern(t *testing.T) {
	tests := []struct {
		in   string
		kind PatternKind
		want string
	}{
		{"device.local", PatternExact, "device.local"},
		{"Device.LOCAL.", PatternExact, "device.local"},
		{"bücher.example", PatternExact, "xn--bcher-kva.example"},
		{"192.168.1.20", PatternIP, "192.168.1.20"},
		{"fd00::1", PatternIP, "fd00::1"},
		{"[FD00::1]", PatternIP, "fd00::1"},
		{"::ffff:10.0.0.1", PatternIP, "10.0.0.1"},
		{"192.168.1.0/24", PatternCIDR, "192.168.1.0/24"},
		{"fd00::/64", PatternCIDR, "fd00::/64"},
		{"*.corp.example", PatternOneLabel, "*.corp.example"},
		{"**.Corp.Example.", PatternAnyDepth, "**.corp.example"},
		{"**.bücher.example", PatternAnyDepth, "**.xn--bcher-kva.example"},
	}
	for _, tt := range tests {
		p, err := ParsePattern(tt.in)
		if err != nil {
			t.Errorf("ParsePattern(%q): %v", tt.in, err)
			continue
		}
		if p.Kind != tt.kind || p.String() != tt.want {
			t.Errorf("ParsePattern(%q) = %v %q, want %v %q", tt.in, p.Kind, p.String(), tt.kind, tt.want)
		}
	}
}

func TestParsePatternRefusesLeaks(t *testing.T) {
	broad := []string{"*", "**", "**.com", "*.com", "*.co.uk", "**.co.uk", "**.github.io", "**.local", "0.0.0.0/0", "::/0"}
	for _, in := range broad {
		_, err := ParsePattern(in)
		if !errors.Is(err, ErrPatternTooBroad) {
			t.Errorf("ParsePattern(%q) = %v, want ErrPatternTooBroad", in, err)
		}
	}
	bad := []string{"", "a.*.example", "*.*.example", "foo*.example", "192.168.1.1/24", "*.192.168.1.1",
		"bad host.example", "-x.example", "a..example", "10.0.0.0/33", "fe80::1%eth0"}
	for _, in := range bad {
		if _, err := ParsePattern(in); err == nil {
			t.Errorf("ParsePattern(%q) succeeded, want an error", in)
		}
	}
}

// TestParsePatternPublicSuffixBelow checks wildcards over names that have
// entries of the public suffix list at or below them: "**.S" is refused for
// an entry at any depth, "*.S" for one at S or exactly one label below S.
// want is the entry the error names, or "" for a pattern that loads.
func TestParsePatternPublicSuffixBelow(t *testing.T) {
	tests := []struct{ in, want string }{
		{"**.amazonaws.com", `"s3.amazonaws.com" is on the public suffix list`},
		{"*.amazonaws.com", `"s3.amazonaws.com" is on the public suffix list`},
		{"*.compute-1.amazonaws.com", `"*.compute-1.amazonaws.com" is on the public suffix list`},
		{"**.compute-1.amazonaws.com", `"*.compute-1.amazonaws.com" is on the public suffix list`},
		{"**.x.compute-1.amazonaws.com", `"x.compute-1.amazonaws.com" is a public suffix`},
		{"**.core.windows.net", `"web.core.windows.net" is on the public suffix list`},
		{"*.core.windows.net", `"web.core.windows.net" is on the public suffix list`},
		{"**.windows.net", `"servicebus.windows.net" is on the public suffix list`},
		{"**.blob.core.windows.net", `"blob.core.windows.net" is a public suffix`},
		{"**.github.io", `"github.io" is a public suffix`},
		{"*.github.io", `"github.io" is a public suffix`},
		{"**.s3.amazonaws.com", `"s3.amazonaws.com" is a public suffix`},
		{"*.s3.amazonaws.com", `"s3.amazonaws.com" is a public suffix`},
		{"*.appspot.com", `"appspot.com" is a public suffix`},
		{"*.r.appspot.com", `"*.r.appspot.com" is on the public suffix list`},
		{"**.r.appspot.com", `"*.r.appspot.com" is on the public suffix list`},
		{"**.airflow.amazonaws.com", `"*.ap-east-1.airflow.amazonaws.com" is on the public suffix list`},
		{"**.foo.ck", `"foo.ck" is a public suffix`}, // under the wildcard rule "*.ck"
		{"**.www.ck", `"!www.ck" is on the public suffix list`},
		{"*.www.ck", `"!www.ck" is on the public suffix list`},
		{"**.city.kawasaki.jp", `"!city.kawasaki.jp" is on the public suffix list`},
		// Case, trailing dots and IDNA forms are normalised first.
		{"**.AmazonAWS.COM.", `"s3.amazonaws.com" is on the public suffix list`},
		{"*.Compute-1.AMAZONAWS.com.", `"*.compute-1.amazonaws.com" is on the public suffix list`},
		{"**.ａｍａｚｏｎａｗｓ.com", `"s3.amazonaws.com" is on the public suffix list`},
		{"**.рф", `"xn--p1ai" is a public suffix`},
		{"**.бел", `"xn--90ais" is a public suffix`},
		// Loads: nothing of the list at or below the suffix, or (for "*.")
		// only entries two or more labels below it, which "*.S" does not match.
		{"**.corp.example", ""},
		{"**.example.com", ""},
		{"*.example.com", ""},
		{"**.Bücher.Example.", ""},
		{"**.bucket.s3.amazonaws.com", ""},
		{"*.bucket.s3.amazonaws.com", ""},
		{"*.airflow.amazonaws.com", ""},
		{"**.x.foo.ck", ""},
		// Exact names cover one host each, public suffixes included.
		{"github.io", ""},
		{"s3.amazonaws.com", ""},
		{"www.ck", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParsePattern(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ParsePattern(%q): %v, want it to load", tt.in, err)
				}
				return
			}
			if !errors.Is(err, ErrPatternTooBroad) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParsePattern(%q) = %v, want ErrPatternTooBroad naming %s", tt.in, err, tt.want)
			}
		})
	}
}

// TestParsePatternIPv4InIPv6 checks CIDRs over IPv6 space whose addresses
// stand for IPv4 hosts. broad says whether the error wraps
// ErrPatternTooBroad; want is part of the error, or "" for one that loads.
func TestParsePatternIPv4InIPv6(t *testing.T) {
	tests := []struct {
		in    string
		broad bool
		want  string
	}{
		{"64:ff9b::/96", true, "covers NAT64 space 64:ff9b::/96"},
		{"64:ff9b::/64", true, "covers NAT64 space 64:ff9b::/96"},
		{"64:ff9b::/32", true, "covers NAT64 space 64:ff9b::/96"},
		{"64:ff9b::c0a8:100/120", false, "name them by their IPv4 form, 192.168.1.0/24"},
		{"64:ff9b::192.168.1.1/128", false, "name them by their IPv4 form, 192.168.1.1/32"},
		{"64:ff9b:1::/48", true, "covers local-use NAT64 space 64:ff9b:1::/48"},
		{"64:ff9b:1:2::/64", false, "lies in local-use NAT64 space 64:ff9b:1::/48"},
		{"::/64", true, "covers IPv4-mapped space"},
		{"::/96", true, "covers IPv4-compatible space ::/96"},
		{"::10.0.0.0/104", false, "name them by their IPv4 form, 10.0.0.0/8"},
		{"::ffff:0:0/96", true, "wider than /8"},
		{"::ffff:0:0/100", true, "wider than /8"},
		{"2001::/32", true, "covers Teredo space 2001::/32"},
		{"2001:0:1::/48", false, "lies in Teredo space 2001::/32"},
		{"2001::/16", true, "wider than /32"},
		{"2002::/32", true, "wider than /48 in 6to4 space 2002::/16"},
		{"2002:c0a8::/47", true, "wider than /48 in 6to4 space 2002::/16"},
		{"2002::/15", true, "wider than /32"},
		// Loads.
		{"::ffff:10.0.0.0/104", false, ""}, // the IPv4 network 10.0.0.0/8
		{"::ffff:192.168.1.0/120", false, ""},
		{"::1/128", false, ""},
		{"2002:c0a8:101::/48", false, ""},
		{"2002:c0a8:101:1::/64", false, ""},
		{"2001:db8::/32", false, ""},
		{"64:ff9a::/32", false, ""},
		{"fd00::/64", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParsePattern(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ParsePattern(%q): %v, want it to load", tt.in, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, ErrPatternTooBroad) != tt.broad {
				t.Fatalf("ParsePattern(%q) = %v, want an error with %q (ErrPatternTooBroad: %v)", tt.in, err, tt.want, tt.broad)
			}
		})
	}
	for in, want := range map[string]string{"::ffff:10.0.0.0/104": "10.0.0.0/8", "::ffff:192.168.1.0/120": "192.168.1.0/24"} {
		if p, err := ParsePattern(in); err != nil || p.String() != want || !p.Prefix.Addr().Is4() {
			t.Errorf("ParsePattern(%q) = %v, %v; want the IPv4 network %s", in, p, err, want)
		}
	}
}

func TestNormalizeHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Example.COM", "example.com"},
		{"example.com.", "example.com"},
		{"[::1]", "::1"},
		{"127.0.0.1", "127.0.0.1"},
		{"ÉCOLE.example", "xn--cole-9oa.example"},
		{"xn--cole-9oa.example", "xn--cole-9oa.example"},
	}
	for _, tt := range tests {
		got, err := NormalizeHost(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"device.local", "*.corp.example", "**.corp.example", "10.0.0.0/8", "fd00::1", "**.com", "*", "bücher.example", "[::1]",
		"**.amazonaws.com", "*.compute-1.amazonaws.com", "**.core.windows.net", "**.github.io", "*.airflow.amazonaws.com",
		"**.bucket.s3.amazonaws.com", "**.AmazonAWS.COM.", "**.ａｍａｚｏｎａｗｓ.com", "**.www.ck", "**.x.foo.ck", "*.example.com",
		"64:ff9b::/96", "64:ff9b::c0a8:100/120", "64:ff9b:1::/48", "::ffff:10.0.0.0/104", "::/96", "::1/128", "2001::/32", "2002::/32", "2002:c0a8:101::/48"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err != nil {
			return
		}
		// A wildcard that loads covers no entry of the public suffix list:
		// checked here against the whole list, without its sorted order.
		if e, ok := pslCoveredBruteForce(p); ok {
			t.Fatalf("ParsePattern(%q) = %q, which covers %q of the public suffix list", s, p.String(), e)
		}
		if p.Kind == PatternCIDR {
			for _, r := range ipv4InIPv6 {
				if p.Prefix.Overlaps(r.pfx) && !(r.site > 0 && p.Prefix.Bits() >= r.site) && p.Prefix != loopback6 {
					t.Fatalf("ParsePattern(%q) = %q, which overlaps %s space %s", s, p.String(), r.name, r.pfx)
				}
			}
		}
		// The canonical form parses to itself.
		q, err := ParsePattern(p.String())
		if err != nil || q.String() != p.String() || q.Kind != p.Kind {
			t.Fatalf("ParsePattern(%q) = %q, which reparses as %q, %v", s, p.String(), q.String(), err)
		}
	})
}

// BenchmarkParsePattern parses 10,000 patterns of one kind per op, as a
// store of 10,000 rules does when it loads.
func BenchmarkParsePattern(b *testing.B) {
	kinds := []struct {
		name string
		pat  func(i int) string
	}{
		{"kind=exact", func(i int) string { return fmt.Sprintf("h%05d.store.test", i) }},
		{"kind=one-label", func(i int) string { return fmt.Sprintf("*.d%05d.corp.example", i) }},
		{"kind=any-depth", func(i int) string { return fmt.Sprintf("**.d%05d.corp.example", i) }},
		{"kind=any-depth-cloud", func(i int) string { return fmt.Sprintf("**.d%05d.s3.amazonaws.com", i) }},
		{"kind=cidr", func(i int) string { return fmt.Sprintf("10.%d.%d.0/24", i>>8, i&0xff) }},
	}
	for _, k := range kinds {
		pats := make([]string, 10000)
		for i := range pats {
			pats[i] = k.pat(i)
		}
		b.Run(k.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, s := range pats {
					if _, err := ParsePattern(s); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
