package httptrust

import (
	"errors"
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
	for _, s := range []string{"device.local", "*.corp.example", "**.corp.example", "10.0.0.0/8", "fd00::1", "**.com", "*", "bücher.example", "[::1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err != nil {
			return
		}
		// The canonical form parses to itself.
		q, err := ParsePattern(p.String())
		if err != nil || q.String() != p.String() || q.Kind != p.Kind {
			t.Fatalf("ParsePattern(%q) = %q, which reparses as %q, %v", s, p.String(), q.String(), err)
		}
	})
}
