package testpki

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// fakeTB records a Fatalf and stops the goroutine, as testing.T does.
type fakeTB struct {
	testing.TB
	fatal string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatalOf runs fn with a fakeTB and returns the message it failed with.
func fatalOf(t *testing.T, fn func(tb testing.TB)) string {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.fatal
}

func TestHelpersFailTheTest(t *testing.T) {
	p := New(t)
	cert := p.FullChain(p.Leaf(t, "a.test"))
	tests := []struct {
		name string
		fn   func(tb testing.TB)
	}{
		{"StartTLS on a public address", func(tb testing.TB) { StartTLS(tb, "192.0.2.1", cert, nil) }},
		{"StartHTTP on a name", func(tb testing.TB) { StartHTTP(tb, "localhost", nil) }},
		{"StartSilent on the wildcard address", func(tb testing.TB) { StartSilent(tb, "0.0.0.0") }},
		{"Leaf without names", func(tb testing.TB) { p.Leaf(tb) }},
		{"SelfSignedCA without names", func(tb testing.TB) { p.SelfSignedCA(tb) }},
		{"NameConstrainedCA with a wildcard", func(tb testing.TB) { p.NameConstrainedCA(tb, "*.corp.test") }},
		{"LeafFrom a leaf", func(tb testing.TB) { p.LeafFrom(tb, p.Leaf(t, "b.test"), "a.test") }},
	}
	for _, tt := range tests {
		if got := fatalOf(t, tt.fn); !strings.HasPrefix(got, "testpki: ") {
			t.Errorf("%s: Fatalf message %q, want a testpki error", tt.name, got)
		}
	}
}
